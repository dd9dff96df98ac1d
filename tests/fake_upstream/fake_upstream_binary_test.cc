// The aigw-fake-upstream binary as scripts use it: the port line on stdout,
// flags, and a clean exit on SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace {

// A child process whose stdout the test reads line by line.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = out[0];
  }

  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }

  // The next stdout line, or "" at EOF or after 10 s.
  std::string ReadLine() {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(stdout_, &c, 1) != 1) return line;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return line;
  }

  // The exit code, 128 + signal if killed, or -1 if still running after 10 s.
  int WaitExit() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
  bool exited_ = false;
};

TEST(FakeUpstreamBinaryTest, PrintsPortServesFlagsAndExitsCleanlyOnSigterm) {
  const std::string rules_file = ::testing::TempDir() + "/fake_upstream_rules.json";
  {
    std::ofstream out(rules_file);
    out << R"([{"path":"/v1/chat/completions","status":503,"times":1}])";
  }
  Child child({AIGW_FAKE_UPSTREAM_BIN, "--port=0", "--models=model-a, model-b",
               "--rules_file=" + rules_file, R"(--rules={"api_key":"sk-bad","status":401})",
               "--threads=4"});
  ASSERT_GT(child.pid(), 0);

  std::string line = child.ReadLine();
  absl::string_view rest = line;
  ASSERT_TRUE(absl::ConsumePrefix(&rest, "listening port=")) << line;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(rest, &port)) << line;

  httplib::Client client("127.0.0.1", port);
  httplib::Result health = client.Get("/_control/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  httplib::Result models = client.Get("/models", {{"Authorization", "Bearer sk-ok"}});
  ASSERT_TRUE(models);
  EXPECT_TRUE(absl::StrContains(models->body, R"("id":"model-a")")) << models->body;
  EXPECT_TRUE(absl::StrContains(models->body, R"("id":"model-b")")) << models->body;
  EXPECT_FALSE(absl::StrContains(models->body, "gpt-4o")) << models->body;

  const std::string chat = R"({"model":"model-a","messages":[{"role":"user","content":"x"}]})";
  const httplib::Headers ok_key = {{"Authorization", "Bearer sk-ok"}};
  EXPECT_EQ(client.Post("/v1/chat/completions", ok_key, chat, "application/json")->status, 503);
  EXPECT_EQ(client.Post("/v1/chat/completions", ok_key, chat, "application/json")->status, 200);
  EXPECT_EQ(client
                .Post("/v1/chat/completions", {{"Authorization", "Bearer sk-bad"}}, chat,
                      "application/json")
                ->status,
            401);

  kill(child.pid(), SIGTERM);
  EXPECT_EQ(child.WaitExit(), 0);
}

TEST(FakeUpstreamBinaryTest, BadRulesFailAtStartup) {
  Child child({AIGW_FAKE_UPSTREAM_BIN, "--port=0", R"(--rules={"stauts":1})"});
  ASSERT_GT(child.pid(), 0);
  EXPECT_EQ(child.ReadLine(), "");
  EXPECT_EQ(child.WaitExit(), 1);
}

}  // namespace
