// Usage down -> the gateway spools call events -> usage back -> every event
// arrives exactly once. And no call stops the call record: a provider error
// in Chinese, caller fields of megabytes. Over the real gateway, keypool and
// usage binaries, with the fake upstream in-process.

#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "soci/soci.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "tests/testing/test_tokens.h"
#include "tools/fake-upstream/fake_upstream_server.h"

namespace aigw {
namespace {

using ::aigw::testing::Subprocess;

constexpr char kMasterKey[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr char kJwtSecret[] = "spool-test-jwt-secret-0123456789abcdef012345";

std::string Bearer(const std::string& role) {
  return testing::TestBearer(kJwtSecret, "spool-test", role);
}

long long Count(db::Database& db, const std::string& sql) {
  long long n = -1;
  (void)db.Run([&](soci::session& s) {
    s << sql, soci::into(n);
    return absl::OkStatus();
  });
  return n;
}

// A migrated SQLite database whose openai provider is the fake upstream,
// with one key.
std::unique_ptr<testing::TestDatabase> OpenAiAt(const fake_upstream::FakeUpstreamServer& upstream) {
  auto db = testing::TestDatabase::Create(db::Backend::kSqlite);
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return nullptr;
  const std::string openai_base = upstream.base_url() + "/v1";
  absl::Status st = (*db)->db().Run([&](soci::session& s) {
    s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code = 'openai'",
        soci::use(openai_base);
    s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key) SELECT id, 'k', "
         "'sk-spool-test-0000000001' FROM t_ai_providers WHERE provider_code = 'openai'";
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return std::move(*db);
}

// One of the binaries over `db`, serving gRPC on `port` and metrics on
// `metrics_port` (0: any), with `flags`.
absl::StatusOr<std::unique_ptr<Subprocess>> StartService(
    const char* binary, testing::TestDatabase& db, int port, int metrics_port = 0,
    const std::vector<std::string>& flags = {}) {
  std::vector<std::string> argv = {binary, "--db_url=" + db.url(),
                                   absl::StrCat("--grpc_addr=127.0.0.1:", port),
                                   absl::StrCat("--metrics_addr=127.0.0.1:", metrics_port)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return Subprocess::Start(argv,
                           {{"AIGW_MASTER_KEY", kMasterKey}, {"AIGW_JWT_SECRET", kJwtSecret}});
}

// The gateway's flags for its peers and its spool.
std::vector<std::string> GatewayFlags(int keypool_port, int usage_port,
                                      const std::string& spool_dir) {
  return {absl::StrCat("--keypool_addr=127.0.0.1:", keypool_port),
          absl::StrCat("--usage_addr=127.0.0.1:", usage_port), "--spool_dir=" + spool_dir,
          "--event_flush_interval=20ms"};
}

// Keypool, usage and a gateway over one database, each serving, and a
// ChatService stub to the gateway. The gateway gets GatewayFlags and then
// `extra_gateway_flags` (later flags win).
struct Stack {
  std::string spool_dir;
  std::unique_ptr<Subprocess> keypool, usage, gateway;
  std::unique_ptr<aigw::v1::ChatService::Stub> chat;
};

void StartStack(testing::TestDatabase& db, const std::vector<std::string>& extra_gateway_flags,
                Stack* stack) {
  const int keypool_port = testing::PickFreePort();
  const int usage_port = testing::PickFreePort();
  const int gateway_port = testing::PickFreePort();
  char spool_dir[] = "/tmp/aigw_stack_XXXXXX";
  ASSERT_NE(mkdtemp(spool_dir), nullptr);
  stack->spool_dir = spool_dir;
  std::vector<std::string> flags = GatewayFlags(keypool_port, usage_port, spool_dir);
  flags.insert(flags.end(), extra_gateway_flags.begin(), extra_gateway_flags.end());
  auto keypool = StartService(AIGW_KEYPOOL_BIN, db, keypool_port);
  auto usage = StartService(AIGW_USAGE_BIN, db, usage_port);
  auto gateway = StartService(AIGW_GATEWAY_BIN, db, gateway_port, 0, flags);
  ASSERT_TRUE(keypool.ok() && usage.ok() && gateway.ok());
  stack->keypool = std::move(*keypool);
  stack->usage = std::move(*usage);
  stack->gateway = std::move(*gateway);
  for (int port : {keypool_port, usage_port, gateway_port}) {
    ASSERT_TRUE(testing::WaitForServing(absl::StrCat("127.0.0.1:", port), absl::Seconds(20)).ok())
        << stack->gateway->Stderr();
  }
  stack->chat = aigw::v1::ChatService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", gateway_port), grpc::InsecureChannelCredentials()));
}

// One openai completion through the gateway, as a client.
grpc::Status Complete(aigw::v1::ChatService::Stub& chat, const std::string& request_id,
                      const std::string& user_agent = "client/1.0") {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", Bearer("client"));
  aigw::v1::ChatCompletionRequest req;
  req.set_provider_code("openai");
  req.set_request_id(request_id);
  req.mutable_caller()->set_user_agent(user_agent);
  auto* m = req.add_messages();
  m->set_role("user");
  m->set_content("write a chorus");
  aigw::v1::ChatCompletion out;
  return chat.CreateChatCompletion(&ctx, req, &out);
}

TEST(SpoolReplayTest, EventsSpooledWhileUsageIsDownArriveOnceWhenItReturns) {
  fake_upstream::FakeUpstreamServer upstream({});
  ASSERT_TRUE(upstream.Start().ok());
  std::unique_ptr<testing::TestDatabase> db = OpenAiAt(upstream);
  ASSERT_NE(db, nullptr);
  const int keypool_port = testing::PickFreePort();
  const int usage_port = testing::PickFreePort();
  const int gateway_port = testing::PickFreePort();
  const int gateway_metrics = testing::PickFreePort();
  char spool_dir[] = "/tmp/aigw_spool_XXXXXX";
  ASSERT_NE(mkdtemp(spool_dir), nullptr);
  auto keypool = StartService(AIGW_KEYPOOL_BIN, *db, keypool_port);
  auto gateway = StartService(AIGW_GATEWAY_BIN, *db, gateway_port, gateway_metrics,
                              GatewayFlags(keypool_port, usage_port, spool_dir));
  ASSERT_TRUE(keypool.ok() && gateway.ok());
  ASSERT_TRUE(testing::WaitForServing(absl::StrCat("127.0.0.1:", keypool_port), absl::Seconds(20)).ok());
  ASSERT_TRUE(testing::WaitForServing(absl::StrCat("127.0.0.1:", gateway_port), absl::Seconds(20)).ok())
      << (*gateway)->Stderr();

  // Usage is not running: completions still succeed.
  auto stub = aigw::v1::ChatService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", gateway_port), grpc::InsecureChannelCredentials()));
  constexpr int kCalls = 25;
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", Bearer("client"));
    aigw::v1::ChatCompletionRequest req;
    req.set_provider_code("openai");
    req.set_request_id(absl::StrCat("spool-", i));
    auto* m = req.add_messages();
    m->set_role("user");
    m->set_content(absl::StrCat("call number ", i));
    aigw::v1::ChatCompletion out;
    grpc::Status st = stub->CreateChatCompletion(&ctx, req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  double spooled = -1;
  for (int i = 0;
       i < 200 &&
       (spooled = testing::MetricValue(gateway_metrics, "aigw_gateway_spool_events")) < kCalls;
       ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(spooled, kCalls);
  EXPECT_EQ(Count(db->db(), "SELECT COUNT(*) FROM t_ai_api_logs"), 0);

  // Usage comes up: the spool drains into the database, once.
  auto usage = StartService(AIGW_USAGE_BIN, *db, usage_port);
  ASSERT_TRUE(usage.ok());
  ASSERT_TRUE(testing::WaitForServing(absl::StrCat("127.0.0.1:", usage_port), absl::Seconds(20)).ok());
  long long logged = 0;
  for (int i = 0; i < 300; ++i) {
    logged = Count(db->db(), "SELECT COUNT(*) FROM t_ai_api_logs");
    if (logged >= kCalls &&
        testing::MetricValue(gateway_metrics, "aigw_gateway_spool_events") == 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(logged, kCalls);
  EXPECT_EQ(Count(db->db(), "SELECT COUNT(DISTINCT request_id) FROM t_ai_api_logs"), kCalls);
  EXPECT_EQ(testing::MetricValue(gateway_metrics, "aigw_gateway_spool_events"), 0);
  EXPECT_EQ(Count(db->db(), "SELECT COALESCE(SUM(total_requests), 0) FROM t_ai_usage_stats"),
            kCalls);

  // A later restart of the gateway finds nothing left to replay.
  (*gateway)->Signal(SIGTERM);
  EXPECT_EQ(*(*gateway)->Wait(absl::Seconds(30)), 0);
  EXPECT_EQ(Count(db->db(), "SELECT COUNT(*) FROM t_ai_api_logs"), kCalls);
  upstream.Stop();
}

TEST(SpoolReplayTest, NoCallStopsTheCallRecord) {
  fake_upstream::FakeUpstreamServer upstream({});
  ASSERT_TRUE(upstream.Start().ok());
  std::unique_ptr<testing::TestDatabase> db = OpenAiAt(upstream);
  ASSERT_NE(db, nullptr);
  // The provider refuses the first call with a long error text in Chinese.
  std::string chinese;
  for (int i = 0; i < 600; ++i) chinese += "请求参数错误";
  fake_upstream::Rule refuse;
  refuse.times = 1;
  refuse.status = 400;
  refuse.message = chinese;
  upstream.rules().Add(refuse);

  Stack stack;
  StartStack(*db, {}, &stack);
  if (HasFatalFailure()) return;
  const std::string& spool_dir = stack.spool_dir;

  grpc::Status refused = Complete(*stack.chat, "zh-error");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << refused.error_message();
  // Megabytes of caller fields are refused at the door, naming the field.
  grpc::Status huge = Complete(*stack.chat, "huge-caller", std::string(2 << 20, 'a'));
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(huge.error_message().find("caller.user_agent"), std::string::npos)
      << huge.error_message();
  grpc::Status later = Complete(*stack.chat, "after-zh-error");
  ASSERT_TRUE(later.ok()) << later.error_message();

  // A stopped gateway has sent every event, or spooled it.
  stack.gateway->Signal(SIGTERM);
  ASSERT_EQ(*stack.gateway->Wait(absl::Seconds(30)), 0) << stack.gateway->Stderr();
  EXPECT_EQ(Count(db->db(),
                  "SELECT COUNT(*) FROM t_ai_api_logs WHERE request_id = 'zh-error' "
                  "AND http_status = 400 AND error_message LIKE '%(HTTP 400): 请求参数错误%'"),
            1);
  EXPECT_EQ(Count(db->db(),
                  "SELECT COUNT(*) FROM t_ai_api_logs WHERE request_id = "
                  "'after-zh-error' AND status = 'success'"),
            1);
  EXPECT_EQ(Count(db->db(), "SELECT COUNT(*) FROM t_ai_api_logs"), 2);
  std::error_code ec;
  EXPECT_EQ(std::filesystem::file_size(std::string(spool_dir) + "/call-events.spool", ec), 0u)
      << "nothing waits in the spool";
  EXPECT_FALSE(std::filesystem::exists(std::string(spool_dir) + "/call-events.spool.rejected") &&
               std::filesystem::file_size(std::string(spool_dir) + "/call-events.spool.rejected") >
                   0)
      << "nothing was set aside";
  upstream.Stop();
  std::filesystem::remove_all(spool_dir);
}

// An event the database will not store (here a trigger refuses its
// request id, as it would a value it cannot hold) is set aside for an
// operator, and the events that shared its batch are recorded.
TEST(SpoolReplayTest, AnEventTheDatabaseRefusesIsSetAsideAndHoldsNoOtherBack) {
  fake_upstream::FakeUpstreamServer upstream({});
  ASSERT_TRUE(upstream.Start().ok());
  std::unique_ptr<testing::TestDatabase> db = OpenAiAt(upstream);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->db()
                  .Run([](soci::session& s) {
                    s << "CREATE TRIGGER poison BEFORE INSERT ON t_ai_api_logs WHEN "
                         "NEW.request_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); "
                         "END";
                    return absl::OkStatus();
                  })
                  .ok());
  // The three calls' events go as one batch.
  Stack stack;
  StartStack(*db, {"--event_batch_size=3", "--event_flush_interval=1m"}, &stack);
  if (HasFatalFailure()) return;
  const std::string& spool_dir = stack.spool_dir;
  for (const char* id : {"before-poison", "poison", "after-poison"}) {
    grpc::Status st = Complete(*stack.chat, id);
    ASSERT_TRUE(st.ok()) << id << ": " << st.error_message();
  }
  // The batch is delivered as soon as it is full.
  const std::string log_count =
      "SELECT COUNT(*) FROM t_ai_api_logs WHERE request_id IN ('before-poison', 'after-poison')";
  for (int i = 0; i < 200 && Count(db->db(), log_count) < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Count(db->db(), log_count), 2);
  stack.gateway->Signal(SIGTERM);
  ASSERT_EQ(*stack.gateway->Wait(absl::Seconds(30)), 0) << stack.gateway->Stderr();
  EXPECT_EQ(Count(db->db(), "SELECT COUNT(*) FROM t_ai_api_logs"), 2);
  std::error_code ec;
  EXPECT_EQ(std::filesystem::file_size(std::string(spool_dir) + "/call-events.spool", ec), 0u)
      << "nothing waits in the spool";
  const std::string rejected = std::string(spool_dir) + "/call-events.spool.rejected";
  EXPECT_GT(std::filesystem::file_size(rejected, ec), 0u) << "the refused event is set aside";
  EXPECT_NE(stack.gateway->Stderr().find("poisoned row"), std::string::npos)
      << stack.gateway->Stderr();
  upstream.Stop();
  std::filesystem::remove_all(spool_dir);
}

}  // namespace
}  // namespace aigw
