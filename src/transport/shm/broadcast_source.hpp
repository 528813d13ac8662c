// The publisher's side of shm:// publish/subscribe (transport layer): one broadcast ring per
// publisher, in a memfd every subscriber maps read-only, so each message is written once for
// all of them. Each subscriber's shm link joins as a Seat: words in that link's own shared
// memory saying whether the subscriber sleeps and how far it has read, and its doorbell. The
// writer rings the doorbells of sleepers; when lossless, it never overwrites what a seat has
// not read and stops instead, for its owner to wait (the links' prepare_sleep() arm the
// lagging seats). Single-threaded, like the links that share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "ipcx/message.hpp"
#include "transport/capabilities.hpp"
#include "transport/shm/broadcast_ring.hpp"
#include "transport/shm/ring.hpp"

namespace ipcx::transport {

class BroadcastSource final : public BroadcastGroup {
 public:
  struct Seat {
    // The subscriber's incoming-ring control: consumer_sleeping, broadcast_cursor and
    // producer_waiting are what the broadcast uses.
    RingControl* control = nullptr;
    int bell = -1;        // the subscriber link's socket, rung with ring_shm_doorbell()
    bool faulty = false;  // it reported an impossible position: its link closes itself
  };

  // nullptr with `why` set when the memory cannot be made.
  static std::shared_ptr<BroadcastSource> create(std::size_t ring_bytes, bool lossless,
                                                 std::string& why) noexcept;
  virtual ~BroadcastSource();
  BroadcastSource(const BroadcastSource&) = delete;
  BroadcastSource& operator=(const BroadcastSource&) = delete;

  int memfd() const noexcept { return memfd_.get(); }
  std::size_t capacity() const noexcept { return writer_.capacity(); }
  std::uint64_t tail() const noexcept { return writer_.tail(); }

  // A seat starts reading at tail(): its cursor is set there now, before the subscriber says.
  void join(Seat* seat);
  void leave(Seat* seat) noexcept;

  // Writes the message's frames into the ring, in fragments when it is larger than a quarter
  // of it, and wakes the seats that sleep. Lossy: always true. Lossless: false when a seat has
  // not read far enough for the next fragment; what was written stays written, and the caller
  // waits and calls again with the same message.
  bool write(const Message& message) noexcept override;
  // While write() is stopped: the position every seat should pass before it wakes us (else
  // 0); write() goes on once they pass what the next fragment needs, a quarter ring less.
  std::uint64_t wanted() const noexcept { return wanted_; }
  // Whether `seat` holds write() up: its cursor is below wanted(). Reads its shared cursor.
  bool holds_up(Seat& seat) noexcept;

 private:
  BroadcastSource() = default;
  // The lowest cursor of the seats (checking each); tail() when there are none.
  std::uint64_t slowest() noexcept;
  void wake_sleepers() noexcept;

  Fd memfd_;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  BroadcastWriter writer_;
  bool lossless_ = false;
  std::vector<Seat*> seats_;
  std::uint64_t known_slowest_ = 0;  // a lower bound of every seat's cursor
  std::uint64_t wanted_ = 0;
  std::size_t sent_ = 0;  // payload bytes of the current message already in the ring
};

}  // namespace ipcx::transport
