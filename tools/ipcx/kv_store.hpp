// The kv handler (CLI): a small key-value store shared by every client of one `ipcx serve`.
// Request frames: put K V -> OK; get K -> V; del K -> OK; keys PREFIX -> one frame per key.
// Any failure is one frame starting "ERR ". Thread-safe, so it serves a worker pool too.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "ipcx/message.hpp"

namespace ipcx::cli {

class KvStore {
 public:
  // Never throws for bad input: malformed requests get an "ERR ..." reply.
  Message handle(const Message& request);

 private:
  std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> entries_;
};

// Replies with the request itself.
inline Message echo(const Message& request) { return request; }

}  // namespace ipcx::cli
