// iceoryx 2.0 round trips (bench): see peer_iceoryx.hpp. Each side is its own process with its
// own runtime registered at RouDi; the measuring process never registers, so it may fork.
#include "peer_iceoryx.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iceoryx_hoofs/log/logmanager.hpp>
#include <iceoryx_posh/mepoo/chunk_header.hpp>
#include <iceoryx_posh/popo/untyped_publisher.hpp>
#include <iceoryx_posh/popo/untyped_subscriber.hpp>
#include <iceoryx_posh/popo/wait_set.hpp>
#include <iceoryx_posh/runtime/posh_runtime.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

namespace ipcx::bench::iceoryx {
namespace {

using Clock = std::chrono::steady_clock;

void register_runtime(const char* role) {
  // Its registration chatter would break the harness's table and progress line.
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn,
                                                           iox::log::LogLevelOutput::kHideLogLevel);
  std::string name = std::string("ipcx-bench-") + role + "-" + std::to_string(::getpid());
  iox::runtime::PoshRuntime::initRuntime(
      iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
}

iox::capro::ServiceDescription topic(const std::string& tag, const char* event) {
  return {"ipcx-bench", iox::capro::IdString_t(iox::cxx::TruncateToCapacity, tag.c_str()),
          iox::capro::IdString_t(iox::cxx::TruncateToCapacity, event)};
}

iox::popo::SubscriberOptions subscriber_options() {
  iox::popo::SubscriberOptions o;
  o.queueCapacity = 4;  // a ping-pong never has more than one message in flight
  return o;
}

// One end: publishes on `out`, takes from `in`, waiting by busy poll or on a wait set.
class End {
 public:
  End(const std::string& tag, const char* out, const char* in, bool waitset)
      : publisher_(topic(tag, out)), subscriber_(topic(tag, in), subscriber_options()) {
    if (waitset) {
      waitset_.emplace();
      waitset_->attachState(subscriber_, iox::popo::SubscriberState::HAS_DATA).or_else([](auto) {
        std::fprintf(stderr, "iceoryx: cannot attach the wait set\n");
        ::_exit(1);
      });
    }
  }
  ~End() {
    if (waitset_) waitset_->detachState(subscriber_, iox::popo::SubscriberState::HAS_DATA);
  }

  bool connected() const {
    return publisher_.hasSubscribers() &&
           subscriber_.getSubscriptionState() == iox::SubscribeState::SUBSCRIBED;
  }

  // Copies `size` bytes of `body` into a loaned chunk and publishes it.
  bool publish(const char* body, std::size_t size) {
    auto loaned = publisher_.loan(static_cast<std::uint32_t>(size));
    if (loaned.has_error()) return false;
    if (size > 0) std::memcpy(loaned.value(), body, size);
    publisher_.publish(loaned.value());
    return true;
  }

  // Waits for the next message and copies it into `buf`; its size, or nothing on failure
  // (including a peer silent for 30 s: a dead follower fails the row, it does not hang the run).
  std::optional<std::size_t> take(std::vector<char>& buf) {
    unsigned polls = 0;
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto taken = subscriber_.take();
      if (!taken.has_error()) {
        const void* payload = taken.value();
        std::size_t size = iox::mepoo::ChunkHeader::fromUserPayload(payload)->userPayloadSize();
        if (buf.size() < size) buf.resize(size);
        std::memcpy(buf.data(), payload, size);
        subscriber_.release(payload);
        return size;
      }
      if (taken.get_error() != iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) return {};
      if (waitset_) {
        if (Clock::now() > deadline) return {};
        waitset_->timedWait(iox::units::Duration::fromSeconds(1));
      } else {
        if ((++polls & 4095) == 0 && Clock::now() > deadline) return {};
        // Pause, and yield every 4th time: the mix ipcx and the raw floor spin with, so one
        // CPU is shared as it is for them.
        (polls & 3) == 0 ? (void)sched_yield() : __builtin_ia32_pause();
      }
    }
  }

 private:
  iox::popo::UntypedPublisher publisher_;
  iox::popo::UntypedSubscriber subscriber_;
  std::optional<iox::popo::WaitSet<>> waitset_;
};

class IceoryxLeader final : public Leader {
 public:
  IceoryxLeader(const std::string& tag, bool waitset, std::size_t size)
      : body_(size, 'x'), reply_(size) {
    register_runtime("leader");
    end_.emplace(tag, "ping", "pong", waitset);
    // Discovery runs through RouDi: wait until both topics are matched before the first ping.
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!end_->connected() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // An empty ping tells the follower to leave; it goes before RouDi reclaims its chunks.
  ~IceoryxLeader() override {
    end_->publish(nullptr, 0);
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while (end_->connected() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    end_.reset();
  }
  bool round_trip() override {
    if (!end_->publish(body_.data(), body_.size())) return false;
    auto got = end_->take(reply_);
    return got && *got == body_.size();
  }

 private:
  std::vector<char> body_;
  std::vector<char> reply_;
  std::optional<End> end_;
};

}  // namespace

Roudi::~Roudi() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

bool Roudi::start(const std::string& log_path, std::string& why) {
  pid_t pid = ::fork();
  if (pid < 0) {
    why = "fork failed";
    return false;
  }
  if (pid == 0) {
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log >= 0) ::dup2(log, 1), ::dup2(log, 2);
    ::execlp("iox-roudi", "iox-roudi", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  auto deadline = Clock::now() + std::chrono::seconds(15);
  std::string last;
  while (Clock::now() < deadline) {
    std::ifstream log(log_path);
    std::stringstream text;
    text << log.rdbuf();
    if (text.str().find("RouDi is ready for clients") != std::string::npos) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why = WIFEXITED(status) && WEXITSTATUS(status) == 127
                ? "iox-roudi not found (scripts/deps --bench installs iceoryx)"
                : "iox-roudi exited (is another RouDi running?): see " + log_path;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  why = "iox-roudi did not get ready within 15 s";
  return false;  // the destructor stops it
}

void follow(const std::string& tag, bool waitset, int report_fd) {
  register_runtime("follower");
  {
    End end(tag, "pong", "ping", waitset);
    std::string line = tag + "\n";
    bool reported =
        ::write(report_fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(report_fd);
    std::vector<char> buf(64);
    while (reported) {
      auto size = end.take(buf);
      if (!size || *size == 0 || !end.publish(buf.data(), *size)) break;
    }
  }
  // exit(), not _exit(): the runtime deregisters at RouDi in its static destructor, or RouDi
  // would later try to stop a process that is gone.
  std::exit(0);
}

std::unique_ptr<Leader> lead(const std::string& tag, bool waitset, std::size_t size) {
  return std::make_unique<IceoryxLeader>(tag, waitset, size);
}

}  // namespace ipcx::bench::iceoryx
