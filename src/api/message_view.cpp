// MessageView (API layer): frames lent by a transport, or of a message of its own.
#include "ipcx/message_view.hpp"

#include <utility>

namespace ipcx {

MessageView MessageView::lent(detail::ViewLender& lender,
                              std::vector<std::span<const std::byte>>& frames) noexcept {
  MessageView view;
  view.lender_ = &lender;
  view.frames_.swap(frames);
  return view;
}

MessageView MessageView::owning(Message&& message) {
  MessageView view;
  view.own_ = std::make_unique<Message>(std::move(message));
  view.frames_.reserve(view.own_->size());
  for (std::size_t i = 0; i < view.own_->size(); ++i) view.frames_.push_back(view.own_->frame(i));
  return view;
}

MessageView::MessageView(MessageView&& other) noexcept
    : lender_(std::exchange(other.lender_, nullptr)),
      frames_(std::move(other.frames_)),
      own_(std::move(other.own_)) {
  other.frames_.clear();
}

MessageView& MessageView::operator=(MessageView&& other) noexcept {
  if (this != &other) {
    release();
    lender_ = std::exchange(other.lender_, nullptr);
    frames_ = std::move(other.frames_);
    other.frames_.clear();
    own_ = std::move(other.own_);
  }
  return *this;
}

MessageView::~MessageView() { release(); }

Message MessageView::copy() const {
  Message m;
  for (auto f : frames_) m.add(f);
  return m;
}

void MessageView::release() noexcept {
  if (lender_ != nullptr) std::exchange(lender_, nullptr)->end_view(frames_);
  frames_.clear();
  own_.reset();
}

}  // namespace ipcx
