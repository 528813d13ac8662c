// The kv handler (CLI): request parsing and the store.
#include "kv_store.hpp"

namespace ipcx::cli {
namespace {

Message error(std::string_view why) { return Message{std::string("ERR ") + std::string(why)}; }

}  // namespace

Message KvStore::handle(const Message& request) {
  if (request.empty()) return error("empty request");
  std::string_view verb = request.text(0);
  std::lock_guard lock(mutex_);
  if (verb == "put") {
    if (request.size() != 3) return error("usage: put KEY VALUE");
    entries_.insert_or_assign(request.str(1), request.str(2));
    return Message{"OK"};
  }
  if (verb == "get") {
    if (request.size() != 2) return error("usage: get KEY");
    auto it = entries_.find(request.text(1));
    if (it == entries_.end()) return error("no such key");
    return Message{it->second};
  }
  if (verb == "del") {
    if (request.size() != 2) return error("usage: del KEY");
    auto it = entries_.find(request.text(1));
    if (it == entries_.end()) return error("no such key");
    entries_.erase(it);
    return Message{"OK"};
  }
  if (verb == "keys") {
    if (request.size() > 2) return error("usage: keys [PREFIX]");
    std::string_view prefix = request.size() == 2 ? request.text(1) : std::string_view{};
    Message reply;
    for (auto it = entries_.lower_bound(prefix);
         it != entries_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix;
         ++it) {
      reply.add(it->first);
    }
    return reply;
  }
  std::string shown(verb.substr(0, 32));
  for (char& c : shown) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return error("unknown command '" + shown + "' (put, get, del, keys)");
}

}  // namespace ipcx::cli
