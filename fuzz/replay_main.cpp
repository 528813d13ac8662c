// Runs a fuzz target without libFuzzer, as a ctest: every file of its seed corpus, then every
// single-bit flip of each seed (deterministic, as Cap'n Proto's fuzz-test does). Exit 0 when
// nothing crashed; the sanitizer builds turn memory errors into crashes.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  std::size_t seeds = 0, runs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> seed((std::istreambuf_iterator<char>(in)), {});
    ++seeds;
    LLVMFuzzerTestOneInput(seed.data(), seed.size());
    ++runs;
    for (std::size_t bit = 0; bit < seed.size() * 8 && bit < 8 * 4096; ++bit) {
      auto mutated = seed;
      mutated[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      LLVMFuzzerTestOneInput(mutated.data(), mutated.size());
      ++runs;
    }
  }
  if (seeds == 0) {
    std::fprintf(stderr, "no seeds in %s\n", argv[1]);
    return 1;
  }
  std::printf("%zu passed, 0 failed (%zu seeds, %zu inputs replayed)\n", seeds, seeds, runs);
  return 0;
}
