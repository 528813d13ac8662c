// The ipcx CLI's subcommands (CLI), one file each; main.cpp wires them into CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace ipcx::cli {

// Each registers its subcommand and returns the code to run when it was chosen; the code
// returns the process exit status.
using Runner = std::function<int()>;
Runner add_serve(CLI::App& app);
Runner add_call(CLI::App& app);
Runner add_push(CLI::App& app);
Runner add_pull(CLI::App& app);
Runner add_pub(CLI::App& app);
Runner add_sub(CLI::App& app);
Runner add_tour(CLI::App& app);
Runner add_bench(CLI::App& app);

// Exit statuses shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitErrReply = 3;

// --heartbeat on every command that opens a socket; -1 (the default) leaves the library's.
inline constexpr const char* kHeartbeatHelp =
    "ZMTP PING every this many ms, a peer silent for 3x closed (0: off; default 5000 over "
    "tcp://, off elsewhere)";

}  // namespace ipcx::cli
