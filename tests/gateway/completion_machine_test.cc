// The completion's decisions, synchronously: every event is fed by hand and
// every action recorded (no engine, no keypool, no threads), time is a
// ManualClock. What the pipeline does over real HTTP and the real keypool is
// completion_pipeline_test's.
#include "services/gateway/completion_machine.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/http/host_allowlist.h"
#include "services/gateway/catalogue.h"
#include "tests/tokenizer/image_fixtures.h"

namespace aigw::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Every action the machine took, in order.
class RecordingActions : public CompletionActions {
 public:
  void Lease(const aigw::v1::LeaseKeyRequest& request) override {
    leases.push_back(request);
    log.push_back("lease");
  }
  void Send(http::HttpRequest request) override {
    sends.push_back(std::move(request));
    log.push_back("send");
  }
  void Abort() override {
    ++aborts;
    log.push_back("abort");
  }
  void Schedule(absl::Duration delay) override {
    delays.push_back(delay);
    log.push_back("schedule");
  }
  void Report(const aigw::v1::ReportUsageRequest& report) override {
    reports.push_back(report);
    log.push_back("report");
  }
  void Emit(aigw::v1::CallEvent event) override {
    events.push_back(std::move(event));
    log.push_back("event");
  }
  absl::Status Write(aigw::v1::ChatCompletionChunk chunk, bool last) override {
    chunks.push_back(chunk);
    log.push_back(last ? "last chunk" : "chunk");
    return last ? absl::OkStatus() : write_answer;
  }
  void Finish(absl::Status s, aigw::v1::ChatCompletion c) override {
    ASSERT_FALSE(status.has_value()) << "finished twice";
    status = std::move(s);
    completion = std::move(c);
    log.push_back("finish");
  }

  std::vector<aigw::v1::LeaseKeyRequest> leases;
  std::vector<http::HttpRequest> sends;
  int aborts = 0;
  std::vector<absl::Duration> delays;
  std::vector<aigw::v1::ReportUsageRequest> reports;
  std::vector<aigw::v1::CallEvent> events;
  std::vector<aigw::v1::ChatCompletionChunk> chunks;
  absl::Status write_answer;
  std::optional<absl::Status> status;
  aigw::v1::ChatCompletion completion;
  std::vector<std::string> log;
};

ProviderEntry Provider(int64_t id, std::string code, std::string api_format, std::string model) {
  ProviderEntry p;
  p.id = id;
  p.code = code;
  p.base_url = absl::StrCat("http://", code, ".test/v1");
  p.api_format = std::move(api_format);
  ModelEntry m;
  m.id = id * 10;
  m.code = std::move(model);
  m.max_output_tokens = 8192;
  m.prices.prompt_per_1k_nanos = 2'000'000;       // $2 / 1M
  m.prices.completion_per_1k_nanos = 10'000'000;  // $10 / 1M
  p.models.push_back(std::move(m));
  return p;
}

std::string OpenAiAnswer(absl::string_view content) {
  return absl::StrCat(R"({"id":"c1","model":"gpt-4o","choices":[{"index":0,"message":)",
                      R"({"role":"assistant","content":")", content,
                      R"("},"finish_reason":"stop"}],)",
                      R"("usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150}})");
}

std::string Error(absl::string_view type, absl::string_view message,
                  absl::string_view code = "") {
  return absl::StrCat(R"({"error":{"type":")", type, R"(","message":")", message,
                      R"(","code":")", code, R"("}})");
}

std::string Delta(absl::string_view text) {
  return absl::StrCat(R"(data: {"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"content":")",
                      text, "\"}}]}\n\n");
}

constexpr char kStreamEnd[] =
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":50,\"total_tokens\":150}}\n\n"
    "data: [DONE]\n\n";

class CompletionMachineTest : public ::testing::Test {
 protected:
  CompletionMachineTest()
      : catalogue_(Catalogue::FromProviders({Provider(1, "openai", "openai", "gpt-4o"),
                                             Provider(2, "anthropic", "anthropic", "claude"),
                                             Provider(3, "deepseek", "openai", "deepseek-chat")})) {
    settings_.clock = &clock_;
    settings_.random = [] { return 0.5; };  // the middle of the jitter band: none
    request_.set_request_id("req_test");
    auto* m = request_.add_messages();
    m->set_role("user");
    m->set_content("Say hello");
  }

  ResolvedTarget Target(absl::string_view provider) const {
    const ProviderEntry* p = catalogue_->FindProvider(provider);
    return ResolvedTarget{p, &p->models.front()};
  }

  // A machine over `providers` (the first target, then the fallbacks),
  // started: its first lease is asked for.
  CompletionMachine& Begin(std::vector<std::string> providers, bool stream = false,
                           absl::Duration deadline = absl::Minutes(5)) {
    std::vector<ResolvedTarget> targets;
    for (const std::string& p : providers) targets.push_back(Target(p));
    machine_.emplace(&settings_, request_, std::move(targets), stream, clock_.Now() + deadline,
                     &out_);
    machine_->Start();
    return *machine_;
  }

  static LeaseResult Granted(int64_t key, absl::string_view api_format = "openai") {
    LeaseResult r;
    r.lease.set_lease_id(absl::StrCat("lease-", key));
    r.lease.set_key_id(key);
    r.lease.set_api_key(absl::StrCat("sk-secret-key-", key, "-abcdefgh"));
    r.lease.set_api_format(std::string(api_format));
    return r;
  }
  static LeaseResult Refused(absl::Status status, int64_t retry_after_ms = 0) {
    LeaseResult r;
    r.status = std::move(status);
    r.retry_after_ms = retry_after_ms;
    return r;
  }

  // The attempt with `key` answered HTTP `status` with `body`.
  void Answer(int64_t key, int status, const std::string& body,
              absl::string_view retry_after = "", absl::string_view api_format = "openai") {
    machine_->OnLease(Granted(key, api_format));
    machine_->OnHeaders(retry_after);
    machine_->OnAttemptDone(absl::OkStatus(), status, body);
  }

  std::vector<int64_t> Excluded(size_t lease) const {
    const auto& ids = out_.leases.at(lease).exclude_key_ids();
    return std::vector<int64_t>(ids.begin(), ids.end());
  }
  std::vector<std::string> Outcomes() const {
    std::vector<std::string> out;
    for (const auto& e : out_.events) {
      out.push_back(absl::StrCat(aigw::v1::Outcome_Name(e.outcome()), e.is_final() ? "!" : ""));
    }
    return out;
  }

  ManualClock clock_;
  CompletionSettings settings_;
  std::shared_ptr<const Catalogue> catalogue_;
  aigw::v1::ChatCompletionRequest request_;
  RecordingActions out_;
  std::optional<CompletionMachine> machine_;
};

TEST_F(CompletionMachineTest, UnarySuccessLeasesSendsAnswersThenReports) {
  Begin({"openai"});
  ASSERT_EQ(out_.leases.size(), 1u);
  EXPECT_EQ(out_.leases[0].provider_code(), "openai");
  EXPECT_EQ(out_.leases[0].model(), "gpt-4o");
  EXPECT_GT(out_.leases[0].estimated_tokens(), 1024);
  Answer(7, 200, OpenAiAnswer("hello"));

  ASSERT_EQ(out_.sends.size(), 1u);
  EXPECT_EQ(out_.sends[0].url, "http://openai.test/v1/chat/completions");
  EXPECT_EQ(out_.sends[0].timeout, settings_.upstream_timeout);
  ASSERT_TRUE(out_.status.has_value());
  EXPECT_TRUE(out_.status->ok()) << *out_.status;
  EXPECT_EQ(out_.completion.content(), "hello");
  EXPECT_EQ(out_.completion.attempts(), 1);
  EXPECT_EQ(out_.completion.request_id(), "req_test");
  // 100 x $2/1M + 50 x $10/1M
  EXPECT_EQ(out_.completion.cost_nanos(), 700'000);
  // The answer goes first; the keypool and the call log hear after it.
  EXPECT_THAT(out_.log, ElementsAre("lease", "send", "finish", "report", "event"));
  EXPECT_EQ(out_.reports[0].lease_id(), "lease-7");
  EXPECT_EQ(out_.reports[0].outcome(), aigw::v1::SUCCESS);
  EXPECT_EQ(out_.events[0].key_id(), 7);
  EXPECT_EQ(out_.events[0].attempt(), 1);
  EXPECT_TRUE(out_.events[0].is_final());
}

TEST_F(CompletionMachineTest, ServerErrorsBackOffExponentiallyThenFail) {
  Begin({"openai"});
  for (int i = 0; i < 4; ++i) {
    Answer(1, 500, Error("server_error", "boom"));
    if (i < 3) machine_->OnTimer();
  }
  EXPECT_THAT(out_.delays, ElementsAre(absl::Seconds(1), absl::Seconds(2), absl::Seconds(4)));
  // The same key may serve again: nothing is excluded.
  EXPECT_THAT(Excluded(3), IsEmpty());
  EXPECT_THAT(Outcomes(), ElementsAre("SERVER_ERROR", "SERVER_ERROR", "SERVER_ERROR",
                                      "SERVER_ERROR!"));
  ASSERT_TRUE(out_.status.has_value());
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(out_.status->message(), "openai failed (HTTP 500): boom");
  EXPECT_EQ(out_.reports.size(), 4u);
}

TEST_F(CompletionMachineTest, BackoffIsJitteredByTheRandomSource) {
  settings_.random = [] { return 0.0; };  // the bottom of the band: -20%
  Begin({"openai"});
  Answer(1, 502, Error("server_error", "bad gateway"));
  EXPECT_THAT(out_.delays, ElementsAre(absl::Milliseconds(800)));
}

TEST_F(CompletionMachineTest, AServerErrorsRetryAfterIsWaitedUnjittered) {
  settings_.random = [] { return 0.0; };
  Begin({"openai"});
  Answer(1, 503, Error("server_error", "busy"), "3");
  EXPECT_THAT(out_.delays, ElementsAre(absl::Seconds(3)));
  EXPECT_EQ(out_.reports[0].retry_after_ms(), 3000);
}

TEST_F(CompletionMachineTest, ARetryAfterLongerThanTheCallWaitsMovesToTheNextTarget) {
  Begin({"openai", "deepseek"});
  Answer(1, 503, Error("server_error", "busy"), "60");
  EXPECT_THAT(out_.delays, IsEmpty());
  ASSERT_EQ(out_.leases.size(), 2u);
  EXPECT_EQ(out_.leases[1].provider_code(), "deepseek");
  Answer(2, 200, OpenAiAnswer("from deepseek"));
  EXPECT_TRUE(out_.status->ok());
  EXPECT_EQ(out_.completion.provider_code(), "deepseek");
  EXPECT_EQ(out_.completion.attempts(), 2);
  EXPECT_THAT(Outcomes(), ElementsAre("SERVER_ERROR", "SUCCESS!"));
}

TEST_F(CompletionMachineTest, ARetryThatWouldPassTheDeadlineIsNotMade) {
  Begin({"openai"}, /*stream=*/false, /*deadline=*/absl::Milliseconds(900));
  Answer(1, 500, Error("server_error", "boom"));
  EXPECT_THAT(out_.delays, IsEmpty());
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Outcomes(), ElementsAre("SERVER_ERROR!"));
  // The attempt's own timeout was the deadline's remainder.
  EXPECT_EQ(out_.sends[0].timeout, absl::Milliseconds(900));
}

TEST_F(CompletionMachineTest, ARateLimitMovesToAnotherKeyAtOnce) {
  Begin({"openai"});
  Answer(1, 429, Error("requests", "Rate limit reached", "rate_limit_exceeded"), "20");
  EXPECT_THAT(out_.delays, ElementsAre(absl::ZeroDuration()));
  EXPECT_EQ(out_.reports[0].outcome(), aigw::v1::RATE_LIMITED);
  EXPECT_EQ(out_.reports[0].retry_after_ms(), 20000);
  machine_->OnTimer();
  EXPECT_THAT(Excluded(1), ElementsAre(1));
  Answer(2, 200, OpenAiAnswer("ok"));
  EXPECT_TRUE(out_.status->ok());
  EXPECT_THAT(Outcomes(), ElementsAre("RATE_LIMITED", "SUCCESS!"));
}

TEST_F(CompletionMachineTest, ARateLimitIsWaitedOutOnlyWhenNoOtherKeyCanServe) {
  Begin({"openai"});
  Answer(1, 429, Error("requests", "Rate limit reached"), "5");
  machine_->OnTimer();
  EXPECT_THAT(Excluded(1), ElementsAre(1));
  // Every other key is taken: wait as the 429 asked, then lease the key again.
  machine_->OnLease(Refused(absl::ResourceExhaustedError("no key"), 4000));
  EXPECT_THAT(out_.delays, ElementsAre(absl::ZeroDuration(), absl::Seconds(5)));
  machine_->OnTimer();
  EXPECT_THAT(Excluded(2), IsEmpty());
  // Still cooling in the keypool: as long as the keypool says, once more.
  machine_->OnLease(Refused(absl::ResourceExhaustedError("no key"), 7));
  EXPECT_EQ(out_.delays.back(), absl::Milliseconds(7));
  machine_->OnTimer();
  Answer(1, 200, OpenAiAnswer("ok"));
  EXPECT_TRUE(out_.status->ok());
  // A refused lease that was waited out is no attempt.
  EXPECT_THAT(Outcomes(), ElementsAre("RATE_LIMITED", "SUCCESS!"));
  EXPECT_EQ(out_.completion.attempts(), 2);
}

TEST_F(CompletionMachineTest, ARateLimitLongerThanTheCallWaitsEndsWithIt) {
  Begin({"openai"});
  Answer(1, 429, Error("requests", "Rate limit reached"), "60");
  machine_->OnTimer();
  machine_->OnLease(Refused(absl::ResourceExhaustedError("no key left"), 59000));
  EXPECT_THAT(out_.delays, ElementsAre(absl::ZeroDuration()));
  // The 429 says more than the refused lease: the caller hears it.
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(out_.status->message(), HasSubstr("openai rate limit (HTTP 429)"));
  EXPECT_THAT(Outcomes(), ElementsAre("RATE_LIMITED", "NOT_SENT!"));
  EXPECT_EQ(out_.events[1].error_code(), "NO_AVAILABLE_KEYS");
  EXPECT_EQ(out_.events[1].key_id(), 0);
}

TEST_F(CompletionMachineTest, ARejectedKeyIsExcludedAndAnotherTriedAtOnce) {
  Begin({"openai"});
  Answer(1, 401, Error("invalid_request_error", "Incorrect API key", "invalid_api_key"));
  EXPECT_THAT(out_.delays, ElementsAre(absl::ZeroDuration()));
  machine_->OnTimer();
  EXPECT_THAT(Excluded(1), ElementsAre(1));
  Answer(2, 403, Error("permission_error", "no access to this model"));
  machine_->OnTimer();
  EXPECT_THAT(Excluded(2), ElementsAre(1, 2));
  Answer(3, 200, OpenAiAnswer("ok"));
  EXPECT_THAT(Outcomes(), ElementsAre("AUTH_FAILED", "PERMISSION_DENIED", "SUCCESS!"));
}

TEST_F(CompletionMachineTest, ARegionRefusalGoesToTheNextTargetWhoseFormatItUses) {
  Begin({"openai", "anthropic"});
  Answer(1, 403, Error("request_forbidden", "Country, region, or territory not supported",
                       "unsupported_country_region_territory"));
  EXPECT_THAT(out_.delays, IsEmpty());
  ASSERT_EQ(out_.leases.size(), 2u);
  EXPECT_EQ(out_.leases[1].provider_code(), "anthropic");
  // A fresh target excludes nothing.
  EXPECT_THAT(Excluded(1), IsEmpty());
  Answer(5, 200,
         R"({"id":"msg_1","model":"claude","content":[{"type":"text","text":"hi"}],)"
         R"("stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":2}})",
         "", "anthropic");
  ASSERT_EQ(out_.sends.size(), 2u);
  EXPECT_EQ(out_.sends[1].url, "http://anthropic.test/v1/messages");
  // The format requires max_tokens: the model's own limit, the caller set none.
  EXPECT_THAT(out_.sends[1].body, HasSubstr(R"("max_tokens":8192)"));
  EXPECT_TRUE(out_.status->ok());
  EXPECT_EQ(out_.completion.content(), "hi");
  EXPECT_THAT(Outcomes(), ElementsAre("PERMISSION_DENIED", "SUCCESS!"));
}

TEST_F(CompletionMachineTest, ARefusedRequestIsNeitherRetriedNorFallenBack) {
  Begin({"openai", "deepseek"});
  Answer(1, 400, Error("invalid_request_error", "messages too long"));
  EXPECT_EQ(out_.leases.size(), 1u);
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out_.status->message(), "openai refused the request (HTTP 400): messages too long");
  EXPECT_THAT(Outcomes(), ElementsAre("CLIENT_ERROR!"));
}

TEST_F(CompletionMachineTest, EveryTargetFailingNamesEachFailure) {
  settings_.retry.max_attempts_per_target = 1;
  Begin({"openai", "deepseek"});
  Answer(1, 500, Error("server_error", "first"));
  machine_->OnLease(Refused(absl::UnavailableError("connection refused")));
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(out_.status->message(),
            "every target failed: openai failed (HTTP 500): first; "
            "keypool unavailable: connection refused");
  EXPECT_THAT(Outcomes(), ElementsAre("SERVER_ERROR", "NOT_SENT!"));
  EXPECT_EQ(out_.events[1].error_code(), "KEYPOOL_UNAVAILABLE");
  EXPECT_EQ(out_.events[1].provider_code(), "deepseek");
}

TEST_F(CompletionMachineTest, NoKeyAnywhereIsResourceExhausted) {
  Begin({"openai"});
  machine_->OnLease(Refused(absl::ResourceExhaustedError("no usable key for openai")));
  EXPECT_THAT(out_.sends, IsEmpty());
  EXPECT_THAT(out_.reports, IsEmpty());
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Outcomes(), ElementsAre("NOT_SENT!"));
  EXPECT_EQ(out_.events[0].attempt(), 1);
}

TEST_F(CompletionMachineTest, AHostOutsideTheAllowListIsNeverSentTo) {
  absl::StatusOr<http::HostAllowlist> hosts = http::HostAllowlist::Parse("localhost");
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  settings_.provider_hosts = &*hosts;
  Begin({"openai"});
  machine_->OnLease(Granted(4));
  EXPECT_THAT(out_.sends, IsEmpty());
  // The lease goes back unused; the log's row names no key.
  ASSERT_EQ(out_.reports.size(), 1u);
  EXPECT_EQ(out_.reports[0].outcome(), aigw::v1::RELEASED);
  EXPECT_THAT(Outcomes(), ElementsAre("NOT_SENT!"));
  EXPECT_EQ(out_.events[0].error_code(), "HOST_NOT_ALLOWED");
  EXPECT_EQ(out_.events[0].key_id(), 0);
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kFailedPrecondition);
}

// A fallback whose model lacks what the request needs (tools here) is
// passed over without a lease: the call log records why, and the call goes
// on to the next target.
TEST_F(CompletionMachineTest, AFallbackWithoutACapabilityTheRequestNeedsIsSkipped) {
  ProviderEntry text_only = Provider(3, "deepseek", "openai", "deepseek-reasoner");
  text_only.models[0].supports_function_call = false;
  catalogue_ = Catalogue::FromProviders({Provider(1, "openai", "openai", "gpt-4o"), text_only,
                                         Provider(4, "backup", "openai", "gpt-4o-mini")});
  request_.add_tools()->set_name("get_weather");
  Begin({"openai", "deepseek", "backup"});
  machine_->OnLease(Refused(absl::ResourceExhaustedError("no usable key for openai")));
  ASSERT_EQ(out_.leases.size(), 2u);
  EXPECT_EQ(out_.leases[1].provider_code(), "backup");  // deepseek never asked for a key
  Answer(2, 200, OpenAiAnswer("sunny"));

  ASSERT_TRUE(out_.status.has_value());
  EXPECT_TRUE(out_.status->ok()) << *out_.status;
  EXPECT_EQ(out_.completion.provider_code(), "backup");
  EXPECT_THAT(Outcomes(), ElementsAre("NOT_SENT", "NOT_SENT", "SUCCESS!"));
  const aigw::v1::CallEvent& skipped = out_.events[1];
  EXPECT_EQ(skipped.provider_code(), "deepseek");
  EXPECT_EQ(skipped.model(), "deepseek-reasoner");
  EXPECT_EQ(skipped.attempt(), 2);
  EXPECT_EQ(skipped.key_id(), 0);
  EXPECT_EQ(skipped.error_code(), "UNSUPPORTED_CAPABILITY");
  EXPECT_EQ(skipped.error_message(),
            "fallbacks[0]: model 'deepseek-reasoner' of provider 'deepseek' does not support "
            "function calling (supports_function_call is off in its catalogue entry): send no "
            "tools or tool turns, or choose a model that supports function calling");
  EXPECT_EQ(out_.events[2].attempt(), 3);
}

// Images need supports_vision; with every target lacking a capability the
// call ends INVALID_ARGUMENT naming them, sending nothing.
TEST_F(CompletionMachineTest, WhenEveryTargetLacksACapabilityTheCallIsInvalid) {
  ProviderEntry blind = Provider(3, "deepseek", "openai", "deepseek-chat");
  blind.models[0].supports_vision = false;
  ProviderEntry text_only = Provider(4, "textonly", "openai", "t1");
  text_only.models[0].supports_function_call = false;
  text_only.models[0].supports_vision = false;
  catalogue_ = Catalogue::FromProviders({blind, text_only});
  request_.mutable_messages(0)->add_parts()->mutable_image_url()->set_url(
      "https://a.example/cover.png");
  Begin({"deepseek", "textonly"});
  EXPECT_THAT(out_.leases, IsEmpty());
  EXPECT_THAT(out_.sends, IsEmpty());
  ASSERT_TRUE(out_.status.has_value());
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out_.status->message(),
            "every target failed: model 'deepseek-chat' of provider 'deepseek' does not support "
            "images (supports_vision is off in its catalogue entry): send no image parts, or "
            "choose a model that supports images; fallbacks[0]: model 't1' of provider "
            "'textonly' does not support images (supports_vision is off in its catalogue entry): "
            "send no image parts, or choose a model that supports images");
  EXPECT_THAT(Outcomes(), ElementsAre("NOT_SENT", "NOT_SENT!"));
  EXPECT_EQ(out_.events[1].error_code(), "UNSUPPORTED_CAPABILITY");
  EXPECT_EQ(out_.events[1].images(), 1);
}

// A skipped last fallback does not hide why the targets tried failed.
TEST_F(CompletionMachineTest, ASkippedLastFallbackKeepsTheTriedTargetsCode) {
  ProviderEntry blind = Provider(3, "deepseek", "openai", "deepseek-chat");
  blind.models[0].supports_vision = false;
  catalogue_ = Catalogue::FromProviders({Provider(1, "openai", "openai", "gpt-4o"), blind});
  request_.mutable_messages(0)->add_parts()->mutable_image_url()->set_url(
      "https://a.example/cover.png");
  Begin({"openai", "deepseek"});
  machine_->OnLease(Refused(absl::ResourceExhaustedError("no usable key for openai")));
  ASSERT_TRUE(out_.status.has_value());
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(out_.status->message(), HasSubstr("no usable key for openai; fallbacks[0]: model "
                                                "'deepseek-chat' of provider 'deepseek' does not "
                                                "support images"));
  EXPECT_THAT(Outcomes(), ElementsAre("NOT_SENT", "NOT_SENT!"));
}

// The TPM reservation counts images by the rule of the target's provider:
// OpenAI's (a low-detail image is 85) or, in the Anthropic format,
// Anthropic's (1000 x 1000 is ~1334, detail ignored).
TEST_F(CompletionMachineTest, TheLeaseEstimateCountsImagesByTheTargetsRule) {
  auto* m = request_.add_messages();
  m->set_role("user");
  auto* image = m->add_parts()->mutable_image_url();
  image->set_url(tokenizer::testing::DataUrl("image/png", tokenizer::testing::PngHeader(1000, 1000)));
  image->set_detail("low");
  Begin({"openai", "anthropic"});
  machine_->OnLease(Refused(absl::ResourceExhaustedError("no usable key for openai")));
  ASSERT_EQ(out_.leases.size(), 2u);
  EXPECT_EQ(out_.leases[1].provider_code(), "anthropic");
  EXPECT_EQ(out_.leases[1].estimated_tokens() - out_.leases[0].estimated_tokens(), 1334 - 85);
}

TEST_F(CompletionMachineTest, AKeyQuotedBackLeavesNowhere) {
  Begin({"openai"});
  const std::string key = Granted(1).lease.api_key();
  Answer(1, 400, Error("invalid_request_error", absl::StrCat("bad key ", key, " given")));
  EXPECT_THAT(out_.status->message(), Not(HasSubstr("sk-secret-key")));
  EXPECT_THAT(out_.events[0].error_message(), Not(HasSubstr("sk-secret-key")));
  EXPECT_THAT(out_.reports[0].error_message(), Not(HasSubstr("sk-secret-key")));
  EXPECT_THAT(out_.status->message(), HasSubstr("bad key"));
}

TEST_F(CompletionMachineTest, CancelWhileLeasingReturnsTheKeyUnsent) {
  Begin({"openai"});
  machine_->Cancel();
  EXPECT_FALSE(out_.status.has_value());  // the lease answer is still to come
  machine_->OnLease(Granted(1));
  EXPECT_THAT(out_.sends, IsEmpty());
  ASSERT_EQ(out_.reports.size(), 1u);
  EXPECT_EQ(out_.reports[0].http_status(), 499);
  EXPECT_THAT(out_.events, IsEmpty());
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kCancelled);
}

TEST_F(CompletionMachineTest, CancelDuringTheTransferAbortsItAndLogsTheAttempt) {
  Begin({"openai"});
  machine_->OnLease(Granted(1));
  machine_->Cancel();
  EXPECT_EQ(out_.aborts, 1);
  EXPECT_FALSE(out_.status.has_value());
  machine_->OnAttemptDone(absl::CancelledError("cancelled"), 0, "");
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(Outcomes(), ElementsAre("CLIENT_ERROR!"));
  EXPECT_EQ(out_.events[0].error_code(), "CANCELLED");
  EXPECT_EQ(out_.events[0].http_status(), 499);
}

TEST_F(CompletionMachineTest, CancelDuringABackoffEndsAtOnceAndTheTimerDoesNothing) {
  Begin({"openai"});
  Answer(1, 500, Error("server_error", "boom"));
  machine_->Cancel();
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kCancelled);
  machine_->OnTimer();
  EXPECT_EQ(out_.leases.size(), 1u);
  EXPECT_EQ(out_.aborts, 0);
}

TEST_F(CompletionMachineTest, ANetworkTimeoutIsRetriedAndLoggedAsATimeout) {
  Begin({"openai"});
  machine_->OnLease(Granted(1));
  machine_->OnAttemptDone(absl::DeadlineExceededError("timed out after 120000 ms"), 0, "");
  EXPECT_THAT(out_.delays, ElementsAre(absl::Seconds(1)));
  EXPECT_EQ(out_.events[0].outcome(), aigw::v1::NETWORK_ERROR);
  EXPECT_EQ(out_.events[0].error_code(), "TIMEOUT");
}

TEST_F(CompletionMachineTest, ARedirectOrAnAnswerOverABoundGoesToTheNextTarget) {
  Begin({"openai", "deepseek", "anthropic"});
  Answer(1, 301, "");
  machine_->OnLease(Granted(2));
  machine_->OnAttemptDone(absl::ResourceExhaustedError("body over the 8 MiB limit"), 200, "");
  EXPECT_THAT(out_.delays, IsEmpty());
  ASSERT_EQ(out_.leases.size(), 3u);
  EXPECT_EQ(out_.leases[2].provider_code(), "anthropic");
  EXPECT_EQ(out_.events[0].error_code(), "REDIRECT");
  EXPECT_EQ(out_.events[1].error_code(), "RESPONSE_TOO_LARGE");
}

TEST_F(CompletionMachineTest, AnUnreadableAnswerIsABadResponseRetried) {
  Begin({"openai"});
  Answer(1, 200, "<html>oops</html>");
  EXPECT_EQ(out_.events[0].outcome(), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(out_.events[0].error_code(), "BAD_RESPONSE");
  EXPECT_THAT(out_.delays, ElementsAre(absl::Seconds(1)));
}

TEST_F(CompletionMachineTest, AMalformedStreamIsABadResponseRetried) {
  Begin({"openai"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  machine_->OnData("data: {\"choices\":[\n\n");
  EXPECT_EQ(out_.aborts, 1);
  machine_->OnAttemptDone(absl::CancelledError("cancelled"), 200, "");
  // The gateway aborted the transfer for what the upstream sent: not a
  // network failure ("unreachable: cancelled", as it was logged before).
  ASSERT_EQ(out_.events.size(), 1u);
  EXPECT_EQ(out_.events[0].outcome(), aigw::v1::SERVER_ERROR);
  EXPECT_EQ(out_.events[0].error_code(), "BAD_RESPONSE");
  EXPECT_THAT(out_.events[0].error_message(), HasSubstr("openai sent a malformed stream"));
  EXPECT_THAT(out_.delays, ElementsAre(absl::Seconds(1)));
}

TEST_F(CompletionMachineTest, AStreamRelaysDeltasAndEndsWithUsageAndCost) {
  Begin({"openai"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  EXPECT_EQ(out_.sends[0].idle_timeout, settings_.stream_idle_timeout);
  clock_.Advance(absl::Milliseconds(250));
  machine_->OnData(Delta("Hel"));
  machine_->OnData(absl::StrCat(Delta("lo"), kStreamEnd));
  machine_->OnAttemptDone(absl::OkStatus(), 200, "");
  ASSERT_EQ(out_.chunks.size(), 3u);
  // The first chunk names the call; later ones carry only the delta.
  EXPECT_EQ(out_.chunks[0].delta_content(), "Hel");
  EXPECT_EQ(out_.chunks[0].provider_code(), "openai");
  EXPECT_EQ(out_.chunks[0].request_id(), "req_test");
  EXPECT_EQ(out_.chunks[1].delta_content(), "lo");
  EXPECT_EQ(out_.chunks[1].request_id(), "");
  EXPECT_EQ(out_.chunks[2].usage().total_tokens(), 150);
  EXPECT_EQ(out_.chunks[2].cost_nanos(), 700'000);
  EXPECT_EQ(out_.chunks[2].finish_reason(), "stop");
  EXPECT_TRUE(out_.status->ok());
  EXPECT_EQ(out_.events[0].ttft_ms(), 250);
  EXPECT_TRUE(out_.events[0].is_stream());
}

TEST_F(CompletionMachineTest, AStreamCutBeforeItsFirstDeltaIsRetried) {
  Begin({"openai"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  machine_->OnAttemptDone(absl::UnavailableError("connection reset"), 200, "");
  EXPECT_THAT(out_.delays, ElementsAre(absl::Seconds(1)));
  EXPECT_THAT(out_.chunks, IsEmpty());
}

TEST_F(CompletionMachineTest, AStreamCutAfterADeltaIsChargedAndNotRetried) {
  Begin({"openai", "deepseek"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  machine_->OnData(Delta("echo: one"));
  machine_->OnAttemptDone(absl::OkStatus(), 200, "");  // ended without its end marker
  EXPECT_THAT(out_.delays, IsEmpty());
  EXPECT_EQ(out_.leases.size(), 1u);
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(out_.status->message(), "openai ended the stream early");
  ASSERT_THAT(Outcomes(), ElementsAre("NETWORK_ERROR!"));
  const aigw::v1::CallEvent& e = out_.events[0];
  EXPECT_EQ(e.error_code(), "STREAM_INTERRUPTED");
  EXPECT_GT(e.usage().prompt_tokens(), 0);
  EXPECT_GT(e.usage().completion_tokens(), 0);
  EXPECT_GT(e.cost_nanos(), 0);
  EXPECT_EQ(out_.reports[0].completion_tokens(), e.usage().completion_tokens());
}

TEST_F(CompletionMachineTest, ACancelledStreamIsChargedForWhatWasDelivered) {
  Begin({"openai"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  machine_->OnData(Delta("partial answer"));
  machine_->Cancel();
  EXPECT_EQ(out_.aborts, 1);
  machine_->OnData(Delta(" ignored"));  // arrived before the abort took hold
  machine_->OnAttemptDone(absl::CancelledError("cancelled"), 200, "");
  EXPECT_EQ(out_.chunks.size(), 1u);
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(out_.events[0].error_code(), "CANCELLED");
  EXPECT_GT(out_.events[0].cost_nanos(), 0);
}

TEST_F(CompletionMachineTest, AClientTooSlowEndsTheStream) {
  Begin({"openai"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  out_.write_answer = absl::ResourceExhaustedError("the client is too far behind");
  machine_->OnData(Delta("a") + Delta("b"));
  EXPECT_EQ(out_.chunks.size(), 1u);  // nothing after the refused chunk
  EXPECT_EQ(out_.aborts, 1);
  machine_->OnAttemptDone(absl::CancelledError("cancelled"), 200, "");
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out_.events[0].error_code(), "CLIENT_TOO_SLOW");
  EXPECT_EQ(out_.events[0].outcome(), aigw::v1::CLIENT_ERROR);
}

TEST_F(CompletionMachineTest, AStreamOverItsContentBoundIsCutAndNotRetried) {
  settings_.max_stream_content_bytes = 10;
  Begin({"openai", "deepseek"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  machine_->OnData(Delta("0123456789") + Delta("X"));
  EXPECT_EQ(out_.chunks.size(), 1u);
  EXPECT_EQ(out_.aborts, 1);
  machine_->OnAttemptDone(absl::CancelledError("cancelled"), 200, "");
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out_.events[0].error_code(), "STREAM_TOO_LARGE");
  EXPECT_EQ(out_.leases.size(), 1u);
}

TEST_F(CompletionMachineTest, AStreamPastItsTimeLimitEndsAsTooLong) {
  settings_.max_stream_duration = absl::Minutes(1);
  Begin({"openai"}, /*stream=*/true, /*deadline=*/absl::Hours(1));
  machine_->OnLease(Granted(1));
  EXPECT_EQ(out_.sends[0].timeout, absl::Minutes(1));
  clock_.Advance(absl::Minutes(1));
  machine_->OnAttemptDone(absl::DeadlineExceededError("timed out"), 200, "");
  EXPECT_EQ(out_.status->code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(out_.events[0].error_code(), "STREAM_TOO_LONG");
  EXPECT_THAT(out_.delays, IsEmpty());
}

TEST_F(CompletionMachineTest, AnErrorInsideAStreamIsClassifiedAsItsAnswer) {
  Begin({"openai"}, /*stream=*/true);
  machine_->OnLease(Granted(1));
  machine_->OnData(
      "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\"}}\n\n");
  machine_->OnAttemptDone(absl::OkStatus(), 200, "");
  EXPECT_EQ(out_.events[0].outcome(), aigw::v1::RATE_LIMITED);
  EXPECT_EQ(out_.events[0].http_status(), 429);
  EXPECT_THAT(out_.delays, ElementsAre(absl::ZeroDuration()));
}

}  // namespace
}  // namespace aigw::gateway
