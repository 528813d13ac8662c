// The C API (capi layer): Client and spawn.
#include <string>
#include <vector>

#include "capi/capi.hpp"

using namespace ipcx;

struct ipcx_client {
  Client client;
};

namespace {

bool bad_frames(const ipcx_frame* frames, std::size_t count) {
  return frames == nullptr && count > 0;
}

}  // namespace

extern "C" {

int ipcx_client_new(const char* url, const ipcx_client_options* options, ipcx_client** out) {
  return capi::guarded("ipcx_client_new", [&] {
    if (url == nullptr || out == nullptr) return capi::invalid("ipcx_client_new", "NULL argument");
    *out = new ipcx_client{Client(url, capi::client_options_from(options))};
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_spawn(const char* const* argv, const ipcx_client_options* options, ipcx_client** out) {
  return capi::guarded("ipcx_spawn", [&] {
    if (argv == nullptr || argv[0] == nullptr || out == nullptr) {
      return capi::invalid("ipcx_spawn", "an empty argv or NULL out");
    }
    std::vector<std::string> args;
    for (auto arg = argv; *arg != nullptr; ++arg) args.emplace_back(*arg);
    *out = new ipcx_client{spawn(std::move(args), capi::client_options_from(options))};
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_client_call(ipcx_client* c, const ipcx_frame* frames, size_t count, int64_t timeout_ms,
                     ipcx_msg** reply) {
  return capi::guarded("ipcx_client_call", [&] {
    if (c == nullptr || reply == nullptr || bad_frames(frames, count)) {
      return capi::invalid("ipcx_client_call", "NULL argument");
    }
    auto r = c->client.call(capi::message_from(frames, count), capi::timeout_from(timeout_ms));
    if (!r) return capi::fail("ipcx_client_call", r.error());
    return capi::give(std::move(*r), reply);
  });
}

int ipcx_client_call_view(ipcx_client* c, const ipcx_frame* frames, size_t count,
                          int64_t timeout_ms, ipcx_view** reply) {
  return capi::guarded("ipcx_client_call_view", [&] {
    if (c == nullptr || reply == nullptr || bad_frames(frames, count)) {
      return capi::invalid("ipcx_client_call_view", "NULL argument");
    }
    auto r = c->client.call_view(capi::message_from(frames, count), capi::timeout_from(timeout_ms));
    if (!r) return capi::fail("ipcx_client_call_view", r.error());
    return capi::give(std::move(*r), reply);
  });
}

int ipcx_client_send(ipcx_client* c, const ipcx_frame* frames, size_t count, uint32_t* id) {
  return capi::guarded("ipcx_client_send", [&] {
    if (c == nullptr || bad_frames(frames, count)) {
      return capi::invalid("ipcx_client_send", "NULL argument");
    }
    auto r = c->client.send(capi::message_from(frames, count));
    if (!r) return capi::fail("ipcx_client_send", r.error());
    if (id != nullptr) *id = *r;
    return static_cast<int>(IPCX_OK);
  });
}

int ipcx_client_receive(ipcx_client* c, int64_t timeout_ms, uint32_t* id, ipcx_msg** reply) {
  return capi::guarded("ipcx_client_receive", [&] {
    if (c == nullptr || reply == nullptr) {
      return capi::invalid("ipcx_client_receive", "NULL argument");
    }
    auto r = c->client.receive(capi::timeout_from(timeout_ms));
    if (!r) return capi::fail("ipcx_client_receive", r.error());
    if (id != nullptr) *id = r->id;
    return capi::give(std::move(r->body), reply);
  });
}

int ipcx_client_fd(const ipcx_client* c) { return c == nullptr ? -1 : c->client.fd(); }

void ipcx_client_free(ipcx_client* c) { delete c; }

}  // extern "C"
