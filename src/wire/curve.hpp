// The CURVE security mechanism of one ZMTP connection (wire layer): ZMTP-CURVE (RFC 25) over
// CurveZMQ (RFC 26), sans I/O. Handshake command bodies go in, the next command comes out
// (client HELLO, server WELCOME, client INITIATE, server READY); then every ZMTP frame travels
// boxed in a MESSAGE, with its MORE and COMMAND flags inside the box, as libzmq does. Every
// length and box is checked before anything is used; the peer's short nonces must strictly
// increase. The cryptography is libsodium's (crypto_box, crypto_secretbox), and so are the
// random transient keys and long nonces; nothing else here makes a syscall.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ipcx/error.hpp"
#include "wire/byte_queue.hpp"
#include "wire/z85.hpp"

namespace ipcx::wire {

struct CurveKeyPair {
  CurveKey public_key{};
  CurveKey secret_key{};
};
// A new long-term (or transient) key pair.
CurveKeyPair curve_key_pair();
// The public key that goes with a secret key.
CurveKey curve_public_of(const CurveKey& secret);

struct CurveConfig {
  bool as_server = false;
  // The server's long-term public key: the one a client expects (required), or the server's own.
  CurveKey server_public{};
  // Our long-term pair: the server's; a client's (made fresh for the connection when unset).
  CurveKeyPair ours{};
  bool have_ours = false;
  // Server: whether a client's long-term public key may connect. Unset admits any client that
  // completes the handshake.
  std::function<bool(const CurveKey& client)> admit;
};

class CurveMechanism {
 public:
  enum class Step : std::uint8_t { more, ready, error };
  // Bytes a MESSAGE adds to a frame's body: name, nonce, flags and the box's tag.
  static constexpr std::size_t kMessageOverhead = 8 + 8 + 1 + 16;

  explicit CurveMechanism(CurveConfig config);
  ~CurveMechanism();  // wipes every key it holds
  CurveMechanism(const CurveMechanism&) = delete;
  CurveMechanism& operator=(const CurveMechanism&) = delete;

  // Client: its HELLO, as a ZMTP command frame, into `out`. A server sends nothing first.
  // Fails (see failed()) only for a server key that cannot be a public key.
  void start(ByteQueue& out);
  bool failed() const noexcept { return state_ == State::failed; }
  // A handshake command's body (name and data) from the peer. Writes our answer, if any, into
  // `out` as a ZMTP command frame; `metadata` is what our INITIATE or READY carries. ready: the
  // handshake is done and peer_metadata() holds the peer's properties.
  Step on_command(std::span<const std::byte> body, std::span<const std::byte> metadata,
                  ByteQueue& out);
  std::span<const std::byte> peer_metadata() const noexcept { return peer_metadata_; }
  // Server, once ready: the client's long-term public key.
  const CurveKey& client_key() const noexcept { return client_long_; }

  // One frame, boxed in a MESSAGE, as a ZMTP frame into `out`. flags: bit 0 MORE, bit 1 COMMAND.
  void seal(ByteQueue& out, std::span<const std::byte> frame, std::uint8_t flags);
  // Opens a MESSAGE body: `frame` views the opened frame (valid until the next call), `flags`
  // receives its flags. False, with error() set, for anything but a well-formed MESSAGE whose
  // nonce is above the last and whose box opens.
  bool open(std::span<const std::byte> body, std::span<const std::byte>& frame,
            std::uint8_t& flags);

  Errc error() const noexcept { return error_; }
  const std::string& error_detail() const noexcept { return detail_; }

 private:
  enum class State : std::uint8_t {
    client_wait_welcome,
    client_wait_ready,
    server_wait_hello,
    server_wait_initiate,
    ready,
    failed
  };
  Step fail(Errc code, std::string detail);
  Step on_hello(std::span<const std::byte> data, ByteQueue& out);
  Step on_welcome(std::span<const std::byte> data, std::span<const std::byte> metadata,
                  ByteQueue& out);
  Step on_initiate(std::span<const std::byte> data, std::span<const std::byte> metadata,
                   ByteQueue& out);
  Step on_ready(std::span<const std::byte> data);
  // Our next short nonce, and the check of the peer's.
  std::uint64_t next_nonce() noexcept { return ++nonce_; }
  bool take_peer_nonce(std::uint64_t nonce) noexcept;
  bool precompute();

  CurveConfig config_;
  State state_;
  CurveKeyPair transient_{};   // ours for this connection: C' or S'
  CurveKey peer_transient_{};  // theirs: S' or C'
  CurveKey client_long_{};     // server: the client's long-term key, from INITIATE
  CurveKey cookie_key_{};      // server: K, for the cookie, until INITIATE
  std::array<std::byte, 96> cookie_{};
  std::array<unsigned char, 32> shared_{};  // crypto_box_beforenm of the transient keys
  std::uint64_t nonce_ = 0;
  std::uint64_t peer_nonce_ = 0;
  std::vector<std::byte> peer_metadata_;
  std::vector<unsigned char> scratch_;
  Errc error_ = Errc::ok;
  std::string detail_;
};

}  // namespace ipcx::wire
