// Example: call a server once and print the reply. Usage: example_client URL [PART...]
#include <chrono>
#include <iostream>
#include <ipcx/ipcx.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: example_client URL [PART...]\n";
    return 2;
  }
  ipcx::Message request;
  for (int i = 2; i < argc; ++i) request.add(argv[i]);
  if (request.empty()) request.add("hello");

  ipcx::Client client(argv[1]);  // connects on the first call
  auto reply = client.call(request, std::chrono::seconds(5));
  if (!reply) {
    std::cerr << argv[1] << ": " << ipcx::to_string(reply.error()) << '\n';
    return 1;
  }
  for (std::size_t i = 0; i < reply->size(); ++i) std::cout << reply->text(i) << '\n';
  return 0;
}
