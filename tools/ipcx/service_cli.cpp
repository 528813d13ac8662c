// What the long-running commands (serve, proxy) share (CLI): event lines, stop signals, bound
// lines and setup errors.
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>

#include "commands.hpp"

namespace ipcx::cli {

void print_event(const ConnectionEvent& e) {
  std::string line = "event " + std::string(to_string(e.kind)) + ' ' + e.endpoint + ' ' + e.peer;
  if (!e.reason.empty()) line += ' ' + e.reason;
  line += '\n';
  static std::mutex mutex;  // kept whole beside log lines from other threads
  std::lock_guard lock(mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void wait_for_stop_signal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
}

void print_bound(const std::vector<Endpoint>& bound) {
  for (const auto& ep : bound) std::cout << "bound " << ep.url() << '\n';
  std::cout.flush();
}

int report_setup_error(std::string_view command, const Error& e) {
  std::cerr << "ipcx " << command << ": " << e.what() << '\n';
  return e.errc() == Errc::bad_endpoint ? kExitUsage : kExitFailed;
}

}  // namespace ipcx::cli
