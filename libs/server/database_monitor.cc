#include "libs/server/database_monitor.h"

#include <utility>

#include "libs/common/logging.h"

namespace aigw::server {

DatabaseMonitor::DatabaseMonitor(db::Database* db, prometheus::Registry& registry,
                                 std::vector<std::string> bound_services)
    : db_(db), bound_services_(std::move(bound_services)) {
  up_ = &prometheus::BuildGauge()
             .Name("aigw_db_up")
             .Help("1 while the service's database answers, 0 while it is unreachable")
             .Register(registry)
             .Add({});
  auto& errors = prometheus::BuildCounter()
                     .Name("aigw_db_errors_total")
                     .Help(
                         "Database calls that failed, by kind: connection (unreachable or "
                         "lost), busy (a lock held too long), query (the statement failed)")
                     .Register(registry);
  for (db::DbErrorKind kind :
       {db::DbErrorKind::kConnection, db::DbErrorKind::kBusy, db::DbErrorKind::kQuery}) {
    errors_[static_cast<size_t>(kind)] =
        &errors.Add({{"kind", std::string(db::DbErrorKindName(kind))}});
  }
  auto& reconnects = prometheus::BuildCounter()
                         .Name("aigw_db_reconnects_total")
                         .Help("Lost database sessions opened again (ok), or attempts that failed")
                         .Register(registry);
  reconnects_ok_ = &reconnects.Add({{"result", "ok"}});
  reconnects_failed_ = &reconnects.Add({{"result", "failed"}});
  up_->Set(db_->available() ? 1 : 0);
  db_->set_observer(this);
}

DatabaseMonitor::~DatabaseMonitor() {
  Stop();
  db_->set_observer(nullptr);
}

void DatabaseMonitor::AttachHealth(grpc::HealthCheckServiceInterface* health) {
  absl::MutexLock l(&mu_);
  health_ = health;
  SetHealthLocked(db_->available());
}

void DatabaseMonitor::StartProbing(absl::Duration interval) {
  prober_ = std::make_unique<PeriodicTask>(interval, [this] { (void)db_->Ping(); });
  prober_->Start();
}

void DatabaseMonitor::Stop() {
  if (prober_ != nullptr) prober_->Stop();
  absl::MutexLock l(&mu_);
  health_ = nullptr;
}

void DatabaseMonitor::OnAvailability(bool up, absl::string_view cause) {
  up_->Set(up ? 1 : 0);
  absl::MutexLock l(&mu_);
  if (up) {
    if (down_since_ != absl::InfinitePast()) {
      spdlog::info("msg=\"database reachable again\" down_for_ms={}",
                   absl::ToInt64Milliseconds(absl::Now() - down_since_));
    }
    down_since_ = absl::InfinitePast();
  } else {
    if (down_since_ == absl::InfinitePast()) down_since_ = absl::Now();
    spdlog::error("msg=\"database unreachable; reconnecting with backoff\" url=\"{}\" error=\"{}\"",
                  db_->url().display, cause);
  }
  SetHealthLocked(up);
}

void DatabaseMonitor::SetHealthLocked(bool up) {
  if (health_ == nullptr) return;
  health_->SetServingStatus(kDatabaseHealthName, up);
  for (const std::string& name : bound_services_) health_->SetServingStatus(name, up);
}

void DatabaseMonitor::OnError(db::DbErrorKind kind) {
  errors_[static_cast<size_t>(kind)]->Increment();
}

void DatabaseMonitor::OnReconnect(bool ok) {
  (ok ? reconnects_ok_ : reconnects_failed_)->Increment();
}

}  // namespace aigw::server
