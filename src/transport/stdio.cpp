// stdio:// (transport layer): ZMTP over anonymous pipes between a parent and the child it
// started. The child's side takes over descriptors 0 and 1 at bind: it moves the pipes to
// close-on-exec descriptors of its own and points 0 at /dev/null and 1 at stderr, so a stray
// printf in the server lands on stderr instead of corrupting the stream. Only one stdio://
// bind per process: there is one stdin.
#include "transport/stdio.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "core/errno_map.hpp"
#include "transport/address.hpp"
#include "transport/faults.hpp"
#include "transport/mechanism.hpp"
#include "transport/pipe_stream.hpp"
#include "transport/stream_link.hpp"
#include "transport/test_hooks.hpp"

extern char** environ;

namespace ipcx::transport {
namespace {

std::atomic<bool> g_stdio_taken{false};

bool is_pipe_or_socket(int fd) noexcept {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

Fd nonblocking_copy(int fd) noexcept {
  Fd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (copy) ::fcntl(copy.get(), F_SETFL, ::fcntl(copy.get(), F_GETFL) | O_NONBLOCK);
  return copy;
}

// Hands out its one link (the parent) once; readable until then.
class StdioListener final : public Listener {
 public:
  StdioListener(Fd ready, Fd in, Fd out, Endpoint bound, LinkOptions options) noexcept
      : ready_(std::move(ready)),
        in_(std::move(in)),
        out_(std::move(out)),
        bound_(std::move(bound)),
        options_(options) {}
  ~StdioListener() override { close(); }

  int fd() const noexcept override { return ready_.get(); }
  const Endpoint& bound() const noexcept override { return bound_; }

  Result<std::unique_ptr<Link>> accept() noexcept override {
    if (!in_) return unexpected(Errc::would_block);
    std::uint64_t count = 0;
    (void)sys::read(ready_.get(), &count, sizeof count);
    PeerInfo peer;
    peer.mechanism = "stdio";
    peer.pid = static_cast<int>(::getppid());
    peer.uid = static_cast<int>(::getuid());
    peer.address = bound_.url();
    std::string why;
    auto stream = PipeStream::make(std::move(in_), std::move(out_), std::move(peer), why);
    if (!stream) return unexpected(Errc::resource_exhausted);
    return without_throwing<std::unique_ptr<Link>>(
        why, [&] { return make_stream_link(std::move(stream), options_); });
  }

  void close() noexcept override {
    if (!ready_) return;
    ready_.reset();
    in_.reset();
    out_.reset();
    g_stdio_taken.store(false);
  }

 private:
  Fd ready_;
  Fd in_;
  Fd out_;
  Endpoint bound_;
  LinkOptions options_;
};

Result<std::unique_ptr<Listener>> listen_stdio(const Endpoint& ep, const ListenOptions& options,
                                               std::string& why) noexcept {
  if (!is_pipe_or_socket(0) || !is_pipe_or_socket(1)) {
    why =
        "stdin and stdout must be pipes: start this server with ipcx::spawn or `ipcx call "
        "--spawn`";
    return unexpected(Errc::not_supported);
  }
  if (g_stdio_taken.exchange(true)) {
    why = "stdio:// is bound already: a process has one stdin";
    return unexpected(Errc::address_in_use);
  }
  Fd ready(sys::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
  Fd in = nonblocking_copy(0);
  Fd out = nonblocking_copy(1);
  Fd devnull(sys::open("/dev/null", O_RDONLY));
  if (!ready || !in || !out || !devnull) {
    why = describe_errno("taking over stdin/stdout", errno);
    g_stdio_taken.store(false);
    return unexpected(errc_from_errno(errno));
  }
  ::dup2(devnull.get(), 0);
  ::dup2(2, 1);
  return without_throwing<std::unique_ptr<Listener>>(why, [&]() -> std::unique_ptr<Listener> {
    return std::make_unique<StdioListener>(std::move(ready), std::move(in), std::move(out), ep,
                                           options.link);
  });
}

Result<std::unique_ptr<Link>> dial_stdio(const Endpoint&, const LinkOptions&,
                                         std::string& why) noexcept {
  why = "a stdio:// server is reached by starting it: ipcx::spawn(argv)";
  return unexpected(Errc::not_supported);
}

struct Pipe {
  Fd read;
  Fd write;
};

bool make_pipe(Pipe& p) noexcept {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  p.read.reset(fds[0]);
  p.write.reset(fds[1]);
  return true;
}

}  // namespace

ChildProcess::~ChildProcess() {
  if (!pidfd_) {
    // No pidfd (its open failed): the pid is still ours, unreaped, so it cannot be reused.
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    return;
  }
  if (!exited_within(grace)) {
    sys::pidfd_send_signal(pidfd_.get(), SIGTERM);
    if (!exited_within(grace)) sys::pidfd_send_signal(pidfd_.get(), SIGKILL);
  }
  siginfo_t info{};
  ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED);
}

bool ChildProcess::exited_within(std::chrono::milliseconds wait) noexcept {
  pollfd p{pidfd_.get(), POLLIN, 0};
  auto deadline = Clock::now() + wait;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left < 0) left = 0;
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

Result<SpawnedServer> spawn_stdio_server(const std::vector<std::string>& argv,
                                         const LinkOptions& options, std::string& why) noexcept {
  if (argv.empty()) {
    why = "spawn needs a program to run";
    return unexpected(Errc::bad_endpoint);
  }
  return without_throwing<SpawnedServer>(why, [&]() -> Result<SpawnedServer> {
    Pipe to_child, from_child;
    if (!make_pipe(to_child) || !make_pipe(from_child)) {
      why = describe_errno("pipe2", errno);
      return unexpected(errc_from_errno(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child.read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, from_child.write.get(), 1);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      why = describe_errno(("cannot start '" + argv[0] + "'").c_str(), rc);
      return unexpected(rc == ENOENT ? Errc::bad_endpoint : errc_from_errno(rc));
    }
    Fd pidfd(sys::pidfd_open(pid));
    auto child = std::make_unique<ChildProcess>(pid, std::move(pidfd));
    for (Fd* end : {&to_child.write, &from_child.read}) {
      ::fcntl(end->get(), F_SETFL, ::fcntl(end->get(), F_GETFL) | O_NONBLOCK);
    }
    PeerInfo peer;
    peer.mechanism = "stdio";
    peer.pid = pid;
    peer.uid = static_cast<int>(::getuid());
    peer.address = "stdio://";
    auto stream = PipeStream::make(std::move(from_child.read), std::move(to_child.write),
                                   std::move(peer), why);
    if (!stream) return unexpected(Errc::resource_exhausted);
    SpawnedServer spawned;
    spawned.link = make_stream_link(std::move(stream), options);
    spawned.child = std::move(child);
    return spawned;
  });
}

namespace {

std::string parse_stdio(std::string_view rest, Endpoint&) {
  return address::parse_nothing(rest, "stdio");
}

std::string stdio_url(const std::string&, const std::string&) { return "stdio://"; }

}  // namespace

Mechanism stdio_mechanism() {
  Mechanism m;
  m.info.scheme = "stdio";
  m.info.summary = "a parent and the worker it starts; nothing named to clean up";
  // A Client's, through spawn: no publish/subscribe or push/pull.
  m.info.caps.request_reply = true;
  m.info.caps.reach = Reach::spawn;
  m.info.private_url = &stdio_url;
  m.info.leftovers = &test_hooks::nothing_left;
  m.info.remove_stale = &test_hooks::nothing_stale;
  m.parse = &parse_stdio;
  m.format = &address::format_nothing;
  m.listen = &listen_stdio;
  m.dial = &dial_stdio;
  return m;
}

}  // namespace ipcx::transport
