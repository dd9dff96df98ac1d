#ifndef AIGW_TESTS_TESTING_SUBPROCESS_H_
#define AIGW_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aigw::testing {

// A child process for integration tests over the real binaries. Its stdout
// and stderr go to files that the test can read. Killed (SIGKILL) if still
// running when destroyed.
class Subprocess {
 public:
  // `env` entries are added to (and override) the test's own environment;
  // an empty value removes the variable.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});
  ~Subprocess();

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits for exit; the exit code, 128+signal when killed by one, or
  // DeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  bool Running();

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = 0;
  std::string dir_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// Polls grpc.health.v1.Health/Check on `target` until SERVING or timeout.
absl::Status WaitForServing(const std::string& target, absl::Duration timeout);

// grpc.health.v1.Health/Check of `service` on `target`, once (500 ms):
// the HealthCheckResponse status (1 SERVING, 2 NOT_SERVING), or -1 without
// an answer.
int HealthStatusOf(const std::string& target, const std::string& service);
inline constexpr int kHealthServing = 1;
inline constexpr int kHealthNotServing = 2;

// GET http://127.0.0.1:<port><path>; the body, or an error for non-200.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// The value of one sample on the /metrics page at `port`: `series` is the
// name of an unlabelled metric ("aigw_db_up") or name and labels as printed
// ("aigw_db_errors_total{kind=\"busy\"}"). -1 when absent or unreachable.
double MetricValue(int port, const std::string& series);

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_SUBPROCESS_H_
