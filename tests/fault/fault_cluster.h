#ifndef AIGW_TESTS_FAULT_FAULT_CLUSTER_H_
#define AIGW_TESTS_FAULT_FAULT_CLUSTER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/db/database.h"
#include "tests/fault/upstream_limits.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/subprocess.h"

namespace aigw::fault {

// What the harness kills and brings back.
enum class Component { kUsage, kKeypool, kMariaDb };
std::string ComponentName(Component c);

struct BinaryPaths {
  std::string gateway, keypool, usage, admin, fake_upstream;
};

// What cluster to run.
struct ClusterOptions {
  // 1, or 2 for an active keypool and a standby: gateway and admin are
  // given both addresses, Kill(kKeypool) kills the active one and
  // Restart(kKeypool) brings it back (as the standby).
  int keypool_replicas = 1;
  // Gateways (each its own process, port and spool).
  int gateways = 1;
  // openai's keys with their limits; empty: one key without limits. With
  // keys, the fake answers gpt-4o-mini with a fixed usage
  // (kTokensPerAnswer) and records every request, so the harness can count
  // what each key received (CountUse).
  std::vector<KeyLimits> openai_keys;
  // More flags for every gateway.
  std::vector<std::string> gateway_flags;
};

// The whole cluster on one machine, every piece a real process: the fake
// upstream, keypool, usage, gateway and admin, over SQLite (a file in a
// temporary directory) or a private MariaDB server (PrivateMariaDb). Ports
// are picked once, so a component started again is found where it was.
//
// The catalogue is the seed one with the three providers pointed at the fake
// upstream, one key each; the fake answers deepseek-chat with 503 (for calls
// that fall back to openai) and gpt-3.5-turbo with 400 (for calls the
// provider refuses).
class FaultCluster {
 public:
  static constexpr char kJwtSecret[] = "fault-harness-jwt-secret-0123456789abcdef0123";

  // The usage the fake answers gpt-4o-mini with when keys have limits.
  static constexpr int64_t kTokensPerAnswer = 50;

  static absl::StatusOr<std::unique_ptr<FaultCluster>> Start(db::Backend backend,
                                                             const BinaryPaths& bins,
                                                             ClusterOptions options = {});
  ~FaultCluster();

  absl::Status Kill(Component c);
  // After Kill(kKeypool) with a standby: how long after the SIGKILL the
  // standby said it grants (its aigw.v1.KeyPool health SERVING); none when
  // it did not within 10 s.
  std::optional<absl::Duration> last_takeover() const { return last_takeover_; }
  int keypool_replicas() const { return static_cast<int>(keypool_ports_.size()); }
  // Starts `c` again and waits until it serves (the database: accepts
  // connections).
  absl::Status Restart(Component c);

  std::string gateway_target() const;
  // Every gateway.
  std::vector<std::string> gateway_targets() const;
  // Every gateway's metrics port (the first is gateway_metrics_port()).
  std::vector<int> gateway_metrics_ports() const { return gateway_metrics_ports_; }
  int upstream_port() const { return upstream_port_; }
  const ClusterOptions& options() const { return options_; }
  std::string usage_target() const;
  // Every keypool replica ("127.0.0.1:a,127.0.0.1:b" with a standby).
  std::string keypool_target() const;
  std::string admin_target() const;
  int gateway_metrics_port() const { return gateway_metrics_ports_[0]; }
  int usage_metrics_port() const { return usage_metrics_port_; }
  db::Backend backend() const { return backend_; }

  // A new connection to the cluster's database (the harness's own, opened
  // per use so that a database restart does not leave it broken).
  absl::StatusOr<std::unique_ptr<db::Database>> OpenDatabase() const;

  // When a keypool replica other than `other_than` (-1: any) first says
  // it grants (aigw.v1.KeyPool SERVING), checked every 5 ms; nothing if none
  // did within `timeout`.
  std::optional<absl::Time> WaitForGrantingKeypool(int other_than, absl::Duration timeout) const;

  // The processes that should be running and are not ("gateway exited: 139").
  std::vector<std::string> DeadProcesses();

  // The last lines each process wrote to stderr, for a failure report.
  std::string Logs(Component c) const;
  std::string GatewayLog() const;

 private:
  FaultCluster() = default;
  absl::Status StartKeypool(size_t replica);
  // The replica whose aigw.v1.KeyPool health is SERVING, or -1.
  int ActiveKeypool() const;
  absl::Status StartUsage();
  absl::Status StartGateways();
  absl::Status StartAdmin();
  absl::Status StartFakeUpstream();
  absl::Status Seed();

  db::Backend backend_ = db::Backend::kSqlite;
  ClusterOptions options_;
  BinaryPaths bins_;
  std::string dir_;  // SQLite file and the gateway's spool
  std::string db_url_;
  std::unique_ptr<testing::PrivateMariaDb> mariadb_;
  int upstream_port_ = 0;
  int usage_port_ = 0, admin_port_ = 0;
  std::vector<int> gateway_ports_, gateway_metrics_ports_;
  int usage_metrics_port_ = 0;
  std::vector<int> keypool_ports_;
  std::vector<std::unique_ptr<testing::Subprocess>> keypools_;
  int killed_keypool_ = 0;
  std::optional<absl::Duration> last_takeover_;
  std::unique_ptr<testing::Subprocess> upstream_, usage_, admin_;
  std::vector<std::unique_ptr<testing::Subprocess>> gateways_;
};

}  // namespace aigw::fault

#endif  // AIGW_TESTS_FAULT_FAULT_CLUSTER_H_
