// The publish/subscribe Forwarder (pattern layer): XSUB on the frontend, XPUB on the backend.
// What the backend's subscribers want, all together, is what the frontend subscribes to
// upstream; every message the frontend receives is published to the subscribers it matches.
#include "pattern/proxy/forwarder.hpp"
#include "pattern/subscribing.hpp"

namespace ipcx::pattern::proxy {
namespace {

class PublishSubscribe final : public Forwarder {
 public:
  explicit PublishSubscribe(Context context)
      : context_(context),
        front_(side_options(context.options, wire::SocketType::sub, Use::Kind::publish_subscribe,
                            true, context.options.frontend_security)),
        back_(side_options(context.options, wire::SocketType::pub, Use::Kind::publish_subscribe,
                           false, context.options.backend_security),
              std::chrono::milliseconds(0),
              [this](bool subscribe, std::string_view topic) { upstream(subscribe, topic); }) {}

  engine::Engine& frontend() noexcept override { return front_.engine; }
  engine::Engine& backend() noexcept override { return back_.engine; }

  bool forward() override {
    bool moved = false;
    while (front_.next_matching(message_)) {
      moved = true;
      if (!back_.publish(message_)) continue;  // larger than max_message_size: not for them
      context_.counters.to_backend.fetch_add(1, std::memory_order_relaxed);
      context_.capture.copy(no_head_, message_);
    }
    return moved;
  }

 private:
  // Called from inside the backend's engine, as its subscribers' subscriptions arrive or go.
  void upstream(bool subscribe, std::string_view topic) {
    if (subscribe) {
      front_.subscribe(topic);
    } else {
      front_.unsubscribe(topic);
    }
    context_.counters.to_frontend.fetch_add(1, std::memory_order_relaxed);
    if (context_.capture.engine() != nullptr) {
      context_.capture.copy(no_head_, wire::subscription_message(subscribe, topic));
    }
  }

  Context context_;
  Subscribing front_;
  Publishing back_;
  Message no_head_;
  Message message_;
};

}  // namespace

std::unique_ptr<Forwarder> publish_subscribe_forwarder(Context context) {
  return std::make_unique<PublishSubscribe>(context);
}

}  // namespace ipcx::pattern::proxy
