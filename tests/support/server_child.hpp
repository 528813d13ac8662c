// echo_server (test support): an ipcx echo Server in a forked child process. It prints "bound"
// once it accepts connections. With hold it answers nothing, keeping every request and printing
// "got" for each, so a test knows a call is in flight before it kills the server.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "ipcx/client.hpp"
#include "ipcx/server.hpp"
#include "support/child.hpp"

namespace ipcx::test {

inline Child echo_server(const std::string& url, bool hold = false,
                         std::chrono::microseconds spin = ServerOptions{}.spin) {
  return Child::fork([url, hold, spin] {
    ServerOptions options;
    options.spin = spin;
    Server server(options);
    std::vector<Responder> held;
    server.on_request([&](Request& r) {
      if (!hold) return r.reply(r.body());
      held.push_back(r.respond_later());
      std::printf("got\n");
      std::fflush(stdout);
    });
    try {
      server.bind(url);
    } catch (const std::exception& e) {
      // Said instead of "bound", so the test's failure shows why (an exception would unwind
      // into the forked copy of the test runner instead).
      std::printf("bind failed: %s\n", e.what());
      std::fflush(stdout);
      return 1;
    }
    std::printf("bound\n");
    std::fflush(stdout);
    server.run();
    return 0;
  });
}

// With `server` an echo_server(url, true) that `client` talks to: makes a call, kills the
// server with SIGKILL once it holds the request, and expects the call to fail with peer_closed
// well within its timeout. The server is reaped before this returns: every descriptor of it is
// closed, so a restart on the same address does not find its listening socket still alive.
inline void expect_call_fails_when_server_killed(Child& server, Client& client) {
  using namespace std::chrono_literals;
  std::thread killer([&] {
    EXPECT_EQ(server.read_line(), "got");
    server.kill(SIGKILL);
    server.wait();
  });
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(client.call(Message{"pending"}, 60s).error(), Errc::peer_closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 50s);  // a hang turned into a failure
  killer.join();
}

}  // namespace ipcx::test
