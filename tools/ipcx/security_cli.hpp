// CURVE on the command line (CLI): the --curve-* options every socket command takes (the proxy
// once per side, with a prefix), keys given inline or as @FILE, and `ipcx keygen`.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "ipcx/security.hpp"

namespace ipcx::cli {

struct CurveSettings {
  std::string secret;              // KEY or @FILE
  std::string server;              // KEY or @FILE
  std::vector<std::string> allow;  // KEYs or @FILEs
  bool allow_any = false;
};

// --PREFIXcurve-secret, --PREFIXcurve-server, --PREFIXcurve-allow, --PREFIXcurve-allow-any.
void add_curve_options(CLI::App* cmd, CurveSettings& cfg, const std::string& prefix = "");
// The Security the settings ask for, keys read from their files; nullopt (after a message on
// stderr that never shows a secret) when a file cannot be read or holds no key. A secret in a
// file others can read draws a warning.
std::optional<Security> security_of(const CurveSettings& cfg);

Runner add_keygen(CLI::App& app);

}  // namespace ipcx::cli
