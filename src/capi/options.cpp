// The C API (capi layer): options structs, their defaults from the C++ ones, and conversion.
#include <string>
#include <vector>

#include "capi/capi.hpp"

namespace ipcx::capi {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

std::string text_or_empty(const char* text) { return text == nullptr ? std::string() : text; }

std::vector<std::uint32_t> uids_from(const std::uint32_t* uids, std::size_t count) {
  return uids == nullptr ? std::vector<std::uint32_t>() : std::vector(uids, uids + count);
}

Security security_from(const ipcx_security& c) {
  Security s;
  s.curve_secret_key = text_or_empty(c.curve_secret_key);
  s.curve_server_key = text_or_empty(c.curve_server_key);
  for (std::size_t i = 0; c.curve_allow != nullptr && i < c.curve_allow_count; ++i) {
    s.curve_allow.push_back(text_or_empty(c.curve_allow[i]));
  }
  s.curve_allow_any = c.curve_allow_any != 0;
  return s;
}

LogSink log_from(ipcx_log_fn log, void* user) {
  if (log == nullptr) return {};
  return [log, user](std::string_view line) { log(line.data(), line.size(), user); };
}

EventSink events_from(ipcx_event_fn on_event, void* user) {
  if (on_event == nullptr) return {};
  return [on_event, user](const ConnectionEvent& e) {
    ipcx_event c{static_cast<ipcx_event_kind>(e.kind),
                 e.endpoint.c_str(),
                 e.peer.c_str(),
                 e.pid,
                 e.reason.c_str(),
                 static_cast<int>(e.error)};
    on_event(&c, user);
  };
}

// The C++ defaults of what the options share, C++ to C (the struct is zeroed first: no
// security, no callbacks).
template <class C, class O>
void common_defaults(C& c, const O& d) {
  c.max_message_size = d.max_message_size;
  c.max_queued_bytes = d.max_queued_bytes;
  c.spin_us = d.spin.count();
  c.handshake_timeout_ms = d.handshake_timeout.count();
  c.heartbeat_ms = d.heartbeat.count();
}

// A negative heartbeat is "off" in both APIs; other durations are taken as given.
milliseconds ms(std::int64_t value) { return milliseconds(value); }

// What the Server, Client and one-way sockets' options share, C to C++.
template <class O, class C>
void common_from(O& o, const C& c) {
  o.max_message_size = c.max_message_size;
  o.max_queued_bytes = c.max_queued_bytes;
  o.spin = microseconds(c.spin_us);
  o.handshake_timeout = ms(c.handshake_timeout_ms);
  o.heartbeat = ms(c.heartbeat_ms);
  o.security = security_from(c.security);
  o.log = log_from(c.log, c.log_user);
  o.on_event = events_from(c.on_event, c.event_user);
}

// Sockets that bind: the shm ring, socket files' mode, the uids admitted.
template <class O, class C>
void binding_from(O& o, const C& c) {
  o.shm_ring_bytes = c.shm_ring_bytes;
  o.file_mode = c.file_mode;
  o.allow_uids = uids_from(c.allow_uids, c.allow_uid_count);
}

}  // namespace

ServerOptions server_options_from(const ipcx_server_options* c) {
  ServerOptions o;
  if (c == nullptr) return o;
  common_from(o, *c);
  binding_from(o, *c);
  o.max_connections = c->max_connections;
  o.workers = c->workers;
  o.stop_grace = ms(c->stop_grace_ms);
  return o;
}

ClientOptions client_options_from(const ipcx_client_options* c) {
  ClientOptions o;
  if (c == nullptr) return o;
  common_from(o, *c);
  o.reconnect_min = ms(c->reconnect_min_ms);
  o.reconnect_max = ms(c->reconnect_max_ms);
  o.envelope = static_cast<RequestEnvelope>(c->envelope);
  o.server_uids = uids_from(c->server_uids, c->server_uid_count);
  return o;
}

SocketOptions socket_options_from(const ipcx_socket_options* c) {
  SocketOptions o;
  if (c == nullptr) return o;
  common_from(o, *c);
  binding_from(o, *c);
  o.hwm = c->hwm;
  o.lossless = c->lossless != 0;
  o.linger = ms(c->linger_ms);
  o.max_peers = c->max_peers;
  o.reconnect_min = ms(c->reconnect_min_ms);
  o.reconnect_max = ms(c->reconnect_max_ms);
  o.batch_bytes = c->batch_bytes;
  o.server_uids = uids_from(c->server_uids, c->server_uid_count);
  return o;
}

ProxyOptions proxy_options_from(const ipcx_proxy_options* c) {
  ProxyOptions o;
  if (c == nullptr) return o;
  o.pattern = static_cast<ProxyPattern>(c->pattern);
  o.max_message_size = c->max_message_size;
  o.max_held = c->max_held;
  o.hwm = c->hwm;
  o.heartbeat = ms(c->heartbeat_ms);
  o.handshake_timeout = ms(c->handshake_timeout_ms);
  o.server_uids = uids_from(c->server_uids, c->server_uid_count);
  o.frontend_security = security_from(c->frontend_security);
  o.backend_security = security_from(c->backend_security);
  o.log = log_from(c->log, c->log_user);
  o.on_event = events_from(c->on_event, c->event_user);
  return o;
}

}  // namespace ipcx::capi

using namespace ipcx;

extern "C" {

void ipcx_server_options_init(ipcx_server_options* c) {
  if (c == nullptr) return;
  ServerOptions d;
  *c = {};
  capi::common_defaults(*c, d);
  c->max_connections = d.max_connections;
  c->workers = d.workers;
  c->stop_grace_ms = d.stop_grace.count();
  c->shm_ring_bytes = d.shm_ring_bytes;
  c->file_mode = d.file_mode;
}

void ipcx_client_options_init(ipcx_client_options* c) {
  if (c == nullptr) return;
  ClientOptions d;
  *c = {};
  capi::common_defaults(*c, d);
  c->reconnect_min_ms = d.reconnect_min.count();
  c->reconnect_max_ms = d.reconnect_max.count();
  c->envelope = static_cast<ipcx_envelope>(d.envelope);
}

void ipcx_socket_options_init(ipcx_socket_options* c) {
  if (c == nullptr) return;
  SocketOptions d;
  *c = {};
  capi::common_defaults(*c, d);
  c->hwm = d.hwm;
  c->lossless = d.lossless ? 1 : 0;
  c->linger_ms = d.linger.count();
  c->max_peers = d.max_peers;
  c->reconnect_min_ms = d.reconnect_min.count();
  c->reconnect_max_ms = d.reconnect_max.count();
  c->batch_bytes = d.batch_bytes;
  c->shm_ring_bytes = d.shm_ring_bytes;
  c->file_mode = d.file_mode;
}

void ipcx_proxy_options_init(ipcx_proxy_options* c) {
  if (c == nullptr) return;
  ProxyOptions d;
  *c = {};
  c->pattern = static_cast<ipcx_proxy_pattern>(d.pattern);
  c->max_message_size = d.max_message_size;
  c->max_held = d.max_held;
  c->hwm = d.hwm;
  c->heartbeat_ms = d.heartbeat.count();
  c->handshake_timeout_ms = d.handshake_timeout.count();
}

}  // extern "C"
