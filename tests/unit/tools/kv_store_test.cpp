// The CLI's kv handler: each verb, and every malformed request answered with "ERR ...".
#include "kv_store.hpp"

#include <gtest/gtest.h>

namespace ipcx::cli {
namespace {

TEST(KvStore, PutGetDelKeys) {
  KvStore kv;
  EXPECT_EQ(kv.handle(Message{"put", "a/1", "x"}), Message{"OK"});
  EXPECT_EQ(kv.handle(Message{"put", "a/2", "y"}), Message{"OK"});
  EXPECT_EQ(kv.handle(Message{"put", "b", "z"}), Message{"OK"});
  EXPECT_EQ(kv.handle(Message{"get", "a/2"}), Message{"y"});
  EXPECT_EQ(kv.handle(Message{"keys", "a/"}), (Message{"a/1", "a/2"}));
  EXPECT_EQ(kv.handle(Message{"keys"}).size(), 3u);
  EXPECT_EQ(kv.handle(Message{"del", "a/1"}), Message{"OK"});
  EXPECT_EQ(kv.handle(Message{"get", "a/1"}), Message{"ERR no such key"});
  EXPECT_EQ(kv.handle(Message{"keys", "zzz"}).size(), 0u);
}

TEST(KvStore, MalformedRequestsGetErr) {
  KvStore kv;
  for (const Message& bad :
       {Message{}, Message{"put", "k"}, Message{"get"}, Message{"del", "a", "b"},
        Message{"keys", "a", "b"}, Message{"frobnicate"}, Message{std::string("\x01\x02", 2)}}) {
    Message reply = kv.handle(bad);
    ASSERT_EQ(reply.size(), 1u);
    EXPECT_EQ(reply.text(0).substr(0, 4), "ERR ");
  }
  EXPECT_EQ(kv.handle(Message{"del", "missing"}), Message{"ERR no such key"});
}

}  // namespace
}  // namespace ipcx::cli
