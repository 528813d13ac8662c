// Fuzz target: the compact-encoding assembler fed a sequence of hostile fragments. Each
// fragment is prefixed in the input by one length byte.
#include <cstddef>
#include <cstdint>

#include "wire/compact_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  CompactAssembler assembler(1 << 16);
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data), size);
  while (!rest.empty()) {
    std::size_t n = std::min<std::size_t>(static_cast<std::uint8_t>(rest[0]) + kCompactHeaderSize,
                                          rest.size() - 1);
    auto fragment = rest.subspan(1, n);
    if (assembler.feed(fragment) == CompactAssembler::Event::error) return 0;
    rest = rest.subspan(1 + n);
  }
  return 0;
}
