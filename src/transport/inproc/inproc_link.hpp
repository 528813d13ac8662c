// inproc:// link (transport layer): one side of a Channel (inproc_channel.hpp) as a Link.
#pragma once

#include <memory>

#include "transport/inproc/inproc_channel.hpp"
#include "transport/link.hpp"

namespace ipcx::transport::inproc {

std::unique_ptr<Link> make_inproc_link(std::shared_ptr<Channel> channel, Side side, PeerInfo peer,
                                       const LinkOptions& options);

}  // namespace ipcx::transport::inproc
