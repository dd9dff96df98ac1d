// Hostile or broken upstreams are bounded: the pipeline against a raw-socket
// server that misbehaves at the byte level (a body or a header that never
// ends, deep JSON, an SSE line with no newline, a redirect, a stream that
// trickles for ever or never stops talking), and a gRPC client that does
// not read its stream. Each bound fails the attempt with a clear status and
// error code, and the attempt is not retried against the same upstream.

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/gateway/chat_service.h"
#include "services/usage/call_log_row.h"
#include "tests/gateway/gateway_harness.h"
#include "tests/testing/local_grpc_server.h"
#include "tests/testing/raw_socket_server.h"

namespace aigw::gateway::testing {
namespace {

using aigw::testing::RawConnection;
using aigw::testing::RawSocketServer;

constexpr char kOpenAiKey[] = "sk-test-key-bounds-000000001";

// A guard for the test's own memory: far beyond every bound under test. A
// pipeline without the bound reads this much and then waits on a silent
// connection until a timeout.
constexpr int64_t kServerCap = 64 << 20;

constexpr char kSseHead[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

// One OpenAI stream chunk carrying `content`.
std::string DeltaEvent(const std::string& content) {
  return absl::StrCat(
      R"(data: {"id":"chatcmpl-b","object":"chat.completion.chunk","model":"gpt-4o-mini",)",
      R"("choices":[{"index":0,"delta":{"content":")", content, R"("}}]})", "\n\n");
}

// Reads the request, sends `head`, then `block` again and again until the
// gateway hangs up (or the cap), then waits for it to.
RawSocketServer::Handler Endless(std::string head, std::string block) {
  return [head, block](RawConnection& c) {
    if (!c.ReadRequest().ok() || !c.Write(head)) return;
    c.WriteRepeatedly(block, kServerCap);
    c.WaitForClose();
  };
}

// Waits (polling) until `done` holds or 30 s have passed.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (!done()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

class UpstreamBoundsTest : public ::testing::Test {
 protected:
  // OpenAI answers from `handler`; DeepSeek is the well-behaved fake.
  void StartWith(RawSocketServer::Handler handler) {
    auto raw = RawSocketServer::Start(std::move(handler));
    ASSERT_TRUE(raw.ok()) << raw.status();
    raw_ = std::move(*raw);
    absl::Status st = h_.Start({{"openai", kOpenAiKey, 100},
                                {"deepseek", "sk-deepseek-000000000001", 100}},
                               {{"openai", raw_->base_url() + "/v1"}});
    ASSERT_TRUE(st.ok()) << st;
    // Against a pipeline without the bound, a read that never ends is cut
    // here instead of after minutes.
    h_.pipeline().upstream_timeout = absl::Seconds(5);
    h_.pipeline().stream_idle_timeout = absl::Seconds(2);
  }

  void TearDown() override {
    for (const aigw::v1::CallEvent& ev : h_.events().events()) {
      absl::StatusOr<aigw::usage::LogRow> row =
          aigw::usage::ToLogRow(ev, absl::UTCTimeZone(), absl::Now());
      EXPECT_TRUE(row.ok()) << row.status() << " for " << ev.ShortDebugString();
    }
  }

  // The call failed with `code` after one attempt at the raw upstream,
  // recorded with `error_code`; nothing was retried.
  void ExpectOneAttempt(const CallResult& r, absl::StatusCode code,
                        const std::string& error_code, const std::string& message) {
    EXPECT_EQ(r.status.code(), code) << r.status;
    EXPECT_TRUE(absl::StrContains(r.status.message(), message)) << r.status;
    EXPECT_EQ(raw_->connections(), 1);
    EXPECT_TRUE(h_.delays().empty());
    std::vector<aigw::v1::CallEvent> events = h_.events().events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].error_code(), error_code);
    EXPECT_TRUE(events[0].is_final());
  }

  std::unique_ptr<RawSocketServer> raw_;
  GatewayHarness h_;
};

TEST_F(UpstreamBoundsTest, ABodyThatNeverEndsIsCutAtTheLimit) {
  StartWith(Endless(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
      std::string(4096, ' ')));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ExpectOneAttempt(r, absl::StatusCode::kUnavailable, "RESPONSE_TOO_LARGE",
                   "openai answered beyond a limit: response body over the 8 MiB limit");
  EXPECT_EQ(h_.events().events()[0].outcome(), aigw::v1::SERVER_ERROR);
}

TEST_F(UpstreamBoundsTest, AHugeBodyIsRefusedByItsLength) {
  StartWith(Endless("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n",
                    std::string(4096, ' ')));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ExpectOneAttempt(r, absl::StatusCode::kUnavailable, "RESPONSE_TOO_LARGE", "8 MiB");
}

TEST_F(UpstreamBoundsTest, AnErrorBodyThatNeverEndsIsCutAtTheLimit) {
  StartWith(Endless(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n",
      std::string(4096, '<')));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"), /*stream=*/true);
  ExpectOneAttempt(r, absl::StatusCode::kUnavailable, "RESPONSE_TOO_LARGE", "8 MiB");
}

TEST_F(UpstreamBoundsTest, HeadersThatNeverEndAreCutAtTheLimit) {
  StartWith(Endless("HTTP/1.1 200 OK\r\n",
                    absl::StrCat("X-Filler: ", std::string(1000, 'h'), "\r\n")));
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ExpectOneAttempt(r, absl::StatusCode::kUnavailable, "RESPONSE_TOO_LARGE",
                   "response headers over the 64 KiB limit");
}

// Deep enough to overflow any thread's stack were the parser to recurse into
// it, and well within the body limit (2 MB).
TEST_F(UpstreamBoundsTest, DeeplyNestedJsonIsRefusedNotParsed) {
  const std::string body = absl::StrCat(R"({"choices":)", std::string(1'000'000, '['), "}");
  StartWith([body](RawConnection& c) {
    if (!c.ReadRequest().ok()) return;
    c.Write(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ",
                         body.size(), "\r\nConnection: close\r\n\r\n", body));
    c.WaitForClose();
  });
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ExpectOneAttempt(r, absl::StatusCode::kUnavailable, "RESPONSE_TOO_LARGE",
                   "nested deeper than 64 levels");
}

TEST_F(UpstreamBoundsTest, AnSseLineWithNoNewlineIsCutAtTheLimit) {
  StartWith([](RawConnection& c) {
    if (!c.ReadRequest().ok() || !c.Write(kSseHead) || !c.Write("data: ")) return;
    c.WriteRepeatedly(std::string(4096, 'a'), kServerCap);
    c.WaitForClose();
  });
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"), /*stream=*/true);
  ExpectOneAttempt(r, absl::StatusCode::kUnavailable, "RESPONSE_TOO_LARGE",
                   "server-sent event over the 8 MiB limit");
  EXPECT_TRUE(r.chunks.empty());
}

// The upstream never stops sending content: the stream is ended at the
// content limit, after what fitted in it reached the client.
TEST_F(UpstreamBoundsTest, StreamedContentIsCutAtTheLimit) {
  StartWith(Endless(kSseHead, DeltaEvent(std::string(1000, 'c'))));
  h_.pipeline().max_stream_content_bytes = 64 << 10;
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"), /*stream=*/true);
  ExpectOneAttempt(r, absl::StatusCode::kResourceExhausted, "STREAM_TOO_LARGE",
                   "openai streamed more than 64 KiB of content");
  size_t delivered = 0;
  for (const auto& chunk : r.chunks) delivered += chunk.delta_content().size();
  EXPECT_EQ(delivered, 65000u);  // 65 whole chunks; the 66th would pass 64 KiB
  // The upstream transfer was aborted, not left to run.
  EXPECT_TRUE(Eventually([&] { return raw_->finished() == 1; }));
}

// A stream that sends a delta and then only keep-alives never goes idle;
// with no deadline from the client it would hold the call for ever.
TEST_F(UpstreamBoundsTest, AStreamThatTricklesForeverEndsAtTheDurationLimit) {
  StartWith([](RawConnection& c) {
    if (!c.ReadRequest().ok() || !c.Write(kSseHead) || !c.Write(DeltaEvent("hello"))) return;
    while (c.Write(": keep-alive\n\n")) absl::SleepFor(absl::Milliseconds(20));
  });
  h_.pipeline().max_stream_duration = absl::Milliseconds(500);
  RecordingLeaser leaser(h_.pipeline().leaser);
  h_.pipeline().leaser = &leaser;
  CallResult r = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"), /*stream=*/true);
  ExpectOneAttempt(r, absl::StatusCode::kDeadlineExceeded, "STREAM_TOO_LONG",
                   "openai's stream ran for 500ms, the gateway's limit per call");
  ASSERT_EQ(r.chunks.size(), 1u);
  EXPECT_EQ(r.chunks[0].delta_content(), "hello");
  EXPECT_TRUE(Eventually([&] { return raw_->finished() == 1; }));
  // What was delivered is charged (the tokenizer's count: no usage came),
  // in the call log and against the key.
  const aigw::v1::CallEvent ev = h_.events().events()[0];
  EXPECT_EQ(ev.usage().completion_tokens(), 1);  // "hello"
  EXPECT_GT(ev.usage().prompt_tokens(), 0);
  EXPECT_GT(ev.cost_nanos(), 0);
  ASSERT_EQ(leaser.reports().size(), 1u);
  EXPECT_EQ(leaser.reports()[0].total_tokens(), ev.usage().total_tokens());
  h_.pipeline().leaser = leaser.inner();
}

// A redirect is the provider's (or a man in the middle's) answer, not a
// place to go: the server it names never hears from the gateway, the call
// says what to fix, and a fallback target still serves.
TEST_F(UpstreamBoundsTest, ARedirectIsAnErrorNeverFollowed) {
  auto elsewhere = RawSocketServer::Start([](RawConnection& c) {
    if (!c.ReadRequest().ok()) return;
    c.Write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  });
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  const std::string location = (*elsewhere)->base_url() + "/v1/chat/completions";
  StartWith([location](RawConnection& c) {
    while (c.ReadRequest().ok()) {
      c.Write(absl::StrCat("HTTP/1.1 302 Found\r\nLocation: ", location,
                           "\r\nContent-Length: 0\r\n\r\n"));
    }
  });
  CallResult alone = h_.Run(UserRequest("openai", "gpt-4o-mini", "hi"));
  ExpectOneAttempt(alone, absl::StatusCode::kUnavailable, "REDIRECT",
                   "openai answered with a redirect (HTTP 302): the gateway follows no "
                   "redirects; correct the provider's base_url");

  aigw::v1::ChatCompletionRequest with_fallback = UserRequest("openai", "gpt-4o-mini", "hi");
  with_fallback.add_fallbacks()->set_provider_code("deepseek");
  CallResult r = h_.Run(with_fallback);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.completion.provider_code(), "deepseek");
  EXPECT_EQ(r.completion.content(), "echo: hi");
  std::vector<aigw::v1::CallEvent> events = h_.events().events();
  ASSERT_EQ(events.size(), 3u);  // the first call's, then this one's two
  EXPECT_EQ(events[1].error_code(), "REDIRECT");
  EXPECT_EQ(events[1].http_status(), 302);
  EXPECT_EQ(events[2].provider_code(), "deepseek");
  EXPECT_EQ((*elsewhere)->connections(), 0);
}

// A gRPC client that does not read its stream: what waits for it is
// bounded; past the bound the call ends with RESOURCE_EXHAUSTED and the
// upstream transfer is stopped (the upstream here would never stop).
TEST_F(UpstreamBoundsTest, AClientThatDoesNotReadEndsItsStreamAtTheQueueLimit) {
  constexpr size_t kChunk = 4096;
  auto sent = std::make_shared<std::atomic<int64_t>>(0);
  StartWith([sent](RawConnection& c) {
    if (!c.ReadRequest().ok() || !c.Write(kSseHead)) return;
    sent->store(c.WriteRepeatedly(DeltaEvent(std::string(kChunk, 'c')), kServerCap));
    c.WaitForClose();
  });
  h_.pipeline().max_stream_content_bytes = 0;  // this bound is the queue's alone
  CatalogueCache cache(&h_.db(), absl::Hours(1));
  cache.Set(h_.catalogue());
  ChatServiceOptions options;
  options.max_queued_bytes = 32 << 10;
  ChatServiceImpl service(&h_.pipeline(), &cache, options);
  aigw::testing::LocalGrpcServer server({&service});
  ASSERT_TRUE(server.ok());
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // the client's window stays as small as it starts
  auto stub = aigw::v1::ChatService::NewStub(server.NewChannel(args));

  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<aigw::v1::ChatCompletionChunk>> reader =
      stub->StreamChatCompletion(&ctx, UserRequest("openai", "gpt-4o-mini", "hi"));
  // Not reading: the gateway must give up on this client by itself.
  ASSERT_TRUE(Eventually([&] {
    std::vector<aigw::v1::CallEvent> events = h_.events().events();
    return !events.empty() && events.back().error_code() == "CLIENT_TOO_SLOW";
  })) << "the stream to a client that does not read was not ended";
  EXPECT_TRUE(Eventually([&] { return raw_->finished() == 1; }));
  // What the upstream got out before it was stopped: what the transports
  // buffer (both TCP connections, the client's HTTP/2 window) and the queue.
  EXPECT_LT(sent->load(), kServerCap / 4);

  aigw::v1::ChatCompletionChunk chunk;
  int64_t received = 0;
  while (reader->Read(&chunk)) ++received;
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "the client is not reading the stream"))
      << status.error_message();
  EXPECT_GT(received, 0);
  EXPECT_LT(received * static_cast<int64_t>(kChunk), sent->load());
  EXPECT_EQ(raw_->connections(), 1);
  server.server().Shutdown();
}

}  // namespace
}  // namespace aigw::gateway::testing
