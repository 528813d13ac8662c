// ipcx::Proxy (pattern layer): the pattern's Forwarder and the capture socket, driven by one
// thread. Each turn every engine takes its events without waiting and the forwarder moves what
// is ready; a turn that moved nothing sleeps on every engine's descriptor at once.
#include "ipcx/proxy.hpp"

#include <poll.h>

#include <atomic>
#include <thread>

#include "pattern/proxy/forwarder.hpp"

namespace ipcx {

using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<pattern::proxy::Forwarder> forwarder_for(pattern::proxy::Context context) {
  switch (context.options.pattern) {
    case ProxyPattern::pipeline:
      return pattern::proxy::pipeline_forwarder(context);
    case ProxyPattern::publish_subscribe:
      return pattern::proxy::publish_subscribe_forwarder(context);
    case ProxyPattern::request_reply:
      break;
  }
  return pattern::proxy::request_reply_forwarder(context);
}

}  // namespace

struct Proxy::Impl {
  explicit Impl(ProxyOptions o)
      : options(std::move(o)),
        capture(options, counters),
        forwarder(forwarder_for({options, counters, capture})) {}

  void run() {
    engine::Engine* engines[3] = {&forwarder->frontend(), &forwarder->backend(), capture.engine()};
    std::size_t n = engines[2] != nullptr ? 3 : 2;
    std::span<engine::Engine*> all(engines, n);
    while (!stop_requested.load()) {
      // Each takes its events (accepts, handshakes, hang-ups, ticks) without waiting.
      for (auto* e : all) {
        e->sleep(Clock::time_point{});
        e->progress();
      }
      bool moved = forwarder->forward();
      for (auto* e : all) {
        e->flush_dirty();
        e->reap();
      }
      if (moved) continue;
      // Nothing moved: wait on every engine (rings armed to ring their doorbells) for at most a
      // tick, so that timers on each run.
      pollfd fds[3];
      for (std::size_t i = 0; i < n; ++i) {
        all[i]->arm_for_outside_wait();
        fds[i] = {all[i]->fd(), POLLIN, 0};
      }
      ::poll(fds, n, 100);
      for (auto* e : all) e->disarm();
    }
  }

  ProxyOptions options;
  pattern::proxy::Counters counters;
  pattern::proxy::Capture capture;
  std::unique_ptr<pattern::proxy::Forwarder> forwarder;
  std::atomic<bool> stop_requested{false};
  std::thread runner;
};

Proxy::Proxy(ProxyOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Proxy::~Proxy() { stop(); }

Endpoint Proxy::bind_frontend(std::string_view url) {
  return impl_->forwarder->frontend().bind(url);
}
void Proxy::connect_frontend(std::string_view url) { impl_->forwarder->frontend().connect(url); }
Endpoint Proxy::bind_backend(std::string_view url) { return impl_->forwarder->backend().bind(url); }
void Proxy::connect_backend(std::string_view url) { impl_->forwarder->backend().connect(url); }
Endpoint Proxy::bind_capture(std::string_view url) {
  return impl_->capture.socket().engine.bind(url);
}
void Proxy::connect_capture(std::string_view url) { impl_->capture.socket().engine.connect(url); }

void Proxy::run() { impl_->run(); }

void Proxy::start() {
  if (impl_->runner.joinable()) return;
  impl_->runner = std::thread([impl = impl_] { impl->run(); });
}

void Proxy::stop() {
  impl_->stop_requested.store(true);
  impl_->forwarder->frontend().wake();
  if (impl_->runner.joinable() && impl_->runner.get_id() != std::this_thread::get_id()) {
    impl_->runner.join();
  }
}

ProxyStats Proxy::stats() const noexcept {
  const auto& c = impl_->counters;
  return {c.to_backend.load(), c.to_frontend.load(), c.dropped.load(), c.captured.load()};
}

}  // namespace ipcx
