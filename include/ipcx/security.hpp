// Security (API layer): CURVE (ZeroMQ's RFC 25/26) on tcp:// and unix://, the mechanism libzmq
// peers in every language speak: every frame encrypted and authenticated, with perfect forward
// secrecy, the server authenticated by its long-term public key and clients by theirs. Keys are
// Z85 text, 40 characters (RFC 32), as zmq_curve_keypair() and `ipcx keygen` print them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipcx {

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85; keep it secret
};
// A new key pair.
CurveKeyPair curve_key_pair();
// The public key of a secret key; nullopt when `secret_key` is not 40 Z85 characters.
std::optional<std::string> curve_public_key(std::string_view secret_key);

// What a server's authorize hook is told of a client that completed the handshake.
struct CurvePeer {
  std::string public_key;  // the client's long-term public key, Z85
  std::string address;     // as PeerInfo::address: "127.0.0.1:40312", a socket path
};

// Set on a socket's options. Which role a socket plays is independent of binding and
// connecting, as in libzmq: with curve_server_key it is a CURVE client on every link, else with
// curve_secret_key a CURVE server, else it speaks NULL (no security). Only tcp:// and unix://
// carry CURVE; binding or connecting another mechanism with it set fails with not_supported.
// A malformed key fails bind() or connect() with auth_failed.
struct Security {
  // Server role: our long-term secret key (the public key is derived from it). Client role:
  // our long-term secret key too, optional (without it each connection makes a key pair).
  std::string curve_secret_key;
  // Client role: the long-term public key of the server we expect. Any other server fails the
  // connection with auth_failed.
  std::string curve_server_key;
  // Server role: the clients admitted, by long-term public key. Empty refuses every client
  // unless curve_allow_any, which admits any client that completes the handshake (encryption
  // without authentication: only when asked for).
  std::vector<std::string> curve_allow;
  bool curve_allow_any = false;
  // Server role: asked about every client the list admits; false refuses it (a ZAP-like hook).
  // Called on the socket's own thread.
  std::function<bool(const CurvePeer&)> curve_authorize;

  bool curve_client() const noexcept { return !curve_server_key.empty(); }
  bool curve_server() const noexcept { return !curve_client() && !curve_secret_key.empty(); }
  bool enabled() const noexcept { return curve_client() || curve_server(); }
};

}  // namespace ipcx
