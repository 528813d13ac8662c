// CURVE on the command line (CLI): see security_cli.hpp.
#include "security_cli.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"

namespace ipcx::cli {
namespace {

constexpr std::size_t kKeyChars = 40;

std::string trimmed(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// KEY, or @FILE holding the key alone or `ipcx keygen`'s two lines (`wanted` picks "public" or
// "secret"). nullopt after saying why.
std::optional<std::string> key_from(const std::string& spec, const char* wanted, bool secret) {
  // '@' is a Z85 digit too: 40 characters that decode are a key, not a file.
  bool is_key = spec.size() == kKeyChars && curve_public_key(spec).has_value();
  if (is_key || spec.empty() || spec[0] != '@') return trimmed(spec);
  std::string path = spec.substr(1);
  std::ifstream in(path);
  if (!in) {
    std::cerr << "ipcx: cannot read the key file " << path << '\n';
    return std::nullopt;
  }
  if (secret) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
      std::cerr << "ipcx: warning: the secret key file " << path
                << " can be read by others (chmod 600 it)\n";
    }
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string line;
  std::string only;
  while (std::getline(text, line)) {
    line = trimmed(line);
    if (line.empty()) continue;
    auto space = line.find(' ');
    if (space != std::string::npos && line.substr(0, space) == wanted) {
      return trimmed(line.substr(space + 1));
    }
    if (line.size() == kKeyChars) only = line;
  }
  if (only.empty()) {
    std::cerr << "ipcx: no " << wanted << " key in " << path << '\n';
    return std::nullopt;
  }
  return only;
}

}  // namespace

void add_curve_options(CLI::App* cmd, CurveSettings& cfg, const std::string& prefix) {
  cmd->add_option("--" + prefix + "curve-secret", cfg.secret,
                  "CURVE: our long-term secret key, Z85 or @FILE (a server's; a client's is "
                  "optional)");
  cmd->add_option("--" + prefix + "curve-server", cfg.server,
                  "CURVE client: the server's public key, Z85 or @FILE");
  cmd->add_option("--" + prefix + "curve-allow", cfg.allow,
                  "CURVE server: a client public key admitted, Z85 or @FILE (repeatable)");
  cmd->add_flag("--" + prefix + "curve-allow-any", cfg.allow_any,
                "CURVE server: admit any client that completes the handshake (no client "
                "authentication)");
}

std::optional<Security> security_of(const CurveSettings& cfg) {
  Security s;
  if (!cfg.secret.empty()) {
    auto key = key_from(cfg.secret, "secret", true);
    if (!key) return std::nullopt;
    s.curve_secret_key = *key;
  }
  if (!cfg.server.empty()) {
    auto key = key_from(cfg.server, "public", false);
    if (!key) return std::nullopt;
    s.curve_server_key = *key;
  }
  for (const auto& spec : cfg.allow) {
    auto key = key_from(spec, "public", false);
    if (!key) return std::nullopt;
    s.curve_allow.push_back(*key);
  }
  s.curve_allow_any = cfg.allow_any;
  if (s.curve_server() && s.curve_allow.empty() && !s.curve_allow_any) {
    std::cerr << "ipcx: a CURVE server needs --curve-allow KEY (or --curve-allow-any)\n";
    return std::nullopt;
  }
  return s;
}

Runner add_keygen(CLI::App& app) {
  app.add_subcommand("keygen", "Print a new CURVE key pair: `public KEY` and `secret KEY` lines");
  return [] {
    CurveKeyPair pair = curve_key_pair();
    std::cout << "public " << pair.public_key << "\nsecret " << pair.secret_key << '\n';
    return kExitOk;
  };
}

}  // namespace ipcx::cli
