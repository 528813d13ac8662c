// A server that refuses a client writes its reason (greeting, then a ZMTP ERROR) and closes. The
// client's next write can then fail before it has read why; the link must still report the
// refusal it was sent, not a bare broken connection. A peer that closes without a word stays a
// plain close (the control).
#include "transport/stream_link.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/socket_link.hpp"
#include "wire/socket_type.hpp"
#include "wire/zmtp_encoder.hpp"

namespace ipcx::transport {
namespace {

using Pair = test::SocketLink;

Pair connected_client() { return test::socket_link_pair(); }

void hang_up(Pair& pair) { pair.peer.reset(); }

TEST(StreamLink, AWriteFailingAfterARefusalReportsTheRefusal) {
  Pair pair = connected_client();
  wire::ByteQueue refusal;
  wire::encode_refusal(refusal, wire::kPermissionDeniedReason);
  auto bytes = refusal.readable();
  ASSERT_EQ(::write(pair.peer.get(), bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  hang_up(pair);
  // Our greeting is still queued: writing it is what fails first.
  ASSERT_TRUE(pair.link->wants_write());
  IoResult r = pair.link->flush();
  EXPECT_EQ(r.status, Io::error);
  EXPECT_EQ(r.error, Errc::permission_denied);
  EXPECT_NE(pair.link->fault().find("permission denied"), std::string_view::npos)
      << pair.link->fault();
}

TEST(StreamLink, APeerThatClosesWithoutAWordIsAPlainClose) {
  Pair pair = connected_client();
  hang_up(pair);
  ASSERT_TRUE(pair.link->wants_write());
  IoResult r = pair.link->flush();
  EXPECT_EQ(r.status, Io::closed);
  EXPECT_EQ(r.error, Errc::peer_closed);
}

}  // namespace
}  // namespace ipcx::transport
