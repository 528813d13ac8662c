// StreamLink (transport layer): turns any ByteStream into a Link by running a ZMTP 3.1 session
// over it. Written once for unix, tcp and every later byte-stream mechanism.
#pragma once

#include <memory>

#include "transport/link.hpp"

namespace ipcx::transport {

std::unique_ptr<Link> make_stream_link(std::unique_ptr<ByteStream> stream,
                                       const LinkOptions& options);

}  // namespace ipcx::transport
