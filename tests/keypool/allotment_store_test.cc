#include "services/keypool/allotment_store.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "services/keypool/key_pool.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"

namespace aigw::keypool {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

class AllotmentStoreTest : public ::testing::TestWithParam<db::Backend> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::TestDatabase>> t =
        testing::TestDatabase::Create(GetParam());
    ASSERT_TRUE(t.ok()) << t.status();
    tdb_ = std::move(*t);
    options_.allotment.share = 0.25;
    options_.allotment.max_share = 0.5;
    options_.allotment.use_for = absl::Seconds(30);
  }

  static PoolSnapshot Snapshot() {
    PoolSnapshot snap;
    ProviderRow p;
    p.id = 1;
    p.code = "openai";
    p.base_url = "https://openai.example/v1";
    p.api_format = "openai";
    snap.providers.push_back(p);
    for (int64_t id : {5, 6}) {
      KeyRow k;
      k.id = id;
      k.provider_id = 1;
      k.key_name = absl::StrCat("k", id);
      k.secret = absl::StrCat("sk-test-00000", id);
      k.masked = "sk-t...0000";
      k.rate_limit_rpm = 20;
      k.rate_limit_rpd = 100;
      snap.keys.push_back(k);
    }
    return snap;
  }

  std::unique_ptr<KeyPool> NewPool() {
    auto pool = std::make_unique<KeyPool>(&clock_, options_);
    pool->Apply(Snapshot());
    return pool;
  }

  // Plans, stores and confirms an AllotKeys; returns the plan.
  AllotmentPlan Allot(KeyPool& pool, AllotmentStore& store, const std::string& holder,
                      std::vector<AllotmentUse> held = {}) {
    absl::StatusOr<AllotmentPlan> plan = pool.PlanAllotments("openai", holder, held);
    EXPECT_TRUE(plan.ok()) << plan.status();
    absl::Status st = store.Commit(*plan, 1, clock_.Now());
    EXPECT_TRUE(st.ok()) << st;
    pool.ConfirmAllotments(*plan);
    return *plan;
  }

  // A successor as a takeover makes it: a fresh pool with the stored
  // allotments.
  std::unique_ptr<KeyPool> Successor() {
    std::unique_ptr<KeyPool> pool = NewPool();
    AllotmentStore store(&tdb_->db());
    absl::StatusOr<std::vector<Allotment>> loaded = store.Load(clock_.Now());
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    if (loaded.ok()) pool->ReplaceAllotments(*loaded);
    return pool;
  }

  static int Grantable(KeyPool& pool) {
    int n = 0;
    while (n < 100 && pool.Lease("openai", 0, {}).ok()) ++n;
    return n;
  }

  ManualClock clock_{kT0};
  KeyPoolOptions options_;
  std::unique_ptr<testing::TestDatabase> tdb_;
};

TEST_P(AllotmentStoreTest, ASuccessorHoldsBackWhatWasStored) {
  std::unique_ptr<KeyPool> active = NewPool();
  AllotmentStore store(&tdb_->db());
  AllotmentPlan a = Allot(*active, store, "gw-a");
  ASSERT_EQ(a.granted.size(), 2u);
  ASSERT_EQ(Allot(*active, store, "gw-b").granted.size(), 2u);

  clock_.Advance(absl::Seconds(2));
  std::unique_ptr<KeyPool> successor = Successor();
  const std::vector<Allotment> mine = active->Allotments();
  const std::vector<Allotment> theirs = successor->Allotments();
  ASSERT_EQ(theirs.size(), 4u);
  for (size_t i = 0; i < mine.size(); ++i) {
    EXPECT_EQ(theirs[i].id, mine[i].id);
    EXPECT_EQ(theirs[i].holder, mine[i].holder);
    EXPECT_EQ(theirs[i].key_id, mine[i].key_id);
    EXPECT_EQ(theirs[i].requests, mine[i].requests);
    EXPECT_EQ(theirs[i].day_requests, mine[i].day_requests);
    EXPECT_EQ(theirs[i].use_until, mine[i].use_until);
    EXPECT_EQ(theirs[i].counted_until, mine[i].counted_until);
    EXPECT_EQ(theirs[i].day_end, mine[i].day_end);
  }
  // Two keys of 20, each with 5 + 5 held back.
  EXPECT_EQ(Grantable(*successor), 20);
}

TEST_P(AllotmentStoreTest, ExtensionsAndSettlementsAreStored) {
  std::unique_ptr<KeyPool> active = NewPool();
  AllotmentStore store(&tdb_->db());
  AllotmentPlan first = Allot(*active, store, "gw-a");
  ASSERT_EQ(first.granted.size(), 2u);
  clock_.Advance(absl::Seconds(10));
  // One unused (extended), one used 4 times (settled).
  AllotmentPlan second = Allot(*active, store, "gw-a",
                               {{first.granted[0].allotment.id, 0, 0},
                                {first.granted[1].allotment.id, 4, 0}});
  ASSERT_EQ(second.extended.size(), 1u);
  ASSERT_EQ(second.settled.size(), 1u);

  std::unique_ptr<KeyPool> successor = Successor();
  std::vector<Allotment> theirs = successor->Allotments();
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0].id, first.granted[0].allotment.id);
  EXPECT_EQ(theirs[0].use_until, kT0 + absl::Seconds(40));
  // 15 of the first key; the second's 4 spent are the active one's to
  // count (they reach the successor with the saved windows).
  EXPECT_EQ(Grantable(*successor), 35);
}

TEST_P(AllotmentStoreTest, LapsedRowsArePrunedAndNotLoaded) {
  std::unique_ptr<KeyPool> active = NewPool();
  AllotmentStore store(&tdb_->db());
  ASSERT_EQ(Allot(*active, store, "gw-a").granted.size(), 2u);
  // Past counted_until: only the day's share is held back.
  clock_.Advance(absl::Seconds(92));
  std::unique_ptr<KeyPool> successor = Successor();
  ASSERT_EQ(successor->Allotments().size(), 2u);
  EXPECT_EQ(Grantable(*successor), 40);
  // The next day nothing is held back; the next commit prunes the rows.
  clock_.Set(kT0 + absl::Hours(24));
  EXPECT_TRUE(Successor()->Allotments().empty());
  ASSERT_TRUE(store.Commit(AllotmentPlan{}, 1, clock_.Now()).ok());
  int rows = -1;
  ASSERT_TRUE(tdb_->db()
                  .Run([&](soci::session& s) -> absl::Status {
                    s << "SELECT COUNT(*) FROM t_ai_keypool_allotments", soci::into(rows);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(rows, 0);
}

TEST_P(AllotmentStoreTest, AFencedCommitStoresNothing) {
  std::unique_ptr<KeyPool> active = NewPool();
  AllotmentStore store(&tdb_->db());
  store.set_write_fence([](soci::session&) {
    return absl::FailedPreconditionError("no longer the active one");
  });
  absl::StatusOr<AllotmentPlan> plan = active->PlanAllotments("openai", "gw-a", {});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->granted.size(), 2u);
  EXPECT_EQ(store.Commit(*plan, 1, clock_.Now()).code(), absl::StatusCode::kFailedPrecondition);
  active->UndoAllotments(*plan);
  EXPECT_TRUE(Successor()->Allotments().empty());
  EXPECT_EQ(Grantable(*active), 40);
}

INSTANTIATE_TEST_SUITE_P(Backends, AllotmentStoreTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
