#ifndef AIGW_LIBS_COMMON_PERIODIC_TASK_H_
#define AIGW_LIBS_COMMON_PERIODIC_TASK_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aigw {

// A chore run on a thread of its own: every `interval` and whenever asked,
// until stopped. Every background loop of the services is one of these
// (catalogue refresh, key reload, write-back and upkeep, database probing,
// log retention, event upload, report batching, prefetch sweeping), so each
// stops the same way: Stop() wakes the thread at once, lets a run in
// progress end and joins it.
//
// Runs never overlap. The interval counts from the end of one run to the
// start of the next, on the real clock (pacing, not decisions: code that
// decides on time takes a Clock). RunWithin and stopping() may be called
// from any thread; Start and Stop from the owner's.
class PeriodicTask {
 public:
  // `interval` absl::InfiniteDuration(): the task runs only when asked.
  PeriodicTask(absl::Duration interval, std::function<void()> fn);
  // Stops.
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Starts the thread; the first run is one interval later, or sooner when
  // asked. Does nothing while running; after Stop it starts afresh.
  void Start();

  // Runs the chore as soon as the run in progress, if any, has ended.
  void RunNow() { RunWithin(absl::ZeroDuration()); }
  // Runs the chore `delay` from now at the latest; a run due sooner stands.
  void RunWithin(absl::Duration delay);

  // Wakes the thread, waits for a run in progress to end and joins; the
  // chore does not run again until the next Start. Idempotent; may be called
  // without Start. Never from the chore itself.
  void Stop();

  // True from Stop until the next Start: a long run checks it to end early.
  bool stopping() const;

 private:
  void Loop();

  const absl::Duration interval_;
  const std::function<void()> fn_;

  mutable absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Set when next_run_ moved earlier, so the waiting thread takes the new
  // deadline.
  bool rescheduled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_run_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace aigw

#endif  // AIGW_LIBS_COMMON_PERIODIC_TASK_H_
