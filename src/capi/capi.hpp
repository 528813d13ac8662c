// The C API's shared plumbing (capi layer, over include/ipcx only): the handles' definitions,
// the per-thread error message, and conversions between C and C++ forms. One file per handle
// family implements include/ipcx/ipcx.h.
#pragma once

#include <chrono>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include "ipcx/ipcx.h"
#include "ipcx/ipcx.hpp"

struct ipcx_msg {
  ipcx::Message message;
};

struct ipcx_view {
  ipcx::MessageView view;
};

namespace ipcx::capi {

// The calling thread's last failure, "" before any.
const char* last_error_text() noexcept;
// Records `text` as the calling thread's last error and returns `code`.
int fail(Errc code, std::string text) noexcept;
// A Result's failure: "<what>: <code name>".
int fail(const char* what, Errc code) noexcept;
inline int invalid(const char* what, const char* why) noexcept {
  return fail(static_cast<Errc>(IPCX_INVALID_ARGUMENT), std::string(what) + ": " + why);
}

// Runs `body` (which returns an ipcx_errc), turning exceptions into codes: C callers cannot
// catch them, and none may cross the C boundary.
template <class Body>
int guarded(const char* what, Body&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    return fail(e.errc(), std::string(what) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return fail(Errc::resource_exhausted, std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    return fail(Errc::io_error, std::string(what) + ": " + e.what());
  }
}

// A C timeout: negative waits without limit (far enough ahead that no deadline overflows).
inline std::chrono::milliseconds timeout_from(std::int64_t ms) noexcept {
  constexpr std::int64_t kYears = std::int64_t{50} * 365 * 24 * 3600 * 1000;
  return std::chrono::milliseconds(ms < 0 || ms > kYears ? kYears : ms);
}

// frames[0..count) as a Message; NULL frames with count 0 make an empty message.
Message message_from(const ipcx_frame* frames, std::size_t count);
ipcx_frame frame_of(std::span<const std::byte> bytes) noexcept;

// Hands a message or a view to the caller as a new handle.
int give(Message&& message, ipcx_msg** out);
int give(MessageView&& view, ipcx_view** out);

// Writes `url` into `bound` (capacity bytes, NUL-terminated, truncated) when bound is not NULL.
void copy_url(const std::string& url, char* bound, std::size_t capacity) noexcept;

ServerOptions server_options_from(const ipcx_server_options* options);
ClientOptions client_options_from(const ipcx_client_options* options);
SocketOptions socket_options_from(const ipcx_socket_options* options);
ProxyOptions proxy_options_from(const ipcx_proxy_options* options);
void stats_to(const SocketStats& stats, ipcx_socket_stats* out) noexcept;

}  // namespace ipcx::capi
