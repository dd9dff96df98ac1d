#include "services/keypool/keypool_role.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace aigw::keypool {

KeyPoolRole::KeyPoolRole(LeaderElection* election, TakeOver take_over,
                         prometheus::Registry* registry)
    : election_(election), take_over_(std::move(take_over)) {
  if (registry != nullptr) {
    auto& role = prometheus::BuildGauge()
                     .Name("aigw_keypool_role")
                     .Help("1 for this keypool replica's current role (active grants leases, "
                           "standby refuses them and takes over when the active one dies)")
                     .Register(*registry);
    role_active_ = &role.Add({{"role", "active"}});
    role_standby_ = &role.Add({{"role", "standby"}});
    takeovers_ = &prometheus::BuildCounter()
                      .Name("aigw_keypool_takeovers_total")
                      .Help("Times this replica became the active keypool")
                      .Register(*registry)
                      .Add({});
    fencing_gauge_ = &prometheus::BuildGauge()
                          .Name("aigw_keypool_fencing")
                          .Help("The fencing number this replica grants under (0: standby)")
                          .Register(*registry)
                          .Add({});
    renewal_seconds_ = &prometheus::BuildHistogram()
                            .Name("aigw_keypool_leader_renewal_seconds")
                            .Help("How long the active replica's lease renewals took (the "
                                  "database's latency for it; near --leader_lease, the replica "
                                  "refuses calls while one waits)")
                            .Register(*registry)
                            .Add({}, prometheus::Histogram::BucketBoundaries{
                                         0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2,
                                         0.35, 0.5, 0.75, 1, 2.5});
    lapsed_seconds_ = &prometheus::BuildCounter()
                           .Name("aigw_keypool_leader_lapsed_seconds_total")
                           .Help("Seconds the active replica could not grant because its lease "
                                 "ran out while a renewal waited for the database")
                           .Register(*registry)
                           .Add({});
    election_->set_on_renewal([this](absl::Duration took, absl::Duration lapsed) {
      renewal_seconds_->Observe(absl::ToDoubleSeconds(took));
      if (lapsed > absl::ZeroDuration()) lapsed_seconds_->Increment(absl::ToDoubleSeconds(lapsed));
    });
  }
  election_->set_on_role_change(
      [this](bool active, int64_t fencing) { OnRoleChange(active, fencing); });
  election_->set_after_step([this] { AfterStep(); });
  Publish();
}

absl::Status KeyPoolRole::CheckServing() const {
  const int64_t fencing = serving_fencing_.load(std::memory_order_acquire);
  if (fencing != 0 && !stopped_.load(std::memory_order_acquire) && election_->IsActive() &&
      election_->fencing() == fencing) {
    return absl::OkStatus();
  }
  const std::string active = election_->last_seen_holder();
  return absl::UnavailableError(absl::StrCat(
      "this keypool replica is not the active one",
      active.empty() ? "" : absl::StrCat(" (the active one is ", active, ")"),
      ": send keypool calls to every replica's address (a standby takes over within a "
      "second of the active one failing)"));
}

bool KeyPoolRole::MayWrite() const {
  const int64_t fencing = serving_fencing_.load(std::memory_order_acquire);
  return fencing != 0 && election_->fencing() == fencing;
}

void KeyPoolRole::OnRoleChange(bool active, int64_t fencing) {
  if (active) {
    TryTakeOver(fencing);
    return;
  }
  serving_fencing_.store(0, std::memory_order_release);
  pending_fencing_.store(0, std::memory_order_release);
  Publish();
}

void KeyPoolRole::TryTakeOver(int64_t fencing) {
  serving_fencing_.store(0, std::memory_order_release);
  const absl::Status st = take_over_(fencing);
  if (st.ok() && election_->fencing() == fencing) {
    serving_fencing_.store(fencing, std::memory_order_release);
    pending_fencing_.store(0, std::memory_order_release);
    if (takeovers_ != nullptr) takeovers_->Increment();
    spdlog::info("msg=\"keypool replica is active: granting\" fencing={}", fencing);
  } else {
    pending_fencing_.store(fencing, std::memory_order_release);
    spdlog::error("msg=\"taking over as the active keypool failed; tried again\" fencing={} "
                  "error=\"{}\"",
                  fencing, std::string(st.message()));
  }
  Publish();
}

void KeyPoolRole::AfterStep() {
  const int64_t pending = pending_fencing_.load(std::memory_order_acquire);
  if (pending != 0) {
    if (election_->fencing() == pending) {
      TryTakeOver(pending);
      return;
    }
    pending_fencing_.store(0, std::memory_order_release);
  }
  Publish();
}

void KeyPoolRole::StopGranting() {
  stopped_.store(true, std::memory_order_release);
  Publish();
}

void KeyPoolRole::AttachHealth(grpc::HealthCheckServiceInterface* health) {
  {
    absl::MutexLock l(&health_mu_);
    health_ = health;
    published_ = -1;
  }
  Publish();
}

void KeyPoolRole::DetachHealth() {
  absl::MutexLock l(&health_mu_);
  health_ = nullptr;
}

void KeyPoolRole::Publish() {
  const bool granting = CheckServing().ok();
  if (role_active_ != nullptr) {
    role_active_->Set(granting ? 1 : 0);
    role_standby_->Set(granting ? 0 : 1);
    fencing_gauge_->Set(static_cast<double>(granting ? serving_fencing() : 0));
  }
  absl::MutexLock l(&health_mu_);
  if (health_ == nullptr || published_ == (granting ? 1 : 0)) return;
  health_->SetServingStatus(kKeyPoolHealthName, granting);
  published_ = granting ? 1 : 0;
}

}  // namespace aigw::keypool
