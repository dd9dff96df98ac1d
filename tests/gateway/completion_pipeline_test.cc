// The pipeline against the fake upstream (real HTTP) and the real keypool
// binary: each provider format unary and streamed, usage and exact cost,
// retries, key switching, fallbacks, cancellation, batches.

#include <functional>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/crypto/secret_scrub.h"
#include "libs/tokenizer/token_counter.h"
#include "services/gateway/chat_service.h"
#include "services/usage/call_log_row.h"
#include "soci/soci.h"
#include "tests/gateway/gateway_harness.h"
#include "tests/testing/local_grpc_server.h"

namespace aigw::gateway::testing {
namespace {

constexpr char kKeyA[] = "sk-test-key-a-000000000001";
constexpr char kKeyB[] = "sk-test-key-b-000000000002";

constexpr char kDeepSeekKey[] = "sk-deepseek-000000000001";

// No run of crypto::kMinSecretPiece bytes of `secret` is in `text`.
void ExpectNoPieceOf(absl::string_view secret, const std::string& text, absl::string_view where) {
  for (size_t i = 0; i + crypto::kMinSecretPiece <= secret.size(); ++i) {
    const absl::string_view piece = secret.substr(i, crypto::kMinSecretPiece);
    EXPECT_FALSE(absl::StrContains(text, piece))
        << where << " holds '" << piece << "' of the key: " << text;
  }
}

class CompletionPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status st = h_.Start({{"openai", kKeyA, 100},
                                {"openai", kKeyB, 50},
                                {"deepseek", kDeepSeekKey, 100},
                                {"anthropic", "sk-ant-000000000000001", 100}},
                               {}, KeypoolFlags());
    ASSERT_TRUE(st.ok()) << st;
  }
  virtual std::vector<std::string> KeypoolFlags() const { return {}; }

  // Whatever a test did, usage must be able to store every event the
  // pipeline emitted: one it refuses holds back the batch it travels in.
  void TearDown() override {
    for (const aigw::v1::CallEvent& ev : h_.events().events()) {
      absl::StatusOr<aigw::usage::LogRow> row =
          aigw::usage::ToLogRow(ev, absl::UTCTimeZone(), absl::Now());
      EXPECT_TRUE(row.ok()) << row.status() << " for " << ev.ShortDebugString();
    }
  }

  // Deletes every key of `provider` and has the keypool reload, as an
  // operator who removed them would.
  void RemoveKeysOf(const std::string& provider) {
    ASSERT_TRUE(h_.db().Run([&](soci::session& s) {
                   s << "DELETE FROM t_ai_api_keys WHERE provider_id IN "
                        "(SELECT id FROM t_ai_providers WHERE provider_code = :code)",
                       soci::use(provider);
                   return absl::OkStatus();
                 }).ok());
    auto channel = grpc::CreateChannel(h_.keypool_target(), grpc::InsecureChannelCredentials());
    auto stub = aigw::v1::KeyPool::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", BearerFor("admin"));
    aigw::v1::ReloadResponse reloaded;
    ASSERT_TRUE(stub->Reload(&ctx, {}, &reloaded).ok());
  }

  std::vector<std::string> KeysSeenUpstream() {
    std::vector<std::string> keys;
    for (const auto& r : h_.upstream().requests().Requests()) keys.push_back(r.api_key);
    return keys;
  }

  // The keypool's live state of each key of `provider`, by key name (the
  // harness names a key by its secret).
  std::map<std::string, aigw::v1::KeyState> KeyStates(const std::string& provider) {
    auto stub = aigw::v1::KeyPool::NewStub(
        grpc::CreateChannel(h_.keypool_target(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", BearerFor("admin"));
    aigw::v1::ListKeyStatesRequest req;
    req.set_provider_code(provider);
    aigw::v1::ListKeyStatesResponse resp;
    grpc::Status st = stub->ListKeyStates(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::map<std::string, aigw::v1::KeyState> out;
    for (const auto& k : resp.keys()) out[k.key_name()] = k;
    return out;
  }
  // Reports travel to the keypool off the call's path: waits until `done`
  // holds for its key states (10 s at most).
  std::map<std::string, aigw::v1::KeyState> KeyStatesOnceReported(
      const std::string& provider,
      const std::function<bool(const std::map<std::string, aigw::v1::KeyState>&)>& done) {
    std::map<std::string, aigw::v1::KeyState> states = KeyStates(provider);
    for (int i = 0; i < 500 && !done(states); ++i) {
      absl::SleepFor(absl::Milliseconds(20));
      states = KeyStates(provider);
    }
    return states;
  }

  static std::string StreamedText(const CallResult& r) {
    std::string text;
    for (const auto& c : r.chunks) text += c.delta_content();
    return text;
  }

  GatewayHarness h_;
};

TEST_F(CompletionPipelineTest, OpenAiUnaryWithCachedTokensCostsExactly) {
  h_.AddRule(R"({"model":"gpt-4o","usage":{"prompt_tokens":1000,"cached_tokens":400,
                 "completion_tokens":500}})");
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o", "hello big world"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.content(), "echo: hello big world");
  EXPECT_EQ(r.completion.provider_code(), "openai");
  EXPECT_EQ(r.completion.finish_reason(), "stop");
  EXPECT_EQ(r.completion.usage().prompt_tokens(), 1000);
  EXPECT_EQ(r.completion.usage().cached_prompt_tokens(), 400);
  EXPECT_EQ(r.completion.usage().completion_tokens(), 500);
  EXPECT_EQ(r.completion.usage().total_tokens(), 1500);
  // 600 x $2.50/1M + 400 x $1.25/1M + 500 x $10/1M = $0.007
  EXPECT_EQ(r.completion.cost_nanos(), 7000000);
  EXPECT_DOUBLE_EQ(r.completion.cost_usd(), 0.007);
  EXPECT_EQ(r.completion.attempts(), 1);
  EXPECT_TRUE(absl::StartsWith(r.completion.request_id(), "req_"));
  // req_ + 12 hex digits of Unix milliseconds + 16 random hex digits: ids
  // sort by creation time.
  ASSERT_EQ(r.completion.request_id().size(), 4u + 12u + 16u);
  int64_t ms = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(r.completion.request_id().substr(4, 12), &ms));
  EXPECT_LE(std::abs(ms - absl::ToUnixMillis(absl::Now())), 60'000);
  // The higher-priority key was used, in OpenAI's header.
  EXPECT_EQ(KeysSeenUpstream(), std::vector<std::string>{kKeyA});

  std::vector<aigw::v1::CallEvent> events = h_.events().events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].request_id(), r.completion.request_id());
  EXPECT_EQ(events[0].outcome(), aigw::v1::SUCCESS);
  EXPECT_EQ(events[0].cost_nanos(), 7000000);
  EXPECT_EQ(events[0].usage().cached_prompt_tokens(), 400);
  EXPECT_EQ(events[0].caller().user_id(), "user-7");
  EXPECT_GT(events[0].key_id(), 0);
  EXPECT_TRUE(events[0].is_final());
}

TEST_F(CompletionPipelineTest, AnthropicUnaryWithCacheWritesAndReads) {
  h_.AddRule(R"({"usage":{"prompt_tokens":2000,"cached_tokens":1000,"cache_creation_tokens":500,
                 "completion_tokens":100}})");
  auto req = UserRequest("anthropic", "", "hello big world");
  auto* sys = req.add_messages();
  sys->set_role("system");
  sys->set_content("You write lyrics.");
  CallResult r = h_.Run(req);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.model(), "claude-3-5-sonnet-20241022");  // the default model
  EXPECT_EQ(r.completion.usage().prompt_tokens(), 2000);
  EXPECT_EQ(r.completion.usage().cached_prompt_tokens(), 1000);
  EXPECT_EQ(r.completion.usage().cache_creation_tokens(), 500);
  // 500 x $3/1M + 1000 x $0.30/1M + 500 x $3.75/1M + 100 x $15/1M
  EXPECT_EQ(r.completion.cost_nanos(), 5175000);
  // Anthropic's request: x-api-key, max_tokens defaulted from the model.
  auto reqs = h_.upstream().requests().Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/v1/messages");
  EXPECT_TRUE(absl::StrContains(reqs[0].body, "\"max_tokens\":8192")) << reqs[0].body;
  EXPECT_TRUE(absl::StrContains(reqs[0].body, "\"system\":\"You write lyrics.\"")) << reqs[0].body;
}

TEST_F(CompletionPipelineTest, DeepSeekReasonerUnaryWithReasoningAndCacheHits) {
  h_.AddRule(R"({"usage":{"cached_tokens":4}})");
  CallResult r = h_.Run(UserRequest("deepseek", "deepseek-reasoner", "hello big world"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.content(), "echo: hello big world");
  EXPECT_EQ(r.completion.reasoning_content(), "Reasoning about: hello big world");
  EXPECT_EQ(r.completion.usage().prompt_tokens(), 6);
  EXPECT_EQ(r.completion.usage().cached_prompt_tokens(), 4);
  EXPECT_EQ(r.completion.usage().completion_tokens(), 9);
  EXPECT_EQ(r.completion.usage().reasoning_tokens(), 5);
  // 2 x $0.55/1M + 4 x $0.14/1M + 9 x $2.19/1M
  EXPECT_EQ(r.completion.cost_nanos(), 21370);
  EXPECT_EQ(h_.upstream().requests().Requests()[0].path, "/chat/completions");
}

TEST_F(CompletionPipelineTest, EachFormatStreamsDeltasAndEndsWithUsageAndCost) {
  struct Case {
    std::string provider, model;
    int64_t prompt, completion, cost;
  };
  // gpt-4o-mini: 6 x $0.15/1M + 4 x $0.60/1M; claude: 6 x $3/1M + 4 x $15/1M;
  // deepseek-chat: 6 x $0.27/1M + 4 x $1.10/1M.
  for (const Case& c : {Case{"openai", "gpt-4o-mini", 6, 4, 3300},
                        Case{"anthropic", "claude-3-5-sonnet-20241022", 6, 4, 78000},
                        Case{"deepseek", "deepseek-chat", 6, 4, 6020}}) {
    SCOPED_TRACE(c.provider);
    CallResult r = h_.Run(UserRequest(c.provider, c.model, "hello big world"), /*stream=*/true);
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_GE(r.chunks.size(), 3u);
    EXPECT_EQ(StreamedText(r), "echo: hello big world");
    EXPECT_EQ(r.chunks.front().provider_code(), c.provider);
    const auto& last = r.chunks.back();
    EXPECT_EQ(last.finish_reason(), "stop");
    EXPECT_EQ(last.usage().prompt_tokens(), c.prompt);
    EXPECT_EQ(last.usage().completion_tokens(), c.completion);
    EXPECT_EQ(last.cost_nanos(), c.cost);
    EXPECT_EQ(last.attempts(), 1);
    EXPECT_FALSE(last.request_id().empty());
  }
  for (const auto& e : h_.events().events()) {
    EXPECT_TRUE(e.is_stream());
    EXPECT_GE(e.ttft_ms(), 0);
    EXPECT_GT(e.usage().total_tokens(), 0);
  }
}

TEST_F(CompletionPipelineTest, StreamWithoutUsageIsCountedNeverZero) {
  h_.AddRule(R"({"omit_usage":true})");
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hello big world"), true);
  ASSERT_TRUE(r.status.ok()) << r.status;
  std::vector<tokenizer::ChatMessage> messages = {{"user", "hello big world", ""}};
  auto prompt = tokenizer::CountChatTokens("gpt-4o-mini", messages);
  auto completion = tokenizer::CountTextTokens("gpt-4o-mini", "echo: hello big world");
  ASSERT_TRUE(prompt.ok() && completion.ok());
  const auto& usage = r.chunks.back().usage();
  EXPECT_EQ(usage.prompt_tokens(), prompt->tokens);
  EXPECT_EQ(usage.completion_tokens(), completion->tokens);
  EXPECT_GT(usage.prompt_tokens(), 0);
  EXPECT_GT(r.chunks.back().cost_nanos(), 0);
  EXPECT_EQ(h_.events().events().back().usage().total_tokens(), usage.total_tokens());
}

TEST_F(CompletionPipelineTest, ServerErrorsAreRetriedWithExponentialBackoff) {
  h_.AddRule(R"({"model":"gpt-4o-mini","status":500,"times":2})");
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.attempts(), 3);
  EXPECT_EQ(h_.delays(), (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2)}));
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].outcome(), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(events[0].http_status(), 500);
  EXPECT_EQ(events[0].attempt(), 1);
  EXPECT_FALSE(events[0].is_final());
  EXPECT_EQ(events[1].outcome(), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(events[2].outcome(), aigw::v1::SUCCESS);
  EXPECT_EQ(events[2].attempt(), 3);
  EXPECT_TRUE(events[2].is_final());
}

TEST_F(CompletionPipelineTest, RateLimitMovesToAnotherKeyAtOnce) {
  // Key A's Retry-After binds key A: the call goes on with key B without
  // waiting (it used to wait the whole Retry-After first).
  h_.AddRule(absl::StrCat(R"({"api_key":")", kKeyA, R"(","status":429,"retry_after":20})"));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(KeysSeenUpstream(), (std::vector<std::string>{kKeyA, kKeyB}));
  EXPECT_EQ(h_.delays(), std::vector<absl::Duration>{absl::ZeroDuration()});
  EXPECT_EQ(r.completion.attempts(), 2);
  EXPECT_EQ(h_.events().events()[0].outcome(), aigw::v1::RATE_LIMITED);
  EXPECT_EQ(h_.events().events()[0].error_code(), "RATE_LIMITED");
  // A cools down: the next calls go straight to B, none from a lease of A
  // kept ready before the 429.
  for (int i = 0; i < 3; ++i) {
    CallResult again = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
    ASSERT_TRUE(again.status.ok()) << again.status;
    EXPECT_EQ(again.completion.attempts(), 1);
  }
  EXPECT_EQ(KeysSeenUpstream(), (std::vector<std::string>{kKeyA, kKeyB, kKeyB, kKeyB, kKeyB}));
  EXPECT_EQ(KeyStates("openai")[kKeyA].status(), "rate_limited");
}

TEST_F(CompletionPipelineTest, AuthFailureSwitchesKeyAtOnceAndTheKeypoolStopsLeasingIt) {
  h_.AddRule(absl::StrCat(R"({"api_key":")", kKeyA, R"(","status":401,"message":"Incorrect API key"})"));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(KeysSeenUpstream(), (std::vector<std::string>{kKeyA, kKeyB}));
  EXPECT_EQ(h_.delays(), std::vector<absl::Duration>{absl::ZeroDuration()});
  // The next call goes straight to the good key: the bad one is invalid now.
  CallResult again = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(KeysSeenUpstream(), (std::vector<std::string>{kKeyA, kKeyB, kKeyB}));
  EXPECT_EQ(again.completion.attempts(), 1);
}

TEST_F(CompletionPipelineTest, A403ForTheKeyTriesAnotherKeyAndLeavesItUsable) {
  // OpenAI's answer for a project without access to the model.
  h_.AddRule(absl::StrCat(R"({"api_key":")", kKeyA, R"(","status":403,)",
                          R"("error_type":"invalid_request_error","error_code":"model_not_found",)",
                          R"("message":"Project does not have access to model gpt-4o-mini"})"));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(KeysSeenUpstream(), (std::vector<std::string>{kKeyA, kKeyB}));
  EXPECT_EQ(h_.delays(), std::vector<absl::Duration>{absl::ZeroDuration()});
  const aigw::v1::CallEvent refused = h_.events().events()[0];
  EXPECT_EQ(refused.outcome(), aigw::v1::PERMISSION_DENIED);
  EXPECT_EQ(refused.http_status(), 403);
  // The key is not invalid: it only may not serve this model.
  auto states = KeyStatesOnceReported("openai", [](const auto& s) {
    return !s.at(kKeyA).last_error().empty();
  });
  EXPECT_EQ(states[kKeyA].status(), "normal");
  EXPECT_TRUE(absl::StrContains(states[kKeyA].last_error(), "does not have access"))
      << states[kKeyA].last_error();
  EXPECT_EQ(states[kKeyB].status(), "normal");
}

TEST_F(CompletionPipelineTest, ARegionRefusalGoesToTheNextTargetAndHurtsNoKey) {
  // OpenAI's 403 unsupported_country_region_territory (the fake's default
  // 403 body): no key of OpenAI would be served from here.
  h_.AddRule(R"({"path":"/v1/chat/completions","status":403,)"
             R"("message":"Country, region, or territory not supported"})");
  auto req = UserRequest("openai", "gpt-4o-mini", "hi");
  auto* f = req.add_fallbacks();
  f->set_provider_code("deepseek");
  f->set_model("deepseek-chat");
  CallResult r = h_.Run(req);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.provider_code(), "deepseek");
  EXPECT_EQ(KeysSeenUpstream(), (std::vector<std::string>{kKeyA, kDeepSeekKey}));
  EXPECT_TRUE(h_.delays().empty());

  // Without a fallback the caller hears PERMISSION_DENIED with the reason.
  CallResult alone = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  EXPECT_EQ(alone.status.code(), absl::StatusCode::kPermissionDenied) << alone.status;
  EXPECT_TRUE(absl::StrContains(alone.status.message(), "territory not supported"))
      << alone.status;
  EXPECT_EQ(h_.upstream().requests().Requests().size(), 3u);  // one key tried
  auto states = KeyStatesOnceReported("openai", [](const auto& s) {
    int reported = 0;
    for (const auto& [name, k] : s) reported += !k.last_error().empty();
    return reported >= 2 || !s.at(kKeyA).last_error().empty();
  });
  for (const auto& [name, k] : states) EXPECT_EQ(k.status(), "normal") << name;
}

TEST_F(CompletionPipelineTest, AKeyQuotedBackInErrorTextLeavesNowhere) {
  // Each key is refused with its own secret quoted back, whole for A and
  // partly starred for B (OpenAI's style).
  const std::string partly_b = absl::StrCat(std::string(kKeyB).substr(0, 16), "********",
                                            std::string(kKeyB).substr(22));
  h_.AddRule(absl::StrCat(R"({"api_key":")", kKeyA, R"(","status":401,"message":)",
                          R"("Incorrect API key provided: )", kKeyA, R"(. Find yours online."})"));
  h_.AddRule(absl::StrCat(R"({"api_key":")", kKeyB, R"(","status":401,"message":)",
                          R"("Incorrect API key provided: )", partly_b, R"(."})"));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnauthenticated) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "Incorrect API key provided: sk-t...0002"))
      << r.status;
  for (const char* key : {kKeyA, kKeyB}) {
    ExpectNoPieceOf(key, std::string(r.status.message()), "the caller's status");
    for (const auto& ev : h_.events().events()) {
      ExpectNoPieceOf(key, ev.error_message(), "a call event");
    }
  }
  // A's refusal, B's, and the lease that found no key left.
  ASSERT_EQ(h_.events().events().size(), 3u);
  EXPECT_TRUE(absl::StrContains(h_.events().events()[0].error_message(), "sk-t...0001"))
      << h_.events().events()[0].error_message();
  auto states = KeyStatesOnceReported("openai", [](const auto& s) {
    return !s.at(kKeyA).last_error().empty() && !s.at(kKeyB).last_error().empty();
  });
  for (const char* key : {kKeyA, kKeyB}) {
    EXPECT_TRUE(absl::StrContains(states[key].last_error(), "Incorrect API key provided"))
        << states[key].last_error();
    for (const char* other : {kKeyA, kKeyB}) {
      ExpectNoPieceOf(other, states[key].last_error(), "the keypool's last error");
    }
  }
}

TEST_F(CompletionPipelineTest, ExhaustedTargetFallsBackToTheNext) {
  h_.AddRule(R"({"path":"/chat/completions","status":503,"message":"deepseek is overloaded"})");
  auto req = UserRequest("deepseek", "deepseek-chat", "hi");
  auto* f = req.add_fallbacks();
  f->set_provider_code("openai");
  f->set_model("gpt-4o-mini");
  CallResult r = h_.Run(req);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.provider_code(), "openai");
  EXPECT_EQ(r.completion.attempts(), 5);  // 4 on deepseek, 1 on openai
  EXPECT_EQ(h_.delays(), (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2),
                                                      absl::Seconds(4)}));
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(events[i].provider_code(), "deepseek");
    EXPECT_FALSE(events[i].is_final());
  }
  EXPECT_EQ(events[4].provider_code(), "openai");
  EXPECT_TRUE(events[4].is_final());
}

TEST_F(CompletionPipelineTest, EveryTargetFailingNamesEachFailure) {
  h_.AddRule(R"({"status":503,"message":"down for maintenance"})");
  auto req = UserRequest("deepseek", "deepseek-chat", "hi");
  req.add_fallbacks()->set_provider_code("openai");
  CallResult r = h_.Run(req);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "every target failed")) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "deepseek failed (HTTP 503): down for maintenance"))
      << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "openai failed (HTTP 503)")) << r.status;
  EXPECT_EQ(h_.events().events().size(), 8u);
  EXPECT_TRUE(h_.events().events().back().is_final());
}

TEST_F(CompletionPipelineTest, ARefusedRequestIsNeitherRetriedNorFallenBack) {
  h_.AddRule(R"({"status":400,"message":"stop sequences are too long"})");
  auto req = UserRequest("openai", "gpt-4o-mini", "hi");
  req.add_fallbacks()->set_provider_code("deepseek");
  CallResult r = h_.Run(req);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "stop sequences are too long")) << r.status;
  EXPECT_TRUE(h_.delays().empty());
  EXPECT_EQ(h_.upstream().requests().Requests().size(), 1u);
}

TEST_F(CompletionPipelineTest, AHostOutsideTheAllowListIsNeverSentTo) {
  // The fake upstream listens on 127.0.0.1; only "localhost" is allowed, as
  // if a provider's base_url had been edited in the database by hand.
  http::HostAllowlist only_localhost = *http::HostAllowlist::Parse("localhost");
  h_.pipeline().provider_hosts = &only_localhost;
  auto req = UserRequest("openai", "gpt-4o-mini", "secret prompt");
  req.add_fallbacks()->set_provider_code("deepseek");
  CallResult r = h_.Run(req);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kFailedPrecondition) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(),
                                "provider openai: host 127.0.0.1 is not in the provider host "
                                "allow-list"))
      << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "provider deepseek: host 127.0.0.1"))
      << r.status;
  EXPECT_TRUE(h_.upstream().requests().Requests().empty());  // not one byte sent
  EXPECT_TRUE(h_.delays().empty());
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 2u);
  for (const aigw::v1::CallEvent& ev : events) {
    EXPECT_EQ(ev.outcome(), aigw::v1::NOT_SENT);
    EXPECT_EQ(ev.error_code(), "HOST_NOT_ALLOWED");
    EXPECT_EQ(ev.key_id(), 0);
  }
  EXPECT_TRUE(events.back().is_final());

  // The keys were handed back unused and unharmed: with the upstream's host
  // allowed, the same key serves at once.
  http::HostAllowlist with_upstream = *http::HostAllowlist::Parse("localhost,127.0.0.1");
  h_.pipeline().provider_hosts = &with_upstream;
  CallResult ok = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ASSERT_TRUE(ok.status.ok()) << ok.status;
  EXPECT_EQ(KeysSeenUpstream(), std::vector<std::string>{kKeyA});
}

TEST_F(CompletionPipelineTest, AFallbackWithoutKeysLogsNoEarlierAttemptsKey) {
  // deepseek fails with its key; openai has none left. The final row is an
  // attempt that was never sent and must not carry deepseek's key.
  h_.AddRule(R"({"path":"/chat/completions","status":503,"message":"deepseek is overloaded"})");
  RemoveKeysOf("openai");
  auto req = UserRequest("deepseek", "deepseek-chat", "hi");
  req.add_fallbacks()->set_provider_code("openai");
  CallResult r = h_.Run(req);
  EXPECT_FALSE(r.status.ok());
  auto events = h_.events().events();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_NE(events[3].key_id(), 0);  // deepseek's attempts name their key
  const aigw::v1::CallEvent& final_event = events.back();
  EXPECT_TRUE(final_event.is_final());
  EXPECT_EQ(final_event.provider_code(), "openai");
  EXPECT_EQ(final_event.outcome(), aigw::v1::NOT_SENT);
  EXPECT_EQ(final_event.error_code(), "NO_AVAILABLE_KEYS");
  EXPECT_EQ(final_event.key_id(), 0);
  EXPECT_EQ(final_event.http_status(), 0);
}

TEST_F(CompletionPipelineTest, NoKeysIsResourceExhausted) {
  RemoveKeysOf("deepseek");
  CallResult r = h_.Run(UserRequest("deepseek", "", "hi"));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted) << r.status;
  EXPECT_TRUE(absl::StrContains(r.status.message(), "No available API keys for provider deepseek"))
      << r.status;
  ASSERT_EQ(h_.events().events().size(), 1u);
  const aigw::v1::CallEvent ev = h_.events().events()[0];
  EXPECT_EQ(ev.error_code(), "NO_AVAILABLE_KEYS");
  EXPECT_EQ(ev.outcome(), aigw::v1::NOT_SENT);
  EXPECT_EQ(ev.key_id(), 0);
  EXPECT_TRUE(ev.is_final());
  // Usage takes it (an event it refused would hold back its whole batch).
  absl::StatusOr<aigw::usage::LogRow> row =
      aigw::usage::ToLogRow(ev, absl::UTCTimeZone(), absl::Now());
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(aigw::usage::DeriveOutcome(row->success, row->error_code, row->http_status,
                                       row->key_id),
            aigw::v1::NOT_SENT);
}

TEST_F(CompletionPipelineTest, AnUnreachableKeypoolIsUnavailableForEveryWaitingCall) {
  // A keypool that refuses connections, behind the ready-lease layer as the
  // gateway runs it: calls that found no ready lease all hear why.
  GrpcKeyLeaser dead(grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()),
                     absl::Seconds(2), [] { return BearerFor("service"); });
  PrefetchingKeyLeaser::Options options;
  options.sweep_interval = absl::ZeroDuration();
  PrefetchingKeyLeaser leaser(&dead, Clock::Real(), options);
  KeyLeaser* normal = h_.pipeline().leaser;
  h_.pipeline().leaser = &leaser;
  std::vector<std::promise<CallResult>> done(3);
  std::vector<std::shared_ptr<CompletionCall>> calls;
  for (auto& d : done) {
    calls.push_back(h_.Begin(UserRequest("openai", "gpt-4o-mini", "hi"), nullptr, &d));
  }
  for (auto& d : done) {
    CallResult r = d.get_future().get();
    EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
    EXPECT_TRUE(absl::StrContains(r.status.message(), "keypool unavailable")) << r.status;
  }
  h_.pipeline().leaser = normal;
  EXPECT_TRUE(h_.upstream().requests().Requests().empty());
  std::promise<void> settled;
  h_.engine().Post([&settled] { settled.set_value(); });
  settled.get_future().wait();
  ASSERT_EQ(h_.events().events().size(), 3u);
  for (const auto& ev : h_.events().events()) {
    EXPECT_EQ(ev.error_code(), "KEYPOOL_UNAVAILABLE");
    EXPECT_EQ(ev.outcome(), aigw::v1::NOT_SENT);
    EXPECT_TRUE(aigw::usage::ToLogRow(ev, absl::UTCTimeZone(), absl::Now()).ok());
  }
}

TEST_F(CompletionPipelineTest, AStreamIsNotRetriedOnceADeltaWasSent) {
  // The role chunk, then "echo:" and " one" reach the client before the cut.
  h_.AddRule(R"({"drop_after_chunks":3})");
  RecordingLeaser leaser(h_.pipeline().leaser);
  h_.pipeline().leaser = &leaser;
  const auto request = UserRequest("openai", "gpt-4o-mini", "one two three four five");
  CallResult r = h_.Run(request, true);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_FALSE(r.chunks.empty());
  EXPECT_TRUE(h_.delays().empty());
  EXPECT_EQ(h_.upstream().requests().Requests().size(), 1u);

  // What was delivered is charged: the prompt and "echo: one", counted by
  // the tokenizer (the provider's usage comes only at the end).
  std::vector<tokenizer::ChatMessage> messages = {{"user", request.messages(0).content(), ""}};
  auto prompt = tokenizer::CountChatTokens("gpt-4o-mini", messages);
  auto completion = tokenizer::CountTextTokens("gpt-4o-mini", StreamedText(r));
  ASSERT_TRUE(prompt.ok() && completion.ok());
  EXPECT_EQ(StreamedText(r), "echo: one");
  ASSERT_EQ(h_.events().events().size(), 1u);
  const aigw::v1::CallEvent ev = h_.events().events()[0];
  EXPECT_EQ(ev.usage().prompt_tokens(), prompt->tokens);
  EXPECT_EQ(ev.usage().completion_tokens(), completion->tokens);
  EXPECT_EQ(ev.usage().total_tokens(), prompt->tokens + completion->tokens);
  EXPECT_GT(ev.cost_nanos(), 0);
  ASSERT_EQ(leaser.reports().size(), 1u);
  EXPECT_EQ(leaser.reports()[0].total_tokens(), ev.usage().total_tokens());
  h_.pipeline().leaser = leaser.inner();
}

TEST_F(CompletionPipelineTest, ClientCancelStopsTheUpstreamTransfer) {
  h_.AddRule(R"({"chunk_delay_ms":300})");
  RecordingChunkWriter writer;
  std::promise<CallResult> done;
  std::shared_ptr<CompletionCall> call;
  absl::Notification first;
  writer.OnFirstChunk([&] { first.Notify(); });
  call = h_.Begin(UserRequest("openai", "gpt-4o-mini", "a b c d e f g h i j k l"), &writer, &done);
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(10)));
  call->Cancel();
  CallResult r = done.get_future().get();
  EXPECT_EQ(r.status.code(), absl::StatusCode::kCancelled) << r.status;
  for (int i = 0; i < 100 && h_.upstream().requests().client_disconnects() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(h_.upstream().requests().client_disconnects(), 1);
  EXPECT_LT(writer.chunks().size(), 13u);
  EXPECT_EQ(h_.events().events().back().error_code(), "CANCELLED");
}

TEST_F(CompletionPipelineTest, ACancelledStreamIsChargedForWhatWasDelivered) {
  h_.AddRule(R"({"chunk_delay_ms":300})");
  RecordingLeaser leaser(h_.pipeline().leaser);
  h_.pipeline().leaser = &leaser;
  RecordingChunkWriter writer;
  std::promise<CallResult> done;
  absl::Notification first;
  writer.OnFirstChunk([&] { first.Notify(); });
  const auto request = UserRequest("openai", "gpt-4o-mini", "a b c d e f g h i j k l");
  std::shared_ptr<CompletionCall> call = h_.Begin(request, &writer, &done);
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(10)));
  call->Cancel();
  CallResult r = done.get_future().get();
  EXPECT_EQ(r.status.code(), absl::StatusCode::kCancelled) << r.status;
  std::promise<void> settled;
  h_.engine().Post([&settled] { settled.set_value(); });
  settled.get_future().wait();

  std::string delivered;
  for (const auto& c : writer.chunks()) delivered += c.delta_content();
  ASSERT_FALSE(delivered.empty());
  std::vector<tokenizer::ChatMessage> messages = {{"user", request.messages(0).content(), ""}};
  auto prompt = tokenizer::CountChatTokens("gpt-4o-mini", messages);
  auto completion = tokenizer::CountTextTokens("gpt-4o-mini", delivered);
  ASSERT_TRUE(prompt.ok() && completion.ok());
  const aigw::v1::CallEvent ev = h_.events().events().back();
  EXPECT_EQ(ev.error_code(), "CANCELLED");
  EXPECT_EQ(ev.usage().prompt_tokens(), prompt->tokens);
  EXPECT_EQ(ev.usage().completion_tokens(), completion->tokens);
  EXPECT_GT(ev.usage().completion_tokens(), 0);
  EXPECT_GT(ev.cost_nanos(), 0);
  // The key's TPM window counts them too.
  ASSERT_EQ(leaser.reports().size(), 1u);
  EXPECT_EQ(leaser.reports()[0].total_tokens(), ev.usage().total_tokens());
  h_.pipeline().leaser = leaser.inner();
}

// A keypool whose cooldowns end at once, so that a call that waited out a
// Retry-After (the harness skips the waiting) finds the key free again.
class CompletionPipelineShortCooldownTest : public CompletionPipelineTest {
 protected:
  std::vector<std::string> KeypoolFlags() const override { return {"--max_cooldown=1ms"}; }
};

TEST_F(CompletionPipelineShortCooldownTest, RateLimitWaitsOnlyWhenNoOtherKeyCanServe) {
  // DeepSeek has one key: after its 429 the call asks for another at once,
  // hears there is none, and only then waits the Retry-After.
  h_.AddRule(R"({"path":"/chat/completions","status":429,"retry_after":2,"times":1})");
  CallResult r = h_.Run(UserRequest("deepseek", "deepseek-chat", "hi"));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.attempts(), 2);
  EXPECT_EQ(KeysSeenUpstream(), (std::vector<std::string>{kDeepSeekKey, kDeepSeekKey}));
  const std::vector<absl::Duration> delays = h_.delays();
  ASSERT_GE(delays.size(), 2u);
  EXPECT_EQ(delays[0], absl::ZeroDuration());
  EXPECT_EQ(delays[1], absl::Seconds(2));
  // Then at most the keypool's own last millisecond of cooldown.
  for (size_t i = 2; i < delays.size(); ++i) EXPECT_LE(delays[i], absl::Milliseconds(1));
  // The refused lease was no attempt: two events, the 429 and the answer.
  ASSERT_EQ(h_.events().events().size(), 2u);
  EXPECT_EQ(h_.events().events()[0].outcome(), aigw::v1::RATE_LIMITED);
  EXPECT_EQ(h_.events().events()[1].outcome(), aigw::v1::SUCCESS);
}

TEST_F(CompletionPipelineTest, BatchKeepsOrderWithMixedFailures) {
  h_.AddRule(R"({"model":"gpt-3.5-turbo","status":400,"message":"bad item"})");
  CatalogueCache cache(&h_.db(), absl::Hours(1));
  cache.Set(h_.catalogue());
  ChatServiceImpl service(&h_.pipeline(), &cache, {});
  aigw::testing::LocalGrpcServer server({&service});
  ASSERT_TRUE(server.ok());
  auto stub = aigw::v1::ChatService::NewStub(server.NewChannel());

  aigw::v1::BatchChatCompletionRequest batch;
  *batch.add_requests() = UserRequest("openai", "gpt-4o-mini", "first");
  *batch.add_requests() = UserRequest("openai", "gpt-3.5-turbo", "second");
  aigw::v1::ChatCompletionRequest empty = UserRequest("openai", "", "x");
  empty.clear_messages();
  *batch.add_requests() = empty;
  *batch.add_requests() = UserRequest("deepseek", "", "fourth");
  batch.set_max_concurrency(2);
  grpc::ClientContext ctx;
  aigw::v1::BatchChatCompletionResponse resp;
  grpc::Status st = stub->BatchCreateChatCompletion(&ctx, batch, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(resp.results(i).index(), i);
  EXPECT_EQ(resp.results(0).completion().content(), "echo: first");
  EXPECT_EQ(resp.results(1).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(resp.results(1).error().message(), "bad item"));
  EXPECT_EQ(resp.results(2).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(resp.results(3).completion().content(), "echo: fourth");
  EXPECT_EQ(resp.succeeded(), 2);
  EXPECT_EQ(resp.failed(), 2);

  // Bad input on the RPCs themselves.
  grpc::ClientContext c2;
  aigw::v1::ChatCompletion out;
  EXPECT_EQ(stub->CreateChatCompletion(&c2, UserRequest("nope", "", "x"), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c3;
  aigw::v1::CountTokensRequest count;
  count.set_provider_code("openai");
  count.set_model("gpt-4o");
  count.set_text("hello world");
  aigw::v1::CountTokensResponse counted;
  ASSERT_TRUE(stub->CountTokens(&c3, count, &counted).ok());
  EXPECT_EQ(counted.token_count(), 2);
  EXPECT_EQ(counted.encoding(), "o200k_base");
  EXPECT_FALSE(counted.is_estimate());
  server.server().Shutdown();
}

}  // namespace
}  // namespace aigw::gateway::testing
