#include "services/usage/log_retention.h"

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "prometheus/registry.h"
#include "services/usage/usage_store.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"
#include "tests/usage/usage_test_util.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::TestDatabase;
using namespace ::aigw::usage::testing;  // NOLINT(build/namespaces)

class LogRetentionTest : public UsageDbTest {
 protected:
  void SetUp() override {
    UsageDbTest::SetUp();
    if (HasFatalFailure()) return;
    auto store = UsageStore::Create(&db(), {}, metrics_.get(), &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }


  // `n` events named <prefix>0.. at `t`, `t`+1ms, ...
  void RecordAt(const std::string& prefix, absl::Time t, int n = 1) {
    std::vector<v1::CallEvent> events;
    for (int i = 0; i < n; ++i) {
      EventSpec s;
      s.request_id = absl::StrCat(prefix, i);
      s.created_at = t + absl::Milliseconds(i);
      events.push_back(MakeEvent(s));
    }
    absl::StatusOr<RecordResult> r = store_->RecordCalls(Batch(events).events());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->accepted, n);
  }

  std::set<std::string> RequestIds() {
    std::set<std::string> out;
    absl::Status st = db().Run([&](soci::session& s) {
      std::string id;
      soci::statement q = (s.prepare << "SELECT request_id FROM t_ai_api_logs", soci::into(id));
      q.execute();
      while (q.fetch()) out.insert(id);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  std::vector<std::string> Partitions() {
    std::vector<std::string> out;
    if (db().backend() != db::Backend::kMySql) return out;
    absl::Status st = db().Run([&](soci::session& s) {
      std::string name;
      soci::statement q = (s.prepare << "SELECT PARTITION_NAME FROM information_schema.PARTITIONS "
                                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = "
                                        "'t_ai_api_logs' ORDER BY PARTITION_ORDINAL_POSITION",
                           soci::into(name));
      q.execute();
      while (q.fetch()) out.push_back(name);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  std::unique_ptr<UsageStore> store_;
};

TEST_P(LogRetentionTest, DeletesExactlyTheRowsOlderThanTheRetention) {
  const absl::Time cutoff = TestNow() - absl::Hours(24 * 30);
  RecordAt("ancient-", TestNow() - absl::Hours(24 * 200), 5);
  RecordAt("old-", TestNow() - absl::Hours(24 * 45), 23);
  RecordAt("edge-before-", cutoff - absl::Milliseconds(1));
  RecordAt("edge-at-", cutoff);
  RecordAt("edge-after-", cutoff + absl::Milliseconds(1));
  RecordAt("recent-", TestNow() - absl::Hours(24), 10);
  RecordAt("now-", TestNow());
  const StatsTable stats_before = ReadStats(db());

  RetentionOptions options;
  options.retention_days = 30;
  options.batch_rows = 4;  // many small batches
  LogRetention retention(&db(), options, metrics_.get(), &clock_);
  absl::StatusOr<RetentionReport> report = retention.RunOnce();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->deleted_rows, 5 + 23 + 1);
  EXPECT_EQ(metrics_->retention_deleted_rows->Value(), 29);

  std::set<std::string> want = {"edge-at-0", "edge-after-0", "now-0"};
  for (int i = 0; i < 10; ++i) want.insert(absl::StrCat("recent-", i));
  EXPECT_EQ(RequestIds(), want);
  // The daily statistics stay.
  EXPECT_EQ(ReadStats(db()), stats_before);

  // Nothing more to do until time passes.
  report = retention.RunOnce();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->deleted_rows, 0);
  clock_.Advance(absl::Milliseconds(1));
  report = retention.RunOnce();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->deleted_rows, 1);  // edge-at-0 is now past the cutoff
  EXPECT_EQ(RequestIds().count("edge-at-0"), 0u);
}

TEST_P(LogRetentionTest, ZeroDaysKeepsEverything) {
  RecordAt("old-", TestNow() - absl::Hours(24 * 400), 3);
  RetentionOptions options;
  options.retention_days = 0;
  LogRetention retention(&db(), options, metrics_.get(), &clock_);
  absl::StatusOr<RetentionReport> report = retention.RunOnce();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->deleted_rows, 0);
  EXPECT_EQ(RequestIds().size(), 3u);
}

TEST_P(LogRetentionTest, TheBackgroundJobRunsAtStartAndStopsPromptly) {
  RecordAt("old-", TestNow() - absl::Hours(24 * 100), 3);
  RecordAt("new-", TestNow(), 2);
  RetentionOptions options;
  options.retention_days = 30;
  options.interval = absl::Hours(1);
  LogRetention retention(&db(), options, metrics_.get(), &clock_);
  retention.Start();
  // The first run happens at once; wait for its effect (bounded).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (RequestIds().size() != 2 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(RequestIds(), (std::set<std::string>{"new-0", "new-1"}));
  const absl::Time before_stop = absl::Now();
  retention.Stop();
  // Stop does not wait for the hour-long interval.
  EXPECT_LT(absl::Now() - before_stop, absl::Seconds(10));
}

// MySQL: whole months go as partitions, the rest by DELETE, and the result
// is still exactly the expired rows; ingestion and idempotency keep working
// on the partitioned table.
TEST_P(LogRetentionTest, MySqlDropsExpiredMonthlyPartitions) {
  if (GetParam() != db::Backend::kMySql) GTEST_SKIP() << "partitions are MySQL only";
  EXPECT_EQ(Partitions(), std::vector<std::string>{"pmax"});  // as migration 3 leaves it
  auto at = [](int y, int m, int d) {
    return absl::FromCivil(absl::CivilSecond(y, m, d, 6, 0, 0), absl::UTCTimeZone());
  };
  RecordAt("nov-", at(2025, 11, 20), 4);
  RecordAt("dec-", at(2025, 12, 5), 3);
  RecordAt("jan-", at(2026, 1, 15), 2);
  RecordAt("feb-early-", at(2026, 2, 2), 2);
  RecordAt("feb-late-", at(2026, 2, 25), 2);
  RecordAt("mar-", at(2026, 3, 9), 2);

  // Now 2026-03-10 12:00; 30 days: cutoff 2026-02-08 12:00. Months before
  // the cutoff's get no partition of their own: their rows share February's
  // and go by DELETE, like February's expired part.
  RetentionOptions options;
  options.retention_days = 30;
  options.batch_rows = 1;
  options.partition_months_ahead = 2;
  LogRetention retention(&db(), options, metrics_.get(), &clock_);
  absl::StatusOr<RetentionReport> report = retention.RunOnce();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->created_partitions, 4);  // 2026-02 .. 2026-05
  EXPECT_EQ(report->dropped_partitions, 0);
  EXPECT_EQ(report->deleted_rows, 4 + 3 + 2 + 2);
  EXPECT_EQ(Partitions(),
            (std::vector<std::string>{"p202602", "p202603", "p202604", "p202605", "pmax"}));
  EXPECT_EQ(RequestIds(), (std::set<std::string>{"feb-late-0", "feb-late-1", "mar-0", "mar-1"}));

  // Rows keep landing in the right partitions and resends are still caught.
  RecordAt("apr-", at(2026, 4, 3), 2);
  absl::StatusOr<RecordResult> again = store_->RecordCalls(Batch({[&] {
                                                             EventSpec s;
                                                             s.request_id = "apr-0";
                                                             s.created_at = at(2026, 4, 3);
                                                             return MakeEvent(s);
                                                           }()})
                                                               .events());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM t_ai_api_logs PARTITION (p202604)"), 2);

  // A month later (2026-04-10, cutoff 2026-03-11 12:00): February's
  // partition is dropped whole, March's expired rows go by DELETE, one more
  // month is added ahead.
  clock_.Advance(absl::Hours(24 * 31));
  report = retention.RunOnce();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->dropped_partitions, 1);
  EXPECT_EQ(report->created_partitions, 1);  // 2026-06
  EXPECT_EQ(report->deleted_rows, 4);
  EXPECT_EQ(RequestIds(), (std::set<std::string>{"apr-0", "apr-1"}));
  EXPECT_EQ(Partitions(),
            (std::vector<std::string>{"p202603", "p202604", "p202605", "p202606", "pmax"}));
  // The daily statistics keep every event ever recorded.
  EXPECT_EQ(QueryInt("SELECT SUM(attempt_count) FROM t_ai_usage_stats"), 17);
}

// Partitions made while retention was off (from the oldest month with data)
// go whole once it is switched on.
TEST_P(LogRetentionTest, MySqlDropsSeveralWholeMonthsAtOnce) {
  if (GetParam() != db::Backend::kMySql) GTEST_SKIP() << "partitions are MySQL only";
  auto at = [](int y, int m, int d) {
    return absl::FromCivil(absl::CivilSecond(y, m, d, 6, 0, 0), absl::UTCTimeZone());
  };
  RecordAt("nov-", at(2025, 11, 20), 4);
  RecordAt("dec-", at(2025, 12, 5), 3);
  RecordAt("jan-", at(2026, 1, 15), 2);
  RecordAt("feb-early-", at(2026, 2, 2), 2);
  RecordAt("mar-", at(2026, 3, 9), 2);
  RetentionOptions keep_all;
  keep_all.retention_days = 0;
  keep_all.partition_months_ahead = 1;
  absl::StatusOr<RetentionReport> report =
      LogRetention(&db(), keep_all, metrics_.get(), &clock_).RunOnce();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->created_partitions, 6);  // 2025-11 .. 2026-04
  EXPECT_EQ(report->deleted_rows, 0);
  EXPECT_EQ(RequestIds().size(), 13u);

  RetentionOptions thirty;
  thirty.retention_days = 30;  // cutoff 2026-02-08 12:00
  thirty.partition_months_ahead = 1;
  report = LogRetention(&db(), thirty, metrics_.get(), &clock_).RunOnce();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->dropped_partitions, 3);
  EXPECT_EQ(report->created_partitions, 0);
  EXPECT_EQ(report->deleted_rows, 4 + 3 + 2 + 2);
  EXPECT_EQ(Partitions(), (std::vector<std::string>{"p202602", "p202603", "p202604", "pmax"}));
  EXPECT_EQ(RequestIds(), (std::set<std::string>{"mar-0", "mar-1"}));
  EXPECT_EQ(metrics_->retention_dropped_partitions->Value(), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, LogRetentionTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::usage
