// Fuzz target: the shm:// rendezvous parsers, the hello and the broadcast offer. Whatever
// parses must write back to the same bytes, so no field is misread.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "wire/shm_hello.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  std::span<const std::byte> in{reinterpret_cast<const std::byte*>(data), size};
  if (auto hello = read_shm_hello(in)) {
    std::byte again[kShmHelloSize];
    write_shm_hello(again, *hello);
    if (std::memcmp(again, data, kShmHelloSize) != 0) std::abort();
  }
  if (auto offer = read_shm_offer(in)) {
    std::byte again[kShmOfferSize];
    write_shm_offer(again, *offer);
    if (std::memcmp(again, data, kShmOfferSize) != 0) std::abort();
  }
  return 0;
}
