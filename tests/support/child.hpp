// Child (test support): a real process, started with fork+exec (or fork running a function),
// whose stdout is readable line by line with a deadline, killed by PID when the test ends.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ipcx::test {

class Child {
 public:
  // Runs argv[0] with arguments; stdout is captured, and stderr too when merge_stderr.
  static Child exec(std::vector<std::string> argv, bool merge_stderr = false) {
    return start([argv, merge_stderr] {
      if (merge_stderr) ::dup2(STDOUT_FILENO, STDERR_FILENO);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    });
  }

  // Runs body() in a forked copy of this process; its return value is the exit status.
  static Child fork(std::function<int()> body) {
    return start([body] { ::_exit(body()); });
  }

  Child(Child&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        out_(std::exchange(other.out_, -1)),
        buffered_(std::move(other.buffered_)),
        status_(other.status_) {}
  Child& operator=(Child&&) = delete;
  ~Child() {
    kill(SIGKILL);
    wait();
    if (out_ >= 0) ::close(out_);
  }

  pid_t pid() const { return pid_; }
  void kill(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }

  // Blocks until exit; the exit status (or 128+signal).
  int wait() {
    if (pid_ <= 0) return -1;
    if (!status_) {
      int raw = 0;
      while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
      }
      status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    }
    return *status_;
  }

  // Waits for exit at most `limit`; nullopt if still running (then the caller decides).
  std::optional<int> wait_for(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!status_) {
      int raw = 0;
      pid_t r = ::waitpid(pid_, &raw, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      ::usleep(2000);
    }
    return status_;
  }

  // The next line of stdout, or nullopt at EOF or when the deadline passes.
  std::optional<std::string> read_line(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto nl = buffered_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffered_.substr(0, nl);
        buffered_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char chunk[4096];
      ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffered_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Reads stdout until EOF.
  std::string read_all(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    std::string all;
    while (auto line = read_line(limit)) all += *line + "\n";
    all += buffered_;
    buffered_.clear();
    return all;
  }

 private:
  Child(pid_t pid, int out) : pid_(pid), out_(out) {}

  template <class F>
  static Child start(F&& in_child) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      in_child();
      ::_exit(127);
    }
    ::close(fds[1]);
    return Child(pid, fds[0]);
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffered_;
  std::optional<int> status_;
};

}  // namespace ipcx::test
