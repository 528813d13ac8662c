// The C API (capi layer): Proxy.
#include "capi/capi.hpp"

using namespace ipcx;

struct ipcx_proxy {
  explicit ipcx_proxy(ProxyOptions options) : proxy(std::move(options)) {}
  Proxy proxy;
};

extern "C" {

int ipcx_proxy_new(const ipcx_proxy_options* options, ipcx_proxy** out) {
  return capi::guarded("ipcx_proxy_new", [&] {
    if (out == nullptr) return capi::invalid("ipcx_proxy_new", "NULL out");
    *out = new ipcx_proxy(capi::proxy_options_from(options));
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_proxy_bind(ipcx_proxy* p, ipcx_proxy_side side, const char* url, char* bound,
                    size_t capacity) {
  return capi::guarded("ipcx_proxy_bind", [&] {
    if (p == nullptr || url == nullptr) return capi::invalid("ipcx_proxy_bind", "NULL argument");
    Endpoint e = side == IPCX_PROXY_FRONTEND  ? p->proxy.bind_frontend(url)
                 : side == IPCX_PROXY_BACKEND ? p->proxy.bind_backend(url)
                                              : p->proxy.bind_capture(url);
    capi::copy_url(e.url(), bound, capacity);
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_proxy_connect(ipcx_proxy* p, ipcx_proxy_side side, const char* url) {
  return capi::guarded("ipcx_proxy_connect", [&] {
    if (p == nullptr || url == nullptr) {
      return capi::invalid("ipcx_proxy_connect", "NULL argument");
    }
    if (side == IPCX_PROXY_FRONTEND) {
      p->proxy.connect_frontend(url);
    } else if (side == IPCX_PROXY_BACKEND) {
      p->proxy.connect_backend(url);
    } else {
      p->proxy.connect_capture(url);
    }
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_proxy_run(ipcx_proxy* p) {
  return capi::guarded("ipcx_proxy_run", [&] {
    if (p == nullptr) return capi::invalid("ipcx_proxy_run", "NULL proxy");
    p->proxy.run();
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_proxy_start(ipcx_proxy* p) {
  return capi::guarded("ipcx_proxy_start", [&] {
    if (p == nullptr) return capi::invalid("ipcx_proxy_start", "NULL proxy");
    p->proxy.start();
    return static_cast<int>(IPCX_OK);
  });
}

void ipcx_proxy_stop(ipcx_proxy* p) {
  if (p != nullptr) p->proxy.stop();
}

int ipcx_proxy_stats_get(const ipcx_proxy* p, ipcx_proxy_stats* out) {
  if (p == nullptr || out == nullptr) return capi::invalid("ipcx_proxy_stats_get", "NULL");
  auto s = p->proxy.stats();
  *out = {s.to_backend, s.to_frontend, s.dropped, s.captured};
  return IPCX_OK;
}

void ipcx_proxy_free(ipcx_proxy* p) { delete p; }

}  // extern "C"
