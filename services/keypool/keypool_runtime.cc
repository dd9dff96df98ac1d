#include "services/keypool/keypool_runtime.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace aigw::keypool {

absl::StatusOr<std::unique_ptr<KeyPoolRuntime>> KeyPoolRuntime::Start(
    db::Database* db, const crypto::SecretBox& box, prometheus::Registry* registry,
    const KeyPoolConfig& config) {
  std::unique_ptr<KeyPoolRuntime> rt(new KeyPoolRuntime(box));
  if (registry != nullptr) rt->metrics_ = std::make_unique<KeyPoolMetrics>(*registry);
  rt->pool_ = std::make_unique<KeyPool>(config.clock, config.pool, rt->metrics_.get());
  rt->store_ = std::make_unique<KeyStore>(db, &rt->box_);
  rt->sync_ = std::make_unique<KeySync>(rt->pool_.get(), rt->store_.get(), rt->metrics_.get(),
                                        config.sync);
  KeyWindowStoreOptions window_options;
  window_options.save_interval = config.sync.flush_interval;
  rt->windows_ = std::make_unique<KeyWindowStore>(db, config.clock, window_options);
  rt->allotment_store_ = std::make_unique<AllotmentStore>(db);
  KeyPoolRuntime* raw = rt.get();
  rt->allotter_ = std::make_unique<Allotter>(
      rt->pool_.get(), rt->allotment_store_.get(),
      [raw] { return raw->role_ != nullptr ? raw->role_->serving_fencing() : 0; },
      rt->metrics_.get());
  rt->sync_->set_flush_hook([raw] {
    raw->allotter_->Sweep();
    return raw->windows_->Save(*raw->pool_,
                               raw->role_ != nullptr ? raw->role_->serving_fencing() : 0);
  });
  if (config.election.enabled) {
    if (absl::Status st = rt->SetUpElection(db, registry, config.election); !st.ok()) return st;
  }
  absl::StatusOr<int> loaded = rt->sync_->Reload();
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        absl::StrCat("loading API keys: ", loaded.status().message()));
  }
  rt->keys_loaded_ = *loaded;
  if (rt->election_ == nullptr) {
    // A lone replica restarting (after SIGKILL too) resumes the windows.
    if (absl::Status st = rt->RestoreWindows(); !st.ok()) return st;
  }
  rt->sync_->Upkeep();
  if (rt->election_ != nullptr) {
    // A free lease is taken before the server serves; otherwise the
    // background steps take over when the holder is gone.
    if (absl::Status st = rt->election_->Step(); !st.ok()) {
      spdlog::error("msg=\"leader election cannot reach the database yet\" error=\"{}\"",
                    std::string(st.message()));
    }
    rt->role_->AfterStep();
    rt->election_->Start();
  }
  rt->allotter_->Start();
  rt->sync_->Start();
  return rt;
}

absl::Status KeyPoolRuntime::SetUpElection(db::Database* db, prometheus::Registry* registry,
                                           const KeyPoolElectionConfig& config) {
  absl::StatusOr<std::unique_ptr<LeaderElection>> election =
      LeaderElection::Create(db, config.options);
  if (!election.ok()) return election.status();
  election_ = *std::move(election);
  role_ = std::make_unique<KeyPoolRole>(
      election_.get(), [this](int64_t fencing) { return TakeOver(fencing); }, registry);
  LeaderElection* e = election_.get();
  KeyPoolRole* role = role_.get();
  auto fence = [e, role](soci::session& s) { return e->Fence(s, role->serving_fencing()); };
  store_->set_write_fence(fence);
  windows_->set_write_fence(fence);
  allotment_store_->set_write_fence(fence);
  sync_->set_write_gate([role] { return role->MayWrite(); });
  return absl::OkStatus();
}

absl::Status KeyPoolRuntime::TakeOver(int64_t fencing) {
  absl::StatusOr<int> loaded = sync_->ReloadFresh();
  if (!loaded.ok()) return loaded.status();
  if (absl::Status st = RestoreWindows(); !st.ok()) return st;
  spdlog::info("msg=\"took the pool over from the database\" fencing={} keys={}", fencing,
               *loaded);
  return absl::OkStatus();
}

absl::Status KeyPoolRuntime::RestoreWindows() {
  absl::StatusOr<int> restored = windows_->Restore(*pool_);
  if (!restored.ok()) {
    return absl::Status(restored.status().code(),
                        absl::StrCat("restoring the saved rate windows: ",
                                     restored.status().message()));
  }
  if (*restored > 0) spdlog::info("msg=\"rate windows restored\" keys={}", *restored);
  return allotter_->Restore();
}

KeyPoolRuntime::~KeyPoolRuntime() { Stop(); }

void KeyPoolRuntime::Stop() {
  // Granting stops first; the last counters are written under the fencing
  // number still held; then the lease is given up so a standby takes over
  // at its next poll with them.
  if (role_ != nullptr) role_->StopGranting();
  if (allotter_ != nullptr) allotter_->Stop();
  if (sync_ != nullptr) sync_->Stop();
  if (election_ != nullptr) election_->Stop(/*release=*/true);
  if (role_ != nullptr) role_->DetachHealth();
}

std::unique_ptr<KeyPoolService> KeyPoolRuntime::NewService() {
  KeySync* sync = sync_.get();
  auto service = std::make_unique<KeyPoolService>(
      pool_.get(),
      [sync](std::function<void(absl::StatusOr<int>)> done) {
        sync->ReloadAsync(std::move(done));
      },
      role_.get());
  service->set_allotter(allotter_.get());
  return service;
}

void KeyPoolRuntime::AttachHealth(grpc::HealthCheckServiceInterface* health) {
  // Gateways send only to replicas whose name is SERVING; a lone replica
  // always serves.
  if (role_ == nullptr) {
    health->SetServingStatus(kKeyPoolHealthName, true);
    return;
  }
  role_->AttachHealth(health);
}

}  // namespace aigw::keypool
