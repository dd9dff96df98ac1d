#ifndef AIGW_TESTS_FAULT_RECOVERY_PROBES_H_
#define AIGW_TESTS_FAULT_RECOVERY_PROBES_H_

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/fault/fault_cluster.h"

namespace aigw::fault {

// After a component is started again: how long until each path that needs it
// works again. Polls every probe every 100 ms from `since` until each has
// succeeded once or `timeout` has passed.
//   usage ingests     the gateway's spool is empty again (aigw_gateway_spool_events 0)
//   usage queries     UsageService.QueryLogs answers OK
//   admin             AdminService.ListProviders answers OK
//   keypool reload    KeyPool.Reload (reads the keys from the database) answers OK
class RecoveryProbes {
 public:
  struct Result {
    std::string name;
    std::optional<absl::Duration> recovered_after;  // from `since`; none: never
    std::string last_error;                         // when it never recovered
  };

  RecoveryProbes(const FaultCluster* cluster, std::string admin_token);
  ~RecoveryProbes();

  void Start(absl::Time since, absl::Duration timeout);
  // Waits until every probe has recovered or the timeout passed.
  std::vector<Result> Wait();

 private:
  void Run();
  absl::Status Probe(size_t i);

  const FaultCluster* const cluster_;
  const std::string admin_token_;
  absl::Time since_;
  absl::Time deadline_;
  std::vector<Result> results_;  // written by the probe thread only until Wait joins it
  std::thread thread_;
};

// The value of an unlabelled sample in a Prometheus page on 127.0.0.1:port, or
// an error when the page or the sample is missing.
absl::StatusOr<double> ReadMetric(int port, const std::string& name);

}  // namespace aigw::fault

#endif  // AIGW_TESTS_FAULT_RECOVERY_PROBES_H_
