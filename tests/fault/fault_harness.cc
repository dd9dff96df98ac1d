// aigw-fault-harness: the real binaries under load; usage, the keypool and
// the MariaDB server killed (SIGKILL) in turn and started again; what the
// clients saw compared with the call log. Exit code 0 when every kill ends
// with 0 lost, 0 counted twice, every answer matching its log rows, the
// aggregates equal to the log and every service back; 1 otherwise; 2 when
// the cluster could not be set up. See docs/FAULTS.md.
//
//   fault_harness --backend=mariadb --kills=usage,keypool,mariadb
//   fault_harness --backend=sqlite --kills=usage,keypool --down=10s --load_after=10s

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "libs/auth/jwt.h"
#include "soci/soci.h"
#include "tests/fault/call_log_audit.h"
#include "tests/fault/fault_callers.h"
#include "tests/fault/fault_cluster.h"
#include "tests/fault/recovery_probes.h"

ABSL_FLAG(std::string, backend, "sqlite", "sqlite | mariadb (a private mariadbd of its own)");
ABSL_FLAG(std::string, kills, "usage,keypool",
          "what to kill, in turn: usage, usage-replay (usage again while the gateway replays its "
          "spool), keypool, mariadb (mariadb backend only)");
ABSL_FLAG(int, clients, 4, "concurrent clients");
ABSL_FLAG(absl::Duration, load_before, absl::Seconds(2), "load before each kill");
ABSL_FLAG(absl::Duration, down, absl::Seconds(2), "how long the killed component stays down");
ABSL_FLAG(absl::Duration, load_after, absl::Seconds(3), "load after it is back");
ABSL_FLAG(absl::Duration, settle, absl::Seconds(1),
          "the last part of the load after the restart, in which no call may fail because of "
          "the kill (the cluster must be whole again by then)");
ABSL_FLAG(absl::Duration, max_recovery, absl::Seconds(5),
          "after the restart, how long each path (and the clients' calls) may take to work "
          "again");
ABSL_FLAG(absl::Duration, max_failing_after_granting, absl::Milliseconds(200),
          "keypool kills: no call may fail later than this after a keypool grants again "
          "(the standby's takeover, or the restarted replica's)");
ABSL_FLAG(absl::Duration, give_up_after, absl::Seconds(60),
          "after the restart, how long to keep measuring a path that does not work again");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "after the load, how long the gateway may take to deliver its events");
ABSL_FLAG(bool, markdown, false, "also print the figures as a docs/FAULTS.md table");
ABSL_FLAG(int, gateways, 1, "gateways (the clients spread over them)");
ABSL_FLAG(std::string, openai_keys, "",
          "openai's keys with limits, rpm:tpm:rpd each (0 = none), comma-separated; then what "
          "each key received is counted at the fake upstream and no key may get more than its "
          "limits + --max_overshoot. Empty: one key without limits");
ABSL_FLAG(double, max_overshoot, 0.01,
          "with --openai_keys: how far over a limit (a fraction of it) a key may be driven");
ABSL_FLAG(std::string, gateway_flags, "",
          "more flags for every gateway, space-separated (e.g. --keypool_handover_wait=0)");
ABSL_FLAG(int, keypool_replicas, 1,
          "1, or 2 for an active keypool and a standby (the keypool kill then kills the active "
          "one and the standby must take over)");

namespace aigw::fault {
namespace {

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.2fs", absl::ToDoubleSeconds(d)); }

std::string Token(const std::string& role, const std::string& subject) {
  auth::Claims c;
  c.subject = subject;
  c.role = role;
  c.expires_at = absl::Now() + absl::Hours(6);
  return *auth::MintJwt(FaultCluster::kJwtSecret, c);
}

// One entry of --kills.
struct KillPlan {
  std::string name;
  Component component;
  // "usage-replay": usage is killed a second time as soon as the gateway
  // begins to send what it spooled during the first outage (a replay cut
  // short must neither lose nor double anything), then started again.
  bool again_mid_replay = false;
};

absl::StatusOr<KillPlan> ParseKill(absl::string_view name) {
  if (name == "usage") return KillPlan{"usage", Component::kUsage};
  if (name == "usage-replay") return KillPlan{"usage-replay", Component::kUsage, true};
  if (name == "keypool") return KillPlan{"keypool", Component::kKeypool};
  if (name == "mariadb") return KillPlan{"mariadb", Component::kMariaDb};
  return absl::InvalidArgumentError(
      absl::StrCat("--kills: '", name, "' is none of usage, usage-replay, keypool, mariadb"));
}

// A call that failed for no reason of its own: neither a refusal the
// harness asked for (kInvalid, kRefused) nor a success, nor a call refused
// because every key was at its limits (the keypool doing its job).
bool FailedByFault(const CallRecord& r) {
  if (r.code == grpc::StatusCode::OK) return false;
  if (r.code == grpc::StatusCode::RESOURCE_EXHAUSTED &&
      absl::StrContains(r.message, "No available API keys")) {
    return false;
  }
  return r.kind != CallKind::kInvalid && r.kind != CallKind::kRefused;
}

long long CountRows(db::Database& db, const std::string& prefix) {
  long long n = -1;
  const std::string pattern = prefix + "%";
  (void)db.Run([&](soci::session& s) {
    s << "SELECT COUNT(*) FROM t_ai_api_logs WHERE request_id LIKE :p", soci::use(pattern),
        soci::into(n);
    return absl::OkStatus();
  });
  return n;
}

// Waits until the gateway holds no event (queue and spool empty) and the
// phase's rows stopped changing; how long that took, or none at the timeout.
std::optional<absl::Duration> WaitDrained(FaultCluster& cluster, const std::string& prefix,
                                          absl::Duration timeout, std::string* last_state) {
  const absl::Time start = absl::Now();
  long long last_rows = -2;
  int stable = 0;
  while (absl::Now() - start < timeout) {
    absl::StatusOr<double> queued = 0.0;
    absl::StatusOr<double> spooled = 0.0;
    for (int port : cluster.gateway_metrics_ports()) {
      absl::StatusOr<double> q = ReadMetric(port, "aigw_gateway_event_queue_depth");
      absl::StatusOr<double> sp = ReadMetric(port, "aigw_gateway_spool_events");
      if (!q.ok() || !sp.ok() || !queued.ok() || !spooled.ok()) {
        queued = q.ok() ? queued : q;
        spooled = sp.ok() ? spooled : sp;
        continue;
      }
      queued = *queued + *q;
      spooled = *spooled + *sp;
    }
    long long rows = -1;
    if (absl::StatusOr<std::unique_ptr<db::Database>> db = cluster.OpenDatabase(); db.ok()) {
      rows = CountRows(**db, prefix);
    }
    *last_state = absl::StrCat("queue ", queued.ok() ? *queued : -1, ", spool ",
                               spooled.ok() ? *spooled : -1, ", rows ", rows);
    const bool empty = queued.ok() && spooled.ok() && *queued == 0 && *spooled == 0 && rows >= 0;
    stable = empty && rows == last_rows ? stable + 1 : 0;
    last_rows = rows;
    // Three looks 200 ms apart with nothing left and nothing arriving: a
    // batch in flight (out of the queue, not yet committed) has landed.
    if (stable >= 3) return absl::Now() - start;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return std::nullopt;
}

struct KillReport {
  KillPlan plan;
  // usage-replay: events spooled when usage was killed again, and after.
  double spooled_at_second_kill = -1, spooled_at_replay = -1;
  absl::Duration down;
  absl::Duration back_up;  // restart to SERVING (the database: accepting connections)
  // Keypool kill with a standby: SIGKILL of the active one to the standby
  // granting.
  std::optional<absl::Duration> takeover;
  std::optional<absl::Duration> clients_ok;  // restart to the end of the last failed call
  // Keypool kills: a keypool granting again (the standby's takeover, or the
  // restarted replica's) to the end of the last failed call (zero when none
  // ended after it).
  std::optional<absl::Duration> granting_to_last_failure;
  int64_t failed_by_fault = 0;
  std::optional<absl::Duration> drained;  // load stopped to every event delivered
  std::vector<RecoveryProbes::Result> probes;
  CallLogAudit audit;
  StatsAudit stats;
  // With --openai_keys: what each key received at the fake upstream (the
  // whole run so far).
  std::vector<KeyUse> key_use;
  // Calls served from gateways' allotments (their metrics, summed).
  double allotment_leases = 0;
  std::vector<std::string> problems;  // anything that makes this kill fail
};

std::string Outcomes(const CallLogAudit& a) {
  std::vector<std::string> parts;
  for (const auto& [code, n] : a.by_code) parts.push_back(absl::StrCat(code, " ", n));
  return absl::StrJoin(parts, ", ");
}

std::string LogErrorCodes(const CallLogAudit& a) {
  std::vector<std::string> parts;
  for (const auto& [code, n] : a.errors_by_log_code) parts.push_back(absl::StrCat(code, " ", n));
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

std::string ProbeFigure(const RecoveryProbes::Result& p) {
  return p.recovered_after.has_value() ? Seconds(*p.recovered_after)
                                       : absl::StrCat("never (", p.last_error, ")");
}

void Print(const std::string& backend, const KillReport& r) {
  const CallLogAudit& a = r.audit;
  std::printf("kill %s (%s): down %s, back up %s after the restart\n", r.plan.name.c_str(),
              backend.c_str(), Seconds(r.down).c_str(), Seconds(r.back_up).c_str());
  if (r.takeover.has_value()) {
    std::printf("  the standby granted %s after the kill\n", Seconds(*r.takeover).c_str());
  }
  if (r.plan.again_mid_replay) {
    std::printf(
        "  killed again at usage's first RecordCalls: %.0f events spooled, %.0f after the kill\n",
        r.spooled_at_replay, r.spooled_at_second_kill);
  }
  std::printf("  calls %lld: %s\n", static_cast<long long>(a.calls), Outcomes(a).c_str());
  std::printf("  failed because of the kill: %lld; clients all OK again %s after the restart\n",
              static_cast<long long>(r.failed_by_fault),
              r.clients_ok.has_value() ? Seconds(*r.clients_ok).c_str() : "never");
  if (r.granting_to_last_failure.has_value()) {
    std::printf("  last failed call ended %s after a keypool granted again\n",
                Seconds(*r.granting_to_last_failure).c_str());
  }
  std::printf(
      "  call log: %lld rows; %lld calls must be logged: lost %lld, double %lld, "
      "mismatched %lld, unexpected rows %lld, unanswered %lld\n",
      static_cast<long long>(a.rows), static_cast<long long>(a.must_log),
      static_cast<long long>(a.lost), static_cast<long long>(a.doubled),
      static_cast<long long>(a.mismatched), static_cast<long long>(a.unexpected),
      static_cast<long long>(a.unanswered));
  std::printf("  failed calls by the log's error_code: %s\n", LogErrorCodes(a).c_str());
  std::printf("  aggregates = log: %s\n",
              r.stats.ok() ? "yes" : absl::StrJoin(r.stats.differences, "; ").c_str());
  for (const KeyUse& u : r.key_use) {
    std::printf(
        "  key %s (rpm %lld, tpm %lld, rpd %lld) at the upstream: busiest minute %lld requests, "
        "%lld tokens; %lld requests in all; over: rpm %.2f%%, tpm %.2f%%, rpd %.2f%%\n",
        u.limits.api_key.substr(0, 18).c_str(), static_cast<long long>(u.limits.rpm),
        static_cast<long long>(u.limits.tpm), static_cast<long long>(u.limits.rpd),
        static_cast<long long>(u.max_minute_requests), static_cast<long long>(u.max_minute_tokens),
        static_cast<long long>(u.requests), 100 * u.rpm_over, 100 * u.tpm_over, 100 * u.rpd_over);
  }
  if (!r.key_use.empty()) {
    std::printf("  calls served from the gateways' allotments: %.0f\n", r.allotment_leases);
  }
  std::printf("  events delivered %s after the load stopped\n",
              r.drained.has_value() ? Seconds(*r.drained).c_str() : "NEVER");
  std::vector<std::string> probes;
  for (const auto& p : r.probes) probes.push_back(absl::StrCat(p.name, " ", ProbeFigure(p)));
  std::printf("  after the restart: %s\n", absl::StrJoin(probes, ", ").c_str());
  for (const std::string& e : a.examples) std::printf("    e.g. %s\n", e.c_str());
  for (const std::string& p : r.problems) std::printf("  FAIL: %s\n", p.c_str());
  std::printf("  %s\n\n", r.problems.empty() ? "PASS" : "FAIL");
  std::fflush(stdout);
}

// The kill as the table names it: with a standby, how fast it took over
// and how many calls the kill failed.
std::string KillName(const KillReport& r) {
  if (!r.takeover.has_value()) return r.plan.name;
  return absl::StrCat(r.plan.name, " (standby took over in ", Seconds(*r.takeover), "; ",
                      r.failed_by_fault, " calls failed)");
}

void PrintMarkdown(const std::string& backend, const std::vector<KillReport>& reports) {
  std::printf(
      "| kill | db | down | calls | client-visible outcomes | log rows | lost | double | "
      "aggregates = log | back up | clients OK again | spool drained | admin / usage queries / "
      "keypool reload OK |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const KillReport& r : reports) {
    const CallLogAudit& a = r.audit;
    std::printf(
        "| %s | %s | %s | %lld | %s | %lld | %lld | %lld | %s | %s | %s | %s | %s / %s / %s |\n",
        KillName(r).c_str(), backend.c_str(), Seconds(r.down).c_str(),
        static_cast<long long>(a.calls), Outcomes(a).c_str(), static_cast<long long>(a.rows),
        static_cast<long long>(a.lost), static_cast<long long>(a.doubled),
        r.stats.ok() ? "yes" : "NO", Seconds(r.back_up).c_str(),
        r.clients_ok.has_value() ? Seconds(*r.clients_ok).c_str() : "never",
        ProbeFigure(r.probes[0]).c_str(), ProbeFigure(r.probes[2]).c_str(),
        ProbeFigure(r.probes[1]).c_str(), ProbeFigure(r.probes[3]).c_str());
  }
}

// Restarted usage has begun to take the gateway's spool: kills usage again
// as soon as its first RecordCalls arrives. Returns the spool's events then
// and when the second kill was done.
std::pair<double, double> KillMidReplay(FaultCluster& cluster, std::vector<std::string>* problems) {
  const std::string record_calls =
      "aigw_grpc_server_started_total{grpc_method=\"RecordCalls\","
      "grpc_service=\"aigw.v1.UsageService\"}";
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  double before = -1;
  while (absl::Now() < deadline &&
         ReadMetric(cluster.usage_metrics_port(), record_calls).value_or(0) == 0) {
    before = ReadMetric(cluster.gateway_metrics_port(), "aigw_gateway_spool_events").value_or(-1);
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (absl::Status st = cluster.Kill(Component::kUsage); !st.ok()) {
    problems->push_back(absl::StrCat("second kill: ", st.message()));
  }
  return {before,
          ReadMetric(cluster.gateway_metrics_port(), "aigw_gateway_spool_events").value_or(-1)};
}

// What each key received at the fake upstream, held against its limits.
void CheckKeyUse(FaultCluster& cluster, KillReport* r) {
  absl::StatusOr<std::vector<UpstreamRequest>> requests =
      FetchUpstreamRequests(cluster.upstream_port());
  if (!requests.ok()) {
    r->problems.push_back(
        absl::StrCat("reading the fake upstream's requests: ", requests.status().message()));
    return;
  }
  r->key_use = CountUse(cluster.options().openai_keys, *requests, FaultCluster::kTokensPerAnswer);
  const double max_over = absl::GetFlag(FLAGS_max_overshoot);
  for (const KeyUse& u : r->key_use) {
    for (const auto& [name, over] : {std::pair<const char*, double>{"RPM", u.rpm_over},
                                     {"TPM", u.tpm_over},
                                     {"RPD", u.rpd_over}}) {
      if (over > max_over) {
        r->problems.push_back(absl::StrFormat("key %s got %.2f%% over its %s at the upstream",
                                              u.limits.api_key, 100 * over, name));
      }
    }
  }
  for (int port : cluster.gateway_metrics_ports()) {
    r->allotment_leases +=
        ReadMetric(port, "aigw_gateway_key_leases_total{source=\"allotment\"}").value_or(0);
  }
}

KillReport RunKill(FaultCluster& cluster, FaultCallers& callers, const KillPlan& plan, int index,
                   const std::string& admin_token) {
  KillReport r;
  r.plan = plan;
  const Component component = plan.component;
  const std::string prefix = absl::StrCat("fault", index, plan.name, "-");
  callers.Start(prefix);
  absl::SleepFor(absl::GetFlag(FLAGS_load_before));
  const absl::Time killed = absl::Now();
  if (absl::Status st = cluster.Kill(component); !st.ok()) {
    r.problems.push_back(absl::StrCat("kill: ", st.message()));
  }
  if (component == Component::kKeypool && cluster.keypool_replicas() > 1) {
    r.takeover = cluster.last_takeover();
    if (!r.takeover.has_value()) r.problems.push_back("the standby keypool did not take over");
  }
  absl::SleepFor(absl::GetFlag(FLAGS_down));
  absl::Time restarted = absl::Now();
  r.down = restarted - killed;
  absl::Status back = cluster.Restart(component);
  if (back.ok() && plan.again_mid_replay) {
    std::tie(r.spooled_at_replay, r.spooled_at_second_kill) = KillMidReplay(cluster, &r.problems);
    absl::SleepFor(absl::Seconds(1));
    restarted = absl::Now();
    back = cluster.Restart(component);
  }
  r.back_up = absl::Now() - restarted;
  if (!back.ok()) r.problems.push_back(absl::StrCat("restart: ", back.message()));
  RecoveryProbes probes(&cluster, admin_token);
  probes.Start(restarted, absl::GetFlag(FLAGS_give_up_after));
  std::optional<absl::Time> granting_at;
  if (r.takeover.has_value()) granting_at = killed + *r.takeover;
  if (component == Component::kKeypool && !granting_at.has_value() && back.ok()) {
    // The restarted lone replica serves once it holds the lease.
    granting_at = cluster.WaitForGrantingKeypool(/*other_than=*/-1,
                                                 absl::GetFlag(FLAGS_give_up_after));
    if (!granting_at.has_value()) r.problems.push_back("the restarted keypool never granted");
  }
  absl::SleepFor(absl::GetFlag(FLAGS_load_after));
  std::vector<CallRecord> calls = callers.Stop();
  const absl::Time load_stopped = absl::Now();

  std::string drain_state;
  r.drained = WaitDrained(cluster, prefix, absl::GetFlag(FLAGS_drain_timeout), &drain_state);
  if (!r.drained.has_value()) {
    r.problems.push_back(absl::StrCat("the gateway's events were not delivered within ",
                                      Seconds(absl::GetFlag(FLAGS_drain_timeout)), " (",
                                      drain_state, ")"));
  }
  r.probes = probes.Wait();
  for (const auto& p : r.probes) {
    if (!p.recovered_after.has_value()) {
      r.problems.push_back(absl::StrCat(p.name, " did not work again within ",
                                        Seconds(absl::GetFlag(FLAGS_give_up_after)),
                                        " of the restart: ", p.last_error));
    } else if (*p.recovered_after > absl::GetFlag(FLAGS_max_recovery)) {
      r.problems.push_back(absl::StrCat(p.name, " worked again only ", Seconds(*p.recovered_after),
                                        " after the restart"));
    }
  }
  absl::Time last_failure = absl::InfinitePast();
  for (const CallRecord& c : calls) {
    if (!FailedByFault(c)) continue;
    ++r.failed_by_fault;
    last_failure = std::max(last_failure, c.end);
  }
  r.clients_ok = last_failure < restarted ? absl::ZeroDuration() : last_failure - restarted;
  if (granting_at.has_value()) {
    r.granting_to_last_failure = std::max(absl::ZeroDuration(), last_failure - *granting_at);
    if (*r.granting_to_last_failure > absl::GetFlag(FLAGS_max_failing_after_granting)) {
      r.problems.push_back(absl::StrCat("a call failed ", Seconds(*r.granting_to_last_failure),
                                        " after a keypool granted again"));
    }
  }
  if (*r.clients_ok > absl::GetFlag(FLAGS_max_recovery)) {
    r.problems.push_back(
        absl::StrCat("calls failed until ", Seconds(*r.clients_ok), " after the restart"));
  }
  // Calls failing until the end: the clients never saw the cluster whole.
  if (last_failure > load_stopped - absl::GetFlag(FLAGS_settle)) {
    r.clients_ok.reset();
    r.problems.push_back(absl::StrCat("calls were still failing in the last ",
                                      Seconds(absl::GetFlag(FLAGS_settle)), " of the load"));
  }

  absl::StatusOr<std::unique_ptr<db::Database>> db = cluster.OpenDatabase();
  if (!db.ok()) {
    r.problems.push_back(
        absl::StrCat("cannot open the database to audit it: ", db.status().message()));
    return r;
  }
  absl::StatusOr<CallLogAudit> audit = AuditCallLog(**db, prefix, calls);
  if (!audit.ok()) {
    r.problems.push_back(absl::StrCat("reading the call log: ", audit.status().message()));
    return r;
  }
  r.audit = *std::move(audit);
  if (!r.audit.ok()) {
    r.problems.push_back(absl::StrCat("the call log disagrees with the clients: lost ",
                                      r.audit.lost, ", double ", r.audit.doubled, ", mismatched ",
                                      r.audit.mismatched, ", unexpected rows ", r.audit.unexpected,
                                      ", unanswered ", r.audit.unanswered));
  }
  absl::StatusOr<StatsAudit> stats = AuditStats(**db);
  if (!stats.ok()) {
    r.problems.push_back(absl::StrCat("reading the aggregates: ", stats.status().message()));
  } else {
    r.stats = *std::move(stats);
    if (!r.stats.ok()) r.problems.push_back("the aggregates differ from the call log");
  }
  if (!cluster.options().openai_keys.empty()) CheckKeyUse(cluster, &r);
  for (const std::string& dead : cluster.DeadProcesses()) r.problems.push_back(dead);
  if (!r.problems.empty()) {
    std::printf("--- gateway log (tail)\n%s\n--- %s log (tail)\n%s\n---\n",
                cluster.GatewayLog().c_str(), ComponentName(component).c_str(),
                cluster.Logs(component).c_str());
  }
  return r;
}

int Main() {
  const std::string backend_name = absl::GetFlag(FLAGS_backend);
  if (backend_name != "sqlite" && backend_name != "mariadb") {
    std::fprintf(stderr, "--backend must be sqlite or mariadb\n");
    return 2;
  }
  const db::Backend backend = backend_name == "sqlite" ? db::Backend::kSqlite : db::Backend::kMySql;
  std::vector<KillPlan> kills;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_kills), ',', absl::SkipEmpty())) {
    absl::StatusOr<KillPlan> c = ParseKill(name);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", std::string(c.status().message()).c_str());
      return 2;
    }
    if (c->component == Component::kMariaDb && backend != db::Backend::kMySql) {
      std::fprintf(stderr, "--kills=mariadb needs --backend=mariadb\n");
      return 2;
    }
    kills.push_back(*c);
  }

  const BinaryPaths bins{AIGW_GATEWAY_BIN, AIGW_KEYPOOL_BIN, AIGW_USAGE_BIN, AIGW_ADMIN_BIN,
                         AIGW_FAKE_UPSTREAM_BIN};
  const absl::Time setup = absl::Now();
  ClusterOptions options;
  options.keypool_replicas = absl::GetFlag(FLAGS_keypool_replicas);
  if (options.keypool_replicas != 1 && options.keypool_replicas != 2) {
    std::fprintf(stderr, "--keypool_replicas must be 1 or 2\n");
    return 2;
  }
  options.gateways = absl::GetFlag(FLAGS_gateways);
  if (options.gateways < 1 || options.gateways > 8) {
    std::fprintf(stderr, "--gateways must be 1 to 8\n");
    return 2;
  }
  absl::StatusOr<std::vector<KeyLimits>> keys = ParseKeyLimits(absl::GetFlag(FLAGS_openai_keys));
  if (!keys.ok()) {
    std::fprintf(stderr, "--openai_keys: %s\n", std::string(keys.status().message()).c_str());
    return 2;
  }
  options.openai_keys = *std::move(keys);
  for (absl::string_view f :
       absl::StrSplit(absl::GetFlag(FLAGS_gateway_flags), ' ', absl::SkipEmpty())) {
    options.gateway_flags.emplace_back(f);
  }
  absl::StatusOr<std::unique_ptr<FaultCluster>> cluster =
      FaultCluster::Start(backend, bins, options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "cluster setup failed: %s\n",
                 std::string(cluster.status().message()).c_str());
    return 2;
  }
  std::printf(
      "cluster up on %s in %s; %d gateways, %d clients, load %s before each kill, down %s, "
      "load %s after\n\n",
      backend_name.c_str(), Seconds(absl::Now() - setup).c_str(), options.gateways,
      absl::GetFlag(FLAGS_clients),
      Seconds(absl::GetFlag(FLAGS_load_before)).c_str(), Seconds(absl::GetFlag(FLAGS_down)).c_str(),
      Seconds(absl::GetFlag(FLAGS_load_after)).c_str());
  std::fflush(stdout);
  const std::string admin_token = Token("admin", "fault-harness-ops");
  FaultCallers callers((*cluster)->gateway_targets(), Token("client", "fault-harness"),
                       absl::GetFlag(FLAGS_clients));
  std::vector<KillReport> reports;
  bool ok = true;
  for (size_t i = 0; i < kills.size(); ++i) {
    reports.push_back(RunKill(**cluster, callers, kills[i], static_cast<int>(i + 1), admin_token));
    Print(backend_name, reports.back());
    if (!reports.back().problems.empty()) ok = false;
  }
  if (absl::GetFlag(FLAGS_markdown)) PrintMarkdown(backend_name, reports);
  std::printf("%s\n",
              ok ? "PASS: every kill: 0 lost, 0 double, the log matches the clients" : "FAIL");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace aigw::fault

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Kills usage, the keypool and MariaDB under load and compares the clients' view with the "
      "call log.");
  absl::ParseCommandLine(argc, argv);
  return aigw::fault::Main();
}
