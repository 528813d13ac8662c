// ipcx::Server, Request and Responder (pattern layer): the public face of ServerCore.
#include "ipcx/server.hpp"

#include "pattern/req_rep/server_core.hpp"

namespace ipcx {

Responder::Responder() noexcept = default;
Responder::Responder(std::unique_ptr<detail::PendingReply> pending) noexcept
    : pending_(std::move(pending)) {}
Responder::Responder(Responder&&) noexcept = default;
Responder& Responder::operator=(Responder&&) noexcept = default;
Responder::~Responder() = default;

Result<void> Responder::reply(Message body) {
  if (!pending_) return unexpected(Errc::cancelled);
  return pending_->answer(std::move(body));
}

Request::Request(std::unique_ptr<detail::PendingReply> pending, Message body) noexcept
    : pending_(std::move(pending)), body_(std::move(body)) {}
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&&) noexcept = default;
Request::~Request() = default;

const PeerInfo& Request::peer() const noexcept {
  static const PeerInfo kNone;
  return pending_ && pending_->info ? *pending_->info : kNone;
}

// A second reply, or one after respond_later(), is ignored: the first answer stands.
void Request::reply(const Message& body) {
  if (pending_ && !pending_->answered) (void)pending_->answer(body);
}

void Request::reply(Message&& body) {
  if (pending_ && !pending_->answered) (void)pending_->answer(std::move(body));
}

Responder Request::respond_later() {
  if (pending_) pending_->escape();  // it may now outlive this loop turn
  return Responder(std::move(pending_));
}

bool Request::answered() const noexcept { return !pending_ || pending_->answered; }

Server::Server(ServerOptions options)
    : core_(std::make_shared<detail::ServerCore>(std::move(options))) {}

Server::~Server() { stop(); }

Endpoint Server::bind(std::string_view url) { return core_->bind(url); }

Endpoint Server::connect(std::string_view url) { return core_->connect(url); }

void Server::on_request(std::function<void(Request&)> handler) {
  core_->handler = std::move(handler);
}

void Server::run() { core_->run(); }

void Server::start() {
  if (core_->runner.joinable() || core_->closed) return;
  core_->runner = std::thread([core = core_] { core->run(); });
}

void Server::stop() {
  core_->request_stop();
  if (core_->runner.joinable()) {
    if (core_->runner.get_id() == std::this_thread::get_id()) return;  // from a handler
    core_->runner.join();
    return;
  }
  // Not serving on a thread of its own: close here unless a run() elsewhere will do it.
  auto loop = core_->loop_thread.load();
  if (loop == std::thread::id() || loop == std::this_thread::get_id()) core_->shutdown();
}

int Server::fd() const noexcept { return core_->engine.fd(); }

Result<void> Server::run_once(std::chrono::milliseconds wait) { return core_->run_once(wait); }

ServerStats Server::stats() const noexcept { return core_->stats(); }

}  // namespace ipcx
