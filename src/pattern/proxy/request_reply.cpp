// The request/reply Forwarder (pattern layer): a ROUTER frontend and a DEALER backend. A
// request from frontend peer P goes to the next backend peer, round robin, behind a routing
// frame naming P; a reply's first frame names the frontend peer it goes back to.
#include <optional>

#include "pattern/proxy/forwarder.hpp"

namespace ipcx::pattern::proxy {
namespace {

// The proxy's routing frame: 0x00 (never an ipcx request id, as libzmq's ROUTER ids), then the
// frontend peer's id big-endian.
constexpr std::size_t kRouteSize = 9;

void put_route(Message& head, std::uint64_t id) {
  std::byte frame[kRouteSize] = {std::byte{0}};
  for (std::size_t i = 1; i < kRouteSize; ++i) {
    frame[i] = static_cast<std::byte>(id >> (8 * (kRouteSize - 1 - i)));
  }
  head.add(frame);
}

std::optional<std::uint64_t> route_of(std::span<const std::byte> frame) {
  if (frame.size() != kRouteSize || frame[0] != std::byte{0}) return std::nullopt;
  std::uint64_t id = 0;
  for (std::size_t i = 1; i < kRouteSize; ++i) id = (id << 8) | static_cast<std::uint8_t>(frame[i]);
  return id;
}

engine::EngineOptions frontend_options(const ProxyOptions& o) {
  auto e = side_options(o, wire::SocketType::router, Use::Kind::request_reply, true,
                        o.frontend_security);
  // Clients behind the proxy keep their request ids: the workers (ipcx Servers, or REP sockets
  // echoing every envelope frame) answer them, so the frontend may announce that it takes them.
  e.announce_request_ids = true;
  return e;
}

class RequestReply final : public Forwarder {
 public:
  explicit RequestReply(Context context)
      : context_(context),
        front_(frontend_options(context.options), nullptr),
        back_(side_options(context.options, wire::SocketType::dealer, Use::Kind::request_reply,
                           true, context.options.backend_security),
              nullptr),
        dealing_(back_, context) {}

  engine::Engine& frontend() noexcept override { return front_; }
  engine::Engine& backend() noexcept override { return back_; }

  bool forward() override {
    bool moved = forward_requests();
    moved |= route_replies();
    return moved;
  }

 private:
  // Reads every request the frontend has and deals each to a backend peer.
  bool forward_requests() {
    bool moved = false;
    while (engine::Peer* from = front_.next_message(body_, &envelope_)) {
      Message head;
      put_route(head, from->id);
      head.add_frames(envelope_);
      dealing_.deal_or_hold(head, body_);
      moved = true;
    }
    dealing_.deal_held();
    dealing_.drop_past(context_.options.max_held);
    return moved;
  }

  // Reads every reply the backend has and routes each to the frontend peer its frame names.
  bool route_replies() {
    bool moved = false;
    auto& counters = context_.counters;
    while (back_.next_message(body_, &envelope_) != nullptr) {
      moved = true;
      auto id = envelope_.empty() ? std::nullopt : route_of(envelope_.frame(0));
      engine::Peer* to = id ? front_.find(*id) : nullptr;
      Message rest;
      rest.add_frames(envelope_, 1);
      if (to != nullptr && to->link && front_.send(*to, rest, body_).status == transport::Io::ok) {
        counters.to_frontend.fetch_add(1, std::memory_order_relaxed);
        context_.capture.copy(envelope_, body_);
      } else {
        counters.dropped.fetch_add(1, std::memory_order_relaxed);
      }
    }
    return moved;
  }

  Context context_;
  engine::Engine front_;
  engine::Engine back_;
  Dealing dealing_;
  Message body_;
  Message envelope_;
};

}  // namespace

std::unique_ptr<Forwarder> request_reply_forwarder(Context context) {
  return std::make_unique<RequestReply>(context);
}

}  // namespace ipcx::pattern::proxy
