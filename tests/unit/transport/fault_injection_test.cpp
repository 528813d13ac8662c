// Faults injected through the sys.hpp seam under a live server and client: EMFILE on accept,
// short writes of one byte, EINTR on every read, ENOMEM when shm memory is made or mapped,
// the queue limit when mq queues are made, ENOSPC when FIFOs are made or opened.
// Each must end in correct replies, not in a crash, a hang or a corrupted message.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "core/remote_fence.hpp"
#include "core/sys.hpp"
#include "ipcx/ipcx.hpp"
#include "support/temp_dir.hpp"

namespace ipcx {
namespace {

using namespace std::chrono_literals;
using sys::Call;

std::atomic<int> g_accept_failures{0};
std::atomic<int> g_interrupted_reads{0};
std::atomic<int> g_memory_failures{0};

int fail_shm_memory(Call call, std::size_t*) {
  if ((call == Call::memfd || call == Call::mmap) && g_memory_failures > 0) {
    --g_memory_failures;
    return ENOMEM;
  }
  return 0;
}

std::atomic<int> g_queue_failures{0};
std::atomic<int> g_fifo_failures{0};

int fail_queues(Call call, std::size_t*) {
  if (call == Call::mq_open && g_queue_failures > 0) {
    --g_queue_failures;
    return EMFILE;  // what RLIMIT_MSGQUEUE gives
  }
  return 0;
}

int fail_fifos(Call call, std::size_t*) {
  if ((call == Call::mkfifo || call == Call::open) && g_fifo_failures > 0) {
    --g_fifo_failures;
    return ENOSPC;
  }
  return 0;
}

std::atomic<int> g_hello_failures{0};

// The client's shm hello (the only sendmsg without descriptors a client makes) finds the socket
// already closed, as when the server refused it on sight and hung up first.
int hello_finds_server_gone(Call call, std::size_t*) {
  if (call == Call::sendmsg && g_hello_failures > 0) {
    --g_hello_failures;
    return EPIPE;
  }
  return 0;
}

std::atomic<int> g_fence_failures{0};

int fail_remote_fences(Call call, std::size_t*) {
  if (call == Call::membarrier) {
    ++g_fence_failures;
    return ENOMEM;
  }
  return 0;
}

int fail_accepts(Call call, std::size_t*) {
  if (call == Call::accept && g_accept_failures > 0) {
    --g_accept_failures;
    return EMFILE;
  }
  return 0;
}

int one_byte_writes(Call call, std::size_t* length) {
  if ((call == Call::send || call == Call::write) && *length > 1) *length = 1;
  return 0;
}

int interrupt_reads(Call call, std::size_t*) {
  // Every other recv is interrupted once; the seam must retry it.
  if (call == Call::recv && (g_interrupted_reads++ % 2) == 0) return EINTR;
  return 0;
}

class FaultInjection : public ::testing::Test {
 protected:
  void TearDown() override { sys::set_injector(nullptr); }

  void serve() {
    ServerOptions options;
    options.log = [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      log_.emplace_back(line);
    };
    server_ = std::make_unique<Server>(options);
    server_->on_request([](Request& r) { r.reply(r.body()); });
    server_->bind(url_);
    server_->start();
  }

  test::TempDir dir_;
  std::string url_ = "unix://" + dir_ / "f.sock";
  std::unique_ptr<Server> server_;
  std::mutex mutex_;
  std::vector<std::string> log_;
};

TEST_F(FaultInjection, AcceptOutOfDescriptorsBacksOffAndRecovers) {
  serve();
  g_accept_failures = 3;
  sys::set_injector(&fail_accepts);
  Client client(url_);
  auto reply = client.call(Message{"after EMFILE"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"after EMFILE"});
  EXPECT_EQ(g_accept_failures, 0);
  std::lock_guard lock(mutex_);
  ASSERT_FALSE(log_.empty());
  EXPECT_NE(log_[0].find("resource_exhausted"), std::string::npos);
}

TEST_F(FaultInjection, ShortWritesStillDeliverWholeMessages) {
  serve();
  sys::set_injector(&one_byte_writes);
  Client client(url_);
  Message big{"head", std::string(20000, 'w'), ""};
  auto reply = client.call(big, 60s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, big);
}

TEST_F(FaultInjection, InterruptedReadsAreRetried) {
  serve();
  sys::set_injector(&interrupt_reads);
  Client client(url_);
  for (int i = 0; i < 20; ++i) {
    auto reply = client.call(Message{std::to_string(i)}, 20s);
    ASSERT_TRUE(reply) << to_string(reply.error());
    EXPECT_EQ(reply->text(0), std::to_string(i));
  }
  EXPECT_GT(g_interrupted_reads, 20);
}

// No memory for an shm connection's rings (memfd or mmap fails, on whichever side gets there
// first): that connection fails cleanly and the client's next attempt, once memory is back,
// is served.
TEST_F(FaultInjection, ShmOutOfMemoryFailsTheConnectionThenRecovers) {
  url_ = "shm://ipcx-fault-" + std::to_string(::getpid());
  serve();
  g_memory_failures = 3;
  sys::set_injector(&fail_shm_memory);
  Client client(url_);
  auto reply = client.call(Message{"after ENOMEM"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"after ENOMEM"});
  EXPECT_EQ(g_memory_failures, 0);
}

// A server that refuses our uid answers and closes; if that beats our hello, the call must still
// fail with the server's reason, not with the broken pipe.
TEST_F(FaultInjection, ShmRefusalThatBeatsTheHelloIsStillReported) {
  ServerOptions options;
  options.allow_uids = {65534};  // not us
  Server server(options);
  server.on_request([](Request& r) { r.reply(r.body()); });
  server.bind("shm://" + dir_ / "refusing.shm");
  server.start();
  g_hello_failures = 1000;  // every attempt: a refused client retries until its deadline
  sys::set_injector(&hello_finds_server_gone);
  Client client("shm://" + dir_ / "refusing.shm");
  auto reply = client.call(Message{"let me in"}, 1s);
  sys::set_injector(nullptr);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::permission_denied) << to_string(reply.error());
  EXPECT_LT(g_hello_failures, 1000);
}

// A puller promised its pusher a remote fence before each sleep (so the pusher skips its own);
// when membarrier then fails, the puller must not sleep on a promise it did not keep: it polls
// instead, and every message still arrives.
TEST_F(FaultInjection, ShmPullerWhoseRemoteFenceFailsPollsInsteadOfSleeping) {
  if (!remote_fences_available() || !join_remote_fences()) GTEST_SKIP() << "no membarrier";
  SocketOptions options;
  options.spin = 0us;  // it would sleep whenever its ring is empty
  Puller puller(options);
  auto ep = puller.bind("shm://ipcx-fault-fence-" + std::to_string(::getpid()));
  Pusher pusher;
  pusher.connect(ep.url());
  g_fence_failures = 0;
  sys::set_injector(&fail_remote_fences);
  constexpr int kCount = 200;
  std::thread sender([&] {
    for (int i = 0; i < kCount; ++i) {
      EXPECT_TRUE(pusher.send(Message{std::to_string(i)}, 10s));
      if (i % 10 == 0) std::this_thread::sleep_for(1ms);  // the puller finds its ring empty
    }
  });
  for (int i = 0; i < kCount; ++i) {
    auto m = puller.receive(10s);
    ASSERT_TRUE(m) << to_string(m.error());
    EXPECT_EQ(m->str(0), std::to_string(i));
  }
  sender.join();
  sys::set_injector(nullptr);
  EXPECT_GT(g_fence_failures, 0);  // the failing fence was tried
}

// The queue limit hit when a client makes its private queues: that attempt fails, naming the
// limit, and the next one is served. The server queue was made before the faults began.
TEST_F(FaultInjection, MqQueueLimitFailsTheConnectionThenRecovers) {
  url_ = "mq://ipcx-fault-" + std::to_string(::getpid());
  serve();
  g_queue_failures = 2;
  sys::set_injector(&fail_queues);
  std::vector<std::string> client_log;
  ClientOptions options;
  options.log = [&](std::string_view line) { client_log.emplace_back(line); };
  Client client(url_, options);
  auto reply = client.call(Message{"after EMFILE"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"after EMFILE"});
  EXPECT_EQ(g_queue_failures, 0);
  ASSERT_FALSE(client_log.empty());
  EXPECT_NE(client_log[0].find("RLIMIT_MSGQUEUE"), std::string::npos) << client_log[0];
}

TEST_F(FaultInjection, FifoCreationFailuresFailTheConnectionThenRecover) {
  url_ = "pipe://" + dir_ / "f.fifo";
  serve();
  g_fifo_failures = 3;
  sys::set_injector(&fail_fifos);
  Client client(url_);
  auto reply = client.call(Message{"after ENOSPC"}, 20s);
  ASSERT_TRUE(reply) << to_string(reply.error());
  EXPECT_EQ(*reply, Message{"after ENOSPC"});
  EXPECT_EQ(g_fifo_failures, 0);
}

}  // namespace
}  // namespace ipcx
