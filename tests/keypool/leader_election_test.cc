#include "services/keypool/leader_election.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/clock.h"
#include "soci/soci.h"
#include "tests/testing/database_test.h"

namespace aigw::keypool {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kLease = absl::Milliseconds(600);

// A clock on which the database call a holder makes next seems to take a
// given time: of the next two reads, the second comes that much later.
class SlowCallClock : public Clock {
 public:
  explicit SlowCallClock(ManualClock* base) : base_(base) {}
  absl::Time Now() const override {
    absl::MutexLock l(&mu_);
    if (reads_left_ > 0 && --reads_left_ == 0) base_->Advance(call_takes_);
    return base_->Now();
  }
  void NextCallTakes(absl::Duration d) {
    absl::MutexLock l(&mu_);
    call_takes_ = d;
    reads_left_ = 2;
  }

 private:
  ManualClock* const base_;
  mutable absl::Mutex mu_;
  mutable int reads_left_ = 0;
  absl::Duration call_takes_;
};

class LeaderElectionTest : public testing::DatabaseTest {
 protected:
  std::unique_ptr<LeaderElection> Make(const std::string& holder, Clock* clock,
                                       absl::Duration outage_hold = absl::ZeroDuration()) {
    LeaderElectionOptions o;
    o.holder = holder;
    o.lease = kLease;
    o.clock = clock;
    o.outage_hold = outage_hold;
    absl::StatusOr<std::unique_ptr<LeaderElection>> e = LeaderElection::Create(&db(), o);
    EXPECT_TRUE(e.ok()) << e.status();
    return std::move(*e);
  }

  std::string Holder() {
    return QueryString("SELECT holder FROM t_ai_leader_leases WHERE name = 'keypool'");
  }

  absl::Status FenceInTransaction(LeaderElection& e, int64_t fencing) {
    return db().InTransaction([&](soci::session& s) { return e.Fence(s, fencing); });
  }

  ManualClock clock_;
};

TEST_P(LeaderElectionTest, FirstReplicaTakesTheFreeRowAndTheSecondStaysStandby) {
  auto a = Make("a", &clock_);
  auto b = Make("b", &clock_);
  ASSERT_TRUE(a->Step().ok());
  EXPECT_TRUE(a->IsActive());
  EXPECT_EQ(a->fencing(), 1);
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
  EXPECT_EQ(b->fencing(), 0);
  EXPECT_EQ(b->last_seen_holder(), "a");
  EXPECT_EQ(Holder(), "a");
}

TEST_P(LeaderElectionTest, RenewingHolderKeepsTheRoleWhileTheStandbyWaits) {
  auto a = Make("a", &clock_);
  auto b = Make("b", &clock_);
  ASSERT_TRUE(a->Step().ok());
  for (int i = 0; i < 20; ++i) {
    clock_.Advance(absl::Milliseconds(150));
    ASSERT_TRUE(a->Step().ok());
    ASSERT_TRUE(b->Step().ok());
    EXPECT_TRUE(a->IsActive()) << i;
    EXPECT_FALSE(b->IsActive()) << i;
  }
  EXPECT_EQ(a->fencing(), 1);
}

TEST_P(LeaderElectionTest, StandbyTakesOverAWholeLeaseAfterTheHolderStoppedRenewing) {
  std::vector<std::pair<bool, int64_t>> b_changes;
  auto a = Make("a", &clock_);
  auto b = Make("b", &clock_);
  b->set_on_role_change([&](bool active, int64_t f) { b_changes.emplace_back(active, f); });
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());  // sees a's row now
  // a dies: no more renewals.
  clock_.Advance(kLease - absl::Milliseconds(1));
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(b->Step().ok());
  EXPECT_TRUE(b->IsActive());
  EXPECT_EQ(b->fencing(), 2);
  EXPECT_EQ(Holder(), "b");
  ASSERT_EQ(b_changes.size(), 1u);
  EXPECT_EQ(b_changes[0], std::make_pair(true, int64_t{2}));
}

TEST_P(LeaderElectionTest, HolderStopsGrantingBeforeAStandbyMayTakeOver) {
  auto a = Make("a", &clock_);
  auto b = Make("b", &clock_);
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());
  // A holder frozen past its lease is inactive the moment it runs again,
  // before any database work, and before the standby's wait is over.
  clock_.Advance(kLease - LeaderElection::kSafetyMargin);
  EXPECT_FALSE(a->IsActive());
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
}

TEST_P(LeaderElectionTest, DeposedHolderSeesItLostAndItsWritesAreFenced) {
  std::vector<std::pair<bool, int64_t>> a_changes;
  auto a = Make("a", &clock_);
  auto b = Make("b", &clock_);
  a->set_on_role_change([&](bool active, int64_t f) { a_changes.emplace_back(active, f); });
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(FenceInTransaction(*a, 1).ok());
  ASSERT_TRUE(b->Step().ok());
  clock_.Advance(kLease);
  ASSERT_TRUE(b->Step().ok());
  ASSERT_TRUE(b->IsActive());

  // a comes back: not active, its fenced write is refused, its next step
  // learns it lost and makes it a standby.
  EXPECT_FALSE(a->IsActive());
  absl::Status fenced = FenceInTransaction(*a, 1);
  EXPECT_EQ(fenced.code(), absl::StatusCode::kFailedPrecondition) << fenced;
  EXPECT_THAT(fenced.message(), HasSubstr("no longer holds the leader lease"));
  EXPECT_TRUE(FenceInTransaction(*b, 2).ok());
  ASSERT_TRUE(a->Step().ok());
  EXPECT_EQ(a->fencing(), 0);
  ASSERT_EQ(a_changes.size(), 2u);
  EXPECT_EQ(a_changes[0], std::make_pair(true, int64_t{1}));
  EXPECT_EQ(a_changes[1], std::make_pair(false, int64_t{0}));
  // And it does not take the row back while b renews.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(absl::Milliseconds(150));
    ASSERT_TRUE(b->Step().ok());
    ASSERT_TRUE(a->Step().ok());
    EXPECT_FALSE(a->IsActive());
  }
  EXPECT_TRUE(b->IsActive());
}

TEST_P(LeaderElectionTest, ReleasedRowIsTakenAtTheNextPoll) {
  auto a = Make("a", &clock_);
  auto b = Make("b", &clock_);
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());
  ASSERT_TRUE(a->Release().ok());
  EXPECT_FALSE(a->IsActive());
  EXPECT_EQ(a->fencing(), 0);
  ASSERT_TRUE(b->Step().ok());
  EXPECT_TRUE(b->IsActive());
  EXPECT_EQ(b->fencing(), 2);
}

TEST_P(LeaderElectionTest, TakeoverDoesNotDependOnTheStandbysClockOffset) {
  // b's clock is an hour ahead: it still waits a whole lease of its own
  // time after it saw the holder's last renewal.
  ManualClock ahead(clock_.Now() + absl::Hours(1));
  auto a = Make("a", &clock_);
  auto b = Make("b", &ahead);
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());
  ahead.Advance(kLease / 2);
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
  ahead.Advance(kLease / 2);
  ASSERT_TRUE(b->Step().ok());
  EXPECT_TRUE(b->IsActive());
}

TEST_P(LeaderElectionTest, OnlyOneOfTwoStandbysTakesOver) {
  auto a = Make("a", &clock_);
  auto b = Make("b", &clock_);
  auto c = Make("c", &clock_);
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());
  ASSERT_TRUE(c->Step().ok());
  clock_.Advance(kLease);
  ASSERT_TRUE(b->Step().ok());
  ASSERT_TRUE(c->Step().ok());
  EXPECT_TRUE(b->IsActive());
  EXPECT_FALSE(c->IsActive());
  EXPECT_EQ(Holder(), "b");
}

TEST_P(LeaderElectionTest, DatabaseOutageHoldKeepsTheHolderAndRestartsTheStandbysWait) {
  auto a = Make("a", &clock_, /*outage_hold=*/absl::Seconds(30));
  auto b = Make("b", &clock_);
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());
  // The table is unreachable for both: a keeps granting through the hold.
  Exec("ALTER TABLE t_ai_leader_leases RENAME TO t_ai_leader_leases_away");
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(absl::Seconds(1));
    EXPECT_FALSE(a->Step().ok());
    EXPECT_FALSE(b->Step().ok());
    EXPECT_TRUE(a->IsActive()) << i;
    EXPECT_FALSE(b->IsActive());
  }
  Exec("ALTER TABLE t_ai_leader_leases_away RENAME TO t_ai_leader_leases");
  // The row has not changed for 10 s, but b has only just read it again: it
  // waits a lease, and a renews first.
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
  clock_.Advance(absl::Milliseconds(150));
  ASSERT_TRUE(a->Step().ok());
  clock_.Advance(kLease - absl::Milliseconds(150));
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
  EXPECT_TRUE(a->IsActive());
  EXPECT_EQ(a->fencing(), 1);
}

TEST_P(LeaderElectionTest, WithoutOutageHoldAHolderThatCannotRenewStepsDown) {
  auto a = Make("a", &clock_);
  ASSERT_TRUE(a->Step().ok());
  Exec("ALTER TABLE t_ai_leader_leases RENAME TO t_ai_leader_leases_away");
  clock_.Advance(absl::Milliseconds(300));
  EXPECT_FALSE(a->Step().ok());
  EXPECT_TRUE(a->IsActive());
  clock_.Advance(kLease);
  EXPECT_FALSE(a->Step().ok());
  EXPECT_FALSE(a->IsActive());
  // The row is still its own once the database is back: it renews.
  Exec("ALTER TABLE t_ai_leader_leases_away RENAME TO t_ai_leader_leases");
  ASSERT_TRUE(a->Step().ok());
  EXPECT_TRUE(a->IsActive());
  EXPECT_EQ(a->fencing(), 1);
}

TEST_P(LeaderElectionTest, SlowRenewalsLengthenTheAnnouncedLeaseAndTheStandbyWaitsForIt) {
  SlowCallClock slow(&clock_);
  auto a = Make("a", &slow);
  auto b = Make("b", &clock_);
  std::vector<absl::Duration> lapses;
  a->set_on_renewal([&](absl::Duration, absl::Duration lapsed) { lapses.push_back(lapsed); });
  ASSERT_TRUE(a->Step().ok());
  ASSERT_TRUE(b->Step().ok());
  EXPECT_EQ(a->AnnouncedLease(), kLease);
  // The database takes 450 ms for every renewal, renewed 150 ms after the
  // last one came back.
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Milliseconds(150));
    slow.NextCallTakes(absl::Milliseconds(450));
    ASSERT_TRUE(a->Step().ok());
    ASSERT_TRUE(b->Step().ok());
    EXPECT_FALSE(b->IsActive()) << i;
  }
  // The first two renewals were announced with the 600 ms lease and the
  // holder could not grant before they came back; once the longer lease is
  // announced, it grants throughout.
  ASSERT_EQ(lapses.size(), 5u);
  EXPECT_GT(lapses[0], absl::ZeroDuration());
  EXPECT_GT(lapses[1], absl::ZeroDuration());
  for (size_t i = 2; i < lapses.size(); ++i) EXPECT_EQ(lapses[i], absl::ZeroDuration()) << i;
  const absl::Duration announced =
      absl::Milliseconds(150) + LeaderElection::kSafetyMargin + absl::Milliseconds(450) * 2.5;
  EXPECT_EQ(a->AnnouncedLease(), announced);
  EXPECT_EQ(QueryString("SELECT lease_ms FROM t_ai_leader_leases WHERE name = 'keypool'"),
            absl::StrCat(absl::ToInt64Milliseconds(announced)));

  // a dies. b saw its last renewal when it came back and waits the
  // announced lease, not its own 600 ms, while a may still be granting.
  clock_.Advance(kLease);
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
  clock_.Advance(announced - kLease - absl::Milliseconds(1));
  ASSERT_TRUE(b->Step().ok());
  EXPECT_FALSE(b->IsActive());
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(b->Step().ok());
  EXPECT_TRUE(b->IsActive());
  EXPECT_FALSE(a->IsActive());
}

TEST_P(LeaderElectionTest, AnnouncedLeaseIsCappedAndReturnsToTheLeaseWhenRenewalsAreFastAgain) {
  SlowCallClock slow(&clock_);
  LeaderElectionOptions o;
  o.holder = "a";
  o.lease = kLease;
  o.max_lease = absl::Seconds(2);
  o.clock = &slow;
  absl::StatusOr<std::unique_ptr<LeaderElection>> a = LeaderElection::Create(&db(), o);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE((*a)->Step().ok());
  clock_.Advance(absl::Milliseconds(150));
  slow.NextCallTakes(absl::Seconds(3));
  ASSERT_TRUE((*a)->Step().ok());
  EXPECT_EQ((*a)->AnnouncedLease(), absl::Seconds(2));
  // The slow renewal is forgotten after 32 fast ones.
  for (int i = 0; i < 31; ++i) {
    clock_.Advance(absl::Milliseconds(150));
    ASSERT_TRUE((*a)->Step().ok());
    EXPECT_EQ((*a)->AnnouncedLease(), absl::Seconds(2)) << i;
  }
  clock_.Advance(absl::Milliseconds(150));
  ASSERT_TRUE((*a)->Step().ok());
  EXPECT_EQ((*a)->AnnouncedLease(), kLease);
}

TEST_P(LeaderElectionTest, RejectsOptionsThatCannotWork) {
  LeaderElectionOptions o;
  EXPECT_EQ(LeaderElection::Create(&db(), o).status().code(),
            absl::StatusCode::kInvalidArgument);  // no holder
  o.holder = "a";
  o.renew_interval = o.lease;
  EXPECT_EQ(LeaderElection::Create(&db(), o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.renew_interval = absl::Milliseconds(100);
  o.max_lease = o.lease - absl::Milliseconds(1);
  EXPECT_EQ(LeaderElection::Create(&db(), o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.max_lease = o.lease;
  EXPECT_TRUE(LeaderElection::Create(&db(), o).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, LeaderElectionTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
