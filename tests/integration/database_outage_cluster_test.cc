// The MariaDB server stops for several seconds under the whole cluster (the
// real gateway, keypool, usage and admin binaries) and comes back: every
// service answers UNAVAILABLE meanwhile and shows it in its readiness and
// metrics, completions go on (keys leased from memory, the catalogue from
// memory, call events spooled), and afterwards every service works again by
// itself: admin and usage answer, the spool drains into the call log with
// every call counted once, the keypool's write-back stores the counts made
// during the outage, and the gateway's catalogue refresh picks up changes.
// Over a private mariadbd (tests/testing/private_mariadb.h).

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/db/database.h"
#include "libs/db/migrations.h"
#include "soci/soci.h"
#include "testing/health_client.grpc.pb.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_tokens.h"
#include "tools/fake-upstream/fake_upstream_server.h"

namespace aigw {
namespace {

using ::aigw::testing::PrivateMariaDb;
using ::aigw::testing::Subprocess;
using HealthStatus = ::grpc::health::v1::HealthCheckResponse::ServingStatus;

constexpr char kMasterKey[] = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
constexpr char kJwtSecret[] = "outage-test-jwt-secret-0123456789abcdef0123";

std::string Bearer(const std::string& role) {
  return testing::TestBearer(kJwtSecret, "outage-test", role);
}

// Polls `done` every 50 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

struct Service {
  std::unique_ptr<Subprocess> process;
  std::string target;
  int metrics_port = 0;
  std::shared_ptr<grpc::Channel> channel;
};

HealthStatus Health(const Service& s, const std::string& name) {
  auto stub = grpc::health::v1::Health::NewStub(s.channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(name);
  grpc::health::v1::HealthCheckResponse resp;
  if (!stub->Check(&ctx, req, &resp).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  return resp.status();
}

// A unary call with an admin token.
template <typename Stub, typename Request, typename Response>
grpc::Status AdminCall(Stub* stub,
                       grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                    Response*),
                       const Request& req) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", Bearer("admin"));
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  Response resp;
  return (stub->*method)(&ctx, req, &resp);
}

constexpr HealthStatus kServing = grpc::health::v1::HealthCheckResponse::SERVING;
constexpr HealthStatus kNotServing = grpc::health::v1::HealthCheckResponse::NOT_SERVING;

class DatabaseOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = PrivateMariaDb::Shared();
    ASSERT_NE(server_, nullptr) << "the private MariaDB did not start";
    ASSERT_TRUE(server_->CreateDatabase("aigw_outage").ok());
    db_url_ = server_->Url("aigw_outage");
    ASSERT_TRUE(upstream_.Start().ok());
    const std::string openai_base = upstream_.base_url() + "/v1";
    {
      std::unique_ptr<db::Database> db = OpenDb();
      ASSERT_NE(db, nullptr);
      ASSERT_TRUE(db::ApplyMigrations(*db).ok());
      ASSERT_TRUE(
          db->Run([&](soci::session& s) {
              s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code = 'openai'",
                  soci::use(openai_base);
              s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key) SELECT id, 'k', "
                   "'sk-outage-test-0000000001' FROM t_ai_providers WHERE provider_code = 'openai'";
              return absl::OkStatus();
            }).ok());
    }
    char spool_dir[] = "/tmp/aigw_outage_spool_XXXXXX";
    ASSERT_NE(mkdtemp(spool_dir), nullptr);
    spool_dir_ = spool_dir;

    const int keypool_port = testing::PickFreePort();
    const int usage_port = testing::PickFreePort();
    // An environment variable rather than a flag, so the same test runs
    // against binaries that do not know it (and shows them failing).
    const std::map<std::string, std::string> env = {{"AIGW_MASTER_KEY", kMasterKey},
                                                    {"AIGW_JWT_SECRET", kJwtSecret},
                                                    {"AIGW_DB_RECONNECT_MAX_BACKOFF", "200ms"}};
    StartService(&keypool_, AIGW_KEYPOOL_BIN, keypool_port, env, {"--flush_interval=100ms"});
    StartService(&usage_, AIGW_USAGE_BIN, usage_port, env, {});
    StartService(&admin_, AIGW_ADMIN_BIN, testing::PickFreePort(), env,
                 {absl::StrCat("--keypool_addr=127.0.0.1:", keypool_port)});
    StartService(&gateway_, AIGW_GATEWAY_BIN, testing::PickFreePort(), env,
                 {absl::StrCat("--keypool_addr=127.0.0.1:", keypool_port),
                  absl::StrCat("--usage_addr=127.0.0.1:", usage_port), "--spool_dir=" + spool_dir_,
                  "--event_flush_interval=20ms", "--catalogue_refresh=200ms"});
    for (Service* s : {&keypool_, &usage_, &admin_, &gateway_}) {
      absl::Status st = testing::WaitForServing(s->target, absl::Seconds(20));
      ASSERT_TRUE(st.ok()) << st << "\n" << s->process->Stderr();
    }
  }

  void TearDown() override {
    for (Service* s : {&gateway_, &admin_, &usage_, &keypool_}) s->process.reset();
    upstream_.Stop();
    if (server_ != nullptr && !server_->running()) {
      EXPECT_TRUE(server_->Restart().ok());
    }
    std::error_code ec;
    if (!spool_dir_.empty()) std::filesystem::remove_all(spool_dir_, ec);
  }

  std::unique_ptr<db::Database> OpenDb() {
    absl::StatusOr<db::DatabaseUrl> url = db::DatabaseUrl::Parse(db_url_);
    if (!url.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<db::Database>> db = db::Database::Open(*url, 1);
    return db.ok() ? std::move(*db) : nullptr;
  }

  long long Count(const std::string& sql) {
    std::unique_ptr<db::Database> db = OpenDb();
    long long n = -1;
    if (db == nullptr) return n;
    (void)db->Run([&](soci::session& s) {
      soci::indicator ind = soci::i_ok;
      s << sql, soci::into(n, ind);
      if (ind != soci::i_ok) n = 0;
      return absl::OkStatus();
    });
    return n;
  }

  void StartService(Service* s, const std::string& binary, int port,
                    const std::map<std::string, std::string>& env, std::vector<std::string> extra) {
    s->target = absl::StrCat("127.0.0.1:", port);
    s->metrics_port = testing::PickFreePort();
    std::vector<std::string> argv = {binary, "--db_url=" + db_url_, "--grpc_addr=" + s->target,
                                     absl::StrCat("--metrics_addr=127.0.0.1:", s->metrics_port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(argv, env);
    ASSERT_TRUE(p.ok()) << p.status();
    s->process = std::move(*p);
    s->channel = grpc::CreateChannel(s->target, grpc::InsecureChannelCredentials());
  }

  grpc::Status Chat(const std::string& request_id, const std::string& model = "") {
    auto stub = v1::ChatService::NewStub(gateway_.channel);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", Bearer("client"));
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::ChatCompletionRequest req;
    req.set_provider_code("openai");
    req.set_model(model);
    req.set_request_id(request_id);
    auto* m = req.add_messages();
    m->set_role("user");
    m->set_content("a verse about " + request_id);
    v1::ChatCompletion out;
    return stub->CreateChatCompletion(&ctx, req, &out);
  }

  grpc::Status ListProviders() {
    return AdminCall(v1::AdminService::NewStub(admin_.channel).get(),
                     &v1::AdminService::Stub::ListProviders, v1::ListProvidersRequest());
  }

  grpc::Status GetDashboard() {
    v1::GetDashboardRequest req;
    req.set_days(7);
    return AdminCall(v1::UsageService::NewStub(usage_.channel).get(),
                     &v1::UsageService::Stub::GetDashboard, req);
  }

  grpc::Status Reload() {
    return AdminCall(v1::KeyPool::NewStub(keypool_.channel).get(), &v1::KeyPool::Stub::Reload,
                     v1::ReloadRequest());
  }

  PrivateMariaDb* server_ = nullptr;
  std::string db_url_;
  std::string spool_dir_;
  fake_upstream::FakeUpstreamServer upstream_{{}};
  Service keypool_, usage_, admin_, gateway_;
};

void ExpectUnavailable(const grpc::Status& st, const std::string& what) {
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << what << ": " << st.error_message();
  EXPECT_TRUE(absl::StrContains(st.error_message(), "database"))
      << what << ": " << st.error_message();
}

TEST_F(DatabaseOutageTest, EveryServiceHealsAfterTheServerIsGoneForSeconds) {
  constexpr int kBefore = 10, kDuring = 15;
  for (int i = 0; i < kBefore; ++i) ASSERT_TRUE(Chat(absl::StrCat("before-", i)).ok());
  ASSERT_TRUE(ListProviders().ok());
  ASSERT_TRUE(WaitFor([&] { return Count("SELECT COUNT(*) FROM t_ai_api_logs") == kBefore; },
                      absl::Seconds(10)));

  ASSERT_TRUE(server_->Stop().ok());
  const absl::Time outage_start = absl::Now();

  // Every RPC that needs the database: UNAVAILABLE, saying why, the first
  // call (which finds the connection gone) and every later one.
  for (int i = 0; i < 3; ++i) {
    ExpectUnavailable(ListProviders(), "admin ListProviders");
    ExpectUnavailable(GetDashboard(), "usage GetDashboard");
    ExpectUnavailable(Reload(), "keypool Reload");
  }
  // Readiness: usage and admin cannot serve; the overall status (liveness)
  // stays SERVING everywhere; each binary names its database's state.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Health(usage_, "aigw.v1.UsageService") == kNotServing &&
               Health(admin_, "aigw.v1.AdminService") == kNotServing &&
               Health(keypool_, "aigw.database") == kNotServing &&
               Health(gateway_, "aigw.database") == kNotServing;
      },
      absl::Seconds(5)));
  for (const Service* s : {&usage_, &admin_, &keypool_, &gateway_}) {
    EXPECT_EQ(Health(*s, ""), kServing) << s->target;
    EXPECT_EQ(testing::MetricValue(s->metrics_port, "aigw_db_up"), 0) << s->target;
  }
  EXPECT_GT(testing::MetricValue(usage_.metrics_port, "aigw_db_errors_total{kind=\"connection\"}"),
            0);
  EXPECT_GT(
      testing::MetricValue(admin_.metrics_port, "aigw_db_reconnects_total{result=\"failed\"}"), 0);

  // Completions go on: keys are leased from memory, the catalogue is in
  // memory, the call events wait in the gateway's spool.
  for (int i = 0; i < kDuring; ++i) {
    grpc::Status st = Chat(absl::StrCat("during-", i));
    EXPECT_TRUE(st.ok()) << i << ": " << st.error_message();
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        return testing::MetricValue(gateway_.metrics_port, "aigw_gateway_spool_events") >= kDuring;
      },
      absl::Seconds(10)));

  // Several seconds of outage, then the server is back.
  absl::SleepFor(outage_start + absl::Seconds(4) - absl::Now());
  ASSERT_TRUE(server_->Restart().ok());

  EXPECT_TRUE(WaitFor(
      [&] {
        return Health(usage_, "aigw.v1.UsageService") == kServing &&
               Health(admin_, "aigw.v1.AdminService") == kServing &&
               Health(keypool_, "aigw.database") == kServing &&
               Health(gateway_, "aigw.database") == kServing;
      },
      absl::Seconds(10)));
  grpc::Status admin = ListProviders();
  EXPECT_TRUE(admin.ok()) << admin.error_message();
  grpc::Status usage = GetDashboard();
  EXPECT_TRUE(usage.ok()) << usage.error_message();
  grpc::Status reload = Reload();
  EXPECT_TRUE(reload.ok()) << reload.error_message();
  for (const Service* s : {&usage_, &admin_, &keypool_, &gateway_}) {
    EXPECT_EQ(testing::MetricValue(s->metrics_port, "aigw_db_up"), 1) << s->target;
    EXPECT_GT(testing::MetricValue(s->metrics_port, "aigw_db_reconnects_total{result=\"ok\"}"), 0)
        << s->target;
  }

  // The spool drains: every call in the log and the daily stats once.
  constexpr int kCalls = kBefore + kDuring;
  EXPECT_TRUE(WaitFor(
      [&] {
        return testing::MetricValue(gateway_.metrics_port, "aigw_gateway_spool_events") == 0 &&
               Count("SELECT COUNT(*) FROM t_ai_api_logs") == kCalls;
      },
      absl::Seconds(20)))
      << "spooled " << testing::MetricValue(gateway_.metrics_port, "aigw_gateway_spool_events")
      << ", logged " << Count("SELECT COUNT(*) FROM t_ai_api_logs");
  EXPECT_EQ(Count("SELECT COUNT(*) FROM t_ai_api_logs"), kCalls);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT request_id) FROM t_ai_api_logs"), kCalls);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM t_ai_api_logs WHERE request_id LIKE 'during-%'"), kDuring);
  EXPECT_EQ(Count("SELECT COALESCE(SUM(total_requests), 0) FROM t_ai_usage_stats"), kCalls);

  // The keypool's write-back resumed with the counts made during the outage.
  EXPECT_TRUE(WaitFor(
      [&] { return Count("SELECT SUM(requests_count_today) FROM t_ai_api_keys") == kCalls; },
      absl::Seconds(10)))
      << Count("SELECT SUM(requests_count_today) FROM t_ai_api_keys");

  // The gateway's catalogue refresh resumed: a model added now is served.
  EXPECT_EQ(Chat("new-model-early", "gpt-after-outage").error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(Count("SELECT COUNT(*) FROM t_ai_models WHERE model_code = 'gpt-after-outage'"), 0);
  {
    std::unique_ptr<db::Database> db = OpenDb();
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(
        db->Run([](soci::session& s) {
            s << "INSERT INTO t_ai_models (provider_id, model_code, model_name) SELECT id, "
                 "'gpt-after-outage', 'After the outage' FROM t_ai_providers WHERE provider_code = "
                 "'openai'";
            return absl::OkStatus();
          }).ok());
  }
  int attempt = 0;
  EXPECT_TRUE(
      WaitFor([&] { return Chat(absl::StrCat("new-model-", ++attempt), "gpt-after-outage").ok(); },
              absl::Seconds(5)));
}

}  // namespace
}  // namespace aigw
