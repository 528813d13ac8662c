// The C API (capi layer): Server, Request and Responder.
#include <memory>

#include "capi/capi.hpp"

using namespace ipcx;

struct ipcx_server {
  explicit ipcx_server(ServerOptions options) : server(std::move(options)) {}
  Server server;
};

struct ipcx_request {
  Request* request;
};

struct ipcx_responder {
  Responder responder;
};

extern "C" {

int ipcx_server_new(const ipcx_server_options* options, ipcx_server** out) {
  return capi::guarded("ipcx_server_new", [&] {
    if (out == nullptr) return capi::invalid("ipcx_server_new", "NULL out");
    *out = new ipcx_server(capi::server_options_from(options));
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_server_bind(ipcx_server* s, const char* url, char* bound, size_t capacity) {
  return capi::guarded("ipcx_server_bind", [&] {
    if (s == nullptr || url == nullptr) return capi::invalid("ipcx_server_bind", "NULL argument");
    capi::copy_url(s->server.bind(url).url(), bound, capacity);
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_server_connect(ipcx_server* s, const char* url) {
  return capi::guarded("ipcx_server_connect", [&] {
    if (s == nullptr || url == nullptr) {
      return capi::invalid("ipcx_server_connect", "NULL argument");
    }
    s->server.connect(url);
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_server_on_request(ipcx_server* s, ipcx_handler handler, void* user) {
  return capi::guarded("ipcx_server_on_request", [&] {
    if (s == nullptr || handler == nullptr) {
      return capi::invalid("ipcx_server_on_request", "NULL argument");
    }
    s->server.on_request([handler, user](Request& request) {
      ipcx_request c{&request};
      handler(&c, user);
    });
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_server_run(ipcx_server* s) {
  return capi::guarded("ipcx_server_run", [&] {
    if (s == nullptr) return capi::invalid("ipcx_server_run", "NULL server");
    s->server.run();
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_server_start(ipcx_server* s) {
  return capi::guarded("ipcx_server_start", [&] {
    if (s == nullptr) return capi::invalid("ipcx_server_start", "NULL server");
    s->server.start();
    return static_cast<int>(IPCX_OK);
  });
}

void ipcx_server_stop(ipcx_server* s) {
  if (s != nullptr) s->server.stop();
}

int ipcx_server_run_once(ipcx_server* s, int64_t wait_ms) {
  return capi::guarded("ipcx_server_run_once", [&] {
    if (s == nullptr) return capi::invalid("ipcx_server_run_once", "NULL server");
    auto r = s->server.run_once(std::chrono::milliseconds(wait_ms < 0 ? 0 : wait_ms));
    return r ? static_cast<int>(IPCX_OK) : capi::fail("ipcx_server_run_once", r.error());
  });
}

int ipcx_server_fd(const ipcx_server* s) { return s == nullptr ? -1 : s->server.fd(); }

int ipcx_server_stats_get(const ipcx_server* s, ipcx_server_stats* out) {
  if (s == nullptr || out == nullptr) return capi::invalid("ipcx_server_stats_get", "NULL");
  auto t = s->server.stats();
  *out = {t.accepted,       t.open,        t.rejected,        t.requests,     t.replies,
          t.handler_errors, t.peer_faults, t.dropped_replies, t.dropped_input};
  return IPCX_OK;
}

void ipcx_server_free(ipcx_server* s) { delete s; }

size_t ipcx_request_count(const ipcx_request* r) {
  return r == nullptr ? 0 : r->request->body().size();
}

ipcx_frame ipcx_request_frame(const ipcx_request* r, size_t i) {
  if (r == nullptr || i >= r->request->body().size()) return {nullptr, 0};
  return capi::frame_of(r->request->body().frame(i));
}

void ipcx_request_peer(const ipcx_request* r, ipcx_peer* out) {
  if (r == nullptr || out == nullptr) return;
  const PeerInfo& p = r->request->peer();
  *out = {p.mechanism.c_str(), p.pid, p.uid, p.gid, p.address.c_str(), p.curve_key.c_str()};
}

int ipcx_request_reply(ipcx_request* r, const ipcx_frame* frames, size_t count) {
  return capi::guarded("ipcx_request_reply", [&] {
    if (r == nullptr || (frames == nullptr && count > 0)) {
      return capi::invalid("ipcx_request_reply", "NULL argument");
    }
    r->request->reply(capi::message_from(frames, count));
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_request_respond_later(ipcx_request* r, ipcx_responder** out) {
  return capi::guarded("ipcx_request_respond_later", [&] {
    if (r == nullptr || out == nullptr) {
      return capi::invalid("ipcx_request_respond_later", "NULL argument");
    }
    *out = new ipcx_responder{r->request->respond_later()};
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_responder_reply(ipcx_responder* r, const ipcx_frame* frames, size_t count) {
  return capi::guarded("ipcx_responder_reply", [&] {
    if (r == nullptr || (frames == nullptr && count > 0)) {
      return capi::invalid("ipcx_responder_reply", "NULL argument");
    }
    auto result = r->responder.reply(capi::message_from(frames, count));
    return result ? static_cast<int>(IPCX_OK) : capi::fail("ipcx_responder_reply", result.error());
  });
}

void ipcx_responder_free(ipcx_responder* r) { delete r; }

}  // extern "C"
