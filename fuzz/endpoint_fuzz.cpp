// Fuzz target: the endpoint URL parser. What parses must print back to a URL that parses to
// the same endpoint.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ipcx/endpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view url(reinterpret_cast<const char*>(data), size);
  auto ep = ipcx::Endpoint::try_parse(url);
  if (!ep) return 0;
  auto again = ipcx::Endpoint::try_parse(ep->url());
  if (!again || !(*again == *ep)) std::abort();
  return 0;
}
