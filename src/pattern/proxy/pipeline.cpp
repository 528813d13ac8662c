// The pipeline Forwarder (pattern layer): PULL on the frontend, PUSH round robin on the
// backend. Nothing is dropped: with max_held messages waiting for a puller, the proxy stops
// reading its pushers, whose own high-water marks then hold them up.
#include "pattern/proxy/forwarder.hpp"

namespace ipcx::pattern::proxy {
namespace {

class Pipeline final : public Forwarder {
 public:
  explicit Pipeline(Context context)
      : context_(context),
        front_(side_options(context.options, wire::SocketType::pull, Use::Kind::push_pull, true,
                            context.options.frontend_security),
               nullptr),
        back_(side_options(context.options, wire::SocketType::push, Use::Kind::push_pull, false,
                           context.options.backend_security),
              nullptr),
        dealing_(back_, context) {}

  engine::Engine& frontend() noexcept override { return front_; }
  engine::Engine& backend() noexcept override { return back_; }

  bool forward() override {
    dealing_.deal_held();
    bool moved = false;
    while (dealing_.held() < context_.options.max_held && front_.next_message(body_) != nullptr) {
      dealing_.deal_or_hold(no_head_, body_);
      moved = true;
    }
    return moved;
  }

 private:
  Context context_;
  engine::Engine front_;
  engine::Engine back_;
  Dealing dealing_;
  Message no_head_;
  Message body_;
};

}  // namespace

std::unique_ptr<Forwarder> pipeline_forwarder(Context context) {
  return std::make_unique<Pipeline>(context);
}

}  // namespace ipcx::pattern::proxy
