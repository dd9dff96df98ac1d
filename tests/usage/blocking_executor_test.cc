// The worker pool the usage RPCs hand their database work to.

#include "services/usage/blocking_executor.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace aigw::usage {
namespace {

TEST(BlockingExecutorTest, RunsEveryTaskOnItsOwnThreadsAndWhatIsQueuedBeforeItStops) {
  std::atomic<int> ran{0};
  absl::Mutex mu;
  std::set<std::thread::id> threads;
  {
    BlockingExecutor executor(2, 1000);
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(executor.Submit([&] {
        ran.fetch_add(1);
        absl::MutexLock lock(&mu);
        threads.insert(std::this_thread::get_id());
      }));
    }
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(ran.load(), 200);
  EXPECT_FALSE(threads.contains(std::this_thread::get_id()));
  EXPECT_LE(threads.size(), 2u);
}

TEST(BlockingExecutorTest, RefusesWorkBeyondTheQueueBound) {
  absl::Notification started, release;
  std::atomic<int> ran{0};
  BlockingExecutor executor(1, 2);
  ASSERT_TRUE(executor.Submit([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the one worker is busy; the queue is empty
  EXPECT_TRUE(executor.Submit([&] { ran.fetch_add(1); }));
  EXPECT_TRUE(executor.Submit([&] { ran.fetch_add(1); }));
  EXPECT_FALSE(executor.Submit([&] { ran.fetch_add(100); }));
  release.Notify();
  while (ran.load() < 2) std::this_thread::yield();
  EXPECT_TRUE(executor.Submit([&] { ran.fetch_add(1); }));  // room again
}

TEST(BlockingExecutorTest, AtLeastOneThreadEvenWhenAskedForNone) {
  std::atomic<bool> ran{false};
  {
    BlockingExecutor executor(0, 1);
    ASSERT_TRUE(executor.Submit([&] { ran = true; }));
  }
  EXPECT_TRUE(ran.load());
}

}  // namespace
}  // namespace aigw::usage
