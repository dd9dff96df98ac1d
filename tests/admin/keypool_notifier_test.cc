// GrpcKeyPoolNotifier against an in-process KeyPool that records its Reload
// calls: the operator's token goes with the call, and no failure (refused,
// unanswered, nobody listening) is ever more than a warning in the log.

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/admin/keypool_notifier.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"
#include "tests/testing/local_grpc_server.h"

namespace aigw::admin {
namespace {

// Answers Reload as told, and remembers the metadata each call carried.
class RecordingKeyPool final : public v1::KeyPool::Service {
 public:
  grpc::Status Reload(grpc::ServerContext* ctx, const v1::ReloadRequest*,
                      v1::ReloadResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      auto it = ctx->client_metadata().find("authorization");
      authorizations_.push_back(it == ctx->client_metadata().end()
                                    ? "<none>"
                                    : std::string(it->second.data(), it->second.size()));
    }
    if (hang_) release_.WaitForNotification();
    response->set_keys_loaded(7);
    return answer_;
  }

  std::vector<std::string> authorizations() {
    absl::MutexLock lock(&mu_);
    return authorizations_;
  }
  void Answer(grpc::Status status) { answer_ = std::move(status); }
  // Reload then waits until Release.
  void Hang() { hang_ = true; }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> authorizations_;
  grpc::Status answer_ = grpc::Status::OK;
  bool hang_ = false;
  absl::Notification release_;
};

class KeyPoolNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<aigw::testing::LocalGrpcServer>(
        std::vector<grpc::Service*>{&keypool_});
    ASSERT_TRUE(server_->ok());
    channel_ = server_->NewChannel();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("notifier-test", sink));
  }
  void TearDown() override {
    keypool_.Release();
    server_.reset();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "stderr", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  }
  std::string Logs() {
    spdlog::default_logger()->flush();
    return logs_.str();
  }

  RecordingKeyPool keypool_;
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::ostringstream logs_;
};

TEST_F(KeyPoolNotifierTest, ReloadsOnTheOperatorsToken) {
  GrpcKeyPoolNotifier notifier(channel_, absl::Seconds(10));
  notifier.KeysChanged("key 3 created", "Bearer operator-token");
  EXPECT_EQ(keypool_.authorizations(), std::vector<std::string>{"Bearer operator-token"});
  EXPECT_TRUE(absl::StrContains(Logs(), "keypool reloaded")) << Logs();
  EXPECT_TRUE(absl::StrContains(Logs(), "reason=\"key 3 created\" keys_loaded=7")) << Logs();
}

TEST_F(KeyPoolNotifierTest, DevModeSendsNoAuthorization) {
  GrpcKeyPoolNotifier notifier(channel_, absl::Seconds(10));
  notifier.KeysChanged("provider openai updated", "");
  EXPECT_EQ(keypool_.authorizations(), std::vector<std::string>{"<none>"});
}

TEST_F(KeyPoolNotifierTest, ARefusedReloadIsAWarningOnly) {
  keypool_.Answer(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "role admin needed"));
  GrpcKeyPoolNotifier notifier(channel_, absl::Seconds(10));
  notifier.KeysChanged("key 3 deleted", "Bearer service-token");
  const std::string logs = Logs();
  EXPECT_TRUE(absl::StrContains(logs, "keypool reload failed")) << logs;
  EXPECT_TRUE(absl::StrContains(logs, "code=7")) << logs;
  EXPECT_TRUE(absl::StrContains(logs, "role admin needed")) << logs;
  EXPECT_FALSE(absl::StrContains(logs, "keypool reloaded")) << logs;
}

TEST_F(KeyPoolNotifierTest, AnUnansweredReloadIsGivenUpAtTheTimeout) {
  keypool_.Hang();
  GrpcKeyPoolNotifier notifier(channel_, absl::Milliseconds(200));
  notifier.KeysChanged("key 3 updated", "Bearer operator-token");  // returns
  EXPECT_TRUE(absl::StrContains(Logs(), "keypool reload failed")) << Logs();
  EXPECT_TRUE(absl::StrContains(Logs(), absl::StrCat("code=", grpc::StatusCode::DEADLINE_EXCEEDED)))
      << Logs();
}

TEST_F(KeyPoolNotifierTest, NobodyListeningIsAWarningOnly) {
  GrpcKeyPoolNotifier notifier(
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()), absl::Seconds(2));
  notifier.KeysChanged("key 3 created", "Bearer operator-token");
  EXPECT_TRUE(absl::StrContains(Logs(), "keypool reload failed")) << Logs();
  EXPECT_TRUE(keypool_.authorizations().empty());
}

}  // namespace
}  // namespace aigw::admin
