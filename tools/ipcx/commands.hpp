// The ipcx CLI's subcommands (CLI), one file each; main.cpp wires them into CLI11.
#pragma once

#include <signal.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <string_view>
#include <vector>

#include "ipcx/endpoint.hpp"
#include "ipcx/error.hpp"
#include "ipcx/events.hpp"

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
Runner add_proxy(CLI::App& app);

// Exit statuses shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitErrReply = 3;

// --heartbeat on every command that opens a socket; -1 (the default) leaves the library's.
inline constexpr const char* kHeartbeatHelp =
    "ZMTP PING every this many ms, a peer silent for 3x closed (0: off; default 5000 over "
    "tcp://, off elsewhere)";

// --events: `event KIND ENDPOINT PEER [REASON...]` on stderr, written at once, so that a
// monitor reads each as it happens.
void print_event(const ConnectionEvent& event);

// For the long-running commands (serve, proxy). Blocks SIGINT and SIGTERM in this thread and
// every thread started after it, so that wait_for_stop_signal() alone receives them.
sigset_t block_stop_signals();
void wait_for_stop_signal(const sigset_t& signals);
// "bound URL", a line each, on stdout.
void print_bound(const std::vector<Endpoint>& bound);
// A setup error: printed under the command's name; the exit status it deserves.
int report_setup_error(std::string_view command, const Error& e);

}  // namespace ipcx::cli
