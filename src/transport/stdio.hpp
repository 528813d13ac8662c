// stdio:// (transport layer): a server serves on the stdin/stdout pipes it inherited; its
// parent starts it with spawn_stdio_server() and talks ZMTP over the other ends. The child is
// watched and reaped through a pidfd.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "transport/link.hpp"

namespace ipcx::transport {

// A child process we started; destroying it ends and reaps it: it waits `grace` for the child
// to exit by itself (its pipes are closed by then, so a stdio server sees end of input), then
// sends SIGTERM and waits `grace` again, then SIGKILL.
class ChildProcess {
 public:
  ChildProcess(pid_t pid, Fd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();
  pid_t pid() const noexcept { return pid_; }

  static constexpr std::chrono::milliseconds grace{2000};

 private:
  bool exited_within(std::chrono::milliseconds wait) noexcept;
  pid_t pid_;
  Fd pidfd_;
};

struct SpawnedServer {
  std::unique_ptr<Link> link;  // ZMTP over the child's stdin and stdout
  std::unique_ptr<ChildProcess> child;
};

// posix_spawnp(argv[0]) with stdin and stdout on two new pipes and every other descriptor
// above stderr closed in the child. Errors: bad_endpoint for an empty argv; a program that
// cannot be started gives the errno's code with `why` naming it.
Result<SpawnedServer> spawn_stdio_server(const std::vector<std::string>& argv,
                                         const LinkOptions& options, std::string& why) noexcept;

}  // namespace ipcx::transport
