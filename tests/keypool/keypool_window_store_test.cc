#include "services/keypool/keypool_window_store.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "services/keypool/key_pool.h"
#include "tests/testing/database_test.h"

namespace aigw::keypool {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

TEST(RateWindowSlicesTest, SlicesKeepTotalsAndTheNewestTimeOfEach) {
  RateWindow w;
  w.Add(kT0, 10);
  w.Add(kT0 + absl::Milliseconds(300), 20);
  w.Add(kT0 + absl::Milliseconds(1500), 5);
  std::vector<RateWindow::Slice> s = w.Slices(absl::Seconds(1));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].at, kT0 + absl::Milliseconds(300));
  EXPECT_EQ(s[0].requests, 2);
  EXPECT_EQ(s[0].tokens, 30);
  EXPECT_EQ(s[1].at, kT0 + absl::Milliseconds(1500));
  EXPECT_EQ(s[1].requests, 1);
}

TEST(RateWindowSlicesTest, SeededEventsCountAndLeaveAfterTheSpan) {
  RateWindow w;
  w.Seed(kT0, 7, 700);
  w.Seed(kT0 + absl::Seconds(10), 3, 30);
  w.Expire(kT0 + absl::Seconds(30));
  EXPECT_EQ(w.requests(), 10);
  EXPECT_EQ(w.tokens(), 730);
  w.Expire(kT0 + absl::Seconds(60));
  EXPECT_EQ(w.requests(), 3);
  w.Expire(kT0 + absl::Seconds(70));
  EXPECT_EQ(w.requests(), 0);
  EXPECT_EQ(w.tokens(), 0);
}

TEST(KeyWindowCodecTest, RoundTripsAgesRelativeToTheSave) {
  const std::vector<RateWindow::Slice> slices = {
      {kT0 - absl::Milliseconds(30500), 4, 400}, {kT0 - absl::Milliseconds(1), 1, 9}};
  const std::string text = KeyWindowStore::Encode(slices, kT0);
  EXPECT_EQ(text, "30500:4:400;1:1:9");
  const absl::Time later = kT0 + absl::Seconds(5);
  std::vector<RateWindow::Slice> back = KeyWindowStore::Decode(text, later);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].at, later - absl::Milliseconds(30500));
  EXPECT_EQ(back[0].requests, 4);
  EXPECT_EQ(back[1].tokens, 9);
  EXPECT_TRUE(KeyWindowStore::Decode("junk;1:x:2;-5:1:1;", later).empty());
}

class KeyWindowStoreTest : public testing::DatabaseTest {
 protected:
  static PoolSnapshot Snapshot() {
    PoolSnapshot snap;
    ProviderRow p;
    p.id = 1;
    p.code = "openai";
    p.base_url = "https://openai.example/v1";
    p.api_format = "openai";
    snap.providers.push_back(p);
    KeyRow k;
    k.id = 5;
    k.provider_id = 1;
    k.key_name = "k5";
    k.secret = "sk-test-000005";
    k.masked = "sk-t...0005";
    k.rate_limit_rpm = 10;
    k.rate_limit_tpm = 10000;
    snap.keys.push_back(k);
    return snap;
  }

  // How many leases of `tokens` the pool grants now before refusing.
  static int Grantable(KeyPool& pool, int64_t tokens) {
    int n = 0;
    while (n < 100 && pool.Lease("openai", tokens, {}).ok()) ++n;
    return n;
  }

  ManualClock clock_{kT0};
};

TEST_P(KeyWindowStoreTest, SuccessorStartsWithTheMinuteAndAssumesTheUnsavedGap) {
  KeyPool active(&clock_, KeyPoolOptions{});
  active.Apply(Snapshot());
  KeyWindowStore saver(&db(), &clock_);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(active.Lease("openai", 100, {}).ok());
  clock_.Advance(absl::Seconds(20));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(active.Lease("openai", 100, {}).ok());
  clock_.Advance(absl::Milliseconds(500));
  ASSERT_TRUE(saver.Save(active, 1).ok());

  // The successor, a moment later: 6 counted, plus the 2 of the last second
  // before the save assumed again for the time after it: 2 of 10 left.
  clock_.Advance(absl::Milliseconds(400));
  KeyPool successor(&clock_, KeyPoolOptions{});
  successor.Apply(Snapshot());
  KeyWindowStore restorer(&db(), &clock_);
  absl::StatusOr<int> restored = restorer.Restore(successor);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*restored, 1);
  absl::StatusOr<std::vector<KeyStateView>> states = successor.ListKeyStates("openai");
  ASSERT_TRUE(states.ok());
  EXPECT_EQ((*states)[0].requests_current_minute, 8);
  EXPECT_EQ((*states)[0].tokens_current_minute, 800);
  EXPECT_EQ(Grantable(successor, 100), 2);

  // The first four leave the window no earlier than they would have (later
  // by the clock-skew allowance, at kT0 + 60.4 s), then the rest.
  clock_.Set(kT0 + absl::Seconds(60) + absl::Milliseconds(300));
  EXPECT_EQ(Grantable(successor, 100), 0);
  clock_.Set(kT0 + absl::Seconds(61) + absl::Milliseconds(900));
  EXPECT_EQ(Grantable(successor, 100), 4);
  clock_.Set(kT0 + absl::Seconds(122));
  EXPECT_EQ(Grantable(successor, 100), 10);
}

TEST_P(KeyWindowStoreTest, IdleKeysAreNotRewrittenAndOldSavesAreIgnored) {
  KeyPool active(&clock_, KeyPoolOptions{});
  active.Apply(Snapshot());
  KeyWindowStore saver(&db(), &clock_);
  ASSERT_TRUE(active.Lease("openai", 100, {}).ok());
  ASSERT_TRUE(saver.Save(active, 1).ok());
  // Two minutes later the window is empty; a successor then restores none.
  clock_.Advance(absl::Minutes(2));
  ASSERT_TRUE(saver.Save(active, 1).ok());
  ASSERT_TRUE(saver.Save(active, 1).ok());
  KeyPool successor(&clock_, KeyPoolOptions{});
  successor.Apply(Snapshot());
  KeyWindowStore restorer(&db(), &clock_);
  absl::StatusOr<int> restored = restorer.Restore(successor);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*restored, 0);
  EXPECT_EQ(Grantable(successor, 100), 10);
}

TEST_P(KeyWindowStoreTest, FencedSaveWritesNothing) {
  KeyPool active(&clock_, KeyPoolOptions{});
  active.Apply(Snapshot());
  KeyWindowStore saver(&db(), &clock_);
  saver.set_write_fence([](soci::session&) {
    return absl::FailedPreconditionError("no longer the active one");
  });
  ASSERT_TRUE(active.Lease("openai", 100, {}).ok());
  EXPECT_EQ(saver.Save(active, 1).code(), absl::StatusCode::kFailedPrecondition);
  KeyPool successor(&clock_, KeyPoolOptions{});
  successor.Apply(Snapshot());
  KeyWindowStore restorer(&db(), &clock_);
  absl::StatusOr<int> restored = restorer.Restore(successor);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*restored, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyWindowStoreTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
