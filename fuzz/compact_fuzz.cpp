// Fuzz target: the compact-encoding assembler fed a sequence of hostile fragments. Each
// fragment is prefixed in the input by one length byte. Each is first offered to view()
// (zero-copy reading), whose frames must lie inside the fragment and agree with what feed()
// then decodes. A second assembler splits each envelope off as it decodes: the same event,
// and its envelope and body together are the first one's message. A whole message in one
// fragment is also decoded afresh in two fragments (the incremental decoder, not the one-pass
// paths): the same outcome.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wire/compact_header.hpp"

namespace {

// For a fragment that claims to be a whole message (FIRST|LAST, its payload all there): the
// outcome of decoding it in one piece and in two must agree.
void compare_with_two_pieces(std::span<const std::byte> fragment) {
  using namespace ipcx::wire;
  auto h = read_compact_header(fragment, nullptr);
  std::size_t payload = fragment.size() - kCompactHeaderSize;
  if (!h || h->flags != (kFragmentFirst | kFragmentLast) || h->chunk_bytes != payload ||
      h->payload_bytes != payload || payload < 2) {
    return;
  }
  CompactAssembler whole(1 << 16), pieces(1 << 16);
  ipcx::Message one, two;
  auto event = whole.feed(fragment, one);
  std::size_t half = payload / 2;
  std::vector<std::byte> first(kCompactHeaderSize + half),
      second(kCompactHeaderSize + payload - half);
  for (std::size_t i = 0; i < half; ++i)
    first[kCompactHeaderSize + i] = fragment[kCompactHeaderSize + i];
  for (std::size_t i = half; i < payload; ++i) {
    second[kCompactHeaderSize + i - half] = fragment[kCompactHeaderSize + i];
  }
  write_fragment_header(first.data(), payload, 0, half);
  write_fragment_header(second.data(), payload, half, payload - half);
  auto step = pieces.feed(first, two);
  if (step == CompactAssembler::Event::need_more) step = pieces.feed(second, two);
  if (step != event) __builtin_trap();
  if (event == CompactAssembler::Event::message && !(one == two)) __builtin_trap();
}

}  // namespace

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
    compare_with_two_pieces(fragment);
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
