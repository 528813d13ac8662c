// Zero-copy on the Client (pattern layer): Loans (a request body written in place in the
// transport) and call_view() (a reply read in place), where the link has the ZeroCopy
// capability; elsewhere a Loan is a buffer of its own and a view holds a copy. The engine keeps
// a link that dies while a loan or view points into it mapped until they end.
#include <algorithm>

#include "core/coarse_clock.hpp"
#include "pattern/req_rep/client_impl.hpp"

namespace ipcx {

namespace {
transport::ZeroCopy* zero_copy_of(transport::Link* link) noexcept {
  return link == nullptr ? nullptr : link->extensions().zero_copy;
}
}  // namespace

Result<Loan> Client::loan(std::size_t bytes) {
  Impl& c = *impl_;
  if (bytes > c.options.max_message_size) return unexpected(Errc::message_too_large);
  c.check_idle_link(coarse_now());
  c.engine.progress();
  Loan loan;
  loan.owner_ = this;
  loan.id_ = c.new_id();
  auto* zc = zero_copy_of(c.link());
  if (zc != nullptr && c.may_write_now() && c.lent == nullptr) {
    auto span = zc->loan(c.head_for(loan.id_), bytes);
    if (!span.empty()) {
      c.lent = c.link();
      c.engine.begin_lending(*c.peer);
      loan.in_transport_ = true;
      loan.bytes_ = span;
      return loan;
    }
  }
  loan.own_.add(std::string(bytes, '\0'));
  loan.bytes_ = loan.own_.mutable_frame(0);
  return loan;
}

Result<RequestId> Client::send_loan(Loan& loan, bool& written) {
  Impl& c = *impl_;
  RequestId id = loan.id_;
  if (!loan.in_transport_) {
    auto sent = c.send_as(id, loan.own_, coarse_now());
    if (!sent) return unexpected(sent.error());
    written = std::find(c.in_flight.begin(), c.in_flight.end(), id) != c.in_flight.end();
    return id;
  }
  loan.in_transport_ = false;  // settled here, whatever happens
  loan.owner_ = nullptr;
  transport::Link* lent = std::exchange(c.lent, nullptr);
  bool alive = lent != nullptr && lent == c.link();
  bool committed = alive && zero_copy_of(lent)->commit_loan();
  c.engine.end_lending(lent);
  // Its connection died while the body was being written.
  if (!committed) return unexpected(Errc::peer_closed);
  c.in_flight.push_back(id);
  written = true;
  return id;
}

Result<Message> Client::call(Loan loan, std::chrono::milliseconds timeout) {
  bool written = false;
  auto id = send_loan(loan, written);
  if (!id) return unexpected(id.error());
  auto now = Clock::now();  // after the request is out, as in call(Message)
  return wait_for(*id, now + timeout, written, now);
}

Result<MessageView> Client::call_view(Loan loan, std::chrono::milliseconds timeout) {
  if (impl_->viewing != nullptr) return unexpected(Errc::would_block);
  bool written = false;
  auto id = send_loan(loan, written);
  if (!id) return unexpected(id.error());
  auto now = Clock::now();
  return wait_view(*id, now + timeout, written, now);
}

Loan::Loan(Loan&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      id_(other.id_),
      bytes_(other.bytes_),
      in_transport_(std::exchange(other.in_transport_, false)),
      own_(std::move(other.own_)) {
  // A small own_ body lives inline in the Message, which has just moved.
  if (!in_transport_ && !own_.empty()) bytes_ = own_.mutable_frame(0);
}

Loan& Loan::operator=(Loan&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
    bytes_ = other.bytes_;
    in_transport_ = std::exchange(other.in_transport_, false);
    own_ = std::move(other.own_);
    if (!in_transport_ && !own_.empty()) bytes_ = own_.mutable_frame(0);
  }
  return *this;
}

Loan::~Loan() { release(); }

void Loan::release() noexcept {
  if (!in_transport_ || owner_ == nullptr) return;
  Client::Impl& c = *owner_->impl_;
  transport::Link* lent = std::exchange(c.lent, nullptr);
  if (lent != nullptr && lent == c.link()) zero_copy_of(lent)->cancel_loan();
  if (lent != nullptr) c.engine.end_lending(lent);
  in_transport_ = false;
}

Result<MessageView> Client::call_view(const Message& request, std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  if (c.viewing != nullptr) return unexpected(Errc::would_block);  // its reply could not be read
  auto id = c.send(request, coarse_now());
  if (!id) return unexpected(id.error());
  auto now = Clock::now();
  bool written = std::find(c.in_flight.begin(), c.in_flight.end(), *id) != c.in_flight.end();
  return wait_view(*id, now + timeout, written, now);
}

Result<MessageView> Client::wait_view(RequestId id, Clock::time_point deadline, bool written,
                                      Clock::time_point now) {
  Impl& c = *impl_;
  c.view_for = id;
  auto reply = wait_for(id, deadline, written, now);
  c.view_for = 0;
  if (!reply) return unexpected(reply.error());
  if (!c.viewed) return MessageView::owning(std::move(*reply));
  c.viewed = false;
  c.view_frames.erase(c.view_frames.begin(), c.view_frames.begin() + 2);  // id, delimiter
  return MessageView::lent(c, c.view_frames);
}

// call_view(): takes the next message as a view when the link can lend it. `lent` when it is
// the awaited reply (now in view_frames); anything else viewed is copied out and handled as
// recv() would have. `idle`: nothing there yet. `declined`: recv() reads the next message.
transport::ZeroCopy::View Client::Impl::take_view() {
  using View = transport::ZeroCopy::View;
  auto* zc = zero_copy_of(link());
  if (zc == nullptr) return View::declined;
  for (;;) {
    if (auto got = zc->view(view_frames); got != View::lent) return got;
    std::optional<RequestId> id;
    if (view_frames.size() >= 2) id = pattern::reply_id(view_frames[0], view_frames[1]);
    if (id && *id == view_for && take(in_flight, *id)) {
      viewing = link();
      engine.begin_lending(*peer);
      viewed = true;
      return View::lent;
    }
    bool ours = id && take(in_flight, *id);
    if (ours) {
      Message body;
      for (std::size_t i = 2; i < view_frames.size(); ++i) body.add(view_frames[i]);
      arrived.push_back(Reply{*id, std::move(body)});
    }
    zc->release_view();  // not ours, or answered already
  }
}

void Client::Impl::end_view(std::vector<std::span<const std::byte>>& frames) noexcept {
  if (viewing != nullptr) {
    if (viewing == link()) zero_copy_of(viewing)->release_view();
    engine.end_lending(viewing);
    viewing = nullptr;
  }
  frames.clear();
  if (view_frames.capacity() < frames.capacity()) view_frames.swap(frames);
}

}  // namespace ipcx
