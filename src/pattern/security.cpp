// From Security options to CURVE settings (pattern layer): see security.hpp.
#include "pattern/security.hpp"

#include <algorithm>
#include <memory>

namespace ipcx {

CurveKeyPair curve_key_pair() {
  auto pair = wire::curve_key_pair();
  return {wire::z85_key(pair.public_key), wire::z85_key(pair.secret_key)};
}

std::optional<std::string> curve_public_key(std::string_view secret_key) {
  auto secret = wire::z85_key(secret_key);
  if (!secret) return std::nullopt;
  return wire::z85_key(wire::curve_public_of(*secret));
}

namespace pattern {

CurveSetup curve_setup(const Security& s) {
  CurveSetup setup;
  if (!s.enabled()) return setup;
  wire::CurveConfig c;
  c.as_server = s.curve_server();
  if (!s.curve_secret_key.empty()) {
    auto secret = wire::z85_key(s.curve_secret_key);
    if (!secret) {
      setup.fault = "the CURVE secret key is not 40 Z85 characters";
      return setup;
    }
    c.ours = {wire::curve_public_of(*secret), *secret};
    c.have_ours = true;
  }
  if (s.curve_client()) {
    auto server = wire::z85_key(s.curve_server_key);
    if (!server) {
      setup.fault = "the CURVE server key is not 40 Z85 characters";
      return setup;
    }
    c.server_public = *server;
  } else {
    c.server_public = c.ours.public_key;
    auto allowed = std::make_shared<std::vector<wire::CurveKey>>();
    for (const auto& text : s.curve_allow) {
      auto key = wire::z85_key(text);
      if (!key) {
        setup.fault = "a CURVE client key in the allow-list is not 40 Z85 characters";
        return setup;
      }
      allowed->push_back(*key);
    }
    setup.admit = [allowed, any = s.curve_allow_any, hook = s.curve_authorize](
                      const wire::CurveKey& key, const PeerInfo& peer) {
      bool listed = any || std::find(allowed->begin(), allowed->end(), key) != allowed->end();
      if (!listed) return false;
      return !hook || hook(CurvePeer{wire::z85_key(key), peer.address});
    };
  }
  setup.config = std::move(c);
  return setup;
}

}  // namespace pattern
}  // namespace ipcx
