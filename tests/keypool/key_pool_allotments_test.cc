// KeyPool's allotments with a settable clock: what they hold back from
// leases, and their grant, extension, settlement, abandonment and takeover.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "services/keypool/key_pool.h"

namespace aigw::keypool {
namespace {

// 2026-01-01 00:00:00 UTC.
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

KeyRow Key(int64_t id, int64_t rpm, int64_t tpm = 0, int64_t rpd = 0) {
  KeyRow k;
  k.id = id;
  k.provider_id = 1;
  k.key_name = absl::StrCat("key-", id);
  k.secret = absl::StrCat("sk-test-secret-", id, "-abcdefgh");
  k.masked = "sk-t...efgh";
  k.rate_limit_rpm = rpm;
  k.rate_limit_tpm = tpm;
  k.rate_limit_rpd = rpd;
  return k;
}

class KeyPoolAllotmentsTest : public ::testing::Test {
 protected:
  KeyPoolAllotmentsTest() : clock_(kT0) {
    options_.allotment.share = 0.25;
    options_.allotment.max_share = 0.5;
    options_.allotment.use_for = absl::Seconds(30);
    options_.allotment.slack = absl::Seconds(1);
  }

  KeyPool& Pool(std::vector<KeyRow> keys) {
    pool_ = std::make_unique<KeyPool>(&clock_, options_);
    ProviderRow p;
    p.id = 1;
    p.code = "openai";
    p.name = "openai";
    p.base_url = "https://openai.example/v1";
    p.api_format = "openai";
    snapshot_.providers = {p};
    snapshot_.keys = std::move(keys);
    pool_->Apply(snapshot_);
    return *pool_;
  }

  // Allotments granted or extended for `holder`, confirmed.
  std::vector<AllotmentGrant> Allot(const std::string& holder, std::vector<AllotmentUse> held = {}) {
    absl::StatusOr<AllotmentPlan> plan = pool_->PlanAllotments("openai", holder, held);
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (!plan.ok()) return {};
    pool_->ConfirmAllotments(*plan);
    std::vector<AllotmentGrant> out = plan->extended;
    out.insert(out.end(), plan->granted.begin(), plan->granted.end());
    return out;
  }

  // How many leases of `tokens` the pool grants now, up to `max`.
  int Leases(int max, int64_t tokens = 0) {
    int n = 0;
    while (n < max && pool_->Lease("openai", tokens, {}).ok()) ++n;
    return n;
  }

  ManualClock clock_;
  KeyPoolOptions options_;
  PoolSnapshot snapshot_;
  std::unique_ptr<KeyPool> pool_;
};

TEST_F(KeyPoolAllotmentsTest, AnAllotmentIsHeldBackFromLeases) {
  Pool({Key(1, 20, 0, 100)});
  std::vector<AllotmentGrant> got = Allot("gw-a");
  ASSERT_EQ(got.size(), 1u);
  const Allotment& a = got[0].allotment;
  EXPECT_EQ(a.key_id, 1);
  EXPECT_EQ(a.requests, 5);
  EXPECT_EQ(a.day_requests, 25);
  EXPECT_EQ(a.use_until, kT0 + absl::Seconds(30));
  EXPECT_EQ(a.counted_until, kT0 + absl::Seconds(91));
  EXPECT_EQ(a.day_end, kT0 + absl::Hours(24));
  EXPECT_EQ(got[0].key->secret, "sk-test-secret-1-abcdefgh");
  // 20 - 5 for leases: the gateway may spend its 5 whenever it must.
  EXPECT_EQ(Leases(100), 15);
}

TEST_F(KeyPoolAllotmentsTest, AllGatewaysTogetherNeverHoldMoreThanTheCapOrWhatIsFree) {
  Pool({Key(1, 40), Key(2, 40)});
  int64_t held = 0;
  for (int g = 0; g < 6; ++g) {
    for (const AllotmentGrant& a : Allot(absl::StrCat("gw-", g))) held += a.allotment.requests;
  }
  EXPECT_EQ(held, 40) << "half of each key's 40";
  EXPECT_EQ(Leases(100), 40);

  // Only what is free: a key whose window is full gets none.
  Pool({Key(1, 40)});
  EXPECT_EQ(Leases(38), 38);
  std::vector<AllotmentGrant> got = Allot("gw-a");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].allotment.requests, 2);
  EXPECT_EQ(Leases(100), 0);
  EXPECT_TRUE(Allot("gw-b").empty());
}

TEST_F(KeyPoolAllotmentsTest, TokensAndTheDayAreHeldBackToo) {
  Pool({Key(1, 0, 1000, 0)});
  std::vector<AllotmentGrant> got = Allot("gw-a");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].allotment.tokens, 250);
  EXPECT_TRUE(pool_->Lease("openai", 750, {}).ok());
  EXPECT_FALSE(pool_->Lease("openai", 1, {}).ok());

  Pool({Key(1, 0, 0, 8)});
  got = Allot("gw-a");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].allotment.day_requests, 2);
  EXPECT_EQ(Leases(100), 6);
}

TEST_F(KeyPoolAllotmentsTest, AnUnusedAllotmentIsExtendedInPlace) {
  Pool({Key(1, 20)});
  std::vector<AllotmentGrant> first = Allot("gw-a");
  ASSERT_EQ(first.size(), 1u);
  clock_.Advance(absl::Seconds(10));
  std::vector<AllotmentGrant> again = Allot("gw-a", {{first[0].allotment.id, 0, 0}});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].allotment.id, first[0].allotment.id);
  EXPECT_EQ(again[0].allotment.use_until, kT0 + absl::Seconds(40));
  EXPECT_EQ(again[0].allotment.counted_until, kT0 + absl::Seconds(101));
  ASSERT_EQ(pool_->Allotments().size(), 1u);
  EXPECT_EQ(Leases(100), 15) << "held back once, not twice";
}

TEST_F(KeyPoolAllotmentsTest, AUsedAllotmentIsSettledIntoTheWindowAndTheDay) {
  Pool({Key(1, 20, 0, 100)});
  std::vector<AllotmentGrant> first = Allot("gw-a");
  ASSERT_EQ(first.size(), 1u);
  clock_.Advance(absl::Seconds(5));
  // The gateway spent 3 of its 5 while no keypool answered.
  absl::StatusOr<AllotmentPlan> plan =
      pool_->PlanAllotments("openai", "gw-a", {{first[0].allotment.id, 3, 120}});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->granted.empty()) << "no new allotment of a key settled this time";
  EXPECT_TRUE(plan->extended.empty());
  ASSERT_EQ(plan->settled.size(), 1u);
  // Until the plan is stored and confirmed, the whole share stays held.
  EXPECT_EQ(pool_->Allotments().size(), 1u);
  pool_->ConfirmAllotments(*plan);
  EXPECT_TRUE(pool_->Allotments().empty());
  absl::StatusOr<std::vector<KeyStateView>> states = pool_->ListKeyStates("openai");
  ASSERT_TRUE(states.ok());
  EXPECT_EQ((*states)[0].requests_current_minute, 3);
  EXPECT_EQ((*states)[0].tokens_current_minute, 120);
  EXPECT_EQ((*states)[0].requests_today, 3);
  EXPECT_EQ(Leases(100), 17);
  // The spent requests leave the window 60 s after the settlement.
  clock_.Advance(absl::Seconds(60) - absl::Nanoseconds(1));
  EXPECT_EQ(Leases(100), 0);
  clock_.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(Leases(100), 20);
}

TEST_F(KeyPoolAllotmentsTest, APlanThatCannotBeStoredChangesNothing) {
  Pool({Key(1, 20), Key(2, 20)});
  std::vector<AllotmentGrant> first = Allot("gw-a");
  ASSERT_EQ(first.size(), 2u);
  absl::StatusOr<AllotmentPlan> plan = pool_->PlanAllotments(
      "openai", "gw-a", {{first[0].allotment.id, 2, 0}, {first[1].allotment.id, 0, 0}});
  ASSERT_TRUE(plan.ok());
  pool_->UndoAllotments(*plan);
  std::vector<Allotment> left = pool_->Allotments();
  ASSERT_EQ(left.size(), 2u);
  for (const Allotment& a : left) EXPECT_EQ(a.use_until, kT0 + absl::Seconds(30));
  EXPECT_EQ(Leases(100), 30);

  // New grants of an undone plan are given back.
  Pool({Key(1, 20)});
  plan = pool_->PlanAllotments("openai", "gw-a", {});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->granted.size(), 1u);
  pool_->UndoAllotments(*plan);
  EXPECT_TRUE(pool_->Allotments().empty());
  EXPECT_EQ(Leases(100), 20);
}

TEST_F(KeyPoolAllotmentsTest, AnAbandonedAllotmentCountsAsFullyUsed) {
  Pool({Key(1, 20, 0, 100)});
  ASSERT_EQ(Allot("gw-a").size(), 1u);
  // The gateway dies. Its 5 requests may have been made up to use_until, so
  // they are held back for 60 s (and the slack) after it; its 25 of the
  // day until the day ends.
  clock_.Advance(absl::Seconds(90));
  pool_->SweepAllotments();
  EXPECT_EQ(Leases(100), 15);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(pool_->SweepAllotments(), 1);
  EXPECT_EQ(Leases(100), 5) << "the RPM share is free again";
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(Leases(100), 20);
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(Leases(100), 20);
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(Leases(100), 15) << "100 a day, 25 held back, 60 leased";
  clock_.Set(kT0 + absl::Hours(24));
  EXPECT_EQ(pool_->SweepAllotments(), 0);
  EXPECT_EQ(Leases(100), 20);
}

TEST_F(KeyPoolAllotmentsTest, AKeyParkedOnWhatWasHeldBackIsWokenWhenItIsReleased) {
  Pool({Key(1, 20)});
  std::vector<AllotmentGrant> first = Allot("gw-a");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(Leases(100), 15);
  EXPECT_FALSE(pool_->Lease("openai", 0, {}).ok());  // parks the key
  absl::StatusOr<AllotmentPlan> plan =
      pool_->PlanAllotments("openai", "gw-a", {{first[0].allotment.id, 1, 0}});
  ASSERT_TRUE(plan.ok());
  pool_->ConfirmAllotments(*plan);
  EXPECT_EQ(Leases(100), 4) << "20 - 15 leased - 1 spent";
}

TEST_F(KeyPoolAllotmentsTest, ASuccessorHoldsBackWhatItsPredecessorAllotted) {
  Pool({Key(1, 20), Key(2, 20)});
  ASSERT_EQ(Allot("gw-a").size(), 2u);
  ASSERT_EQ(Allot("gw-b").size(), 2u);
  const std::vector<Allotment> stored = pool_->Allotments();
  clock_.Advance(absl::Seconds(3));
  KeyPool successor(&clock_, options_);
  successor.Apply(snapshot_);
  successor.ReplaceAllotments(stored);
  EXPECT_EQ(successor.Allotments().size(), 4u);
  int n = 0;
  while (n < 100 && successor.Lease("openai", 0, {}).ok()) ++n;
  EXPECT_EQ(n, 20);
  // gw-a's allotments are known to the successor: they are extended.
  std::vector<AllotmentUse> held;
  for (const Allotment& a : stored) {
    if (a.holder == "gw-a") held.push_back({a.id, 0, 0});
  }
  absl::StatusOr<AllotmentPlan> plan = successor.PlanAllotments("openai", "gw-a", held);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->extended.size(), 2u);
  EXPECT_TRUE(plan->granted.empty());
}

TEST_F(KeyPoolAllotmentsTest, AnotherHoldersOrAnUnknownAllotmentIsIgnored) {
  Pool({Key(1, 20)});
  std::vector<AllotmentGrant> a = Allot("gw-a");
  ASSERT_EQ(a.size(), 1u);
  absl::StatusOr<AllotmentPlan> plan = pool_->PlanAllotments(
      "openai", "gw-b", {{a[0].allotment.id, 3, 0}, {"no-such-allotment", 1, 0}});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->settled.empty());
  EXPECT_TRUE(plan->extended.empty());
  ASSERT_EQ(plan->granted.size(), 1u) << "gw-b gets one of its own";
  EXPECT_NE(plan->granted[0].allotment.id, a[0].allotment.id);
}

TEST_F(KeyPoolAllotmentsTest, AnUnhealthyKeyIsNeitherAllottedNorExtended) {
  Pool({Key(1, 20), Key(2, 20)});
  std::vector<AllotmentGrant> first = Allot("gw-a");
  ASSERT_EQ(first.size(), 2u);
  const int64_t kept_key = first[0].allotment.key_id;
  const int64_t bad_key = first[1].allotment.key_id;
  snapshot_.keys[bad_key - 1].status = "invalid";
  pool_->Apply(snapshot_);
  std::vector<AllotmentGrant> again =
      Allot("gw-a", {{first[0].allotment.id, 0, 0}, {first[1].allotment.id, 0, 0}});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].allotment.key_id, kept_key);
  EXPECT_TRUE(Allot("gw-b").size() == 1u);
}

TEST_F(KeyPoolAllotmentsTest, BadRequestsAreRefused) {
  Pool({Key(1, 20)});
  EXPECT_EQ(pool_->PlanAllotments("", "gw", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool_->PlanAllotments("openai", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool_->PlanAllotments("openai", "gw", {{"x", -1, 0}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pool_->PlanAllotments("nope", "gw", {}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace aigw::keypool
