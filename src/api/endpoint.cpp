// Endpoint URL parser (API layer). Pure string work, no syscalls: host names stay names until
// bind/connect resolves them. Every failure names the fault; parse() adds the URL.
#include "ipcx/endpoint.hpp"

#include <array>
#include <charconv>

namespace ipcx {
namespace {

// sun_path holds 108 bytes including the terminating NUL (abstract names: a leading NUL).
constexpr std::size_t kMaxUnixPath = 107;
constexpr std::size_t kMaxFifoPath = 4000;  // client FIFO names add a suffix under PATH_MAX
constexpr std::size_t kMaxQueueName = 200;  // NAME_MAX 255 less the reply-queue suffix
constexpr std::size_t kMaxShmName = 80;     // fits "ipcx-shm-<uid>-NAME" in an abstract name

struct SchemeName {
  std::string_view text;
  Scheme scheme;
};
constexpr std::array<SchemeName, 8> kSchemes{{{"shm", Scheme::shm},
                                              {"unix", Scheme::unix_socket},
                                              {"ipc", Scheme::unix_socket},
                                              {"tcp", Scheme::tcp},
                                              {"udp", Scheme::udp},
                                              {"pipe", Scheme::pipe},
                                              {"mq", Scheme::mq},
                                              {"stdio", Scheme::stdio}}};

using Fault = std::string;  // empty: no fault

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

Fault check_plain_name(std::string_view name, std::size_t max, std::string_view what) {
  if (name.empty()) return std::string(what) + " is empty";
  if (name.size() > max) {
    return std::string(what) + " is " + std::to_string(name.size()) + " bytes; the limit is " +
           std::to_string(max);
  }
  for (char c : name) {
    if (!is_name_char(c)) {
      return std::string(what) + " may hold only letters, digits, '-', '_' and '.'";
    }
  }
  return {};
}

Fault check_path(std::string_view path, std::size_t max, std::string_view what) {
  if (path.empty()) return std::string(what) + " is empty";
  if (path.find('\0') != std::string_view::npos) return std::string(what) + " contains a NUL byte";
  if (path.size() > max) {
    return std::string(what) + " is " + std::to_string(path.size()) + " bytes; the limit is " +
           std::to_string(max);
  }
  return {};
}

Fault parse_port(std::string_view text, std::uint16_t& port) {
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

Fault check_host(std::string_view host) {
  if (host.empty()) return "the host is empty (use '*' for every interface)";
  if (host.size() > 253) return "the host name is longer than 253 bytes";
  for (char c : host) {
    if (!is_name_char(c) && c != ':' && c != '%') {
      return "the host '" + std::string(host) + "' has an invalid character";
    }
  }
  return {};
}

Fault parse_host_port(std::string_view rest, Endpoint& ep) {
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
    if (Fault f = check_host(host); !f.empty()) return f;
    ep.host = std::string(host);
  }
  return parse_port(port, ep.port);
}

Fault parse_rest(std::string_view rest, Endpoint& ep) {
  switch (ep.scheme) {
    case Scheme::tcp:
    case Scheme::udp:
      return parse_host_port(rest, ep);
    case Scheme::unix_socket:
      if (!rest.empty() && rest.front() == '@') {
        ep.abstract = true;
        ep.path = std::string(rest.substr(1));
        return check_path(ep.path, kMaxUnixPath - 1, "the abstract socket name");
      }
      ep.path = std::string(rest);
      return check_path(ep.path, kMaxUnixPath, "the socket path");
    case Scheme::pipe:
      ep.path = std::string(rest);
      return check_path(ep.path, kMaxFifoPath, "the FIFO path");
    case Scheme::shm:
      ep.path = std::string(rest);
      if (!rest.empty() && rest.front() == '/') {
        return check_path(ep.path, kMaxUnixPath, "the rendezvous socket path");
      }
      return check_plain_name(rest, kMaxShmName, "the shared-memory name");
    case Scheme::mq:
      ep.path = std::string(rest);
      return check_plain_name(rest, kMaxQueueName, "the queue name");
    case Scheme::stdio:
      if (!rest.empty()) return "stdio:// takes nothing after the scheme";
      return {};
  }
  return "unhandled scheme";
}

}  // namespace

std::string_view scheme_name(Scheme scheme) noexcept {
  switch (scheme) {
    case Scheme::shm:
      return "shm";
    case Scheme::unix_socket:
      return "unix";
    case Scheme::tcp:
      return "tcp";
    case Scheme::udp:
      return "udp";
    case Scheme::pipe:
      return "pipe";
    case Scheme::mq:
      return "mq";
    case Scheme::stdio:
      return "stdio";
  }
  return "?";
}

std::string Endpoint::url() const {
  std::string text(scheme_name(scheme));
  text += "://";
  switch (scheme) {
    case Scheme::tcp:
    case Scheme::udp:
      if (host.empty()) {
        text += '*';
      } else if (host.find(':') != std::string::npos) {
        text += '[' + host + ']';
      } else {
        text += host;
      }
      text += ':' + std::to_string(port);
      break;
    case Scheme::unix_socket:
      if (abstract) text += '@';
      text += path;
      break;
    case Scheme::stdio:
      break;
    default:
      text += path;
  }
  return text;
}

Result<Endpoint> Endpoint::try_parse(std::string_view url, std::string* why) noexcept {
  auto fail = [why](std::string fault) -> Result<Endpoint> {
    if (why) *why = std::move(fault);
    return unexpected(Errc::bad_endpoint);
  };
  try {
    auto sep = url.find("://");
    if (sep == std::string_view::npos) return fail("expected SCHEME://ADDRESS");
    std::string_view scheme = url.substr(0, sep);
    Endpoint ep;
    bool known = false;
    for (const auto& s : kSchemes) {
      if (s.text == scheme) {
        ep.scheme = s.scheme;
        known = true;
      }
    }
    if (!known) {
      return fail("unknown scheme '" + std::string(scheme) +
                  "' (expected shm, unix, ipc, tcp, udp, pipe, mq or stdio)");
    }
    if (Fault f = parse_rest(url.substr(sep + 3), ep); !f.empty()) return fail(std::move(f));
    return ep;
  } catch (...) {  // std::bad_alloc from a string
    return fail("out of memory");
  }
}

Endpoint Endpoint::parse(std::string_view url) {
  std::string why;
  auto ep = try_parse(url, &why);
  if (!ep) throw Error(Errc::bad_endpoint, std::string(url), "malformed endpoint: " + why);
  return std::move(ep).value();
}

}  // namespace ipcx
