// Address forms (transport layer): how the part of a URL after SCHEME:// parses and prints,
// written once for the shapes mechanisms share (HOST:PORT, a socket path, a plain name). Pure
// string work, no syscalls: host names stay names until bind or connect resolves them. A parse
// function returns the fault in words, or an empty string when the address is good.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "ipcx/endpoint.hpp"

namespace ipcx::transport::address {

// sun_path holds 108 bytes including the terminating NUL (abstract names: a leading NUL).
inline constexpr std::size_t kMaxUnixPath = 107;

// HOST:PORT, [IPV6]:PORT, *:PORT (every interface: empty host), HOST:* (port 0).
std::string parse_host_port(std::string_view rest, Endpoint& ep);
std::string format_host_port(const Endpoint& ep);

// A filesystem path of at most `max` bytes into ep.path.
std::string parse_path(std::string_view rest, Endpoint& ep, std::size_t max, std::string_view what);
// A name of letters, digits, '-', '_' and '.' of at most `max` bytes into ep.path.
std::string parse_name(std::string_view rest, Endpoint& ep, std::size_t max, std::string_view what);
// ep.path as it was parsed by either of the two above.
std::string format_path(const Endpoint& ep);

// Nothing at all after SCHEME://.
std::string parse_nothing(std::string_view rest, std::string_view scheme);
std::string format_nothing(const Endpoint& ep);

}  // namespace ipcx::transport::address
