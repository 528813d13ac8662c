// The shm:// rendezvous messages (wire layer), sent over the seqpacket socket: the hellos, once
// before the shared memory is used, and a publisher's broadcast offer after them; see
// docs/PROTOCOL.md. Little endian. No syscalls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace ipcx::wire {

inline constexpr std::uint32_t kShmHelloMagic = 0x49584853;  // "SHXI" as little-endian bytes
// 2: the hello carries the sender's socket type, so illegal pairings are refused as in ZMTP.
// 3: publishers offer a broadcast ring; pub/sub links' own rings are the smallest size.
// 4: the hello carries flags (kShmFenceBeforeSleep).
inline constexpr std::uint16_t kShmVersion = 5;
inline constexpr std::size_t kShmHelloSize = 16;

// permission_refused: the server's credential check does not admit the client's uid.
enum class ShmStatus : std::uint16_t {
  ok = 0,
  version_refused = 1,
  pairing_refused = 2,
  permission_refused = 3
};

// The sender, before it sleeps on the ring it consumes, issues a fence on every CPU running
// its peer (membarrier's global expedited command), so the peer's producer need not fence
// between publishing a record and reading the sleep flag.
inline constexpr std::uint8_t kShmFenceBeforeSleep = 0x01;

struct ShmHello {
  std::uint16_t version = kShmVersion;
  ShmStatus status = ShmStatus::ok;
  std::uint64_t ring_bytes = 0;  // server's hello: each ring's data bytes; client's: 0
  std::uint8_t socket_type = 0;  // the sender's ZMTP socket type (SocketType + 1; 0: none)
  std::uint8_t flags = 0;        // kShmFenceBeforeSleep; unknown bits are ignored
};

inline constexpr std::uint64_t kRingBytesMask = (std::uint64_t{1} << 48) - 1;

inline void write_shm_hello(std::byte* out, const ShmHello& h) noexcept {
  std::uint64_t fields[2] = {kShmHelloMagic | (std::uint64_t{h.version} << 32) |
                                 (std::uint64_t{static_cast<std::uint16_t>(h.status)} << 48),
                             (h.ring_bytes & kRingBytesMask) | (std::uint64_t{h.flags} << 48) |
                                 (std::uint64_t{h.socket_type} << 56)};
  for (int f = 0; f < 2; ++f) {
    for (int i = 0; i < 8; ++i) out[f * 8 + i] = static_cast<std::byte>(fields[f] >> (8 * i));
  }
}

// nullopt unless the bytes are exactly one hello with our magic (any version: the caller
// decides what a different version means).
inline std::optional<ShmHello> read_shm_hello(std::span<const std::byte> in) noexcept {
  if (in.size() != kShmHelloSize) return std::nullopt;
  std::uint64_t fields[2] = {0, 0};
  for (int f = 0; f < 2; ++f) {
    for (int i = 7; i >= 0; --i) {
      fields[f] = (fields[f] << 8) | static_cast<std::uint8_t>(in[f * 8 + i]);
    }
  }
  if ((fields[0] & 0xffffffffu) != kShmHelloMagic) return std::nullopt;
  ShmHello h;
  h.version = static_cast<std::uint16_t>(fields[0] >> 32);
  h.status = static_cast<ShmStatus>(static_cast<std::uint16_t>(fields[0] >> 48));
  h.ring_bytes = fields[1] & kRingBytesMask;
  h.flags = static_cast<std::uint8_t>(fields[1] >> 48);
  h.socket_type = static_cast<std::uint8_t>(fields[1] >> 56);
  return h;
}

// A publisher's offer of its broadcast ring (with its memfd by SCM_RIGHTS), sent once the
// link's rings are up: the ring's data bytes, and the position the subscriber starts reading.
inline constexpr std::uint32_t kShmOfferMagic = 0x42584853;  // "SHXB"
inline constexpr std::size_t kShmOfferSize = 24;

struct ShmOffer {
  std::uint64_t ring_bytes = 0;
  std::uint64_t start = 0;
};

inline void write_shm_offer(std::byte* out, const ShmOffer& o) noexcept {
  std::uint64_t fields[3] = {kShmOfferMagic | (std::uint64_t{kShmVersion} << 32), o.ring_bytes,
                             o.start};
  for (int f = 0; f < 3; ++f) {
    for (int i = 0; i < 8; ++i) out[f * 8 + i] = static_cast<std::byte>(fields[f] >> (8 * i));
  }
}

// nullopt unless the bytes are exactly one offer of our version. The values are the
// publisher's word: the caller checks them against the memory it maps.
inline std::optional<ShmOffer> read_shm_offer(std::span<const std::byte> in) noexcept {
  if (in.size() != kShmOfferSize) return std::nullopt;
  std::uint64_t fields[3] = {0, 0, 0};
  for (int f = 0; f < 3; ++f) {
    for (int i = 7; i >= 0; --i) {
      fields[f] = (fields[f] << 8) | static_cast<std::uint8_t>(in[f * 8 + i]);
    }
  }
  if (fields[0] != (kShmOfferMagic | (std::uint64_t{kShmVersion} << 32))) return std::nullopt;
  return ShmOffer{fields[1], fields[2]};
}

}  // namespace ipcx::wire
