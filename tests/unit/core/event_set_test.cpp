// EventSet: fd readiness handed back with its tag, removal, the alarm, cross-thread wake-up and
// posted tasks, and its fd pollable from outside.
#include "core/event_set.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using Clock = EventSet::Clock;

TEST(EventSet, HandsBackTheTagOfAReadyFd) {
  EventSet set;
  Fd ev(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  int mine = 0;
  ASSERT_TRUE(set.add(ev.get(), EPOLLIN, &mine));
  EXPECT_TRUE(set.wait(Clock::time_point{}).empty());
  std::uint64_t one = 1;
  ASSERT_EQ(::write(ev.get(), &one, sizeof one), 8);
  auto ready = set.wait(Clock::now() + 10s);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].data.ptr, &mine);
  EXPECT_TRUE(ready[0].events & EPOLLIN);
  set.remove(ev.get());
  EXPECT_TRUE(set.wait(Clock::time_point{}).empty());  // still readable, no longer watched
}

TEST(EventSet, TheAlarmEndsAnUnboundedWaitAndIsDisarmedOnceItFired) {
  EventSet set;
  auto start = Clock::now();
  set.set_alarm(start + 20ms);
  EXPECT_TRUE(set.wait(Clock::time_point::max()).empty());
  EXPECT_GE(Clock::now(), start + 20ms);
  EXPECT_EQ(set.alarm(), Clock::time_point::max());
  // A deadline before the alarm is kept on its own.
  set.set_alarm(Clock::now() + 60s);
  auto before = Clock::now();
  EXPECT_TRUE(set.wait(before + 20ms).empty());
  EXPECT_LT(Clock::now(), before + 30s);
}

int open_descriptors() {
  int n = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST(EventSet, TakesATimerfdOnlyOnceItsAlarmBoundsManyWaitsAndKeepsTheAlarmAcrossTheSwitch) {
  int before = open_descriptors();
  EventSet set;
  int with_set = open_descriptors();
  EXPECT_EQ(with_set, before + 1);  // the epoll set alone
  // Armed often but rarely slept on (a Client waiting in its link's own read): no timerfd.
  for (int i = 0; i < 100; ++i) set.set_alarm(Clock::now() + 1h + std::chrono::seconds(i));
  EXPECT_EQ(open_descriptors(), with_set);
  // Every unbounded wait ends at its alarm, before and after the set takes its timerfd.
  for (int i = 0; i < 40; ++i) {
    auto start = Clock::now();
    set.set_alarm(start + 1ms);
    EXPECT_TRUE(set.wait(Clock::time_point::max()).empty());
    EXPECT_GE(Clock::now(), start + 1ms);
    EXPECT_EQ(set.alarm(), Clock::time_point::max());
  }
  EXPECT_EQ(open_descriptors(), with_set + 1);  // the timerfd
}

TEST(EventSet, WakeAndPostFromAnotherThread) {
  EventSet set(true);
  std::atomic<bool> ran{false};
  std::thread other([&] { set.post([&] { ran = true; }); });
  auto deadline = Clock::now() + 10s;
  while (!ran && Clock::now() < deadline) {
    (void)set.wait(Clock::now() + 5s);
    if (set.woken()) set.run_posted();
  }
  other.join();
  EXPECT_TRUE(ran);
}

TEST(EventSet, FdIsPollableFromOutside) {
  EventSet set(true);
  pollfd p{set.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  set.wake();
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  EXPECT_TRUE(set.wait(Clock::time_point{}).empty());
  EXPECT_TRUE(set.woken());
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

}  // namespace
}  // namespace ipcx
