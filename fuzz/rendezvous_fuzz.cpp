// Fuzz target: the pipe:// rendezvous scanner, fed what anyone who can write a server's FIFO
// may write, cut into pieces at places the input's first byte chooses. Every byte must end up
// in exactly one place (a record, garbage, or held back), nothing held back may reach a record's
// size, and every record found must be one a client could have written.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "wire/rendezvous.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  if (size == 0) return 0;
  std::size_t piece = 1 + data[0] % 37;
  const auto* bytes = reinterpret_cast<const std::byte*>(data + 1);
  std::size_t total = size - 1;
  RendezvousScanner scanner;
  std::vector<Rendezvous> found;
  for (std::size_t at = 0; at < total; at += piece) {
    std::size_t n = total - at < piece ? total - at : piece;
    scanner.feed({bytes + at, n}, found);
    if (scanner.pending() >= kRendezvousSize) std::abort();
  }
  if (scanner.garbage_bytes() + found.size() * kRendezvousSize + scanner.pending() != total)
    std::abort();
  for (const auto& hello : found) {
    std::byte again[kRendezvousSize];
    write_rendezvous(again, hello);
    auto reread = read_rendezvous(again);
    if (!reread || !(*reread == hello)) std::abort();
  }
  return 0;
}
