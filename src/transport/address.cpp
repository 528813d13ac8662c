// Address forms (transport layer): see address.hpp.
#include "transport/address.hpp"

#include <charconv>

namespace ipcx::transport::address {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string too_long(std::string_view what, std::size_t size, std::size_t max) {
  return std::string(what) + " is " + std::to_string(size) + " bytes; the limit is " +
         std::to_string(max);
}

std::string parse_port(std::string_view text, std::uint16_t& port) {
  if (text == "*") {
    port = 0;
    return {};
  }
  if (text.empty()) return "the port is missing";
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return "the port '" + std::string(text) + "' is not a number";
  }
  if (value > 65535) return "the port " + std::string(text) + " is out of range (0-65535)";
  port = static_cast<std::uint16_t>(value);
  return {};
}

std::string check_host(std::string_view host) {
  if (host.empty()) return "the host is empty (use '*' for every interface)";
  if (host.size() > 253) return "the host name is longer than 253 bytes";
  for (char c : host) {
    if (!is_name_char(c) && c != ':' && c != '%') {
      return "the host '" + std::string(host) + "' has an invalid character";
    }
  }
  return {};
}

}  // namespace

std::string parse_host_port(std::string_view rest, Endpoint& ep) {
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return "the IPv6 address has no closing ']'";
    host = rest.substr(1, close - 1);
    if (host.empty()) return "the IPv6 address is empty";
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return "the port is missing (expected ]:PORT)";
    port = rest.substr(1);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return "the port is missing (expected HOST:PORT)";
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address must be written in brackets: [ADDR]:PORT";
    }
  }
  if (host != "*") {
    if (std::string f = check_host(host); !f.empty()) return f;
    ep.host = std::string(host);
  }
  return parse_port(port, ep.port);
}

std::string format_host_port(const Endpoint& ep) {
  std::string text;
  if (ep.host.empty()) {
    text += '*';
  } else if (ep.host.find(':') != std::string::npos) {
    text += '[' + ep.host + ']';
  } else {
    text += ep.host;
  }
  return text + ':' + std::to_string(ep.port);
}

std::string parse_path(std::string_view rest, Endpoint& ep, std::size_t max,
                       std::string_view what) {
  if (rest.empty()) return std::string(what) + " is empty";
  if (rest.find('\0') != std::string_view::npos) return std::string(what) + " contains a NUL byte";
  if (rest.size() > max) return too_long(what, rest.size(), max);
  ep.path = std::string(rest);
  return {};
}

std::string parse_name(std::string_view rest, Endpoint& ep, std::size_t max,
                       std::string_view what) {
  if (rest.empty()) return std::string(what) + " is empty";
  if (rest.size() > max) return too_long(what, rest.size(), max);
  for (char c : rest) {
    if (!is_name_char(c))
      return std::string(what) + " may hold only letters, digits, '-', '_' and '.'";
  }
  ep.path = std::string(rest);
  return {};
}

std::string format_path(const Endpoint& ep) { return ep.path; }

std::string parse_nothing(std::string_view rest, std::string_view scheme) {
  if (!rest.empty()) return std::string(scheme) + ":// takes nothing after the scheme";
  return {};
}

std::string format_nothing(const Endpoint&) { return {}; }

}  // namespace ipcx::transport::address
