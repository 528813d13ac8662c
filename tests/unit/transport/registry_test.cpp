// Registry: validation on entry, lookup by scheme, and the built-in set of this build.
#include "transport/registry.hpp"

#include <gtest/gtest.h>

namespace ipcx::transport {
namespace {

Result<std::unique_ptr<Listener>> no_listen(const Endpoint&, const ListenOptions&,
                                            std::string&) noexcept {
  return unexpected(Errc::not_supported);
}
Result<std::unique_ptr<Link>> no_dial(const Endpoint&, const LinkOptions&, std::string&) noexcept {
  return unexpected(Errc::not_supported);
}

TEST(Registry, ValidatesMechanisms) {
  Registry r;
  EXPECT_FALSE(r.add({Scheme::mq, nullptr, &no_dial}));
  EXPECT_FALSE(r.add({Scheme::mq, &no_listen, nullptr}));
  EXPECT_TRUE(r.add({Scheme::mq, &no_listen, &no_dial}));
  EXPECT_FALSE(r.add({Scheme::mq, &no_listen, &no_dial}));  // scheme taken
  EXPECT_NE(r.find(Scheme::mq), nullptr);
  EXPECT_EQ(r.find(Scheme::udp), nullptr);
}

TEST(Registry, BuiltinHasAllSevenMechanisms) {
  const Registry& r = builtin_registry();
  for (Scheme s : {Scheme::shm, Scheme::unix_socket, Scheme::tcp, Scheme::udp, Scheme::pipe,
                   Scheme::mq, Scheme::stdio}) {
    const Mechanism* m = r.find(s);
    ASSERT_NE(m, nullptr) << scheme_name(s);
    EXPECT_EQ(m->scheme, s);
  }
}

}  // namespace
}  // namespace ipcx::transport
