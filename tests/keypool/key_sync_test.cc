#include "services/keypool/key_sync.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "tests/testing/database_test.h"
#include "tests/testing/test_keys.h"

namespace aigw::keypool {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

// The chores' intervals in these tests: short, so that what a chore does
// shows soon; the tests wait for it, never for the time itself.
KeySyncOptions Fast() {
  KeySyncOptions o;
  o.poll_interval = absl::Milliseconds(5);
  o.flush_interval = absl::Milliseconds(5);
  o.upkeep_interval = absl::Milliseconds(5);
  return o;
}

// Chores that never come by themselves: what happens is what the test asks.
KeySyncOptions Idle() {
  KeySyncOptions o;
  o.poll_interval = absl::ZeroDuration();
  o.flush_interval = absl::Hours(1);
  o.upkeep_interval = absl::Hours(1);
  return o;
}

class KeySyncTest : public testing::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    box_ = std::make_unique<crypto::SecretBox>(testing::TestSecretBox());
    store_ = std::make_unique<KeyStore>(&db(), box_.get());
    AddKey(1);
  }

  // `options` before the first call of sync().
  KeySync& sync(KeySyncOptions options = Idle()) {
    if (sync_ == nullptr) sync_ = std::make_unique<KeySync>(&pool_, store_.get(), nullptr, options);
    return *sync_;
  }

  // An openai key (provider 1 in the seeded catalogue), in plaintext.
  void AddKey(int id) {
    Exec(absl::StrCat("INSERT INTO t_ai_api_keys (id, provider_id, key_name, api_key) VALUES (",
                      id, ", 1, 'key-", id, "', 'sk-proj-key-", id, "-0123456789abcdef')"));
  }

  // Waits until `done` holds, which a chore makes so.
  template <typename Pred>
  bool Eventually(Pred done) {
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (!done()) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return true;
  }

  ManualClock clock_{kT0};
  KeyPool pool_{&clock_, KeyPoolOptions()};
  std::unique_ptr<crypto::SecretBox> box_;
  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<KeySync> sync_;
};

TEST_P(KeySyncTest, BeforeStartAndAfterStopAReloadRunsInline) {
  bool answered = false;
  sync().ReloadAsync([&](absl::StatusOr<int> n) {
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 1);
    answered = true;
  });
  EXPECT_TRUE(answered);
  sync().Start();
  sync().Stop();
  AddKey(2);
  answered = false;
  sync().ReloadAsync([&](absl::StatusOr<int> n) {
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 2);
    answered = true;
  });
  EXPECT_TRUE(answered);
}

TEST_P(KeySyncTest, AReloadAskedWhileRunningIsAnsweredOnTheChoresThread) {
  ASSERT_TRUE(sync().Reload().ok());
  sync().Start();
  AddKey(2);
  absl::Notification done;
  absl::StatusOr<int> loaded;
  sync().ReloadAsync([&](absl::StatusOr<int> n) {
    loaded = n;
    done.Notify();
  });
  done.WaitForNotification();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 2);
}

TEST_P(KeySyncTest, StopWritesBackWhatChangedOneLastTime) {
  ASSERT_TRUE(sync().Reload().ok());
  sync().Start();
  ASSERT_TRUE(pool_.Lease("openai", 42, {}).ok());
  sync().Stop();
  EXPECT_EQ(QueryInt("SELECT requests_count_today FROM t_ai_api_keys WHERE id = 1"), 1);
  EXPECT_EQ(QueryInt("SELECT tokens_count_today FROM t_ai_api_keys WHERE id = 1"), 42);
}

TEST_P(KeySyncTest, TheChoresPollAndWriteBackOnTheirOwn) {
  ASSERT_TRUE(sync(Fast()).Reload().ok());
  sync().Start();
  ASSERT_TRUE(pool_.Lease("openai", 7, {}).ok());
  EXPECT_TRUE(Eventually([&] {
    return QueryInt("SELECT tokens_count_today FROM t_ai_api_keys WHERE id = 1") == 7;
  })) << "the counters were not written back";
  AddKey(2);
  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<std::vector<KeyStateView>> states = pool_.ListKeyStates("openai");
    return states.ok() && states->size() == 2;
  })) << "the new key was not polled";
  sync().Stop();
}

TEST_P(KeySyncTest, UpkeepRunsAtStartAndExpiresForgottenLeases) {
  ASSERT_TRUE(sync().Reload().ok());
  ASSERT_TRUE(pool_.Lease("openai", 0, {}).ok());
  ASSERT_EQ(pool_.outstanding_leases(), 1);
  clock_.Advance(KeyPoolOptions().lease_timeout + absl::Seconds(1));
  // The upkeep interval is an hour: only the run at start can expire it.
  sync().Start();
  EXPECT_TRUE(Eventually([&] { return pool_.outstanding_leases() == 0; }));
  sync().Stop();
}

TEST_P(KeySyncTest, AFailedWriteBackKeepsTheCountsForTheNextOne) {
  ASSERT_TRUE(sync().Reload().ok());
  ASSERT_TRUE(pool_.Lease("openai", 5, {}).ok());
  Exec("ALTER TABLE t_ai_api_keys RENAME TO t_ai_api_keys_away");
  EXPECT_FALSE(sync().Flush().ok());
  Exec("ALTER TABLE t_ai_api_keys_away RENAME TO t_ai_api_keys");
  ASSERT_TRUE(sync().Flush().ok());
  EXPECT_EQ(QueryInt("SELECT requests_count_today FROM t_ai_api_keys WHERE id = 1"), 1);
  EXPECT_EQ(QueryInt("SELECT tokens_count_today FROM t_ai_api_keys WHERE id = 1"), 5);
}

TEST_P(KeySyncTest, AFailedReloadKeepsWhatThePoolHad) {
  ASSERT_EQ(*sync().Reload(), 1);
  Exec("ALTER TABLE t_ai_api_keys RENAME TO t_ai_api_keys_away");
  EXPECT_FALSE(sync().Reload().ok());
  EXPECT_TRUE(pool_.Lease("openai", 0, {}).ok());
  Exec("ALTER TABLE t_ai_api_keys_away RENAME TO t_ai_api_keys");
}

INSTANTIATE_TEST_SUITE_P(Backends, KeySyncTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
