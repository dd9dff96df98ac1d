#include "libs/server/signals.h"

#include <pthread.h>
#include <signal.h>

#include "gtest/gtest.h"

namespace aigw::server {
namespace {

// Blocks the termination signals for one test, then puts the thread's mask
// and SIGPIPE's handling back as they were (every signal the test sent is
// taken by then).
class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &old_mask_), 0);
    ASSERT_EQ(sigaction(SIGPIPE, nullptr, &old_pipe_), 0);
    BlockTerminationSignals();
  }
  void TearDown() override {
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
  }

  static bool Blocked(int sig) {
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    return sigismember(&now, sig) == 1;
  }

  sigset_t old_mask_;
  struct sigaction old_pipe_ {};
};

TEST_F(SignalsTest, TerminationSignalsAreBlockedAndABrokenPipeIsNoSignal) {
  EXPECT_TRUE(Blocked(SIGTERM));
  EXPECT_TRUE(Blocked(SIGINT));
  EXPECT_TRUE(Blocked(SIGHUP));
  EXPECT_FALSE(Blocked(SIGUSR1));
  struct sigaction pipe {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &pipe), 0);
  EXPECT_EQ(pipe.sa_handler, SIG_IGN);
}

TEST_F(SignalsTest, SigtermEndsTheWait) {
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(WaitForTerminationSignal(), SIGTERM);
}

TEST_F(SignalsTest, SigintEndsTheWait) {
  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(WaitForTerminationSignal(), SIGINT);
}

// SIGHUP is kept for a reload: the wait goes on to the next signal.
TEST_F(SignalsTest, SighupDoesNotEndTheWait) {
  ASSERT_EQ(pthread_kill(pthread_self(), SIGHUP), 0);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(WaitForTerminationSignal(), SIGTERM);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGHUP), 0) << "SIGHUP was not taken";
}

}  // namespace
}  // namespace aigw::server
