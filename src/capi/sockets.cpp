// The C API (capi layer): Pusher, Puller, Publisher and Subscriber. What the four share (making,
// binding, connecting, stats) is written once, over the handle type.
#include "capi/capi.hpp"

using namespace ipcx;

struct ipcx_pusher {
  Pusher socket;
};
struct ipcx_puller {
  Puller socket;
};
struct ipcx_publisher {
  Publisher socket;
};
struct ipcx_subscriber {
  Subscriber socket;
};

namespace {

template <class Handle>
int make(const char* what, const ipcx_socket_options* options, Handle** out) {
  return capi::guarded(what, [&] {
    if (out == nullptr) return capi::invalid(what, "NULL out");
    *out = new Handle{decltype(Handle::socket)(capi::socket_options_from(options))};
    return static_cast<int>(IPCX_OK);
  });
}

template <class Handle>
int bind(const char* what, Handle* h, const char* url, char* bound, std::size_t capacity) {
  return capi::guarded(what, [&] {
    if (h == nullptr || url == nullptr) return capi::invalid(what, "NULL argument");
    capi::copy_url(h->socket.bind(url).url(), bound, capacity);
    return static_cast<int>(IPCX_OK);
  });
}

template <class Handle>
int connect(const char* what, Handle* h, const char* url) {
  return capi::guarded(what, [&] {
    if (h == nullptr || url == nullptr) return capi::invalid(what, "NULL argument");
    h->socket.connect(url);
    return static_cast<int>(IPCX_OK);
  });
}

template <class Handle>
int stats(const char* what, const Handle* h, ipcx_socket_stats* out) {
  if (h == nullptr || out == nullptr) return capi::invalid(what, "NULL argument");
  capi::stats_to(h->socket.stats(), out);
  return IPCX_OK;
}

template <class Handle>
int fd(const Handle* h) {
  return h == nullptr ? -1 : h->socket.fd();
}

// A receive into a new message handle, for Puller and Subscriber.
template <class Handle>
int receive(const char* what, Handle* h, std::int64_t timeout_ms, ipcx_msg** out) {
  return capi::guarded(what, [&] {
    if (h == nullptr || out == nullptr) return capi::invalid(what, "NULL argument");
    auto r = h->socket.receive(capi::timeout_from(timeout_ms));
    if (!r) return capi::fail(what, r.error());
    return capi::give(std::move(*r), out);
  });
}

int flushed(const char* what, bool done) {
  return done ? static_cast<int>(IPCX_OK) : capi::fail(what, Errc::timeout);
}

}  // namespace

extern "C" {

int ipcx_pusher_new(const ipcx_socket_options* o, ipcx_pusher** out) {
  return make("ipcx_pusher_new", o, out);
}
int ipcx_pusher_bind(ipcx_pusher* p, const char* url, char* bound, size_t capacity) {
  return bind("ipcx_pusher_bind", p, url, bound, capacity);
}
int ipcx_pusher_connect(ipcx_pusher* p, const char* url) {
  return connect("ipcx_pusher_connect", p, url);
}
int ipcx_pusher_send(ipcx_pusher* p, const ipcx_frame* frames, size_t count, int64_t timeout_ms) {
  return capi::guarded("ipcx_pusher_send", [&] {
    if (p == nullptr || (frames == nullptr && count > 0)) {
      return capi::invalid("ipcx_pusher_send", "NULL argument");
    }
    auto r = p->socket.send(capi::message_from(frames, count), capi::timeout_from(timeout_ms));
    return r ? static_cast<int>(IPCX_OK) : capi::fail("ipcx_pusher_send", r.error());
  });
}
int ipcx_pusher_flush(ipcx_pusher* p, int64_t timeout_ms) {
  return capi::guarded("ipcx_pusher_flush", [&] {
    if (p == nullptr) return capi::invalid("ipcx_pusher_flush", "NULL pusher");
    return flushed("ipcx_pusher_flush", p->socket.flush(capi::timeout_from(timeout_ms)));
  });
}
int ipcx_pusher_fd(const ipcx_pusher* p) { return fd(p); }
int ipcx_pusher_stats_get(const ipcx_pusher* p, ipcx_socket_stats* out) {
  return stats("ipcx_pusher_stats_get", p, out);
}
void ipcx_pusher_free(ipcx_pusher* p) { delete p; }

int ipcx_puller_new(const ipcx_socket_options* o, ipcx_puller** out) {
  return make("ipcx_puller_new", o, out);
}
int ipcx_puller_bind(ipcx_puller* p, const char* url, char* bound, size_t capacity) {
  return bind("ipcx_puller_bind", p, url, bound, capacity);
}
int ipcx_puller_connect(ipcx_puller* p, const char* url) {
  return connect("ipcx_puller_connect", p, url);
}
int ipcx_puller_receive(ipcx_puller* p, int64_t timeout_ms, ipcx_msg** out) {
  return receive("ipcx_puller_receive", p, timeout_ms, out);
}
int ipcx_puller_receive_view(ipcx_puller* p, int64_t timeout_ms, ipcx_view** out) {
  return capi::guarded("ipcx_puller_receive_view", [&] {
    if (p == nullptr || out == nullptr) {
      return capi::invalid("ipcx_puller_receive_view", "NULL argument");
    }
    auto r = p->socket.receive_view(capi::timeout_from(timeout_ms));
    if (!r) return capi::fail("ipcx_puller_receive_view", r.error());
    return capi::give(std::move(*r), out);
  });
}
int ipcx_puller_fd(const ipcx_puller* p) { return fd(p); }
int ipcx_puller_stats_get(const ipcx_puller* p, ipcx_socket_stats* out) {
  return stats("ipcx_puller_stats_get", p, out);
}
void ipcx_puller_free(ipcx_puller* p) { delete p; }

int ipcx_publisher_new(const ipcx_socket_options* o, ipcx_publisher** out) {
  return make("ipcx_publisher_new", o, out);
}
int ipcx_publisher_bind(ipcx_publisher* p, const char* url, char* bound, size_t capacity) {
  return bind("ipcx_publisher_bind", p, url, bound, capacity);
}
int ipcx_publisher_connect(ipcx_publisher* p, const char* url) {
  return connect("ipcx_publisher_connect", p, url);
}
int ipcx_publisher_publish(ipcx_publisher* p, const ipcx_frame* frames, size_t count,
                           size_t* delivered) {
  return capi::guarded("ipcx_publisher_publish", [&] {
    if (p == nullptr || frames == nullptr || count == 0) {
      return capi::invalid("ipcx_publisher_publish", "NULL publisher or no frames");
    }
    auto r = p->socket.publish(capi::message_from(frames, count));
    if (!r) return capi::fail("ipcx_publisher_publish", r.error());
    if (delivered != nullptr) *delivered = *r;
    return static_cast<int>(IPCX_OK);
  });
}
int ipcx_publisher_poll(ipcx_publisher* p) {
  return capi::guarded("ipcx_publisher_poll", [&] {
    if (p == nullptr) return capi::invalid("ipcx_publisher_poll", "NULL publisher");
    p->socket.poll();
    return static_cast<int>(IPCX_OK);
  });
}
int ipcx_publisher_flush(ipcx_publisher* p, int64_t timeout_ms) {
  return capi::guarded("ipcx_publisher_flush", [&] {
    if (p == nullptr) return capi::invalid("ipcx_publisher_flush", "NULL publisher");
    return flushed("ipcx_publisher_flush", p->socket.flush(capi::timeout_from(timeout_ms)));
  });
}
size_t ipcx_publisher_subscribers(const ipcx_publisher* p) {
  return p == nullptr ? 0 : p->socket.subscribers();
}
int ipcx_publisher_fd(const ipcx_publisher* p) { return fd(p); }
int ipcx_publisher_stats_get(const ipcx_publisher* p, ipcx_socket_stats* out) {
  return stats("ipcx_publisher_stats_get", p, out);
}
void ipcx_publisher_free(ipcx_publisher* p) { delete p; }

int ipcx_subscriber_new(const ipcx_socket_options* o, ipcx_subscriber** out) {
  return make("ipcx_subscriber_new", o, out);
}
int ipcx_subscriber_bind(ipcx_subscriber* s, const char* url, char* bound, size_t capacity) {
  return bind("ipcx_subscriber_bind", s, url, bound, capacity);
}
int ipcx_subscriber_connect(ipcx_subscriber* s, const char* url) {
  return connect("ipcx_subscriber_connect", s, url);
}
int ipcx_subscriber_subscribe(ipcx_subscriber* s, const void* topic, size_t size) {
  return capi::guarded("ipcx_subscriber_subscribe", [&] {
    if (s == nullptr || (topic == nullptr && size > 0)) {
      return capi::invalid("ipcx_subscriber_subscribe", "NULL argument");
    }
    s->socket.subscribe({static_cast<const char*>(topic), size});
    return static_cast<int>(IPCX_OK);
  });
}
int ipcx_subscriber_unsubscribe(ipcx_subscriber* s, const void* topic, size_t size) {
  return capi::guarded("ipcx_subscriber_unsubscribe", [&] {
    if (s == nullptr || (topic == nullptr && size > 0)) {
      return capi::invalid("ipcx_subscriber_unsubscribe", "NULL argument");
    }
    s->socket.unsubscribe({static_cast<const char*>(topic), size});
    return static_cast<int>(IPCX_OK);
  });
}
int ipcx_subscriber_receive(ipcx_subscriber* s, int64_t timeout_ms, ipcx_msg** out) {
  return receive("ipcx_subscriber_receive", s, timeout_ms, out);
}
uint64_t ipcx_subscriber_gap(const ipcx_subscriber* s) {
  return s == nullptr ? 0 : s->socket.gap();
}
int ipcx_subscriber_fd(const ipcx_subscriber* s) { return fd(s); }
int ipcx_subscriber_stats_get(const ipcx_subscriber* s, ipcx_socket_stats* out) {
  return stats("ipcx_subscriber_stats_get", s, out);
}
void ipcx_subscriber_free(ipcx_subscriber* s) { delete s; }

}  // extern "C"
