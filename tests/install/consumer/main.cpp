// Built against the installed ipcx: serves and calls itself over an abstract unix socket.
#include <unistd.h>

#include <iostream>
#include <ipcx/ipcx.hpp>
#include <string>

int main() {
  ipcx::Server server;
  server.on_request([](ipcx::Request& r) { r.reply(ipcx::Message{"consumed", r.body().str(0)}); });
  std::string url = "unix://@ipcx-consumer-" + std::to_string(::getpid());
  server.bind(url);
  server.start();
  ipcx::Client client(url);
  auto reply = client.call(ipcx::Message{"hi"}, std::chrono::seconds(10));
  if (!reply || reply->text(0) != "consumed" || reply->text(1) != "hi") return 1;
  std::cout << "consumer ok: " << ipcx::kVersionString << "\n";
  return 0;
}
