#include "tests/fault/fault_cluster.h"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/db/migrations.h"
#include "soci/soci.h"

namespace aigw::fault {
namespace {

constexpr char kMasterKey[] = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr absl::Duration kStartTimeout = absl::Seconds(30);

std::map<std::string, std::string> ServiceEnv() {
  return {{"AIGW_MASTER_KEY", kMasterKey},
          {"AIGW_JWT_SECRET", FaultCluster::kJwtSecret},
          // The harness's environment must not point a service elsewhere.
          {"AIGW_DB_URL", ""},
          {"AIGW_KEYPOOL_ADDR", ""},
          {"AIGW_USAGE_ADDR", ""}};
}

std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

// The last `lines` lines of a log.
std::string LastLines(const std::string& text, int lines = 12) {
  size_t pos = text.size();
  for (int n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

absl::StatusOr<std::unique_ptr<testing::Subprocess>> StartServing(
    const std::vector<std::string>& argv, int grpc_port) {
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> proc =
      testing::Subprocess::Start(argv, ServiceEnv());
  if (!proc.ok()) return proc.status();
  absl::Status serving = testing::WaitForServing(Addr(grpc_port), kStartTimeout);
  if (!serving.ok()) {
    return absl::Status(serving.code(), absl::StrCat(argv[0], ": ", serving.message(), "\n",
                                                     LastLines((*proc)->Stderr())));
  }
  return proc;
}

}  // namespace

std::string ComponentName(Component c) {
  switch (c) {
    case Component::kUsage:
      return "usage";
    case Component::kKeypool:
      return "keypool";
    case Component::kMariaDb:
      return "mariadb";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<FaultCluster>> FaultCluster::Start(db::Backend backend,
                                                                  const BinaryPaths& bins,
                                                                  ClusterOptions options) {
  std::unique_ptr<FaultCluster> c(new FaultCluster());
  c->backend_ = backend;
  c->options_ = options;
  c->bins_ = bins;
  char tmpl[] = "/tmp/aigw_fault_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  c->dir_ = tmpl;
  if (backend == db::Backend::kMySql) {
    testing::PrivateMariaDb::Options options;
    options.timeout = kStartTimeout;
    absl::StatusOr<std::unique_ptr<testing::PrivateMariaDb>> mariadb =
        testing::PrivateMariaDb::Start(options);
    if (!mariadb.ok()) return mariadb.status();
    if (absl::Status st = (*mariadb)->CreateDatabase("aigw"); !st.ok()) return st;
    c->mariadb_ = std::move(*mariadb);
    c->db_url_ = c->mariadb_->Url("aigw");
  } else {
    c->db_url_ = absl::StrCat("sqlite3://", c->dir_, "/aigw.db");
  }
  c->upstream_port_ = testing::PickFreePort();
  for (int i = 0; i < std::max(1, options.keypool_replicas); ++i) {
    c->keypool_ports_.push_back(testing::PickFreePort());
    c->keypools_.emplace_back();
  }
  c->usage_port_ = testing::PickFreePort();
  for (int i = 0; i < std::max(1, options.gateways); ++i) {
    c->gateway_ports_.push_back(testing::PickFreePort());
    c->gateway_metrics_ports_.push_back(testing::PickFreePort());
  }
  c->admin_port_ = testing::PickFreePort();
  c->usage_metrics_port_ = testing::PickFreePort();
  for (auto step : {&FaultCluster::StartFakeUpstream, &FaultCluster::Seed}) {
    if (absl::Status st = (c.get()->*step)(); !st.ok()) return st;
  }
  for (size_t i = 0; i < c->keypools_.size(); ++i) {
    if (absl::Status st = c->StartKeypool(i); !st.ok()) return st;
  }
  for (auto step :
       {&FaultCluster::StartUsage, &FaultCluster::StartGateways, &FaultCluster::StartAdmin}) {
    if (absl::Status st = (c.get()->*step)(); !st.ok()) return st;
  }
  return c;
}

FaultCluster::~FaultCluster() {
  // Clients first, the database last.
  admin_.reset();
  gateways_.clear();
  usage_.reset();
  keypools_.clear();
  upstream_.reset();
  mariadb_.reset();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

absl::Status FaultCluster::StartFakeUpstream() {
  // Every call takes a few milliseconds, so calls are in flight when
  // something is killed; deepseek-chat always fails with 503 (retried, then
  // the call falls back) and gpt-3.5-turbo is refused with 400 (no retry).
  // With keys that have limits, gpt-4o-mini answers carry a fixed usage and
  // every request is recorded, so what each key received can be counted.
  const bool count = !options_.openai_keys.empty();
  const std::string rules = absl::StrCat(
      R"([{"delay_ms":5},{"model":"deepseek-chat","status":503},)"
      R"({"model":"gpt-3.5-turbo","status":400,"message":"refused by the fault harness"})",
      count ? absl::StrCat(R"(,{"model":"gpt-4o-mini","delay_ms":5,"usage":{"prompt_tokens":20,)",
                           R"("completion_tokens":)", kTokensPerAnswer - 20, "}}")
            : "",
      "]");
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> proc = testing::Subprocess::Start(
      {bins_.fake_upstream, absl::StrCat("--port=", upstream_port_), "--rules=" + rules,
       count ? "--max_recorded_requests=2000000" : "--max_recorded_requests=0",
       "--log_level=warn"});
  if (!proc.ok()) return proc.status();
  upstream_ = std::move(*proc);
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    if (testing::HttpGet(upstream_port_, "/_control/health").ok()) return absl::OkStatus();
    if (!upstream_->Running()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::UnavailableError(
      absl::StrCat("fake upstream did not start: ", LastLines(upstream_->Stderr())));
}

absl::Status FaultCluster::Seed() {
  absl::StatusOr<std::unique_ptr<db::Database>> db = OpenDatabase();
  if (!db.ok()) return db.status();
  absl::StatusOr<std::vector<int>> applied = db::ApplyMigrations(**db);
  if (!applied.ok()) return applied.status();
  const std::string base = absl::StrCat("http://127.0.0.1:", upstream_port_);
  return (*db)->Run([&](soci::session& s) {
    const std::string openai = base + "/v1";
    s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code = 'openai'",
        soci::use(openai);
    s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code <> 'openai'", soci::use(base);
    // Plaintext keys: the keypool encrypts them in place when it loads them.
    for (const std::string code : {"openai", "anthropic", "deepseek"}) {
      if (code == "openai" && !options_.openai_keys.empty()) continue;
      const std::string name = "fault-" + code;
      const std::string key = absl::StrCat("sk-fault-", code, "-0123456789abcdef");
      s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key) SELECT id, :n, :k "
           "FROM t_ai_providers WHERE provider_code = :c",
          soci::use(name), soci::use(key), soci::use(code);
    }
    for (size_t i = 0; i < options_.openai_keys.size(); ++i) {
      const KeyLimits& k = options_.openai_keys[i];
      const std::string name = absl::StrCat("fault-openai-", i + 1);
      long long rpm = k.rpm, tpm = k.tpm, rpd = k.rpd;
      s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, rate_limit_rpm, "
           "rate_limit_tpm, rate_limit_rpd) SELECT id, :n, :k, :rpm, :tpm, :rpd "
           "FROM t_ai_providers WHERE provider_code = 'openai'",
          soci::use(name), soci::use(k.api_key), soci::use(rpm), soci::use(tpm), soci::use(rpd);
    }
    return absl::OkStatus();
  });
}

absl::Status FaultCluster::StartKeypool(size_t replica) {
  auto proc = StartServing(
      {bins_.keypool, "--db_url=" + db_url_, "--grpc_addr=" + Addr(keypool_ports_[replica]),
       "--metrics_addr=127.0.0.1:0", "--db_pool_size=2",
       // Calls to deepseek fail on purpose; its key stays leasable.
       "--breaker_failures=0", "--flush_interval=200ms", "--poll_interval=1s"},
      keypool_ports_[replica]);
  if (!proc.ok()) return proc.status();
  keypools_[replica] = std::move(*proc);
  return absl::OkStatus();
}

int FaultCluster::ActiveKeypool() const {
  for (size_t i = 0; i < keypool_ports_.size(); ++i) {
    if (keypools_[i] != nullptr &&
        testing::HealthStatusOf(Addr(keypool_ports_[i]), "aigw.v1.KeyPool") ==
            testing::kHealthServing) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

absl::Status FaultCluster::StartUsage() {
  auto proc = StartServing({bins_.usage, "--db_url=" + db_url_, "--grpc_addr=" + Addr(usage_port_),
                            "--metrics_addr=" + Addr(usage_metrics_port_), "--db_pool_size=4"},
                           usage_port_);
  if (!proc.ok()) return proc.status();
  usage_ = std::move(*proc);
  return absl::OkStatus();
}

absl::Status FaultCluster::StartGateways() {
  gateways_.clear();
  for (size_t i = 0; i < gateway_ports_.size(); ++i) {
    std::vector<std::string> argv = {
        bins_.gateway, "--db_url=" + db_url_, "--grpc_addr=" + Addr(gateway_ports_[i]),
        absl::StrCat("--metrics_addr=127.0.0.1:", gateway_metrics_ports_[i]),
        "--keypool_addr=" + keypool_target(), "--usage_addr=" + Addr(usage_port_),
        absl::StrCat("--spool_dir=", dir_, "/spool", i == 0 ? "" : absl::StrCat("-", i + 1)),
        "--db_pool_size=2", "--event_flush_interval=50ms", "--catalogue_refresh=1s",
        "--keypool_timeout=1s", "--retry_max_attempts=2", "--retry_initial_backoff=10ms",
        "--retry_max_backoff=50ms"};
    argv.insert(argv.end(), options_.gateway_flags.begin(), options_.gateway_flags.end());
    auto proc = StartServing(argv, gateway_ports_[i]);
    if (!proc.ok()) return proc.status();
    gateways_.push_back(std::move(*proc));
  }
  return absl::OkStatus();
}

absl::Status FaultCluster::StartAdmin() {
  auto proc = StartServing(
      {bins_.admin, "--db_url=" + db_url_, "--grpc_addr=" + Addr(admin_port_),
       "--metrics_addr=127.0.0.1:0", "--db_pool_size=2", "--keypool_addr=" + keypool_target()},
      admin_port_);
  if (!proc.ok()) return proc.status();
  admin_ = std::move(*proc);
  return absl::OkStatus();
}

absl::Status FaultCluster::Kill(Component c) {
  if (c == Component::kMariaDb) {
    if (mariadb_ == nullptr) return absl::FailedPreconditionError("no MariaDB on SQLite");
    return mariadb_->Kill();
  }
  if (c == Component::kKeypool) {
    killed_keypool_ = keypools_.size() > 1 ? std::max(0, ActiveKeypool()) : 0;
  }
  std::unique_ptr<testing::Subprocess>& proc =
      c == Component::kUsage ? usage_ : keypools_[killed_keypool_];
  if (proc == nullptr) return absl::FailedPreconditionError(ComponentName(c) + " is not running");
  const absl::Time killed = absl::Now();
  proc->Signal(SIGKILL);
  absl::StatusOr<int> code = proc->Wait(absl::Seconds(30));
  if (!code.ok()) return code.status();
  // Keep the dead process's log for the report; it is replaced at restart.
  if (c == Component::kKeypool && keypools_.size() > 1) {
    last_takeover_.reset();
    const std::optional<absl::Time> granting =
        WaitForGrantingKeypool(killed_keypool_, absl::Seconds(10));
    if (granting.has_value()) last_takeover_ = *granting - killed;
  }
  return absl::OkStatus();
}

std::optional<absl::Time> FaultCluster::WaitForGrantingKeypool(int other_than,
                                                               absl::Duration timeout) const {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    const int active = ActiveKeypool();
    if (active >= 0 && active != other_than) return absl::Now();
    absl::SleepFor(absl::Milliseconds(5));
  }
  return std::nullopt;
}

absl::Status FaultCluster::Restart(Component c) {
  switch (c) {
    case Component::kMariaDb:
      return mariadb_->Restart();
    case Component::kUsage:
      usage_.reset();
      return StartUsage();
    case Component::kKeypool:
      keypools_[killed_keypool_].reset();
      return StartKeypool(killed_keypool_);
  }
  return absl::InvalidArgumentError("unknown component");
}

std::string FaultCluster::gateway_target() const { return Addr(gateway_ports_[0]); }
std::vector<std::string> FaultCluster::gateway_targets() const {
  std::vector<std::string> out;
  for (int port : gateway_ports_) out.push_back(Addr(port));
  return out;
}
std::string FaultCluster::usage_target() const { return Addr(usage_port_); }
std::string FaultCluster::keypool_target() const {
  std::vector<std::string> addrs;
  for (int port : keypool_ports_) addrs.push_back(Addr(port));
  return absl::StrJoin(addrs, ",");
}
std::string FaultCluster::admin_target() const { return Addr(admin_port_); }

absl::StatusOr<std::unique_ptr<db::Database>> FaultCluster::OpenDatabase() const {
  absl::StatusOr<db::DatabaseUrl> url = db::DatabaseUrl::Parse(db_url_);
  if (!url.ok()) return url.status();
  return db::Database::Open(*url, 1);
}

std::vector<std::string> FaultCluster::DeadProcesses() {
  std::vector<std::pair<std::string, testing::Subprocess*>> procs = {
      {"fake upstream", upstream_.get()}, {"usage", usage_.get()}, {"admin", admin_.get()}};
  for (size_t i = 0; i < gateways_.size(); ++i) {
    procs.emplace_back(i == 0 ? "gateway" : absl::StrCat("gateway ", i + 1), gateways_[i].get());
  }
  for (size_t i = 0; i < keypools_.size(); ++i) {
    procs.emplace_back(i == 0 ? "keypool" : absl::StrCat("keypool ", i + 1), keypools_[i].get());
  }
  std::vector<std::string> dead;
  for (const auto& [name, proc] : procs) {
    if (proc == nullptr || !proc->Running()) {
      dead.push_back(
          name + (proc == nullptr ? " not started" : " exited: " + LastLines(proc->Stderr(), 3)));
    }
  }
  if (mariadb_ != nullptr && !mariadb_->running()) dead.push_back("mariadbd exited");
  return dead;
}

std::string FaultCluster::Logs(Component c) const {
  switch (c) {
    case Component::kMariaDb:
      return mariadb_ != nullptr ? LastLines(mariadb_->ErrorLog()) : "";
    case Component::kUsage:
      return usage_ != nullptr ? LastLines(usage_->Stderr()) : "";
    case Component::kKeypool:
      return keypools_[killed_keypool_] != nullptr
                 ? LastLines(keypools_[killed_keypool_]->Stderr())
                 : "";
  }
  return "";
}

std::string FaultCluster::GatewayLog() const {
  return !gateways_.empty() && gateways_[0] != nullptr ? LastLines(gateways_[0]->Stderr()) : "";
}

}  // namespace aigw::fault
