// TailWriter (pattern layer): the helper thread of a socket that coalesces writes. A Pusher called
// back to back holds messages in user space and writes many per syscall; once the caller stops
// calling, nobody would write what is still held, so this thread does, a moment later. It starts
// at the first hold and sleeps on a futex whenever nothing is held: an idle socket costs nothing,
// and a socket that never holds has no thread. The caller and this thread take turns through a
// Gate, so the engine is only ever driven by one of them at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

namespace ipcx::pattern {

// A lock that the thread holds for at most one non-blocking write: the caller waiting for it
// spins (yielding, in case the holder shares its CPU) rather than sleeping, which would cost a
// wake-up far longer than the write. The thread only tries it: the caller may hold it through a
// whole blocking call.
class Gate {
 public:
  void lock() noexcept;
  bool try_lock() noexcept;
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

// The caller's hold on a gate that it takes only once there is someone to keep out: until the
// tail writer's thread exists, a locked instruction per send would be pure cost.
class GateHold {
 public:
  GateHold() = default;
  GateHold(const GateHold&) = delete;
  GateHold& operator=(const GateHold&) = delete;
  ~GateHold() {
    if (gate_ != nullptr) gate_->unlock();
  }
  void take(Gate& gate) noexcept {
    if (gate_ != nullptr) return;
    gate.lock();
    gate_ = &gate;
  }

 private:
  Gate* gate_ = nullptr;
};

class TailWriter {
 public:
  // `write_held` runs on the thread with the gate held: it writes what is held without
  // waiting and returns true when nothing is held any more.
  TailWriter(Gate& gate, std::function<bool()> write_held);
  ~TailWriter();  // stops and joins the thread; call with the gate not held
  TailWriter(const TailWriter&) = delete;
  TailWriter& operator=(const TailWriter&) = delete;

  // Called with the gate held after a message was held back: the thread writes it about
  // `kDelay` from now unless the caller has written it by then. False when no thread could be
  // started: the caller writes what it holds itself.
  bool arm() noexcept;
  // Whether the thread exists (only the caller starts it, so only the caller asks).
  bool started() const noexcept { return thread_.joinable(); }

  // How long the thread lets a hold stand: a caller sending back to back comes back well
  // within it (and writes its own batches); one that stopped sees its last messages leave this
  // much (plus a wake-up) after its last send.
  static constexpr std::chrono::microseconds kDelay{50};

 private:
  void run();

  Gate& gate_;
  std::function<bool()> write_held_;
  std::atomic<std::uint32_t> armed_{0};  // the futex word: 1 while something is held
  std::atomic<bool> stop_{false};
  std::thread thread_;  // started by the first arm()
};

}  // namespace ipcx::pattern
