// Fuzz target: the shm ring reader facing a hostile producer. The input becomes the ring's
// control block and data, exactly as a peer could write them; every record read goes to the
// compact assembler, as in ShmLink::recv; between records the reader gives pages back, trusting
// the producer's writer_reach only as far as it checks it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "transport/shm/ring.hpp"
#include "wire/compact_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx;
  constexpr std::size_t kCapacity = 4096;
  if (size < 16) return 0;
  std::vector<std::byte> memory(sizeof(transport::RingControl) + kCapacity);
  auto* control = new (memory.data()) transport::RingControl{};
  std::uint64_t tail;
  std::memcpy(&tail, data, 8);
  control->tail.store(tail % (2 * kCapacity + 16));  // mostly plausible, sometimes not
  std::uint64_t reach;
  std::memcpy(&reach, data + 8, 8);
  control->writer_reach.store(reach % (3 * kCapacity));
  std::memcpy(memory.data() + sizeof(transport::RingControl), data + 16,
              std::min(size - 16, kCapacity));
  transport::RingReader reader(control, memory.data() + sizeof(transport::RingControl), kCapacity);
  wire::CompactAssembler assembler(1 << 16);
  for (int i = 0; i < 1024; ++i) {  // a corrupt ring must end in a fault, not an endless loop
    bool corrupt = false;
    auto record = reader.peek(&corrupt);
    if (corrupt || record.empty()) break;
    auto e = assembler.feed(record);
    reader.release();
    if (e == wire::CompactAssembler::Event::error) break;
    // Heap memory: MADV_REMOVE refuses it, so only the checks run, never a real give-back.
    if (i % 4 == 3) reader.give_back();
  }
  return 0;
}
