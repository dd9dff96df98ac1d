#include "libs/common/periodic_task.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace aigw {
namespace {

// Counts runs; a test waits for a count without sleeping.
class Runs {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++count_;
  }
  void AwaitAtLeast(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ >= n; };
    mu_.Await(absl::Condition(&reached));
  }
  int count() {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(PeriodicTaskTest, RunsEveryIntervalUntilStopped) {
  Runs runs;
  PeriodicTask task(absl::Milliseconds(1), [&] { runs.Add(); });
  task.Start();
  runs.AwaitAtLeast(3);
  task.Stop();
  const int after_stop = runs.count();
  task.RunNow();  // stopped: nothing runs
  task.Stop();
  EXPECT_EQ(runs.count(), after_stop);
}

TEST(PeriodicTaskTest, WithoutAnIntervalRunsOnlyWhenAsked) {
  Runs runs;
  PeriodicTask task(absl::InfiniteDuration(), [&] { runs.Add(); });
  task.Start();
  task.RunNow();
  runs.AwaitAtLeast(1);
  task.RunWithin(absl::Milliseconds(1));
  runs.AwaitAtLeast(2);
  // Stop wakes the thread from its endless wait (this test would hang
  // otherwise).
  task.Stop();
  EXPECT_EQ(runs.count(), 2);
}

TEST(PeriodicTaskTest, AnAskDuringARunRunsItOnceMoreAfterwards) {
  absl::Notification entered, release;
  std::atomic<int> runs{0};
  PeriodicTask task(absl::InfiniteDuration(), [&] {
    if (++runs == 1) {
      entered.Notify();
      release.WaitForNotification();
    }
  });
  task.Start();
  task.RunNow();
  entered.WaitForNotification();
  task.RunNow();
  task.RunNow();  // asks coalesce: one more run, not two
  release.Notify();
  // The second run happens without a further ask.
  while (runs.load() < 2) std::this_thread::yield();
  task.Stop();
  EXPECT_EQ(runs.load(), 2);
}

TEST(PeriodicTaskTest, StopLetsTheRunInProgressEndAndTellsItToHurry) {
  absl::Notification entered;
  std::atomic<bool> saw_stopping{false};
  PeriodicTask* self = nullptr;
  PeriodicTask task(absl::InfiniteDuration(), [&] {
    entered.Notify();
    // A long chore checks stopping() between its steps.
    while (!self->stopping()) std::this_thread::yield();
    saw_stopping = true;
  });
  self = &task;
  task.Start();
  task.RunNow();
  entered.WaitForNotification();
  task.Stop();
  EXPECT_TRUE(saw_stopping.load());
  EXPECT_TRUE(task.stopping());
}

TEST(PeriodicTaskTest, StartsAgainAfterStopAndStopWithoutStartIsHarmless) {
  Runs runs;
  PeriodicTask never(absl::Milliseconds(1), [&] { runs.Add(); });
  never.Stop();
  PeriodicTask task(absl::InfiniteDuration(), [&] { runs.Add(); });
  task.Start();
  task.Stop();
  task.Start();
  EXPECT_FALSE(task.stopping());
  task.RunNow();
  runs.AwaitAtLeast(1);
  task.Stop();
  EXPECT_EQ(runs.count(), 1);
}

}  // namespace
}  // namespace aigw
