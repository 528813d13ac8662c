// Fuzz target: the shm broadcast reader facing a hostile publisher. The input becomes the
// ring's control block (its positions and checkpoints) and data, exactly as a publisher could
// write them; the reader must end every run in records, emptiness or a reported corruption,
// never reading outside the ring or looping without end, however it batches its reads.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "transport/shm/broadcast_ring.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::transport;
  constexpr std::size_t kCapacity = 4096;
  constexpr std::size_t kControlWords = 6;  // tail, claimed, four checkpoints
  if (size < 8 * kControlWords) return 0;
  std::vector<std::uint64_t> memory((sizeof(BroadcastControl) + kCapacity) / 8);
  auto* control = new (memory.data()) BroadcastControl{};
  std::uint64_t words[kControlWords];
  std::memcpy(words, data, sizeof words);
  // Mostly plausible positions (within a few rings), sometimes anything.
  auto position = [](std::uint64_t w) { return (w & 1) ? w : (w >> 1) % (4 * kCapacity); };
  auto* bytes = reinterpret_cast<std::byte*>(memory.data()) + sizeof(BroadcastControl);
  std::memcpy(bytes, data + sizeof words, std::min(size - sizeof words, kCapacity));
  BroadcastReader reader(control, bytes, kCapacity);  // starts at tail 0
  control->tail.store(position(words[0]));
  control->claimed.store(position(words[1]));
  for (int i = 0; i < 4; ++i) control->checkpoint[i].store(position(words[2 + i]));
  // Records are peeked in batches judged by one confirm(), as the shm link reads them; the
  // batch size varies with the input.
  std::size_t batch = 1 + size % 5;
  std::vector<std::byte> out;
  for (int i = 0; i < 256; ++i) {
    std::size_t peeked = 0;
    std::span<const std::byte> body;
    while (peeked < batch) {
      auto got = reader.peek(body);
      if (got == BroadcastReader::Read::corrupt) return 0;
      if (got == BroadcastReader::Read::empty) break;
      out.assign(body.begin(), body.end());  // every byte it offers must be readable
      ++peeked;
    }
    if (!reader.confirm() && reader.corrupt()) return 0;
    if (peeked == 0) break;
  }
  return 0;
}
