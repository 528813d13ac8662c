// hold_server (test support): a server for process tests on the endpoints given as arguments.
// It answers "pid" with its pid, keeps "hold" requests unanswered (so a test knows a call is in
// flight when it kills this process), and echoes everything else. Being its own program, it
// can serve on stdio://, which a forked gtest process cannot: gtest writes to stdout.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ipcx/server.hpp"

int main(int argc, char** argv) {
  ipcx::Server server;
  std::vector<ipcx::Responder> held;
  server.on_request([&](ipcx::Request& r) {
    if (r.body().text(0) == "hold") return held.push_back(r.respond_later());
    if (r.body().text(0) == "pid") return r.reply(ipcx::Message{std::to_string(::getpid())});
    r.reply(r.body());
  });
  try {
    for (int i = 1; i < argc; ++i) server.bind(argv[i]);
  } catch (const ipcx::Error& e) {
    std::fprintf(stderr, "hold_server: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "bound\n");
  server.run();
}
