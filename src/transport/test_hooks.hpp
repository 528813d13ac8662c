// Shared pieces of the mechanisms' test hooks (transport layer): private names and ports for
// servers that tests, demos and benchmarks start, and the hooks of mechanisms that leave
// nothing behind.
#pragma once

#include <string>
#include <vector>

#include "ipcx/endpoint.hpp"

namespace ipcx::transport::test_hooks {

// "<the directory's own name>-<tag>", with "ipcx-" in front unless the name starts so: a name
// as private as the directory it comes from.
std::string private_name(const std::string& dir, const std::string& tag);
// A loopback port of socket `type` (SOCK_STREAM, SOCK_DGRAM) that nobody uses now.
int free_port(int type);
std::vector<std::string> nothing_left(const std::string& dir, const std::string& tag);
void nothing_stale(const Endpoint& endpoint);

}  // namespace ipcx::transport::test_hooks
