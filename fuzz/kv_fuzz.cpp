// Fuzz target: the kv handler's request parsing (ipcx serve --handler kv), fed a sequence of
// hostile requests and checked against a plain std::map doing what each request says. The
// input is requests, each [u8 frame count] then per frame [u8 length][bytes]; a reply that
// differs from the model's aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "kv_store.hpp"

namespace {

using ipcx::Message;

// What the kv handler must answer, from the model; nullopt: a usage or unknown-command error,
// of which only the "ERR " is checked.
std::optional<Message> expected(std::map<std::string, std::string, std::less<>>& model,
                                const Message& request) {
  auto error = [](const char* why) { return Message{std::string("ERR ") + why}; };
  if (request.empty()) return error("empty request");
  std::string_view verb = request.text(0);
  if (verb == "put" && request.size() == 3) {
    model[request.str(1)] = request.str(2);
    return Message{"OK"};
  }
  if ((verb == "get" || verb == "del") && request.size() == 2) {
    auto it = model.find(request.text(1));
    if (it == model.end()) return error("no such key");
    if (verb == "get") return Message{it->second};
    model.erase(it);
    return Message{"OK"};
  }
  if (verb == "keys" && request.size() <= 2) {
    std::string_view prefix = request.size() == 2 ? request.text(1) : std::string_view{};
    Message reply;
    for (const auto& [key, value] : model) {
      if (std::string_view(key).substr(0, prefix.size()) == prefix) reply.add(key);
    }
    return reply;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ipcx::cli::KvStore store;
  std::map<std::string, std::string, std::less<>> model;
  std::size_t at = 0;
  while (at < size) {
    std::size_t frames = data[at++] % 5;
    Message request;
    for (std::size_t f = 0; f < frames && at < size; ++f) {
      std::size_t announced = data[at++] % 8;
      std::size_t len = std::min(announced, size - at);
      // Small alphabets so that keys collide and verbs are sometimes real.
      std::string frame(reinterpret_cast<const char*>(data + at), len);
      at += len;
      if (f == 0 && len > 0) {
        static const char* verbs[] = {"put", "get", "del", "keys"};
        auto first = static_cast<unsigned char>(frame[0]);
        if (first < 200) frame = verbs[first % 4];
      }
      request.add(frame);
    }
    Message reply = store.handle(request);
    auto want = expected(model, request);
    if (!want) {  // an error: it must say so, in one frame
      if (reply.size() != 1 || reply.text(0).substr(0, 4) != "ERR ") std::abort();
      continue;
    }
    if (!(reply == *want)) std::abort();
  }
  return 0;
}
