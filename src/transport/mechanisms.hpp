// The built-in mechanisms (transport layer), one factory per file in this folder.
#pragma once

#include "transport/link.hpp"

namespace ipcx::transport {

Mechanism unix_mechanism() noexcept;   // unix.cpp
Mechanism tcp_mechanism() noexcept;    // tcp.cpp
Mechanism shm_mechanism() noexcept;    // shm.cpp
Mechanism stdio_mechanism() noexcept;  // stdio.cpp
Mechanism fifo_mechanism() noexcept;   // fifo.cpp
Mechanism mq_mechanism() noexcept;     // mqueue.cpp
Mechanism udp_mechanism() noexcept;    // udp.cpp

}  // namespace ipcx::transport
