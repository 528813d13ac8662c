// A DEALER stream link over one end of a Unix socketpair, the other end a raw descriptor the
// test writes ZMTP bytes to (or closes): a link's behaviour against a peer it fully controls.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>

#include "core/fd.hpp"
#include "transport/socket_stream.hpp"
#include "transport/stream_link.hpp"
#include "wire/socket_type.hpp"

namespace ipcx::test {

struct SocketLink {
  std::unique_ptr<transport::Link> link;
  Fd peer;
};

inline SocketLink socket_link_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  transport::LinkOptions options;
  options.socket_type = wire::SocketType::dealer;
  SocketLink pair;
  pair.link = transport::make_stream_link(
      std::make_unique<transport::SocketStream>(Fd(fds[0]), PeerInfo{}), options);
  pair.peer.reset(fds[1]);
  return pair;
}

}  // namespace ipcx::test
