// The C API (capi layer): errors, messages, views, keys and options. See capi.hpp.
#include <cstring>

#include "capi/capi.hpp"

namespace ipcx::capi {
namespace {
thread_local std::string last_error;
}  // namespace

const char* last_error_text() noexcept { return last_error.c_str(); }

int fail(Errc code, std::string text) noexcept {
  try {
    last_error = std::move(text);
  } catch (...) {
    last_error.clear();  // out of memory for the text: the code still says what happened
  }
  return static_cast<int>(code);
}

int fail(const char* what, Errc code) noexcept {
  return fail(code, std::string(what) + ": " + std::string(to_string(code)));
}

Message message_from(const ipcx_frame* frames, std::size_t count) {
  Message message;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) bytes += frames[i].size;
  message.reserve(bytes);
  for (std::size_t i = 0; i < count; ++i) {
    message.add(std::span(static_cast<const std::byte*>(frames[i].data), frames[i].size));
  }
  return message;
}

ipcx_frame frame_of(std::span<const std::byte> bytes) noexcept {
  return {bytes.data(), bytes.size()};
}

int give(Message&& message, ipcx_msg** out) {
  *out = new ipcx_msg{std::move(message)};
  return IPCX_OK;
}

int give(MessageView&& view, ipcx_view** out) {
  *out = new ipcx_view{std::move(view)};
  return IPCX_OK;
}

void copy_url(const std::string& url, char* bound, std::size_t capacity) noexcept {
  if (bound == nullptr || capacity == 0) return;
  std::size_t n = url.size() < capacity - 1 ? url.size() : capacity - 1;
  std::memcpy(bound, url.data(), n);
  bound[n] = '\0';
}

void stats_to(const SocketStats& s, ipcx_socket_stats* out) noexcept {
  *out = {s.peers, s.ready, s.messages, s.bytes, s.dropped, s.peer_faults, s.rejected, s.lost};
}

}  // namespace ipcx::capi

using namespace ipcx;

extern "C" {

const char* ipcx_last_error(void) { return capi::last_error_text(); }

const char* ipcx_errc_name(int code) {
  if (code == IPCX_INVALID_ARGUMENT) return "invalid_argument";
  if (code < 0 || code > static_cast<int>(Errc::auth_failed)) return "unknown";
  // to_string's views name static strings, NUL-terminated.
  return to_string(static_cast<Errc>(code)).data();
}

const char* ipcx_version(void) { return kVersionString; }

int ipcx_curve_key_pair(char public_key[41], char secret_key[41]) {
  return capi::guarded("ipcx_curve_key_pair", [&] {
    if (public_key == nullptr || secret_key == nullptr) {
      return capi::invalid("ipcx_curve_key_pair", "NULL key buffer");
    }
    auto pair = curve_key_pair();
    capi::copy_url(pair.public_key, public_key, 41);
    capi::copy_url(pair.secret_key, secret_key, 41);
    return static_cast<int>(IPCX_OK);
  });
}

size_t ipcx_msg_count(const ipcx_msg* msg) { return msg == nullptr ? 0 : msg->message.size(); }

ipcx_frame ipcx_msg_frame(const ipcx_msg* msg, size_t i) {
  if (msg == nullptr || i >= msg->message.size()) return {nullptr, 0};
  return capi::frame_of(msg->message.frame(i));
}

void ipcx_msg_free(ipcx_msg* msg) { delete msg; }

size_t ipcx_view_count(const ipcx_view* view) { return view == nullptr ? 0 : view->view.size(); }

ipcx_frame ipcx_view_frame(const ipcx_view* view, size_t i) {
  if (view == nullptr || i >= view->view.size()) return {nullptr, 0};
  return capi::frame_of(view->view.frame(i));
}

int ipcx_view_zero_copy(const ipcx_view* view) {
  return view != nullptr && view->view.zero_copy() ? 1 : 0;
}

void ipcx_view_release(ipcx_view* view) { delete view; }

}  // extern "C"

// The C enums mirror the C++ ones value for value; conversions are casts.
static_assert(IPCX_AUTH_FAILED == static_cast<int>(ipcx::Errc::auth_failed));
static_assert(IPCX_TIMEOUT == static_cast<int>(ipcx::Errc::timeout));
static_assert(IPCX_CANCELLED == static_cast<int>(ipcx::Errc::cancelled));
static_assert(IPCX_EVENT_REFUSED == static_cast<int>(ipcx::EventKind::refused));
static_assert(IPCX_PROXY_PUBLISH_SUBSCRIBE ==
              static_cast<int>(ipcx::ProxyPattern::publish_subscribe));
static_assert(IPCX_ENVELOPE_PLAIN == static_cast<int>(ipcx::RequestEnvelope::plain));
