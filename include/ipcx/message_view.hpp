// MessageView (API layer): a received message read in place. On shm:// its frames lie in the
// connection's shared ring itself, so nothing was copied (zero_copy()), and the ring cannot
// reuse their space until the view is released (release() or destruction); meanwhile that
// connection delivers nothing more, so release views promptly. The sender can still write
// those bytes while you read them (it shares the memory): copy out anything you parse
// structurally. Elsewhere, and for a message too large for one ring record, the view holds a
// copy of its own. What handed it out (a Client, a Puller) must outlive it.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "ipcx/message.hpp"

namespace ipcx {

namespace detail {
// What lends views out: told when one ends, and given back the frames vector for reuse.
class ViewLender {
 public:
  virtual void end_view(std::vector<std::span<const std::byte>>& frames) noexcept = 0;

 protected:
  ~ViewLender() = default;
};
}  // namespace detail

class MessageView {
 public:
  MessageView() noexcept = default;
  MessageView(MessageView&& other) noexcept;
  MessageView& operator=(MessageView&& other) noexcept;
  ~MessageView();

  std::size_t size() const noexcept { return frames_.size(); }
  std::span<const std::byte> frame(std::size_t i) const noexcept { return frames_[i]; }
  std::string_view text(std::size_t i) const noexcept {
    return {reinterpret_cast<const char*>(frames_[i].data()), frames_[i].size()};
  }
  // A copy of the frames, as a copying receive would have returned them.
  Message copy() const;
  bool zero_copy() const noexcept { return lender_ != nullptr; }
  // Gives the space back to the connection; the view is empty afterwards.
  void release() noexcept;

  // For what hands views out: one lent by `lender` over `frames` (taken, left empty), or one
  // over a message of its own.
  static MessageView lent(detail::ViewLender& lender,
                          std::vector<std::span<const std::byte>>& frames) noexcept;
  static MessageView owning(Message&& message);

 private:
  detail::ViewLender* lender_ = nullptr;  // null: the frames point into own_, if any
  std::vector<std::span<const std::byte>> frames_;
  // Behind a pointer: a lent view (the common case) then moves as three words, not as a
  // message's inline buffer, and an owned message's frames stay where they are when it moves.
  std::unique_ptr<Message> own_;
};

}  // namespace ipcx
