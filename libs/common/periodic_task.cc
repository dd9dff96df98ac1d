#include "libs/common/periodic_task.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace aigw {

PeriodicTask::PeriodicTask(absl::Duration interval, std::function<void()> fn)
    : interval_(interval), fn_(std::move(fn)) {}

PeriodicTask::~PeriodicTask() { Stop(); }

void PeriodicTask::Start() {
  absl::MutexLock lock(&mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  rescheduled_ = false;
  next_run_ = absl::Now() + interval_;
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicTask::RunWithin(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  const absl::Time at = absl::Now() + delay;
  if (at >= next_run_) return;
  next_run_ = at;
  rescheduled_ = true;
}

void PeriodicTask::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    stop_ = true;
  }
  thread_.join();
  absl::MutexLock lock(&mu_);
  running_ = false;
}

bool PeriodicTask::stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void PeriodicTask::Loop() {
  absl::MutexLock lock(&mu_);
  auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || rescheduled_; };
  for (;;) {
    mu_.AwaitWithDeadline(absl::Condition(&woken), next_run_);
    rescheduled_ = false;
    if (stop_) return;
    if (absl::Now() < next_run_) continue;
    // Asked again while running: the run after this one is due at once.
    next_run_ = absl::InfiniteFuture();
    mu_.Unlock();
    fn_();
    mu_.Lock();
    next_run_ = std::min(next_run_, absl::Now() + interval_);
  }
}

}  // namespace aigw
