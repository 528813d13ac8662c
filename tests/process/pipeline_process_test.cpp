// Push/pull with real processes: one pusher spreading work over puller processes on shm and
// unix, every message delivered exactly once; a puller killed with kill -9 mid-stream while
// the pusher goes on; nothing left behind; and the shm doorbell losing no message when a
// puller that always sleeps races every burst.
#include <gtest/gtest.h>
#include <signal.h>

#include <mutex>
#include <set>
#include <thread>

#include "ipcx/ipcx.hpp"
#include "support/child.hpp"
#include "support/fd_count.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using test::Child;

// A puller process: connects, prints each message's text on its own line.
Child puller_process(const std::string& url) {
  return Child::fork([url] {
    Puller puller;
    puller.connect(url);
    for (;;) {
      auto m = puller.receive(30s);
      if (!m) return 1;
      std::printf("%s\n", std::string(m->text(0)).c_str());
      std::fflush(stdout);
    }
  });
}

// Drains each child's stdout on a thread of its own (a puller blocked on a full pipe would
// stop reading and stall the pusher), collecting the numbers it printed.
class Collector {
 public:
  explicit Collector(std::vector<Child>& children) : per_(children.size()) {
    for (std::size_t i = 0; i < children.size(); ++i) {
      threads_.emplace_back([this, i, &children] {
        while (auto line = children[i].read_line(60s)) {
          std::lock_guard lock(mutex_);
          per_[i].push_back(std::stoi(*line));
        }
      });
    }
  }
  ~Collector() { join(); }
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  // Waits until `total` numbers arrived or the deadline passes.
  bool wait_for(std::size_t total, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (count() >= total) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto& v : per_) n += v.size();
    return n;
  }
  std::vector<std::vector<int>> per() {
    std::lock_guard lock(mutex_);
    return per_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::vector<int>> per_;
  std::vector<std::thread> threads_;
};

struct Urls {
  test::TempDir dir;
  std::string shm = "shm://ipcx-pp-" + std::to_string(::getpid());
  std::string unix_socket = "unix://" + dir / "pp.sock";
};

TEST(PipelineProcess, WorkIsSpreadAndDeliveredExactlyOnce) {
  Urls urls;
  std::vector<Child> pullers;
  pullers.push_back(puller_process(urls.shm));
  pullers.push_back(puller_process(urls.shm));
  pullers.push_back(puller_process(urls.unix_socket));
  Collector collected(pullers);
  std::size_t fds = test::open_fd_count();
  constexpr int kCount = 30000;
  {
    Pusher pusher;
    pusher.bind(urls.shm);
    pusher.bind(urls.unix_socket);
    // Wait for all three, so every one gets a share.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (pusher.stats().ready < 3 && std::chrono::steady_clock::now() < deadline) {
      (void)pusher.flush(10ms);
    }
    ASSERT_EQ(pusher.stats().ready, 3u);
    for (int i = 0; i < kCount; ++i) ASSERT_TRUE(pusher.send(Message{std::to_string(i)}, 20s));
    ASSERT_TRUE(pusher.flush(20s));
    EXPECT_TRUE(collected.wait_for(kCount, 30s));
  }
  EXPECT_EQ(test::open_fd_count(), fds);  // the pusher's sockets, rings and epoll are gone
  for (auto& c : pullers) c.kill(SIGKILL);
  collected.join();
  std::set<int> seen;
  auto per = collected.per();
  for (std::size_t p = 0; p < per.size(); ++p) {
    EXPECT_GT(per[p].size(), 0u) << "puller " << p << " got nothing";
    for (int n : per[p]) EXPECT_TRUE(seen.insert(n).second) << "duplicate " << n;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kCount));
}

TEST(PipelineProcess, PullerKilledMidStreamDoesNotStopThePusher) {
  Urls urls;
  std::vector<Child> pullers;
  for (int i = 0; i < 3; ++i) pullers.push_back(puller_process(urls.shm));
  Collector collected(pullers);
  Pusher pusher;
  pusher.bind(urls.shm);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (pusher.stats().ready < 3 && std::chrono::steady_clock::now() < deadline) {
    (void)pusher.flush(10ms);
  }
  ASSERT_EQ(pusher.stats().ready, 3u);
  constexpr int kCount = 200000;
  for (int i = 0; i < kCount; ++i) {
    if (i == kCount / 4) pullers[0].kill(SIGKILL);
    // A generous deadline turns a pusher stuck on the dead puller into a failure, not a hang.
    ASSERT_TRUE(pusher.send(Message{std::to_string(i)}, 20s)) << "message " << i;
  }
  ASSERT_TRUE(pusher.flush(20s));
  EXPECT_EQ(pusher.stats().peers, 2u);
  EXPECT_EQ(pullers[0].wait(), 128 + SIGKILL);
  // The survivors get everything sent to them; what went into the dead one's ring is lost.
  auto survivors = [&] {
    auto per = collected.per();
    return per[1].size() + per[2].size();
  };
  auto settled = std::chrono::steady_clock::now() + 30s;
  std::size_t last = 0;
  while (std::chrono::steady_clock::now() < settled) {
    std::this_thread::sleep_for(200ms);
    if (survivors() == last && last > 0) break;
    last = survivors();
  }
  auto per = collected.per();
  EXPECT_GT(per[1].size() + per[2].size(), static_cast<std::size_t>(kCount) / 2);
  EXPECT_LE(per[0].size() + per[1].size() + per[2].size(), static_cast<std::size_t>(kCount));
  bool last_arrived = false;
  for (int p : {1, 2}) {
    for (int n : per[p]) last_arrived |= n == kCount - 1;
  }
  EXPECT_TRUE(last_arrived);
  for (auto& c : pullers) c.kill(SIGKILL);
}

// Bursts of one to eight messages with pauses of every length in between, into a puller that
// never spins: it announces sleep after nearly every burst, racing the pusher's next one. A
// lost wake-up would leave the puller waiting until something else woke it (a second, in its
// wait loop) or past its deadline.
TEST(PipelineProcess, PullerThatAlwaysSleepsLosesNothingToBursts) {
  std::string url = "shm://ipcx-sleepy-" + std::to_string(::getpid());
  SocketOptions options;
  options.spin = 0us;
  Puller puller(options);
  puller.bind(url);
  const int bursts = test::kSanitized ? 2000 : 20000;
  Child pusher = Child::fork([url, bursts] {
    Pusher push;
    push.connect(url);
    std::uint64_t state = 12345;
    auto next = [&state] {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<unsigned>(state >> 33);
    };
    int sent = 0;
    for (int b = 0; b < bursts; ++b) {
      for (unsigned k = 0; k <= next() % 8; ++k) {
        if (!push.send(Message{std::to_string(sent++)}, 30s)) return 1;
      }
      unsigned pause = next() % 100;
      if (pause < 60) {  // busy, a few microseconds at most
        auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(pause * 50);
        while (std::chrono::steady_clock::now() < until) {
        }
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(pause - 60));
      }
    }
    if (!push.send(Message{"end"}, 30s)) return 1;
    std::printf("%d\n", sent);
    std::fflush(stdout);
    return push.flush(30s) ? 0 : 1;
  });
  long expected = 0;
  for (;;) {
    auto m = puller.receive(30s);
    ASSERT_TRUE(m) << "lost wake-up after " << expected << " messages";
    if (m->text(0) == "end") break;
    ASSERT_EQ(m->str(0), std::to_string(expected));
    ++expected;
  }
  EXPECT_EQ(pusher.read_line(30s).value_or("nothing"), std::to_string(expected));
  EXPECT_EQ(pusher.wait(), 0);
}

}  // namespace
}  // namespace ipcx
