// Reactor: fd readiness, timers in order, cancellation, cross-thread wake-up and posted tasks,
// and callbacks that remove registrations mid-batch.
#include "core/reactor.hpp"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>

namespace ipcx {
namespace {

using namespace std::chrono_literals;

TEST(Reactor, DispatchesReadableFd) {
  Reactor r;
  Fd ev(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  int hits = 0;
  ASSERT_TRUE(r.add(ev.get(), EPOLLIN, [&](std::uint32_t events) {
    EXPECT_TRUE(events & EPOLLIN);
    std::uint64_t v;
    ASSERT_EQ(::read(ev.get(), &v, sizeof v), 8);
    ++hits;
  }));
  EXPECT_EQ(r.run_once(0ms), 0);
  std::uint64_t one = 1;
  ASSERT_EQ(::write(ev.get(), &one, sizeof one), 8);
  EXPECT_EQ(r.run_once(1000ms), 1);
  EXPECT_EQ(hits, 1);
  r.remove(ev.get());
  ASSERT_EQ(::write(ev.get(), &one, sizeof one), 8);
  EXPECT_EQ(r.run_once(0ms), 0);
  EXPECT_EQ(hits, 1);
}

TEST(Reactor, TimersFireInDeadlineOrderAndCancel) {
  Reactor r;
  std::vector<int> order;
  auto now = Reactor::Clock::now();
  r.add_timer(now + 30ms, [&] { order.push_back(3); });
  r.add_timer(now + 10ms, [&] { order.push_back(1); });
  auto cancelled = r.add_timer(now + 20ms, [&] { order.push_back(2); });
  r.cancel_timer(cancelled);
  auto deadline = now + 10s;
  while (order.size() < 2 && Reactor::Clock::now() < deadline) r.run_once(-1ms);
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
}

TEST(Reactor, WakeAndPostFromAnotherThread) {
  Reactor r;
  std::atomic<bool> ran{false};
  std::thread other([&] { r.post([&] { ran = true; }); });
  auto deadline = Reactor::Clock::now() + 10s;
  while (!ran && Reactor::Clock::now() < deadline) r.run_once(5000ms);
  other.join();
  EXPECT_TRUE(ran);
}

TEST(Reactor, CallbackMayRemoveAnotherReadyRegistration) {
  Reactor r;
  Fd a(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
  Fd b(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
  int calls = 0;
  auto remove_both = [&](std::uint32_t) {
    ++calls;
    r.remove(a.get());
    r.remove(b.get());
  };
  ASSERT_TRUE(r.add(a.get(), EPOLLIN, remove_both));
  ASSERT_TRUE(r.add(b.get(), EPOLLIN, remove_both));
  r.run_once(1000ms);
  EXPECT_EQ(calls, 1);  // the second, removed in the same batch, never runs
}

TEST(Reactor, FdIsPollableFromOutside) {
  Reactor r;
  pollfd p{r.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  r.wake();
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  r.run_once(0ms);
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

}  // namespace
}  // namespace ipcx
