// The CURVE security mechanism (wire layer): see curve.hpp. Command layouts follow RFC 26;
// short nonces are big-endian, as libzmq writes them.
#include "wire/curve.hpp"

#include <sodium.h>

#include <cstring>

#include "wire/zmtp_encoder.hpp"

namespace ipcx::wire {
namespace {

constexpr std::size_t kKey = crypto_box_PUBLICKEYBYTES;  // 32
constexpr std::size_t kMac = crypto_box_MACBYTES;        // 16
constexpr std::size_t kNonce = crypto_box_NONCEBYTES;    // 24
static_assert(kKey == 32 && kMac == 16 && kNonce == 24);
static_assert(crypto_secretbox_KEYBYTES == 32 && crypto_secretbox_MACBYTES == 16);
static_assert(crypto_box_BEFORENMBYTES == 32);

// Command data sizes (after the name): HELLO 194, WELCOME 160, INITIATE 248 or more, READY 24 or
// more.
constexpr std::size_t kHelloData = 2 + 72 + kKey + 8 + 64 + kMac;
constexpr std::size_t kCookie = 16 + 2 * kKey + kMac;  // 96
constexpr std::size_t kWelcomeData = 16 + kKey + kCookie + kMac;
constexpr std::size_t kVouch = 16 + 2 * kKey + kMac;  // 96
constexpr std::size_t kInitiateMin = kCookie + 8 + kKey + kVouch + kMac;
constexpr std::size_t kReadyMin = 8 + kMac;
constexpr char kMessageName[] = "\x07MESSAGE";
// What crypto_box says of a public key of small order (no shared secret can come of it).
constexpr const char* kWeakKey = "the peer's transient key is not a usable CURVE key";

unsigned char* u(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }
const unsigned char* u(const std::byte* p) noexcept {
  return reinterpret_cast<const unsigned char*>(p);
}

// A 24-byte nonce: a 16-byte prefix and an 8-byte big-endian counter, or an 8-byte prefix and
// 16 bytes of the peer's (or our random) long nonce.
struct Nonce {
  unsigned char bytes[kNonce];
  Nonce(const char (&prefix)[17], std::uint64_t counter) noexcept {
    std::memcpy(bytes, prefix, 16);
    for (int i = 0; i < 8; ++i) bytes[16 + i] = static_cast<unsigned char>(counter >> (56 - 8 * i));
  }
  Nonce(const char (&prefix)[9], const std::byte* long_nonce) noexcept {
    std::memcpy(bytes, prefix, 8);
    std::memcpy(bytes + 8, long_nonce, 16);
  }
};

std::uint64_t read_counter(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

void write_counter(std::byte* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (56 - 8 * i));
}

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A ZMTP command frame of `name` whose data the caller writes into the returned space.
std::byte* command(ByteQueue& out, std::string_view name, std::size_t data_size) {
  encode_frame_header(out, 1 + name.size() + data_size, kFlagCommand);
  out.append_byte(static_cast<std::byte>(name.size()));
  std::memcpy(out.grow(name.size()), name.data(), name.size());
  return out.grow(data_size);
}

bool ensure_sodium() noexcept { return sodium_init() >= 0; }

}  // namespace

CurveKeyPair curve_key_pair() {
  (void)ensure_sodium();
  CurveKeyPair pair;
  crypto_box_keypair(u(pair.public_key.data()), u(pair.secret_key.data()));
  return pair;
}

CurveKey curve_public_of(const CurveKey& secret) {
  (void)ensure_sodium();
  CurveKey pub;
  crypto_scalarmult_base(u(pub.data()), u(secret.data()));
  return pub;
}

CurveMechanism::CurveMechanism(CurveConfig config)
    : config_(std::move(config)),
      state_(config_.as_server ? State::server_wait_hello : State::client_wait_welcome) {
  (void)ensure_sodium();
  if (!config_.have_ours) {
    config_.ours = curve_key_pair();  // a client without a long-term pair: one for now
    config_.have_ours = true;
  }
}

CurveMechanism::~CurveMechanism() {
  sodium_memzero(config_.ours.secret_key.data(), kKey);
  sodium_memzero(transient_.secret_key.data(), kKey);
  sodium_memzero(cookie_key_.data(), kKey);
  sodium_memzero(shared_.data(), shared_.size());
}

CurveMechanism::Step CurveMechanism::fail(Errc code, std::string detail) {
  state_ = State::failed;
  error_ = code;
  detail_ = std::move(detail);
  return Step::error;
}

bool CurveMechanism::take_peer_nonce(std::uint64_t nonce) noexcept {
  if (nonce <= peer_nonce_) return false;
  peer_nonce_ = nonce;
  return true;
}

bool CurveMechanism::precompute() {
  return crypto_box_beforenm(shared_.data(), u(peer_transient_.data()),
                             u(transient_.secret_key.data())) == 0;
}

void CurveMechanism::start(ByteQueue& out) {
  if (config_.as_server) return;
  transient_ = curve_key_pair();
  std::byte* d = command(out, "HELLO", kHelloData);
  d[0] = std::byte{1};  // CurveZMQ 1.0
  d[1] = std::byte{0};
  std::memset(d + 2, 0, 72);  // anti-amplification padding
  std::memcpy(d + 74, transient_.public_key.data(), kKey);
  std::uint64_t n = next_nonce();
  write_counter(d + 106, n);
  unsigned char zeros[64] = {};
  Nonce nonce("CurveZMQHELLO---", n);
  if (crypto_box_easy(u(d + 114), zeros, sizeof zeros, nonce.bytes, u(config_.server_public.data()),
                      u(transient_.secret_key.data())) != 0) {
    fail(Errc::auth_failed, "the server key is not a usable CURVE public key");
  }
}

CurveMechanism::Step CurveMechanism::on_command(std::span<const std::byte> body,
                                                std::span<const std::byte> metadata,
                                                ByteQueue& out) {
  if (state_ == State::failed) return Step::error;
  if (body.empty() || 1 + static_cast<std::size_t>(body[0]) > body.size()) {
    return fail(Errc::protocol_violation, "command name runs past its frame");
  }
  std::size_t name_len = static_cast<std::size_t>(body[0]);
  std::string_view name = as_text(body.subspan(1, name_len));
  auto data = body.subspan(1 + name_len);
  switch (state_) {
    case State::server_wait_hello:
      if (name == "HELLO") return on_hello(data, out);
      break;
    case State::client_wait_welcome:
      if (name == "WELCOME") return on_welcome(data, metadata, out);
      break;
    case State::server_wait_initiate:
      if (name == "INITIATE") return on_initiate(data, metadata, out);
      break;
    case State::client_wait_ready:
      if (name == "READY") return on_ready(data);
      break;
    case State::ready:
    case State::failed:
      break;
  }
  return fail(Errc::protocol_violation,
              "unexpected CURVE handshake command '" + std::string(name.substr(0, 16)) + "'");
}

CurveMechanism::Step CurveMechanism::on_hello(std::span<const std::byte> d, ByteQueue& out) {
  if (d.size() != kHelloData) return fail(Errc::protocol_violation, "malformed CURVE HELLO");
  if (d[0] != std::byte{1} || d[1] != std::byte{0}) {
    return fail(Errc::protocol_violation, "unsupported CurveZMQ version in HELLO");
  }
  std::memcpy(peer_transient_.data(), d.data() + 74, kKey);
  std::uint64_t n = read_counter(d.data() + 106);
  unsigned char zeros[64];
  Nonce nonce("CurveZMQHELLO---", n);
  if (crypto_box_open_easy(zeros, u(d.data() + 114), 64 + kMac, nonce.bytes,
                           u(peer_transient_.data()), u(config_.ours.secret_key.data())) != 0) {
    return fail(Errc::auth_failed,
                "the client's HELLO does not open with this server's key (it expects another)");
  }
  if (!take_peer_nonce(n)) return fail(Errc::protocol_violation, "CURVE nonce not increasing");
  // S', and a cookie that holds C' and s' under a key only we know.
  transient_ = curve_key_pair();
  crypto_secretbox_keygen(u(cookie_key_.data()));
  unsigned char plain_cookie[2 * kKey];
  std::memcpy(plain_cookie, peer_transient_.data(), kKey);
  std::memcpy(plain_cookie + kKey, transient_.secret_key.data(), kKey);
  randombytes_buf(cookie_.data(), 16);
  Nonce cookie_nonce("COOKIE--", cookie_.data());
  crypto_secretbox_easy(u(cookie_.data() + 16), plain_cookie, sizeof plain_cookie,
                        cookie_nonce.bytes, u(cookie_key_.data()));
  sodium_memzero(plain_cookie, sizeof plain_cookie);

  unsigned char plain_welcome[kKey + kCookie];
  std::memcpy(plain_welcome, transient_.public_key.data(), kKey);
  std::memcpy(plain_welcome + kKey, cookie_.data(), kCookie);
  std::byte* w = command(out, "WELCOME", kWelcomeData);
  randombytes_buf(w, 16);
  Nonce welcome_nonce("WELCOME-", w);
  if (crypto_box_easy(u(w + 16), plain_welcome, sizeof plain_welcome, welcome_nonce.bytes,
                      u(peer_transient_.data()), u(config_.ours.secret_key.data())) != 0) {
    return fail(Errc::protocol_violation, kWeakKey);
  }
  state_ = State::server_wait_initiate;
  return Step::more;
}

CurveMechanism::Step CurveMechanism::on_welcome(std::span<const std::byte> d,
                                                std::span<const std::byte> metadata,
                                                ByteQueue& out) {
  if (d.size() != kWelcomeData) return fail(Errc::protocol_violation, "malformed CURVE WELCOME");
  unsigned char plain[kKey + kCookie];
  Nonce welcome_nonce("WELCOME-", d.data());
  if (crypto_box_open_easy(plain, u(d.data() + 16), sizeof plain + kMac, welcome_nonce.bytes,
                           u(config_.server_public.data()), u(transient_.secret_key.data())) != 0) {
    return fail(Errc::auth_failed,
                "the server's WELCOME does not open: it is not the server whose "
                "key we hold");
  }
  std::memcpy(peer_transient_.data(), plain, kKey);
  std::memcpy(cookie_.data(), plain + kKey, kCookie);

  // The vouch: C' and S, from our long-term key to S'.
  std::byte vouch[kVouch];
  unsigned char plain_vouch[2 * kKey];
  std::memcpy(plain_vouch, transient_.public_key.data(), kKey);
  std::memcpy(plain_vouch + kKey, config_.server_public.data(), kKey);
  randombytes_buf(vouch, 16);
  Nonce vouch_nonce("VOUCH---", vouch);
  if (crypto_box_easy(u(vouch + 16), plain_vouch, sizeof plain_vouch, vouch_nonce.bytes,
                      u(peer_transient_.data()), u(config_.ours.secret_key.data())) != 0) {
    return fail(Errc::protocol_violation, kWeakKey);
  }

  // INITIATE: the cookie back, then C, the vouch and our metadata from C' to S'.
  std::size_t plain_size = kKey + kVouch + metadata.size();
  scratch_.resize(plain_size);
  std::memcpy(scratch_.data(), config_.ours.public_key.data(), kKey);
  std::memcpy(scratch_.data() + kKey, vouch, kVouch);
  if (!metadata.empty())
    std::memcpy(scratch_.data() + kKey + kVouch, metadata.data(), metadata.size());
  std::byte* i = command(out, "INITIATE", kCookie + 8 + plain_size + kMac);
  std::memcpy(i, cookie_.data(), kCookie);
  std::uint64_t n = next_nonce();
  write_counter(i + kCookie, n);
  Nonce initiate_nonce("CurveZMQINITIATE", n);
  if (crypto_box_easy(u(i + kCookie + 8), scratch_.data(), plain_size, initiate_nonce.bytes,
                      u(peer_transient_.data()), u(transient_.secret_key.data())) != 0) {
    return fail(Errc::protocol_violation, kWeakKey);
  }
  state_ = State::client_wait_ready;
  return Step::more;
}

CurveMechanism::Step CurveMechanism::on_initiate(std::span<const std::byte> d,
                                                 std::span<const std::byte> metadata,
                                                 ByteQueue& out) {
  if (d.size() < kInitiateMin) return fail(Errc::protocol_violation, "malformed CURVE INITIATE");
  // The cookie must be the one we made for this connection's C'.
  unsigned char plain_cookie[2 * kKey];
  Nonce cookie_nonce("COOKIE--", d.data());
  if (std::memcmp(d.data(), cookie_.data(), kCookie) != 0 ||
      crypto_secretbox_open_easy(plain_cookie, u(d.data() + 16), 2 * kKey + kMac,
                                 cookie_nonce.bytes, u(cookie_key_.data())) != 0 ||
      std::memcmp(plain_cookie, peer_transient_.data(), kKey) != 0) {
    return fail(Errc::protocol_violation, "the INITIATE cookie is not ours");
  }
  sodium_memzero(plain_cookie, sizeof plain_cookie);
  sodium_memzero(cookie_key_.data(), kKey);  // done with: the cookie is never opened again
  std::uint64_t n = read_counter(d.data() + kCookie);
  if (n <= peer_nonce_) return fail(Errc::protocol_violation, "CURVE nonce not increasing");
  std::size_t box_size = d.size() - kCookie - 8;
  scratch_.resize(box_size - kMac);
  Nonce initiate_nonce("CurveZMQINITIATE", n);
  if (crypto_box_open_easy(scratch_.data(), u(d.data() + kCookie + 8), box_size,
                           initiate_nonce.bytes, u(peer_transient_.data()),
                           u(transient_.secret_key.data())) != 0) {
    return fail(Errc::protocol_violation, "the INITIATE box does not open");
  }
  peer_nonce_ = n;
  std::memcpy(client_long_.data(), scratch_.data(), kKey);
  // The vouch: C' and our S, from the client's long-term key C to S'.
  const unsigned char* vouch = scratch_.data() + kKey;
  unsigned char plain_vouch[2 * kKey];
  Nonce vouch_nonce("VOUCH---", reinterpret_cast<const std::byte*>(vouch));
  if (crypto_box_open_easy(plain_vouch, vouch + 16, 2 * kKey + kMac, vouch_nonce.bytes,
                           u(client_long_.data()), u(transient_.secret_key.data())) != 0 ||
      std::memcmp(plain_vouch, peer_transient_.data(), kKey) != 0 ||
      std::memcmp(plain_vouch + kKey, config_.ours.public_key.data(), kKey) != 0) {
    return fail(Errc::auth_failed, "the client's vouch does not hold");
  }
  if (config_.admit && !config_.admit(client_long_)) {
    encode_error(out, "not authorized");
    return fail(Errc::auth_failed, "client key " + z85_key(client_long_) + " is not admitted");
  }
  peer_metadata_.assign(reinterpret_cast<const std::byte*>(scratch_.data()) + kKey + kVouch,
                        reinterpret_cast<const std::byte*>(scratch_.data()) + scratch_.size());
  std::byte* r = command(out, "READY", 8 + metadata.size() + kMac);
  std::uint64_t ours = next_nonce();
  write_counter(r, ours);
  Nonce ready_nonce("CurveZMQREADY---", ours);
  if (crypto_box_easy(u(r + 8), u(metadata.data()), metadata.size(), ready_nonce.bytes,
                      u(peer_transient_.data()), u(transient_.secret_key.data())) != 0 ||
      !precompute()) {
    return fail(Errc::protocol_violation, kWeakKey);
  }
  state_ = State::ready;
  return Step::ready;
}

CurveMechanism::Step CurveMechanism::on_ready(std::span<const std::byte> d) {
  if (d.size() < kReadyMin) return fail(Errc::protocol_violation, "malformed CURVE READY");
  std::uint64_t n = read_counter(d.data());
  if (n <= peer_nonce_) return fail(Errc::protocol_violation, "CURVE nonce not increasing");
  std::vector<std::byte> metadata(d.size() - 8 - kMac);
  Nonce ready_nonce("CurveZMQREADY---", n);
  if (crypto_box_open_easy(u(metadata.data()), u(d.data() + 8), d.size() - 8, ready_nonce.bytes,
                           u(peer_transient_.data()), u(transient_.secret_key.data())) != 0) {
    return fail(Errc::protocol_violation, "the READY box does not open");
  }
  peer_nonce_ = n;
  peer_metadata_ = std::move(metadata);
  if (!precompute()) return fail(Errc::protocol_violation, kWeakKey);
  state_ = State::ready;
  return Step::ready;
}

void CurveMechanism::seal(ByteQueue& out, std::span<const std::byte> frame, std::uint8_t flags) {
  std::size_t plain_size = 1 + frame.size();
  scratch_.resize(plain_size);
  scratch_[0] = flags;
  if (!frame.empty()) std::memcpy(scratch_.data() + 1, frame.data(), frame.size());
  encode_frame_header(out, 16 + plain_size + kMac, 0);
  std::byte* m = out.grow(16 + plain_size + kMac);
  std::memcpy(m, kMessageName, 8);
  std::uint64_t n = next_nonce();
  write_counter(m + 8, n);
  Nonce nonce(config_.as_server ? "CurveZMQMESSAGES" : "CurveZMQMESSAGEC", n);
  crypto_box_easy_afternm(u(m + 16), scratch_.data(), plain_size, nonce.bytes, shared_.data());
}

bool CurveMechanism::open(std::span<const std::byte> body, std::span<const std::byte>& frame,
                          std::uint8_t& flags) {
  if (state_ != State::ready) return false;
  if (body.size() < kMessageOverhead || std::memcmp(body.data(), kMessageName, 8) != 0) {
    fail(Errc::protocol_violation, "not a CURVE MESSAGE");
    return false;
  }
  std::uint64_t n = read_counter(body.data() + 8);
  if (n <= peer_nonce_) {
    fail(Errc::protocol_violation, "CURVE nonce not increasing (a replayed or reordered MESSAGE)");
    return false;
  }
  std::size_t plain_size = body.size() - 16 - kMac;
  scratch_.resize(plain_size);
  Nonce nonce(config_.as_server ? "CurveZMQMESSAGEC" : "CurveZMQMESSAGES", n);
  if (crypto_box_open_easy_afternm(scratch_.data(), u(body.data() + 16), body.size() - 16,
                                   nonce.bytes, shared_.data()) != 0) {
    fail(Errc::protocol_violation, "a CURVE MESSAGE box does not open");
    return false;
  }
  flags = scratch_[0];
  if ((flags & ~3u) != 0) {
    fail(Errc::protocol_violation, "reserved CURVE MESSAGE flags set");
    return false;
  }
  peer_nonce_ = n;
  frame = {reinterpret_cast<const std::byte*>(scratch_.data()) + 1, plain_size - 1};
  return true;
}

}  // namespace ipcx::wire
