#ifndef AIGW_SERVICES_USAGE_BLOCKING_EXECUTOR_H_
#define AIGW_SERVICES_USAGE_BLOCKING_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace aigw::usage {

// A fixed set of threads for work that blocks on the database, so that
// gRPC's callback threads hand a call over and never wait on a query
// themselves. The queue is bounded: when it is full the caller refuses the
// call (the gateway retries or spools) instead of piling up memory.
class BlockingExecutor {
 public:
  BlockingExecutor(int threads, size_t max_queued);
  // Runs what is already queued, then joins the threads.
  ~BlockingExecutor();

  BlockingExecutor(const BlockingExecutor&) = delete;
  BlockingExecutor& operator=(const BlockingExecutor&) = delete;

  // False (and `fn` is dropped) when the queue is full or shutting down.
  bool Submit(std::function<void()> fn);

 private:
  void Work();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace aigw::usage

#endif  // AIGW_SERVICES_USAGE_BLOCKING_EXECUTOR_H_
