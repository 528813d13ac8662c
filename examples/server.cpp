// Example: one server reachable over a Unix socket and a TCP port, answering every request
// with its parts reversed. Usage: example_server URL [URL...]; stop it with Ctrl-C.
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <ipcx/ipcx.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_server URL [URL...]\n";
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before start(), so its thread inherits it

  ipcx::Server server;
  server.on_request([](ipcx::Request& request) {
    ipcx::Message reply;
    for (std::size_t i = request.body().size(); i-- > 0;) reply.add(request.body().frame(i));
    request.reply(std::move(reply));
  });
  try {
    for (int i = 1; i < argc; ++i) std::cout << "bound " << server.bind(argv[i]).url() << '\n';
  } catch (const ipcx::Error& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
  std::cout.flush();
  server.start();
  int sig = 0;
  sigwait(&stop, &sig);
  server.stop();
  return 0;
}
