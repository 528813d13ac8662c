// Endpoint URLs (API layer): SCHEME://ADDRESS, where each mechanism's descriptor says how its
// address parses and prints (ipcx/mechanism.hpp), ZeroMQ's forms included (tcp://*:PORT,
// tcp://HOST:*, ipc://PATH). Parsing makes no syscalls; host names are resolved later, once, at
// bind or connect.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipcx/result.hpp"

namespace ipcx {

struct Endpoint {
  // The mechanism's canonical scheme ("unix" for ipc:// too); empty for an endpoint not parsed.
  std::string scheme;
  // tcp/udp: a numeric address or host name without brackets; empty means every interface.
  std::string host;
  // tcp/udp: 0 asks the OS for a free port at bind; the bound endpoint carries the real one.
  std::uint16_t port = 0;
  // unix/pipe: a filesystem path; unix with abstract=true: the abstract name (no leading '@');
  // shm/mq/inproc: the name; shm with a leading '/': the rendezvous socket file.
  std::string path;
  bool abstract = false;

  // The canonical URL, which parse() accepts again: "tcp://127.0.0.1:5555", "unix://@name".
  std::string url() const;

  // Throws ipcx::Error(bad_endpoint) naming the URL and the fault.
  static Endpoint parse(std::string_view url);
  // Non-throwing form; on failure *why (if given) receives the fault.
  static Result<Endpoint> try_parse(std::string_view url, std::string* why = nullptr) noexcept;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace ipcx
