// Z85 (wire layer): see z85.hpp.
#include "wire/z85.hpp"

#include <cstdint>
#include <cstring>

namespace ipcx::wire {
namespace {

constexpr char kDigits[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
static_assert(sizeof kDigits == 86);

// Each character's value, or -1 for one outside the alphabet.
struct Values {
  std::array<int, 256> of{};
  constexpr Values() {
    for (int& v : of) v = -1;
    for (int i = 0; i < 85; ++i) of[static_cast<unsigned char>(kDigits[i])] = i;
  }
};
constexpr Values kValues;

}  // namespace

std::string z85_encode(std::span<const std::byte> bytes) {
  if (bytes.size() % 4 != 0) return {};
  std::string text;
  text.reserve(bytes.size() / 4 * 5);
  for (std::size_t at = 0; at < bytes.size(); at += 4) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i)
      value = (value << 8) | static_cast<std::uint8_t>(bytes[at + i]);
    char group[5];
    for (int i = 4; i >= 0; --i) {
      group[i] = kDigits[value % 85];
      value /= 85;
    }
    text.append(group, 5);
  }
  return text;
}

std::optional<std::vector<std::byte>> z85_decode(std::string_view text) {
  if (text.size() % 5 != 0) return std::nullopt;
  std::vector<std::byte> bytes;
  bytes.reserve(text.size() / 5 * 4);
  for (std::size_t at = 0; at < text.size(); at += 5) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 5; ++i) {
      int digit = kValues.of[static_cast<unsigned char>(text[at + i])];
      if (digit < 0) return std::nullopt;
      value = value * 85 + static_cast<std::uint64_t>(digit);
    }
    if (value > 0xffffffffu) return std::nullopt;  // "#####" and its like: past 32 bits
    for (int shift = 24; shift >= 0; shift -= 8) {
      bytes.push_back(static_cast<std::byte>(value >> shift));
    }
  }
  return bytes;
}

std::string z85_key(const CurveKey& key) { return z85_encode(key); }

std::optional<CurveKey> z85_key(std::string_view text) {
  if (text.size() != kZ85KeyChars) return std::nullopt;
  auto bytes = z85_decode(text);
  if (!bytes) return std::nullopt;
  CurveKey key;
  std::memcpy(key.data(), bytes->data(), key.size());
  return key;
}

}  // namespace ipcx::wire
