// Endpoint URLs (API layer): parsing and validation of every scheme ipcx knows, including
// ZeroMQ's forms (tcp://*:PORT, tcp://HOST:*, ipc://PATH). Parsing makes no syscalls; host names
// are resolved later, once, at bind or connect.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipcx/result.hpp"

namespace ipcx {

enum class Scheme : std::uint8_t { shm, unix_socket, tcp, udp, pipe, mq, stdio };

// "shm", "unix", "tcp", "udp", "pipe", "mq", "stdio".
std::string_view scheme_name(Scheme scheme) noexcept;

struct Endpoint {
  Scheme scheme = Scheme::tcp;
  // tcp/udp: a numeric address or host name without brackets; empty means every interface.
  std::string host;
  // tcp/udp: 0 asks the OS for a free port at bind; the bound endpoint carries the real one.
  std::uint16_t port = 0;
  // unix/pipe: a filesystem path; unix with abstract=true: the abstract name (no leading '@');
  // shm/mq: the name; shm with a leading '/': the rendezvous socket file.
  std::string path;
  bool abstract = false;

  // The canonical URL, which parse() accepts again: "tcp://127.0.0.1:5555", "unix://@name".
  std::string url() const;

  // Throws ipcx::Error(bad_endpoint) naming the URL and the fault.
  static Endpoint parse(std::string_view url);
  // Non-throwing form; on failure *why (if given) receives the fault.
  static Result<Endpoint> try_parse(std::string_view url, std::string* why = nullptr) noexcept;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace ipcx
