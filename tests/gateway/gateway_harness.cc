#include "tests/gateway/gateway_harness.h"

#include "absl/strings/str_cat.h"
#include "services/gateway/request_validation.h"
#include "soci/soci.h"
#include "tests/testing/test_tokens.h"

namespace aigw::gateway::testing {

std::string BearerFor(const std::string& role) {
  return aigw::testing::TestBearer(kJwtSecret, "gateway-test", role);
}

aigw::v1::ChatCompletionRequest UserRequest(const std::string& provider, const std::string& model,
                                            const std::string& text) {
  aigw::v1::ChatCompletionRequest r;
  r.set_provider_code(provider);
  r.set_model(model);
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content(text);
  r.mutable_caller()->set_user_id("user-7");
  return r;
}

absl::Status GatewayHarness::Start(const std::vector<Key>& keys,
                                   const std::map<std::string, std::string>& base_urls,
                                   const std::vector<std::string>& keypool_flags) {
  absl::StatusOr<std::unique_ptr<aigw::testing::TestDatabase>> db =
      aigw::testing::TestDatabase::Create(db::Backend::kSqlite);
  if (!db.ok()) return db.status();
  database_ = std::move(*db);
  upstream_ = std::make_unique<fake_upstream::FakeUpstreamServer>(fake_upstream::ServerOptions{});
  if (absl::Status st = upstream_->Start(); !st.ok()) return st;
  const std::string base = upstream_->base_url();
  // soci executes when the statement's temporary dies, after any temporary
  // bound with use(): bind named variables only.
  const std::string openai_base = base + "/v1";
  absl::Status st = database_->db().Run([&](soci::session& s) {
    s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code = 'openai'",
        soci::use(openai_base);
    s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code <> 'openai'", soci::use(base);
    for (const auto& [code, url] : base_urls) {
      s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code = :c", soci::use(url),
          soci::use(code);
    }
    for (const Key& k : keys) {
      s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, priority) SELECT id, :n, "
           ":k, :p FROM t_ai_providers WHERE provider_code = :c",
          soci::use(k.secret), soci::use(k.secret), soci::use(k.priority), soci::use(k.provider);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;

  const int port = aigw::testing::PickFreePort();
  keypool_target_ = absl::StrCat("127.0.0.1:", port);
  std::vector<std::string> argv = {AIGW_KEYPOOL_BIN, "--db_url=" + database_->url(),
                                   "--grpc_addr=" + keypool_target_,
                                   "--metrics_addr=127.0.0.1:0", "--log_level=warn"};
  argv.insert(argv.end(), keypool_flags.begin(), keypool_flags.end());
  absl::StatusOr<std::unique_ptr<aigw::testing::Subprocess>> keypool =
      aigw::testing::Subprocess::Start(
          argv, {{"AIGW_MASTER_KEY", kMasterKey}, {"AIGW_JWT_SECRET", kJwtSecret}});
  if (!keypool.ok()) return keypool.status();
  keypool_ = std::move(*keypool);
  if (absl::Status serving = aigw::testing::WaitForServing(keypool_target_, absl::Seconds(20));
      !serving.ok()) {
    return absl::Status(serving.code(), absl::StrCat(serving.message(), "\n", keypool_->Stderr()));
  }
  absl::StatusOr<std::unique_ptr<http::HttpEngine>> engine = http::HttpEngine::Create({});
  if (!engine.ok()) return engine.status();
  engine_ = std::move(*engine);
  grpc_leaser_ = std::make_unique<GrpcKeyLeaser>(
      grpc::CreateChannel(keypool_target_, grpc::InsecureChannelCredentials()), absl::Seconds(5),
      [] { return BearerFor("service"); });
  PrefetchingKeyLeaser::Options prefetch;
  prefetch.sweep_interval = absl::ZeroDuration();
  leaser_ = std::make_unique<PrefetchingKeyLeaser>(grpc_leaser_.get(), Clock::Real(), prefetch);
  absl::StatusOr<std::shared_ptr<const Catalogue>> catalogue = Catalogue::Load(database_->db());
  if (!catalogue.ok()) return catalogue.status();
  catalogue_ = *catalogue;

  pipeline_.engine = engine_.get();
  pipeline_.leaser = leaser_.get();
  pipeline_.events = &events_;
  pipeline_.random = [] { return 0.5; };  // the middle of the jitter band: none
  http::HttpEngine* e = engine_.get();
  pipeline_.schedule = [this, e](absl::Duration delay, std::function<void()> fn) {
    delays_.push_back(delay);  // engine thread only
    e->Post(std::move(fn));
  };
  return absl::OkStatus();
}

GatewayHarness::~GatewayHarness() {
  // Destroying the engine closes its kept-alive connections, so the fake's
  // worker threads are not left waiting on them.
  engine_.reset();
  if (upstream_) upstream_->Stop();
}

void GatewayHarness::AddRule(const std::string& json) {
  absl::StatusOr<std::vector<fake_upstream::Rule>> rules = fake_upstream::ParseRules(json);
  ASSERT_TRUE(rules.ok()) << rules.status();
  for (auto& r : *rules) upstream_->rules().Add(std::move(r));
}

std::shared_ptr<CompletionCall> GatewayHarness::Begin(
    const aigw::v1::ChatCompletionRequest& request, ChunkWriter* writer,
    std::promise<CallResult>* done) {
  absl::StatusOr<std::vector<ResolvedTarget>> targets =
      ValidateChatRequest(request, *catalogue_, {}, writer != nullptr);
  if (!targets.ok()) {
    done->set_value(CallResult{targets.status(), {}, {}});
    return nullptr;
  }
  auto call = CompletionCall::Create(
      &pipeline_, request, std::move(*targets), catalogue_, writer,
      absl::Now() + absl::Seconds(60),
      [done](absl::Status status, aigw::v1::ChatCompletion completion) {
        done->set_value(CallResult{std::move(status), std::move(completion), {}});
      });
  call->Start();
  return call;
}

CallResult GatewayHarness::Run(const aigw::v1::ChatCompletionRequest& request, bool stream) {
  RecordingChunkWriter writer;
  std::promise<CallResult> done;
  Begin(request, stream ? &writer : nullptr, &done);
  CallResult result = done.get_future().get();
  // The call reports to the keypool and emits its event after answering, on
  // the engine's loop: a task posted now runs after that.
  std::promise<void> settled;
  engine_->Post([&settled] { settled.set_value(); });
  settled.get_future().wait();
  result.chunks = writer.chunks();
  return result;
}

}  // namespace aigw::gateway::testing
