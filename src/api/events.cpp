// Connection events (API layer): the names ipcx serve --events prints.
#include "ipcx/events.hpp"

namespace ipcx {

std::string_view to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::connected:
      return "connected";
    case EventKind::disconnected:
      return "disconnected";
    case EventKind::handshake_failed:
      return "handshake_failed";
    case EventKind::heartbeat_timeout:
      return "heartbeat_timeout";
    case EventKind::refused:
      return "refused";
  }
  return "unknown";
}

}  // namespace ipcx
