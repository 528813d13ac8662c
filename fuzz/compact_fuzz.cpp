// Fuzz target: the compact-encoding assembler fed a sequence of hostile fragments. Each
// fragment is prefixed in the input by one length byte. Each is first offered to view()
// (zero-copy reading), whose frames must lie inside the fragment and agree with what feed()
// then decodes. A second assembler splits each envelope off as it decodes: the same event,
// and its envelope and body together are the first one's message.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wire/compact_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ipcx::wire;
  CompactAssembler assembler(1 << 16);
  CompactAssembler splitting(1 << 16);
  ipcx::Message envelope, body;
  std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data), size);
  while (!rest.empty()) {
    std::size_t n = std::min<std::size_t>(static_cast<std::uint8_t>(rest[0]) + kCompactHeaderSize,
                                          rest.size() - 1);
    auto fragment = rest.subspan(1, n);
    std::vector<std::span<const std::byte>> frames;
    bool viewed = assembler.view(fragment, frames);
    for (auto f : frames) {
      if (viewed &&
          (f.data() < fragment.data() || f.data() + f.size() > fragment.data() + fragment.size())) {
        __builtin_trap();  // a view outside the record
      }
    }
    auto event = assembler.feed(fragment);
    if (splitting.feed(fragment, body, &envelope) != event) __builtin_trap();
    if (event == CompactAssembler::Event::message) {
      ipcx::Message joined = envelope;
      joined.add_frames(body);
      if (!(joined == assembler.message())) __builtin_trap();
      if (!envelope.empty() && !envelope.frame(envelope.size() - 1).empty()) __builtin_trap();
    }
    if (viewed) {
      // A whole message that view() accepted decodes to the same frames.
      const auto& m = assembler.message();
      if (event != CompactAssembler::Event::message || m.size() != frames.size()) __builtin_trap();
      for (std::size_t i = 0; i < frames.size(); ++i) {
        if (m.frame(i).size() != frames[i].size()) __builtin_trap();
      }
    }
    if (event == CompactAssembler::Event::error) return 0;
    rest = rest.subspan(1 + n);
  }
  return 0;
}
