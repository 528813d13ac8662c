// Public error model (API layer): the Errc codes every call reports, their error_category, and
// ipcx::Error, which setup calls (bind, connect, parse) throw. Hot-path calls return Result<T>.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace ipcx {

// Each code is named for what the caller does next, not for the syscall that failed.
enum class Errc : int {
  ok = 0,
  timeout,             // the deadline passed; the operation may be retried
  would_block,         // a non-blocking call could not make progress now
  peer_closed,         // the other side went away; in-flight requests are lost, not re-sent
  refused,             // nobody accepted the connection, or the handshake was refused
  message_too_large,   // above max_message_size (sender side) or a mechanism's own limit
  protocol_violation,  // the peer broke the wire protocol; its link is closed
  bad_endpoint,        // the URL is malformed or names something impossible
  not_supported,       // valid, but not implemented by this build or mechanism
  permission_denied,   // file mode, uid allow-list or kernel refused access
  address_in_use,      // a live server already owns the address
  resource_exhausted,  // out of fds, memory, queue space or a configured limit
  cancelled,           // the server stopped before the request was answered
  io_error,            // any other OS failure; the detail names the syscall
  // CURVE: the server is not the one whose key we hold, our key is not admitted, or the two
  // sides do not agree on a security mechanism.
  auth_failed,
};

const std::error_category& error_category() noexcept;
std::error_code make_error_code(Errc code) noexcept;
// A stable lower-case name ("peer_closed") for logs and the CLI.
std::string_view to_string(Errc code) noexcept;

// Thrown by setup calls. what() reads "<endpoint>: <detail> (<code>)".
class Error : public std::system_error {
 public:
  Error(Errc code, std::string endpoint, const std::string& detail);
  Errc errc() const noexcept { return static_cast<Errc>(code().value()); }
  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  std::string endpoint_;
};

}  // namespace ipcx

template <>
struct std::is_error_code_enum<ipcx::Errc> : std::true_type {};
