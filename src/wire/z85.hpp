// Z85 (wire layer): binary as printable text, 4 bytes to 5 characters (ZeroMQ RFC 32), the form
// CURVE keys take in configuration files and on command lines. No syscalls.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipcx::wire {

// `bytes` must be a multiple of 4 long; empty is returned otherwise.
std::string z85_encode(std::span<const std::byte> bytes);
// nullopt unless `text` is a multiple of 5 long, every character is in the alphabet, and every
// group of five stands for a value that fits 32 bits.
std::optional<std::vector<std::byte>> z85_decode(std::string_view text);

// A CURVE key (32 bytes) as its 40 characters, and back.
using CurveKey = std::array<std::byte, 32>;
inline constexpr std::size_t kZ85KeyChars = 40;
std::string z85_key(const CurveKey& key);
std::optional<CurveKey> z85_key(std::string_view text);

}  // namespace ipcx::wire
