#include "services/keypool/allotter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace aigw::keypool {

Allotter::Allotter(KeyPool* pool, AllotmentStore* store, std::function<int64_t()> fencing,
                   KeyPoolMetrics* metrics)
    : pool_(pool), store_(store), fencing_(std::move(fencing)), metrics_(metrics) {}

void Allotter::Start() {
  {
    absl::MutexLock l(&mu_);
    running_ = true;
  }
  worker_.Start();
}

void Allotter::Stop() {
  {
    absl::MutexLock l(&mu_);
    running_ = false;
  }
  worker_.Stop();
  std::deque<Request> left;
  {
    absl::MutexLock l(&mu_);
    left.swap(queue_);
  }
  for (Request& r : left) r.done(absl::UnavailableError("keypool is shutting down"));
}

void Allotter::Allot(std::string provider_code, std::string holder,
                     std::vector<AllotmentUse> held, bool give_back, Done done) {
  {
    absl::MutexLock l(&mu_);
    if (running_) {
      queue_.push_back({std::move(provider_code), std::move(holder), std::move(held), give_back,
                        std::move(done)});
      worker_.RunNow();
      return;
    }
  }
  done(AllotNow(provider_code, holder, held, give_back));
}

void Allotter::RunQueued() {
  for (;;) {
    Request r;
    {
      absl::MutexLock l(&mu_);
      if (queue_.empty()) return;
      r = std::move(queue_.front());
      queue_.pop_front();
    }
    r.done(AllotNow(r.provider_code, r.holder, r.held, r.give_back));
  }
}

absl::StatusOr<AllotmentPlan> Allotter::AllotNow(const std::string& provider_code,
                                                 const std::string& holder,
                                                 const std::vector<AllotmentUse>& held,
                                                 bool give_back) {
  absl::StatusOr<AllotmentPlan> plan =
      pool_->PlanAllotments(provider_code, holder, held, give_back);
  if (!plan.ok()) return plan.status();
  absl::Status stored = store_->Commit(*plan, fencing_ ? fencing_() : 0, pool_->clock()->Now());
  if (!stored.ok()) {
    pool_->UndoAllotments(*plan);
    if (metrics_ != nullptr) {
      metrics_->CountAllotments("failed", 1);
      metrics_->CountDbError("write");
    }
    // The gateway keeps what it holds and asks again later.
    return absl::UnavailableError(
        absl::StrCat("the allotments could not be stored: ", stored.message()));
  }
  pool_->ConfirmAllotments(*plan);
  if (metrics_ != nullptr) {
    metrics_->CountAllotments("granted", static_cast<int64_t>(plan->granted.size()));
    metrics_->CountAllotments("extended", static_cast<int64_t>(plan->extended.size()));
    metrics_->CountAllotments("settled", static_cast<int64_t>(plan->settled.size()));
  }
  return plan;
}

absl::Status Allotter::Restore() {
  absl::StatusOr<std::vector<Allotment>> loaded = store_->Load(pool_->clock()->Now());
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        absl::StrCat("loading the gateways' allotments: ", loaded.status().message()));
  }
  pool_->ReplaceAllotments(*loaded);
  if (!loaded->empty()) spdlog::info("msg=\"allotments taken over\" count={}", loaded->size());
  Sweep();
  return absl::OkStatus();
}

void Allotter::Sweep() {
  const int64_t left = pool_->SweepAllotments();
  if (metrics_ != nullptr) metrics_->SetAllotments(left);
}

}  // namespace aigw::keypool
