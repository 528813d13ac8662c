// Fuzz target: the shm:// rendezvous hello parser. Whatever parses must write back to the same
// bytes, so no field is misread.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "wire/shm_hello.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  auto hello = read_shm_hello({reinterpret_cast<const std::byte*>(data), size});
  if (!hello) return 0;
  std::byte again[kShmHelloSize];
  write_shm_hello(again, *hello);
  if (std::memcmp(again, data, kShmHelloSize) != 0) std::abort();
  return 0;
}
