// A mechanism's descriptor (transport layer): the public description (scheme, capabilities,
// test hooks), how its address parses and prints, and how it listens and dials. Each mechanism
// makes its own in its own file or folder; registry.cpp lists them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ipcx/mechanism.hpp"
#include "transport/link.hpp"

namespace ipcx::transport {

// Fills `out` from the address after SCHEME://; returns the fault in words, empty when good.
using ParseFn = std::string (*)(std::string_view address, Endpoint& out);
// The address after SCHEME:// of an endpoint its ParseFn filled.
using FormatFn = std::string (*)(const Endpoint& endpoint);
using ListenFn = Result<std::unique_ptr<Listener>> (*)(const Endpoint&, const ListenOptions&,
                                                       std::string& why) noexcept;
// Starts connecting and returns at once: the link completes its connection and handshake as
// it is flushed and read.
using DialFn = Result<std::unique_ptr<Link>> (*)(const Endpoint&, const LinkOptions&,
                                                 std::string& why) noexcept;

struct Mechanism {
  MechanismInfo info;
  ParseFn parse = nullptr;
  FormatFn format = nullptr;
  ListenFn listen = nullptr;
  DialFn dial = nullptr;
};

}  // namespace ipcx::transport
