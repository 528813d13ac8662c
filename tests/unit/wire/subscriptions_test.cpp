// Subscriptions: counted prefixes, the 3.0 message form, prefix matching with few and with many
// subscriptions, and the bound on what a hostile subscriber can make a publisher hold.
#include "wire/subscriptions.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace ipcx::wire {
namespace {

Message subscription(char flag, std::string_view topic) {
  std::string body(1, flag);
  body.append(topic);
  return Message{body};
}

TEST(Subscriptions, PrefixesMatchAndCountsAreKept) {
  Subscriptions s;
  EXPECT_FALSE(s.matches("anything"));
  ASSERT_TRUE(s.apply(subscription(1, "price.")));
  ASSERT_TRUE(s.apply(subscription(1, "price.")));
  EXPECT_TRUE(s.matches("price.eur"));
  EXPECT_TRUE(s.matches("price."));
  EXPECT_FALSE(s.matches("price"));
  EXPECT_FALSE(s.matches("news"));
  ASSERT_TRUE(s.apply(subscription(0, "price.")));
  EXPECT_TRUE(s.matches("price.eur"));  // one count left
  ASSERT_TRUE(s.apply(subscription(0, "price.")));
  EXPECT_FALSE(s.matches("price.eur"));
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.cancel("price."));  // nothing left to cancel
}

TEST(Subscriptions, EmptyTopicMatchesEverything) {
  Subscriptions s;
  s.subscribe("");
  EXPECT_TRUE(s.matches(""));
  EXPECT_TRUE(s.matches("x"));
}

TEST(Subscriptions, OtherMessagesAreIgnored) {
  Subscriptions s;
  EXPECT_TRUE(
      s.apply(Message{"\x01"
                      "a",
                      "second frame"}));
  EXPECT_TRUE(s.apply(Message{""}));
  EXPECT_TRUE(s.apply(subscription(7, "a")));
  EXPECT_TRUE(s.empty());
}

TEST(Subscriptions, ManySubscriptionsMatchLikeFew) {
  Subscriptions s;
  for (int i = 0; i < 100; ++i) {
    char topic[16];
    std::snprintf(topic, sizeof topic, "t%d.", i);
    s.subscribe(topic);
  }
  EXPECT_TRUE(s.matches("t42.x"));
  EXPECT_TRUE(s.matches("t99."));
  EXPECT_FALSE(s.matches("t42"));
  EXPECT_FALSE(s.matches("t100."));
  s.subscribe(std::string(300, 'L'));
  EXPECT_TRUE(s.matches(std::string(301, 'L')));
  EXPECT_TRUE(s.cancel(std::string(300, 'L')));
  EXPECT_FALSE(s.matches(std::string(301, 'L')));
}

TEST(Subscriptions, HoldsAtMostItsBound) {
  Subscriptions s;
  std::string topic(1000, 'x');
  bool refused = false;
  for (int i = 0; i < 2000 && !refused; ++i) {
    topic.replace(0, 4, std::to_string(1000 + i));
    refused = !s.apply(subscription(1, topic));
  }
  EXPECT_TRUE(refused);
  std::size_t bytes = 0;
  for (const auto& [t, count] : s.topics()) bytes += t.size() + 1;
  EXPECT_LE(bytes, Subscriptions::kMaxBytes);
  // Counting an existing topic again costs nothing and is always allowed.
  EXPECT_TRUE(s.apply(subscription(1, s.topics().begin()->first)));
}

}  // namespace
}  // namespace ipcx::wire
