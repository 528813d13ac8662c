// SocketScope (transport layer): objects a mechanism shares among the links it makes for one
// socket, such as a publisher's shm broadcast ring. Owned by the socket; the mechanism creates
// what it needs on first use, under a key of its own (the address of a static of its file).
#pragma once

#include <memory>
#include <utility>
#include <vector>

namespace ipcx::transport {

class SocketScope {
 public:
  // The object under `key`, or an empty pointer the caller may fill.
  std::shared_ptr<void>& slot(const void* key) {
    for (auto& [k, object] : slots_) {
      if (k == key) return object;
    }
    return slots_.emplace_back(key, nullptr).second;
  }

 private:
  std::vector<std::pair<const void*, std::shared_ptr<void>>> slots_;
};

}  // namespace ipcx::transport
