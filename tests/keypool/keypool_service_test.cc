#include "services/keypool/keypool_service.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "services/keypool/key_pool.h"
#include "services/keypool/keypool_runtime.h"
#include "soci/soci.h"
#include "tests/testing/database_test.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/test_keys.h"

namespace aigw::keypool {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

ProviderRow Provider(int64_t id, const std::string& code) {
  ProviderRow p;
  p.id = id;
  p.code = code;
  p.base_url = absl::StrCat("https://", code, ".example/v1");
  p.api_format = code == "anthropic" ? "anthropic" : "openai";
  return p;
}

KeyRow Key(int64_t id, int64_t provider_id, int priority, int64_t rpm = 0) {
  KeyRow k;
  k.id = id;
  k.provider_id = provider_id;
  k.key_name = absl::StrCat("key-", id);
  k.secret = absl::StrCat("sk-live-secret-", id, "-ABCDEFGH");
  k.masked = absl::StrCat("sk-l...", "EFGH");
  k.priority = priority;
  k.rate_limit_rpm = rpm;
  return k;
}

// An in-process server with the service, and its clients.
class Server : public testing::LocalGrpcServer {
 public:
  explicit Server(grpc::Service* service) : LocalGrpcServer({service}) {}
  // A client on its own connection (distinct channel arguments keep gRPC
  // from sharing one subchannel between clients).
  std::unique_ptr<aigw::v1::KeyPool::Stub> NewClient(int client_id = 0) const {
    grpc::ChannelArguments args;
    args.SetInt("aigw.test.client", client_id);
    return aigw::v1::KeyPool::NewStub(NewChannel(args));
  }
};

class KeyPoolServiceTest : public ::testing::Test {
 protected:
  KeyPoolServiceTest() : clock_(kT0), pool_(&clock_, KeyPoolOptions{}) {}

  void Start(std::vector<KeyRow> keys, AsyncReload reload = nullptr) {
    snapshot_.providers = {Provider(1, "openai"), Provider(2, "anthropic")};
    snapshot_.keys = std::move(keys);
    pool_.Apply(snapshot_);
    service_ = std::make_unique<KeyPoolService>(&pool_, std::move(reload));
    server_ = std::make_unique<Server>(service_.get());
    ASSERT_NE(server_->port(), 0);
    stub_ = server_->NewClient();
  }

  grpc::Status Lease(const std::string& provider, int64_t tokens, aigw::v1::LeaseKeyResponse* out,
                     std::vector<int64_t> exclude = {}, grpc::ClientContext* ctx = nullptr) {
    aigw::v1::LeaseKeyRequest req;
    req.set_provider_code(provider);
    req.set_model("gpt-4o");
    req.set_estimated_tokens(tokens);
    for (int64_t id : exclude) req.add_exclude_key_ids(id);
    grpc::ClientContext local;
    return stub_->LeaseKey(ctx != nullptr ? ctx : &local, req, out);
  }

  grpc::Status Report(const std::string& lease_id, aigw::v1::Outcome outcome,
                      int64_t total_tokens = 0) {
    aigw::v1::ReportUsageRequest req;
    req.set_lease_id(lease_id);
    req.set_outcome(outcome);
    req.set_total_tokens(total_tokens);
    grpc::ClientContext ctx;
    aigw::v1::ReportUsageResponse resp;
    return stub_->ReportUsage(&ctx, req, &resp);
  }

  ManualClock clock_;
  KeyPool pool_;
  PoolSnapshot snapshot_;
  std::unique_ptr<KeyPoolService> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<aigw::v1::KeyPool::Stub> stub_;
};

TEST_F(KeyPoolServiceTest, LeaseAnswersWithTheKeyAndItsProvider) {
  Start({Key(7, 2, 1)});
  aigw::v1::LeaseKeyResponse resp;
  grpc::Status st = Lease("anthropic", 100, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(resp.lease_id().empty());
  EXPECT_EQ(resp.key_id(), 7);
  EXPECT_EQ(resp.api_key(), "sk-live-secret-7-ABCDEFGH");
  EXPECT_EQ(resp.base_url(), "https://anthropic.example/v1");
  EXPECT_EQ(resp.api_format(), "anthropic");
  EXPECT_EQ(resp.provider_id(), 2);
  EXPECT_EQ(resp.key_name(), "key-7");
  EXPECT_TRUE(Report(resp.lease_id(), aigw::v1::SUCCESS, 80).ok());
  // Reported once; the retried report is accepted and changes nothing.
  EXPECT_TRUE(Report(resp.lease_id(), aigw::v1::SUCCESS, 80).ok());
  absl::StatusOr<std::vector<KeyStateView>> states = pool_.ListKeyStates("anthropic");
  ASSERT_TRUE(states.ok());
  EXPECT_EQ((*states)[0].tokens_today, 80);
}

TEST_F(KeyPoolServiceTest, BadInputGetsTheDocumentedCodes) {
  Start({Key(1, 1, 1)});
  aigw::v1::LeaseKeyResponse resp;
  EXPECT_EQ(Lease("", 0, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Lease("openai", -1, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status unknown = Lease("nosuch", 0, &resp);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("nosuch"));
  EXPECT_EQ(Report("no-such-lease", aigw::v1::SUCCESS).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Lease("openai", 0, &resp).ok());
  EXPECT_EQ(Report(resp.lease_id(), aigw::v1::OUTCOME_UNSPECIFIED).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  aigw::v1::ListKeyStatesRequest req;
  req.set_provider_code("nosuch");
  aigw::v1::ListKeyStatesResponse list;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->ListKeyStates(&ctx, req, &list).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(KeyPoolServiceTest, PrefetchedLeasesComeWithTheirSecretsAndCanBeReleased) {
  Start({Key(1, 1, 1), Key(2, 1, 1)});
  aigw::v1::LeaseKeyRequest req;
  req.set_provider_code("openai");
  req.set_estimated_tokens(10);
  req.set_prefetch(3);
  aigw::v1::LeaseKeyResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->LeaseKey(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.prefetched_size(), 3);
  for (const aigw::v1::LeaseKeyResponse& p : resp.prefetched()) {
    EXPECT_FALSE(p.lease_id().empty());
    EXPECT_EQ(p.api_key(), absl::StrCat("sk-live-secret-", p.key_id(), "-ABCDEFGH"));
    EXPECT_EQ(p.key_name(), absl::StrCat("key-", p.key_id()));
  }
  // All four counted; releasing the three unused ones gives them back.
  aigw::v1::ReportUsageBatchRequest batch;
  for (const aigw::v1::LeaseKeyResponse& p : resp.prefetched()) {
    aigw::v1::ReportUsageRequest* r = batch.add_reports();
    r->set_lease_id(p.lease_id());
    r->set_outcome(aigw::v1::RELEASED);
  }
  aigw::v1::ReportUsageRequest* bad = batch.add_reports();
  bad->set_lease_id("no-such-lease");
  bad->set_outcome(aigw::v1::SUCCESS);
  aigw::v1::ReportUsageRequest* malformed = batch.add_reports();
  malformed->set_lease_id(resp.lease_id());
  aigw::v1::ReportUsageBatchResponse answer;
  grpc::ClientContext bctx;
  ASSERT_TRUE(stub_->ReportUsageBatch(&bctx, batch, &answer).ok());
  ASSERT_EQ(answer.codes_size(), 5);
  ASSERT_EQ(answer.messages_size(), 5);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(answer.codes(i), 0) << answer.messages(i);
  EXPECT_EQ(answer.codes(3), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(answer.messages(3), HasSubstr("no-such-lease"));
  EXPECT_EQ(answer.codes(4), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(answer.messages(4), HasSubstr("outcome"));
  absl::StatusOr<std::vector<KeyStateView>> states = pool_.ListKeyStates("openai");
  ASSERT_TRUE(states.ok());
  int64_t requests = 0;
  for (const KeyStateView& v : *states) requests += v.requests_today;
  EXPECT_EQ(requests, 1);
}

TEST_F(KeyPoolServiceTest, PrefetchAndBatchLimitsAreInvalidArgument) {
  Start({Key(1, 1, 1)});
  for (int prefetch : {-1, 65}) {
    aigw::v1::LeaseKeyRequest req;
    req.set_provider_code("openai");
    req.set_prefetch(prefetch);
    aigw::v1::LeaseKeyResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub_->LeaseKey(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("prefetch must be between 0 and 64"));
  }
  aigw::v1::ReportUsageBatchRequest empty;
  aigw::v1::ReportUsageBatchResponse answer;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->ReportUsageBatch(&ctx, empty, &answer).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  aigw::v1::ReportUsageBatchRequest big;
  for (int i = 0; i < kMaxReportBatch + 1; ++i) {
    big.add_reports()->set_lease_id("x");
  }
  grpc::ClientContext ctx2;
  grpc::Status st = stub_->ReportUsageBatch(&ctx2, big, &answer);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("at most 1000"));
}

TEST_F(KeyPoolServiceTest, ExhaustedCarriesTheTextAndARetryAfterHint) {
  Start({Key(1, 1, 1, /*rpm=*/1)});
  aigw::v1::LeaseKeyResponse resp;
  ASSERT_TRUE(Lease("openai", 0, &resp).ok());
  clock_.Advance(absl::Milliseconds(20'000) + absl::Microseconds(1));
  grpc::ClientContext ctx;
  grpc::Status st = Lease("openai", 0, &resp, {}, &ctx);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(st.error_message(), "No available API keys for provider openai");
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(kRetryAfterMsMetadata);
  ASSERT_NE(it, trailers.end());
  // 39 999.999 ms, rounded up.
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "40000");

  // Nothing will ever free up (all excluded): no hint.
  grpc::ClientContext ctx2;
  st = Lease("openai", 0, &resp, {1}, &ctx2);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ctx2.GetServerTrailingMetadata().count(kRetryAfterMsMetadata), 0u);
}

TEST_F(KeyPoolServiceTest, ListKeyStatesShowsLiveStateAndNeverTheSecret) {
  Start({Key(1, 1, 5, /*rpm=*/10), Key(2, 1, 1), Key(3, 2, 1)});
  aigw::v1::LeaseKeyResponse resp;
  ASSERT_TRUE(Lease("openai", 100, &resp).ok());
  ASSERT_TRUE(Report(resp.lease_id(), aigw::v1::RATE_LIMITED).ok());
  clock_.Advance(absl::Seconds(1));
  aigw::v1::ListKeyStatesRequest req;
  aigw::v1::ListKeyStatesResponse list;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListKeyStates(&ctx, req, &list).ok());
  ASSERT_EQ(list.keys_size(), 3);
  // anthropic first (by code), then openai by priority.
  EXPECT_EQ(list.keys(0).provider_code(), "anthropic");
  const aigw::v1::KeyState& k = list.keys(1);
  EXPECT_EQ(k.key_id(), 1);
  EXPECT_EQ(k.key_name(), "key-1");
  EXPECT_EQ(k.masked_key(), "sk-l...EFGH");
  EXPECT_EQ(k.status(), "rate_limited");
  EXPECT_EQ(k.priority(), 5);
  EXPECT_EQ(k.requests_current_minute(), 1);
  EXPECT_EQ(k.tokens_current_minute(), 0);
  EXPECT_EQ(k.requests_today(), 1);
  EXPECT_EQ(k.rate_limit_rpm(), 10);
  EXPECT_EQ(k.cooldown_until().seconds(), absl::ToUnixSeconds(kT0 + absl::Seconds(60)));
  EXPECT_EQ(k.last_used_at().seconds(), absl::ToUnixSeconds(kT0));
  EXPECT_TRUE(k.is_active());
  EXPECT_FALSE(list.keys(2).has_last_used_at());
  EXPECT_FALSE(list.keys(2).has_cooldown_until());
  EXPECT_THAT(list.SerializeAsString(), ::testing::Not(HasSubstr("sk-live-secret")));

  req.set_provider_code("anthropic");
  aigw::v1::ListKeyStatesResponse one;
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->ListKeyStates(&ctx2, req, &one).ok());
  ASSERT_EQ(one.keys_size(), 1);
  EXPECT_EQ(one.keys(0).key_id(), 3);
}

TEST_F(KeyPoolServiceTest, ReloadAnswersWhenTheReloadIsDone) {
  KeyPool* pool = &pool_;
  PoolSnapshot* snapshot = &snapshot_;
  std::vector<std::thread> workers;
  Start({Key(1, 1, 1)}, [&workers, pool, snapshot](auto done) {
    // Answer from another thread, as KeySync does.
    workers.emplace_back([pool, snapshot, done = std::move(done)] {
      snapshot->keys.push_back(Key(9, 1, 100));
      done(pool->Apply(*snapshot));
    });
  });
  aigw::v1::ReloadResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Reload(&ctx, aigw::v1::ReloadRequest(), &resp);
  for (std::thread& t : workers) t.join();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.keys_loaded(), 2);
  aigw::v1::LeaseKeyResponse lease;
  ASSERT_TRUE(Lease("openai", 0, &lease).ok());
  EXPECT_EQ(lease.key_id(), 9);
}

TEST_F(KeyPoolServiceTest, ReloadWithoutADatabaseIsRefused) {
  Start({Key(1, 1, 1)});
  aigw::v1::ReloadResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->Reload(&ctx, aigw::v1::ReloadRequest(), &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(KeyPoolServiceTest, ManyClientsAtOnceGetExactlyTheLimitPerKey) {
  Start({Key(1, 1, 3, /*rpm=*/5), Key(2, 1, 2, /*rpm=*/9), Key(3, 1, 1, /*rpm=*/16),
         Key(4, 2, 1, /*rpm=*/3)});
  constexpr int kClients = 8;
  constexpr int kLeasesEach = 25;
  std::vector<std::map<int64_t, int>> got(kClients);
  std::atomic<int> exhausted{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      std::unique_ptr<aigw::v1::KeyPool::Stub> stub = server_->NewClient(c + 1);
      for (int i = 0; i < kLeasesEach; ++i) {
        aigw::v1::LeaseKeyRequest req;
        req.set_provider_code(i % 5 == 4 ? "anthropic" : "openai");
        aigw::v1::LeaseKeyResponse resp;
        grpc::ClientContext ctx;
        // Debian's gRPC sometimes fails a first connect made by several
        // channels at once ("No such file or directory"); this test is about
        // the limits, so each call waits for its connection.
        ctx.set_wait_for_ready(true);
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        grpc::Status st = stub->LeaseKey(&ctx, req, &resp);
        if (st.ok()) {
          ++got[c][resp.key_id()];
          // Reports go through concurrently too and must not free slots.
          aigw::v1::ReportUsageRequest rep;
          rep.set_lease_id(resp.lease_id());
          rep.set_outcome(aigw::v1::SUCCESS);
          aigw::v1::ReportUsageResponse rr;
          grpc::ClientContext rctx;
          rctx.set_wait_for_ready(true);
          if (!stub->ReportUsage(&rctx, rep, &rr).ok()) ++other;
        } else if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++exhausted;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::map<int64_t, int> total;
  for (const auto& m : got) {
    for (const auto& [id, n] : m) total[id] += n;
  }
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(total[1], 5);
  EXPECT_EQ(total[2], 9);
  EXPECT_EQ(total[3], 16);
  EXPECT_EQ(total[4], 3);
  EXPECT_EQ(exhausted.load(), kClients * kLeasesEach - (5 + 9 + 16 + 3));
}

// The whole keypool over a real database, as the binary wires it.
class KeyPoolRuntimeTest : public testing::DatabaseTest {};

TEST_P(KeyPoolRuntimeTest, ReloadRpcReadsTheDatabaseAndShutdownWritesBack) {
  Exec("INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, priority) "
       "VALUES (3, 'ds-1', 'sk-deepseek-plain-000001', 1)");
  const crypto::SecretBox box = testing::TestSecretBox();
  ManualClock clock(kT0);
  KeyPoolConfig config;
  config.clock = &clock;
  config.sync.poll_interval = absl::ZeroDuration();
  config.sync.flush_interval = absl::Hours(1);
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<KeyPoolRuntime>> rt =
      KeyPoolRuntime::Start(&db(), box, &registry, config);
  ASSERT_TRUE(rt.ok()) << rt.status();
  EXPECT_EQ((*rt)->keys_loaded(), 1);
  std::unique_ptr<KeyPoolService> service = (*rt)->NewService();
  {
    Server server(service.get());
    std::unique_ptr<aigw::v1::KeyPool::Stub> stub = server.NewClient();

    Exec("INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, priority) "
         "VALUES (3, 'ds-2', 'sk-deepseek-plain-000002', 5)");
    aigw::v1::ReloadResponse reloaded;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Reload(&ctx, aigw::v1::ReloadRequest(), &reloaded).ok());
    EXPECT_EQ(reloaded.keys_loaded(), 2);

    aigw::v1::LeaseKeyRequest req;
    req.set_provider_code("deepseek");
    req.set_estimated_tokens(77);
    aigw::v1::LeaseKeyResponse lease;
    grpc::ClientContext lctx;
    ASSERT_TRUE(stub->LeaseKey(&lctx, req, &lease).ok());
    EXPECT_EQ(lease.api_key(), "sk-deepseek-plain-000002");
    EXPECT_EQ(lease.base_url(), "https://api.deepseek.com");
  }
  (*rt)->Stop();
  EXPECT_EQ(QueryInt("SELECT tokens_count_today FROM t_ai_api_keys WHERE key_name = 'ds-2'"), 77);
}

TEST_P(KeyPoolRuntimeTest, AllotKeysGrantsExtendsAndGivesBack) {
  absl::StatusOr<std::unique_ptr<testing::TestDatabase>> tdb =
      testing::TestDatabase::Create(GetParam());
  ASSERT_TRUE(tdb.ok()) << tdb.status();
  db::Database& db = (*tdb)->db();
  const std::string insert =
      "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, rate_limit_rpm, "
      "rate_limit_rpd) VALUES (3, 'ds-1', 'sk-deepseek-plain-000001', 100, 1000)";
  ASSERT_TRUE(db.Run([&](soci::session& s) {
                  s << insert;
                  return absl::OkStatus();
                }).ok());
  absl::StatusOr<crypto::SecretBox> box = crypto::SecretBox::FromMasterKey(
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  ASSERT_TRUE(box.ok());
  ManualClock clock(kT0);
  KeyPoolConfig config;
  config.clock = &clock;
  config.sync.poll_interval = absl::ZeroDuration();
  config.sync.flush_interval = absl::Hours(1);
  absl::StatusOr<std::unique_ptr<KeyPoolRuntime>> rt =
      KeyPoolRuntime::Start(&db, *box, nullptr, config);
  ASSERT_TRUE(rt.ok()) << rt.status();
  std::unique_ptr<KeyPoolService> service = (*rt)->NewService();
  Server server(service.get());
  std::unique_ptr<aigw::v1::KeyPool::Stub> stub = server.NewClient();
  auto allot = [&](aigw::v1::AllotKeysRequest req, aigw::v1::AllotKeysResponse* out) {
    grpc::ClientContext ctx;
    return stub->AllotKeys(&ctx, req, out);
  };

  aigw::v1::AllotKeysRequest req;
  req.set_provider_code("deepseek");
  req.set_holder("gw-1");
  aigw::v1::AllotKeysResponse first;
  ASSERT_TRUE(allot(req, &first).ok());
  ASSERT_EQ(first.allotments_size(), 1);
  const aigw::v1::KeyAllotment& a = first.allotments(0);
  EXPECT_EQ(a.api_key(), "sk-deepseek-plain-000001");
  EXPECT_EQ(a.key_name(), "ds-1");
  EXPECT_EQ(a.requests_per_minute(), 5);
  EXPECT_EQ(a.tokens_per_minute(), 0);
  EXPECT_EQ(a.requests_per_day(), 50);
  EXPECT_EQ(a.valid_for_ms(), 60'000);
  EXPECT_EQ(first.base_url(), "https://api.deepseek.com");
  EXPECT_EQ(first.provider_id(), 3);

  clock.Advance(absl::Seconds(15));
  aigw::v1::AllotmentUse* held = req.add_held();
  held->set_allotment_id(a.allotment_id());
  aigw::v1::AllotKeysResponse second;
  ASSERT_TRUE(allot(req, &second).ok());
  ASSERT_EQ(second.allotments_size(), 1);
  EXPECT_EQ(second.allotments(0).allotment_id(), a.allotment_id()) << "extended in place";
  EXPECT_EQ((*rt)->pool().Allotments()[0].use_until, kT0 + absl::Seconds(75));

  req.set_give_back(true);
  aigw::v1::AllotKeysResponse back;
  ASSERT_TRUE(allot(req, &back).ok());
  EXPECT_EQ(back.allotments_size(), 0);
  EXPECT_TRUE((*rt)->pool().Allotments().empty());

  aigw::v1::AllotKeysRequest nameless;
  nameless.set_provider_code("deepseek");
  aigw::v1::AllotKeysResponse refused;
  EXPECT_EQ(allot(nameless, &refused).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  (*rt)->Stop();
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyPoolRuntimeTest,
                         ::testing::ValuesIn(testing::TestDatabase::Backends()),
                         testing::BackendName);

}  // namespace
}  // namespace aigw::keypool
