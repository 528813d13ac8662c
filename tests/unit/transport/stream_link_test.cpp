// A server that refuses a client writes its reason (greeting, then a ZMTP ERROR) and closes. The
// client's next write can then fail before it has read why; the link must still report the
// refusal it was sent, not a bare broken connection. A peer that closes without a word stays a
// plain close (the control).
#include "transport/stream_link.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fd.hpp"
#include "transport/socket_stream.hpp"
#include "wire/socket_type.hpp"
#include "wire/zmtp_encoder.hpp"

namespace ipcx::transport {
namespace {

struct Pair {
  std::unique_ptr<Link> client;
  Fd server;
};

Pair connected_client() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  LinkOptions options;
  options.socket_type = wire::SocketType::dealer;
  Pair pair;
  pair.client = make_stream_link(std::make_unique<SocketStream>(Fd(fds[0]), PeerInfo{}), options);
  pair.server.reset(fds[1]);
  return pair;
}

void hang_up(Pair& pair) { pair.server.reset(); }

TEST(StreamLink, AWriteFailingAfterARefusalReportsTheRefusal) {
  Pair pair = connected_client();
  wire::ByteQueue refusal;
  wire::encode_refusal(refusal, wire::kPermissionDeniedReason);
  auto bytes = refusal.readable();
  ASSERT_EQ(::write(pair.server.get(), bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  hang_up(pair);
  // Our greeting is still queued: writing it is what fails first.
  ASSERT_TRUE(pair.client->wants_write());
  IoResult r = pair.client->flush();
  EXPECT_EQ(r.status, Io::error);
  EXPECT_EQ(r.error, Errc::permission_denied);
  EXPECT_NE(pair.client->fault().find("permission denied"), std::string_view::npos)
      << pair.client->fault();
}

TEST(StreamLink, APeerThatClosesWithoutAWordIsAPlainClose) {
  Pair pair = connected_client();
  hang_up(pair);
  ASSERT_TRUE(pair.client->wants_write());
  IoResult r = pair.client->flush();
  EXPECT_EQ(r.status, Io::closed);
  EXPECT_EQ(r.error, Errc::peer_closed);
}

}  // namespace
}  // namespace ipcx::transport
