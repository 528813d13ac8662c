// Registry: a mechanism is checked as it is added (whole, with a scheme and aliases nobody has),
// found by scheme or alias, and the built-in set describes itself: every descriptor parses and
// prints its own private URLs, and the public list is the registry's.
#include "transport/registry.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace ipcx::transport {
namespace {

Result<std::unique_ptr<Listener>> no_listen(const Endpoint&, const ListenOptions&,
                                            std::string&) noexcept {
  return unexpected(Errc::not_supported);
}
Result<std::unique_ptr<Link>> no_dial(const Endpoint&, const LinkOptions&, std::string&) noexcept {
  return unexpected(Errc::not_supported);
}
std::string parse_any(std::string_view rest, Endpoint& ep) {
  ep.path = std::string(rest);
  return {};
}
std::string format_any(const Endpoint& ep) { return ep.path; }
std::string url_of(const std::string&, const std::string& tag) { return "fake://" + tag; }
std::vector<std::string> none_left(const std::string&, const std::string&) { return {}; }
void none_stale(const Endpoint&) {}

Mechanism fake(std::string_view scheme, std::string_view aliases = "") {
  Mechanism m;
  m.info.scheme = scheme;
  m.info.aliases = aliases;
  m.info.private_url = &url_of;
  m.info.leftovers = &none_left;
  m.info.remove_stale = &none_stale;
  m.parse = &parse_any;
  m.format = &format_any;
  m.listen = &no_listen;
  m.dial = &no_dial;
  return m;
}

TEST(Registry, RefusesWhatIsNotWholeOrTakenAndSaysWhy) {
  Registry r;
  std::string why;
  Mechanism no_listener = fake("a");
  no_listener.listen = nullptr;
  EXPECT_FALSE(r.add(no_listener, why));
  EXPECT_NE(why.find("listen"), std::string::npos) << why;
  Mechanism no_hooks = fake("a");
  no_hooks.info.leftovers = nullptr;
  EXPECT_FALSE(r.add(no_hooks, why));
  EXPECT_NE(why.find("test hooks"), std::string::npos) << why;
  EXPECT_FALSE(r.add(fake(""), why));
  EXPECT_TRUE(r.add(fake("a", "b,c"), why)) << why;
  EXPECT_FALSE(r.add(fake("a"), why));        // scheme taken
  EXPECT_FALSE(r.add(fake("c"), why));        // an alias of a
  EXPECT_FALSE(r.add(fake("d", "b"), why));   // its alias is a's
  EXPECT_FALSE(r.add(fake("e", "x,"), why));  // an empty alias
  EXPECT_TRUE(r.add(fake("d"), why)) << why;
  ASSERT_NE(r.find("c"), nullptr);
  EXPECT_EQ(r.find("c")->info.scheme, "a");
  EXPECT_EQ(r.find("x"), nullptr);
  EXPECT_EQ(r.all().size(), 2u);
}

TEST(Registry, EveryBuiltinDescribesItselfAndParsesItsOwnPrivateUrls) {
  test::TempDir dir;
  const Registry& r = builtin_registry();
  ASSERT_FALSE(r.all().empty());
  EXPECT_EQ(mechanisms().size(), r.all().size());
  for (const Mechanism& m : r.all()) {
    const MechanismInfo& info = m.info;
    EXPECT_FALSE(info.summary.empty()) << info.scheme;
    EXPECT_TRUE(info.caps.request_reply || info.caps.push_pull || info.caps.publish_subscribe)
        << info.scheme << " carries nothing";
    EXPECT_EQ(find_mechanism(info.scheme), &info);
    std::string url = info.private_url(dir.path().string(), "reg");
    auto ep = Endpoint::try_parse(url);
    ASSERT_TRUE(ep) << url;
    EXPECT_EQ(ep->scheme, info.scheme);
    EXPECT_EQ(Endpoint::parse(ep->url()), *ep) << url;
    EXPECT_TRUE(info.leftovers(dir.path().string(), "reg").empty()) << info.scheme;
  }
}

}  // namespace
}  // namespace ipcx::transport
