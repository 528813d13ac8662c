// The pipe:// rendezvous record and the scanner that finds records among garbage.
#include "wire/rendezvous.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ipcx::wire {
namespace {

std::vector<std::byte> record(std::uint32_t pid, std::uint32_t serial) {
  std::vector<std::byte> out(kRendezvousSize);
  write_rendezvous(out.data(), {pid, serial});
  return out;
}

TEST(Rendezvous, RoundTrips) {
  auto r = record(4321, 9);
  auto back = read_rendezvous(r);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 4321u);
  EXPECT_EQ(back->serial, 9u);
}

TEST(Rendezvous, AnyFlippedBitIsRejected) {
  auto good = record(4321, 9);
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    auto bad = good;
    bad[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
    EXPECT_FALSE(read_rendezvous(bad)) << "bit " << bit;
  }
}

TEST(Rendezvous, NamesTheClientsPrivatePairFromPidAndSerial) {
  auto names = private_names("/tmp/d/srv", Rendezvous{4321, 9, 5});
  EXPECT_EQ(names.c2s, "/tmp/d/srv.4321.9.c2s");
  EXPECT_EQ(names.s2c, "/tmp/d/srv.4321.9.s2c");
}

TEST(RendezvousScanner, FindsRecordsAfterGarbageAndAcrossReads) {
  RendezvousScanner scanner;
  std::vector<Rendezvous> found;
  std::vector<std::byte> junk{std::byte{'I'}, std::byte{'X'}, std::byte{'F'}, std::byte{7}};
  scanner.feed(junk, found);
  auto a = record(10, 1);
  auto b = record(11, 2);
  scanner.feed({a.data(), 7}, found);  // a record cut in two by the reads
  EXPECT_TRUE(found.empty());
  scanner.feed({a.data() + 7, a.size() - 7}, found);
  scanner.feed(b, found);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0], (Rendezvous{10, 1}));
  EXPECT_EQ(found[1], (Rendezvous{11, 2}));
  EXPECT_EQ(scanner.garbage_bytes(), junk.size());
  EXPECT_EQ(scanner.pending(), 0u);
}

}  // namespace
}  // namespace ipcx::wire
