#include "libs/server/database_monitor.h"

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/testing/database_test.h"
#include "tests/testing/metric_value.h"

namespace aigw::server {
namespace {

using ::aigw::testing::MetricValue;

constexpr char kBound[] = "aigw.v1.UsageService";

// What a gRPC server's health service was told, by name; the overall status
// ("") counted apart.
class RecordingHealth : public grpc::HealthCheckServiceInterface {
 public:
  void SetServingStatus(const std::string& name, bool serving) override {
    absl::MutexLock l(&mu_);
    serving_[name] = serving;
  }
  void SetServingStatus(bool serving) override {
    absl::MutexLock l(&mu_);
    ++overall_sets_;
  }

  // "serving", "not serving", or "unset".
  std::string Status(const std::string& name) {
    absl::MutexLock l(&mu_);
    auto it = serving_.find(name);
    if (it == serving_.end()) return "unset";
    return it->second ? "serving" : "not serving";
  }
  int overall_sets() {
    absl::MutexLock l(&mu_);
    return overall_sets_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, bool> serving_;
  int overall_sets_ = 0;
};

class DatabaseMonitorTest : public testing::DatabaseTest {
 protected:
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    return MetricValue(registry_, name, labels);
  }

  prometheus::Registry registry_;
  RecordingHealth health_;
};

TEST_P(DatabaseMonitorTest, StartsUpWithEveryCounterAtZero) {
  DatabaseMonitor monitor(&db(), registry_, {kBound});
  EXPECT_EQ(Metric("aigw_db_up"), 1);
  for (const char* kind : {"connection", "busy", "query"}) {
    EXPECT_EQ(Metric("aigw_db_errors_total", {{"kind", kind}}), 0) << kind;
  }
  EXPECT_EQ(Metric("aigw_db_reconnects_total", {{"result", "ok"}}), 0);
  EXPECT_EQ(Metric("aigw_db_reconnects_total", {{"result", "failed"}}), 0);
}

TEST_P(DatabaseMonitorTest, ObservesTheDatabasesFailedCallsUntilItIsGone) {
  {
    DatabaseMonitor monitor(&db(), registry_, {});
    EXPECT_FALSE(testing::ExecSql(db(), "SELECT no_such_column FROM t_ai_providers").ok());
    EXPECT_EQ(Metric("aigw_db_errors_total", {{"kind", "query"}}), 1);
    EXPECT_EQ(Metric("aigw_db_errors_total", {{"kind", "connection"}}), 0);
  }
  // The monitor is gone: the database reports to no one (and does not crash).
  EXPECT_FALSE(testing::ExecSql(db(), "SELECT no_such_column FROM t_ai_providers").ok());
}

TEST_P(DatabaseMonitorTest, CountsErrorsByKindAndReconnectsByResult) {
  DatabaseMonitor monitor(&db(), registry_, {});
  monitor.OnError(db::DbErrorKind::kConnection);
  monitor.OnError(db::DbErrorKind::kConnection);
  monitor.OnError(db::DbErrorKind::kBusy);
  monitor.OnReconnect(false);
  monitor.OnReconnect(false);
  monitor.OnReconnect(true);
  EXPECT_EQ(Metric("aigw_db_errors_total", {{"kind", "connection"}}), 2);
  EXPECT_EQ(Metric("aigw_db_errors_total", {{"kind", "busy"}}), 1);
  EXPECT_EQ(Metric("aigw_db_errors_total", {{"kind", "query"}}), 0);
  EXPECT_EQ(Metric("aigw_db_reconnects_total", {{"result", "failed"}}), 2);
  EXPECT_EQ(Metric("aigw_db_reconnects_total", {{"result", "ok"}}), 1);
}

TEST_P(DatabaseMonitorTest, HealthFollowsTheDatabaseButLeavesTheOverallStatusAlone) {
  DatabaseMonitor monitor(&db(), registry_, {kBound});
  // Nothing is set before a health service is attached.
  monitor.OnAvailability(false, "lost connection");
  EXPECT_EQ(Metric("aigw_db_up"), 0);
  EXPECT_EQ(health_.Status(kDatabaseHealthName), "unset");

  // Attached, it is set at once to the database's state (up: SQLite never
  // goes away).
  monitor.AttachHealth(&health_);
  EXPECT_EQ(health_.Status(kDatabaseHealthName), "serving");
  EXPECT_EQ(health_.Status(kBound), "serving");

  monitor.OnAvailability(false, "lost connection");
  EXPECT_EQ(Metric("aigw_db_up"), 0);
  EXPECT_EQ(health_.Status(kDatabaseHealthName), "not serving");
  EXPECT_EQ(health_.Status(kBound), "not serving");
  EXPECT_EQ(health_.Status("aigw.v1.Other"), "unset");

  monitor.OnAvailability(true, "");
  EXPECT_EQ(Metric("aigw_db_up"), 1);
  EXPECT_EQ(health_.Status(kDatabaseHealthName), "serving");
  EXPECT_EQ(health_.Status(kBound), "serving");
  // A liveness probe must not restart a service that waits for its database.
  EXPECT_EQ(health_.overall_sets(), 0);
}

TEST_P(DatabaseMonitorTest, AfterStopTheHealthIsLeftToTheShutdown) {
  DatabaseMonitor monitor(&db(), registry_, {kBound});
  monitor.AttachHealth(&health_);
  monitor.StartProbing(absl::Milliseconds(1));
  monitor.Stop();
  monitor.OnAvailability(false, "lost connection");
  // The metric still follows; the health statuses are left to the shutdown.
  EXPECT_EQ(Metric("aigw_db_up"), 0);
  EXPECT_EQ(health_.Status(kDatabaseHealthName), "serving");
  EXPECT_EQ(health_.Status(kBound), "serving");
  monitor.Stop();  // twice: no harm
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseMonitorTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::server
