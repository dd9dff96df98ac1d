// aigw.v1.ChatService's handlers over an in-process gRPC server: refusals
// before any lease, the caller filled in, a batch's bounds, concurrency and
// order, a stream relayed in order, and CountTokens. The keypool is a
// stand-in the test answers lease by lease; the provider is
// tools/fake-upstream.

#include "services/gateway/chat_service.h"

#include <algorithm>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/http/http_engine.h"
#include "libs/tokenizer/registry.h"
#include "services/gateway/catalogue.h"
#include "services/gateway/completion_call.h"
#include "services/gateway/event_sink.h"
#include "services/gateway/key_leaser.h"
#include "tests/gateway/gateway_harness.h"
#include "tests/testing/local_grpc_server.h"
#include "tools/fake-upstream/fake_upstream_server.h"

namespace aigw::gateway {
namespace {

using grpc::StatusCode;
using Stub = aigw::v1::ChatService::Stub;

// The keypool, as slow as the test likes: every lease request waits until
// the test answers it.
class HeldLeaser : public KeyLeaser {
 public:
  void Lease(const aigw::v1::LeaseKeyRequest& request,
             std::function<void(LeaseResult)> done) override {
    absl::MutexLock lock(&mu_);
    pending_.emplace_back(request, std::move(done));
    ++requested_;
    max_pending_ = std::max(max_pending_, pending_.size());
  }
  void Report(const aigw::v1::ReportUsageRequest&) override {}

  // Waits until `n` lease requests are waiting; their models, oldest first.
  std::vector<std::string> AwaitPending(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending_.size() >= n; };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30)))
        << pending_.size() << " lease requests waiting, expected " << n;
    std::vector<std::string> models;
    for (const auto& [request, done] : pending_) models.push_back(request.model());
    return models;
  }
  // Answers the waiting lease request for `model`.
  void Answer(absl::string_view model, LeaseResult result) {
    std::function<void(LeaseResult)> done;
    {
      absl::MutexLock lock(&mu_);
      for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->first.model() == model) {
          done = std::move(it->second);
          pending_.erase(it);
          break;
        }
      }
    }
    ASSERT_TRUE(done) << "no lease request waiting for " << model;
    done(std::move(result));
  }
  // No key: the item fails without reaching the provider.
  void Refuse(absl::string_view model) {
    Answer(model, LeaseResult{absl::NotFoundError(absl::StrCat("no key for ", model)), {}, 0});
  }
  size_t requested() {
    absl::MutexLock lock(&mu_);
    return requested_;
  }
  size_t max_pending() {
    absl::MutexLock lock(&mu_);
    return max_pending_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<aigw::v1::LeaseKeyRequest, std::function<void(LeaseResult)>>> pending_
      ABSL_GUARDED_BY(mu_);
  size_t requested_ ABSL_GUARDED_BY(mu_) = 0;
  size_t max_pending_ ABSL_GUARDED_BY(mu_) = 0;
};

ModelEntry Model(absl::string_view code, bool streaming = true) {
  ModelEntry m;
  m.code = std::string(code);
  m.name = m.code;
  m.supports_streaming = streaming;
  return m;
}

aigw::v1::ChatCompletionRequest Request(absl::string_view model,
                                        absl::string_view provider = "openai") {
  aigw::v1::ChatCompletionRequest r;
  r.set_provider_code(std::string(provider));
  r.set_model(std::string(model));
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content("Write one line about the sea.");
  return r;
}

class ChatServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_ = std::make_unique<fake_upstream::FakeUpstreamServer>(fake_upstream::ServerOptions{});
    ASSERT_TRUE(upstream_->Start().ok());
    absl::StatusOr<std::unique_ptr<http::HttpEngine>> engine = http::HttpEngine::Create({});
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);

    ProviderEntry openai;
    openai.id = 1;
    openai.code = "openai";
    openai.api_format = "openai";
    openai.base_url = upstream_->base_url() + "/v1";
    openai.models = {Model("gpt-4o"), Model("gpt-4"), Model("no-stream", /*streaming=*/false)};
    openai.models[0].is_default = true;
    for (int i = 0; i < 5; ++i) openai.models.push_back(Model(absl::StrCat("m", i)));
    ProviderEntry deepseek;
    deepseek.id = 2;
    deepseek.code = "deepseek";
    deepseek.api_format = "openai";
    deepseek.models = {Model("deepseek-chat")};
    ProviderEntry off;
    off.id = 3;
    off.code = "off";
    off.is_active = false;
    off.models = {Model("m")};
    catalogue_.Set(Catalogue::FromProviders({openai, deepseek, off}));

    pipeline_.engine = engine_.get();
    pipeline_.leaser = &leaser_;
    pipeline_.events = &events_;
    http::HttpEngine* e = engine_.get();
    pipeline_.schedule = [e](absl::Duration, std::function<void()> fn) { e->Post(std::move(fn)); };
    pipeline_.random = [] { return 0.5; };

    ChatServiceOptions options;
    options.max_batch_items = 6;
    options.default_batch_concurrency = 8;
    options.max_batch_concurrency = 16;
    options.limits.max_request_bytes = 1000;
    options.caller_subject = [](const grpc::CallbackServerContext&) { return "token-subject"; };
    service_ = std::make_unique<ChatServiceImpl>(&pipeline_, &catalogue_, options);
    server_ = std::make_unique<aigw::testing::LocalGrpcServer>(
        std::vector<grpc::Service*>{service_.get()});
    ASSERT_TRUE(server_->ok());
    stub_ = aigw::v1::ChatService::NewStub(server_->NewChannel());
  }
  void TearDown() override {
    server_.reset();
    engine_.reset();  // its kept-alive connections would hold the fake up
    upstream_->Stop();
  }

  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, Resp* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return (stub_.get()->*method)(&ctx, request, response);
  }
  // A key of the fake upstream.
  LeaseResult Granted(int64_t key_id) {
    LeaseResult r;
    r.lease.set_lease_id(absl::StrCat("lease-", key_id));
    r.lease.set_key_id(key_id);
    r.lease.set_api_key(absl::StrCat("sk-test-", key_id));
    r.lease.set_api_format("openai");
    r.lease.set_base_url(upstream_->base_url() + "/v1");
    return r;
  }
  // Runs a batch on a thread of its own (it waits for the leases the test
  // answers); Join waits for its answer.
  struct PendingBatch {
    std::thread thread;
    grpc::Status status;
    aigw::v1::BatchChatCompletionResponse response;
    void Join() { thread.join(); }
  };
  std::unique_ptr<PendingBatch> StartBatch(aigw::v1::BatchChatCompletionRequest request) {
    auto batch = std::make_unique<PendingBatch>();
    PendingBatch* b = batch.get();
    b->thread = std::thread([this, b, request = std::move(request)] {
      b->status = Call(&Stub::BatchCreateChatCompletion, request, &b->response);
    });
    return batch;
  }

  std::unique_ptr<fake_upstream::FakeUpstreamServer> upstream_;
  std::unique_ptr<http::HttpEngine> engine_;
  HeldLeaser leaser_;
  testing::RecordingEventSink events_;
  CatalogueCache catalogue_{nullptr, absl::Hours(1)};
  PipelineContext pipeline_;
  std::unique_ptr<ChatServiceImpl> service_;
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(ChatServiceTest, ARequestTheCatalogueRefusesNeverLeasesAKey) {
  aigw::v1::ChatCompletion completion;
  grpc::Status st = Call(&Stub::CreateChatCompletion, Request("gpt-4o", "nope"), &completion);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "configured: openai, deepseek"))
      << st.error_message();
  st = Call(&Stub::CreateChatCompletion, Request("m", "off"), &completion);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "disabled")) << st.error_message();
  aigw::v1::ChatCompletionRequest empty = Request("gpt-4o");
  empty.clear_messages();
  st = Call(&Stub::CreateChatCompletion, empty, &completion);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);

  // A stream is refused the same way, and for a model that cannot stream.
  for (const auto& [request, code] :
       {std::pair{Request("gpt-5"), StatusCode::NOT_FOUND},
        std::pair{Request("no-stream"), StatusCode::INVALID_ARGUMENT}}) {
    grpc::ClientContext ctx;
    auto reader = stub_->StreamChatCompletion(&ctx, request);
    aigw::v1::ChatCompletionChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    st = reader->Finish();
    EXPECT_EQ(st.error_code(), code) << st.error_message();
  }
  EXPECT_EQ(leaser_.requested(), 0u);
  EXPECT_TRUE(events_.events().empty());
}

TEST_F(ChatServiceTest, TheCallerComesFromTheTokenAndThePeerUnlessTheRequestSaysSo) {
  std::thread answer([this] {
    leaser_.AwaitPending(1);
    leaser_.Refuse("gpt-4o");
  });
  aigw::v1::ChatCompletion completion;
  grpc::Status st = Call(&Stub::CreateChatCompletion, Request("gpt-4o"), &completion);
  answer.join();
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "no key for gpt-4o")) << st.error_message();

  aigw::v1::ChatCompletionRequest named = Request("m0");
  named.mutable_caller()->set_user_id("user-7");
  named.mutable_caller()->set_ip_address("203.0.113.9");
  std::thread answer_named([this] {
    leaser_.AwaitPending(1);
    leaser_.Refuse("m0");
  });
  st = Call(&Stub::CreateChatCompletion, named, &completion);
  answer_named.join();
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);

  // The refused leases' events (emitted after the answer, on the engine).
  std::promise<void> settled;
  engine_->Post([&settled] { settled.set_value(); });
  settled.get_future().wait();
  std::vector<aigw::v1::CallEvent> events = events_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].caller().user_id(), "token-subject");
  EXPECT_EQ(events[0].caller().ip_address(), "127.0.0.1");
  EXPECT_EQ(events[1].caller().user_id(), "user-7");
  EXPECT_EQ(events[1].caller().ip_address(), "203.0.113.9");
}

TEST_F(ChatServiceTest, ABatchIsBoundedInSizeAndConcurrency) {
  aigw::v1::BatchChatCompletionRequest batch;
  for (int i = 0; i < 7; ++i) *batch.add_requests() = Request("gpt-4o");
  aigw::v1::BatchChatCompletionResponse response;
  grpc::Status st = Call(&Stub::BatchCreateChatCompletion, batch, &response);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "requests has 7 items; at most 6 per batch");
  batch.mutable_requests()->RemoveLast();
  for (int concurrency : {-1, 17}) {
    batch.set_max_concurrency(concurrency);
    st = Call(&Stub::BatchCreateChatCompletion, batch, &response);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message(), absl::StrCat("max_concurrency is ", concurrency,
                                               ": use 0 (default 8) to 16"));
  }
  EXPECT_EQ(leaser_.requested(), 0u);
  // An empty batch is answered at once.
  aigw::v1::BatchChatCompletionRequest none;
  ASSERT_TRUE(Call(&Stub::BatchCreateChatCompletion, none, &response).ok());
  EXPECT_EQ(response.results_size(), 0);
}

TEST_F(ChatServiceTest, ABatchRunsAtMostItsConcurrencyAndAnswersInRequestOrder) {
  aigw::v1::BatchChatCompletionRequest request;
  for (int i = 0; i < 5; ++i) {
    *request.add_requests() = Request(i == 2 ? "gpt-5" : absl::StrCat("m", i));
  }
  request.set_max_concurrency(2);
  std::unique_ptr<PendingBatch> batch = StartBatch(request);

  EXPECT_EQ(leaser_.AwaitPending(2), (std::vector<std::string>{"m0", "m1"}));
  // Finishing the second frees a place: the third item is refused by the
  // catalogue without one, so the fourth takes it.
  leaser_.Refuse("m1");
  EXPECT_EQ(leaser_.AwaitPending(2), (std::vector<std::string>{"m0", "m3"}));
  leaser_.Refuse("m3");
  EXPECT_EQ(leaser_.AwaitPending(2), (std::vector<std::string>{"m0", "m4"}));
  leaser_.Answer("m4", Granted(4));
  leaser_.Answer("m0", Granted(10));
  batch->Join();

  ASSERT_TRUE(batch->status.ok()) << batch->status.error_message();
  EXPECT_EQ(leaser_.max_pending(), 2u);
  const aigw::v1::BatchChatCompletionResponse& r = batch->response;
  ASSERT_EQ(r.results_size(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.results(i).index(), i);
  EXPECT_EQ(r.succeeded(), 2);
  EXPECT_EQ(r.failed(), 3);
  for (int i : {0, 4}) {
    ASSERT_TRUE(r.results(i).has_completion()) << i;
    EXPECT_EQ(r.results(i).completion().model(), absl::StrCat("m", i));
    EXPECT_FALSE(r.results(i).completion().content().empty());
  }
  for (int i : {1, 3}) {
    ASSERT_TRUE(r.results(i).has_error()) << i;
    EXPECT_EQ(r.results(i).error().code(), static_cast<int>(absl::StatusCode::kNotFound));
    EXPECT_TRUE(absl::StrContains(r.results(i).error().message(), absl::StrCat("no key for m", i)))
        << r.results(i).error().message();
  }
  ASSERT_TRUE(r.results(2).has_error());
  EXPECT_TRUE(absl::StrContains(r.results(2).error().message(), "model 'gpt-5'"))
      << r.results(2).error().message();
}

TEST_F(ChatServiceTest, ABatchWithoutAConcurrencyRunsTheDefault) {
  aigw::v1::BatchChatCompletionRequest request;
  for (int i = 0; i < 3; ++i) *request.add_requests() = Request(absl::StrCat("m", i));
  std::unique_ptr<PendingBatch> batch = StartBatch(request);
  EXPECT_EQ(leaser_.AwaitPending(3).size(), 3u);  // the default, 8, is more than 3
  for (int i = 0; i < 3; ++i) leaser_.Refuse(absl::StrCat("m", i));
  batch->Join();
  ASSERT_TRUE(batch->status.ok()) << batch->status.error_message();
  EXPECT_EQ(batch->response.failed(), 3);
}

TEST_F(ChatServiceTest, AStreamIsRelayedInOrderAndEndsWithUsage) {
  std::thread answer([this] {
    leaser_.AwaitPending(1);
    leaser_.Answer("gpt-4o", Granted(1));
  });
  grpc::ClientContext ctx;
  auto reader = stub_->StreamChatCompletion(&ctx, Request("gpt-4o"));
  std::vector<aigw::v1::ChatCompletionChunk> chunks;
  aigw::v1::ChatCompletionChunk chunk;
  while (reader->Read(&chunk)) chunks.push_back(chunk);
  grpc::Status st = reader->Finish();
  answer.join();
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_GE(chunks.size(), 2u);
  std::string content;
  for (const auto& c : chunks) content += c.delta_content();
  EXPECT_FALSE(content.empty());
  EXPECT_TRUE(chunks.back().has_usage());
  EXPECT_GT(chunks.back().usage().completion_tokens(), 0);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_FALSE(chunks[i].has_usage()) << i;
}

TEST_F(ChatServiceTest, CountTokensCountsTextOrMessagesWithTheModelsTokenizer) {
  aigw::v1::CountTokensRequest text;
  text.set_provider_code("openai");
  text.set_text("hello world");
  aigw::v1::CountTokensResponse r;
  ASSERT_TRUE(Call(&Stub::CountTokens, text, &r).ok());
  EXPECT_EQ(r.model(), "gpt-4o");  // the provider's default
  EXPECT_EQ(r.encoding(), "o200k_base");
  EXPECT_EQ(r.token_count(), 2);
  EXPECT_FALSE(r.is_estimate());

  aigw::v1::CountTokensRequest messages;
  messages.set_provider_code("deepseek");
  messages.set_model("deepseek-chat");
  auto* m = messages.add_messages();
  m->set_role("system");
  m->set_content("You write lyrics.");
  m = messages.add_messages();
  m->set_role("user");
  m->set_content("一首关于大海的歌");
  ASSERT_TRUE(Call(&Stub::CountTokens, messages, &r).ok());
  EXPECT_EQ(r.model(), "deepseek-chat");
  EXPECT_TRUE(r.is_estimate());
  EXPECT_EQ(r.encoding(), "estimate");
  EXPECT_GT(r.token_count(), 0);
}

TEST_F(ChatServiceTest, CountTokensCountsToolsAndImages) {
  // The OpenAI cookbook's example with a function (How_to_count_tokens_with_
  // tiktoken, section 7): 101 prompt tokens for gpt-4o by the API.
  aigw::v1::CountTokensRequest req;
  req.set_provider_code("openai");
  req.set_model("gpt-4o");
  auto* m = req.add_messages();
  m->set_role("system");
  m->set_content("You are a helpful assistant that can answer to questions about the weather.");
  m = req.add_messages();
  m->set_role("user");
  m->set_content("What's the weather like in San Francisco?");
  auto* tool = req.add_tools();
  tool->set_name("get_current_weather");
  tool->set_description("Get the current weather in a given location");
  tool->set_parameters_json(R"({"type": "object", "properties": {
      "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
      "unit": {"type": "string", "description": "The unit of temperature to return",
               "enum": ["celsius", "fahrenheit"]}}, "required": ["location"]})");
  aigw::v1::CountTokensResponse r;
  ASSERT_TRUE(Call(&Stub::CountTokens, req, &r).ok());
  EXPECT_EQ(r.token_count(), 101);
  EXPECT_FALSE(r.is_estimate());

  // A remote image at low detail is 85 more; at high detail its size is
  // unknown: the rule's most, and an estimate.
  auto* image = m->add_parts()->mutable_image_url();
  m->clear_content();
  image->set_url("https://cdn.example.com/cover.png");
  image->set_detail("low");
  m->add_parts()->set_text("What's the weather like in San Francisco?");
  ASSERT_TRUE(Call(&Stub::CountTokens, req, &r).ok());
  EXPECT_EQ(r.token_count(), 101 + 85);
  EXPECT_FALSE(r.is_estimate());
  image->set_detail("high");
  ASSERT_TRUE(Call(&Stub::CountTokens, req, &r).ok());
  EXPECT_EQ(r.token_count(), 101 + 1445);
  EXPECT_TRUE(r.is_estimate());

  image->set_url("http://cdn.example.com/cover.png");
  grpc::Status st = Call(&Stub::CountTokens, req, &r);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(st.error_message(), "neither an https URL nor a data: URL"))
      << st.error_message();
}

TEST_F(ChatServiceTest, CountTokensRefusesWhatItCannotCount) {
  aigw::v1::CountTokensResponse r;
  auto code = [&](const aigw::v1::CountTokensRequest& req, std::string* message = nullptr) {
    grpc::Status st = Call(&Stub::CountTokens, req, &r);
    if (message != nullptr) *message = st.error_message();
    return st.error_code();
  };
  std::string message;
  aigw::v1::CountTokensRequest req;
  req.set_provider_code("openai");
  EXPECT_EQ(code(req, &message), StatusCode::INVALID_ARGUMENT);  // neither
  EXPECT_EQ(message, "give either messages or text (exactly one)");
  req.set_text("x");
  auto* m = req.add_messages();
  m->set_role("user");
  m->set_content("x");
  EXPECT_EQ(code(req), StatusCode::INVALID_ARGUMENT);  // both

  req.clear_text();
  m = req.add_messages();
  m->set_role("function");
  m->set_content("x");
  EXPECT_EQ(code(req, &message), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(message, "messages[1].role is 'function': use system, user, assistant or tool");
  m->set_role("tool");  // answering no call
  EXPECT_EQ(code(req, &message), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(message, "messages[1].tool_call_id is empty: name the tool call this turn answers");

  req.clear_messages();
  req.set_text(std::string(1001, 'a'));
  EXPECT_EQ(code(req, &message), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(message, "text is 1001 bytes; the limit is 1000");
  req.clear_text();
  for (int i = 0; i < 2; ++i) {
    m = req.add_messages();
    m->set_role("user");
    m->set_content(std::string(501, 'a'));
  }
  EXPECT_EQ(code(req, &message), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(message, "request carries 1002 bytes of text; the limit is 1000");

  aigw::v1::CountTokensRequest unknown;
  unknown.set_provider_code("openai");
  unknown.set_model("gpt-5");
  unknown.set_text("x");
  EXPECT_EQ(code(unknown), StatusCode::NOT_FOUND);
  unknown.set_provider_code("");
  EXPECT_EQ(code(unknown), StatusCode::INVALID_ARGUMENT);
}

TEST_F(ChatServiceTest, CountTokensWithoutTheTokenizersDataIsUnavailable) {
  // gpt-4 is the only model here on cl100k_base, so no earlier test of this
  // process has loaded it.
  const std::string dir = ::testing::TempDir() + "/no-tokenizer-data";
  absl::SetFlag(&FLAGS_tokenizer_data_dir, dir);
  aigw::v1::CountTokensRequest req;
  req.set_provider_code("openai");
  req.set_model("gpt-4");
  req.set_text("hello");
  aigw::v1::CountTokensResponse r;
  grpc::Status st = Call(&Stub::CountTokens, req, &r);
  absl::SetFlag(&FLAGS_tokenizer_data_dir, "");
  EXPECT_EQ(st.error_code(), StatusCode::UNAVAILABLE);
  EXPECT_TRUE(absl::StartsWith(st.error_message(), "tokenizer: ")) << st.error_message();
}

}  // namespace
}  // namespace aigw::gateway
