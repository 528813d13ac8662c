// Writing to a pipe whose reader left gives EPIPE and never SIGPIPE, with the default signal
// disposition in place: through RWF_NOSIGNAL where the kernel has it, and through the signal
// mask where it does not (forced here by making the flagged write fail as an old kernel's
// would). Each case runs in a forked child, so a SIGPIPE would show as its death.
#include "transport/pipe_stream.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "core/sys.hpp"

namespace ipcx::transport {
namespace {

int old_kernel_once(sys::Call call, std::size_t*) {
  static bool said = false;
  if (call == sys::Call::write && !said) {
    said = true;
    return EOPNOTSUPP;
  }
  return 0;
}

// The child's exit status: 0 when the write failed with EPIPE and the child lived on, and a
// pending SIGPIPE was not left behind either.
int write_to_a_left_reader(bool old_kernel) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    if (old_kernel) sys::set_injector(&old_kernel_once);
    int fds[2];
    if (::pipe(fds) != 0) ::_exit(2);
    ::close(fds[0]);
    for (int i = 0; i < 3; ++i) {
      ssize_t n = write_without_sigpipe(fds[1], "x", 1, sigpipe_ignored());
      if (n != -1 || errno != EPIPE) ::_exit(3);
    }
    sigset_t pending;
    ::sigpending(&pending);
    ::_exit(sigismember(&pending, SIGPIPE) ? 4 : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(PipeWrite, ALeftReaderGivesEpipeNotSigpipe) { EXPECT_EQ(write_to_a_left_reader(false), 0); }

TEST(PipeWrite, WithoutTheKernelFlagTheSignalMaskDoesIt) {
  EXPECT_EQ(write_to_a_left_reader(true), 0);
}

}  // namespace
}  // namespace ipcx::transport
