#include "services/keypool/key_sync.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace aigw::keypool {
namespace {

std::string Fingerprint(const PoolSnapshot& snap) {
  std::string out;
  for (const ProviderRow& p : snap.providers) {
    absl::StrAppend(&out, "P", p.id, "\x1f", p.code, "\x1f", p.base_url, "\x1f", p.api_format,
                    "\x1f", p.is_active, "\x1f", KeyPolicyName(p.policy), "\x1e");
  }
  for (const KeyRow& k : snap.keys) {
    absl::StrAppend(&out, "K", k.id, "\x1f", k.provider_id, "\x1f", k.key_name, "\x1f", k.secret,
                    "\x1f", k.secret_error, "\x1f", k.masked, "\x1f", k.priority, "\x1f",
                    k.rate_limit_rpm, "\x1f", k.rate_limit_tpm, "\x1f", k.rate_limit_rpd, "\x1f",
                    k.is_active, "\x1f", k.status, "\x1f", absl::ToUnixNanos(k.cooldown_until),
                    "\x1e");
  }
  return out;
}

}  // namespace

KeySync::KeySync(KeyPool* pool, KeyStore* store, KeyPoolMetrics* metrics, KeySyncOptions options)
    : pool_(pool), store_(store), metrics_(metrics), options_(options) {}

KeySync::~KeySync() { Stop(); }

absl::StatusOr<int> KeySync::Reload() { return LoadAndApply(/*fresh=*/false); }

absl::StatusOr<int> KeySync::ReloadFresh() { return LoadAndApply(/*fresh=*/true); }

absl::StatusOr<int> KeySync::LoadAndApply(bool fresh) {
  absl::MutexLock db(&db_mu_);
  absl::StatusOr<PoolSnapshot> snap = store_->Load();
  if (!snap.ok()) {
    if (metrics_ != nullptr) metrics_->CountDbError("load");
    return snap.status();
  }
  std::string fingerprint = Fingerprint(*snap);
  if (!fresh && !applied_fingerprint_.empty() && fingerprint == applied_fingerprint_) {
    return applied_keys_;
  }
  // An empty pool first: every key of the snapshot is then new to it.
  if (fresh) pool_->Apply(PoolSnapshot{});
  applied_keys_ = pool_->Apply(*snap);
  applied_fingerprint_ = std::move(fingerprint);
  return applied_keys_;
}

absl::Status KeySync::Flush() {
  absl::MutexLock db(&db_mu_);
  if (write_gate_ && !write_gate_()) return absl::OkStatus();
  absl::Status st = WriteCounters();
  if (flush_hook_) {
    absl::Status more = flush_hook_();
    if (!more.ok() && metrics_ != nullptr) metrics_->CountDbError("write");
    if (st.ok()) st = more;
  }
  return st;
}

absl::Status KeySync::WriteCounters() {
  std::vector<KeyWrite> writes = pool_->CollectWrites();
  if (writes.empty()) return absl::OkStatus();
  absl::Status st = store_->Write(writes);
  pool_->AckWrites(writes, st.ok());
  if (!st.ok() && metrics_ != nullptr) metrics_->CountDbError("write");
  return st;
}

void KeySync::Upkeep() {
  const int64_t expired = pool_->ExpireLeases();
  if (expired > 0) spdlog::warn("msg=\"leases expired unreported\" count={}", expired);
  if (metrics_ != nullptr && write_gate_ && !write_gate_()) {
    // A standby's pool is stale: its keys show only on the active replica,
    // so sums over replicas (alerts, dashboards) count each key once.
    metrics_->UpdateKeys({});
  } else if (metrics_ != nullptr) {
    absl::StatusOr<std::vector<KeyStateView>> states = pool_->ListKeyStates("");
    if (states.ok()) metrics_->UpdateKeys(*states);
  }
}

void KeySync::ReloadAsync(ReloadDone done) {
  {
    absl::MutexLock l(&mu_);
    if (running_) {
      reloads_.push_back(std::move(done));
      poll_.RunNow();
      return;
    }
  }
  done(Reload());
}

void KeySync::Start() {
  {
    absl::MutexLock l(&mu_);
    if (running_) return;
    running_ = true;
  }
  poll_.Start();
  flush_.Start();
  upkeep_.Start();
  upkeep_.RunNow();
}

void KeySync::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (!running_) return;
    // From here ReloadAsync runs inline; what is queued is answered below.
    running_ = false;
  }
  poll_.Stop();
  flush_.Stop();
  upkeep_.Stop();
  std::deque<ReloadDone> left;
  {
    absl::MutexLock l(&mu_);
    left.swap(reloads_);
  }
  for (ReloadDone& done : left) done(absl::UnavailableError("keypool is shutting down"));
  if (absl::Status st = Flush(); !st.ok()) {
    spdlog::error("msg=\"final write-back of key counters failed\" error=\"{}\"", std::string(st.message()));
  }
}

void KeySync::Poll() {
  std::deque<ReloadDone> reloads;
  {
    absl::MutexLock l(&mu_);
    reloads.swap(reloads_);
  }
  absl::StatusOr<int> loaded = Reload();
  if (!loaded.ok()) {
    spdlog::error("msg=\"reloading API keys failed\" error=\"{}\"", std::string(loaded.status().message()));
  } else if (!reloads.empty()) {
    spdlog::info("msg=\"API keys reloaded\" keys={}", *loaded);
  }
  for (ReloadDone& done : reloads) done(loaded);
}

void KeySync::FlushAndLog() {
  // A failed write-back leaves the counters pending in memory; the next
  // flush writes their values then (a database outage loses no count).
  // Said once per outage, not every second.
  absl::Status st = Flush();
  if (!st.ok() && !flush_failing_) {
    spdlog::error("msg=\"writing back key counters failed; they are kept and retried\" "
                  "error=\"{}\"", std::string(st.message()));
  } else if (st.ok() && flush_failing_) {
    spdlog::info("msg=\"key counters written back again\"");
  }
  flush_failing_ = !st.ok();
}

}  // namespace aigw::keypool
