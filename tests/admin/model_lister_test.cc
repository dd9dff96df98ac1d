// ModelLister over HTTP: the request each API format makes, a provider's
// list, its refusals (scrubbed of the key) and what they mean, and the
// failures that are no answer at all. Against tools/fake-upstream, and a raw
// socket server for a 2xx body that is no model list.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/http/host_allowlist.h"
#include "libs/http/http_engine.h"
#include "services/admin/model_lister.h"
#include "tests/testing/raw_socket_server.h"
#include "tools/fake-upstream/fake_upstream_server.h"

namespace aigw::admin {
namespace {

constexpr char kSecret[] = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234";

class ModelListerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_upstream::ServerOptions options;
    options.models = {"fake-a", "fake-b"};
    fake_ = std::make_unique<fake_upstream::FakeUpstreamServer>(options);
    ASSERT_TRUE(fake_->Start().ok());
    absl::StatusOr<std::unique_ptr<http::HttpEngine>> engine = http::HttpEngine::Create({});
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  void TearDown() override {
    // The engine first: its kept-alive connections would hold the fake up.
    engine_.reset();
    fake_->Stop();
  }

  absl::StatusOr<ModelListAnswer> List(absl::string_view format,
                                       const http::HostAllowlist* hosts = nullptr) {
    const std::string base =
        format == "anthropic" ? fake_->base_url() : absl::StrCat(fake_->base_url(), "/v1");
    ModelLister lister(engine_.get(), absl::Seconds(10), hosts);
    return lister.List(base, format, kSecret);
  }
  void Refuse(int status, absl::string_view message, absl::string_view code = "") {
    fake_upstream::Rule rule;
    rule.status = status;
    rule.message = std::string(message);
    rule.error_code = std::string(code);
    fake_->rules().Add(rule);
  }

  std::unique_ptr<fake_upstream::FakeUpstreamServer> fake_;
  std::unique_ptr<http::HttpEngine> engine_;
};

TEST_F(ModelListerTest, OpenAiFormatIsABearerGetOfModels) {
  absl::StatusOr<ModelListAnswer> answer = List("openai");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->ok());
  EXPECT_EQ(answer->http_status, 200);
  ASSERT_EQ(answer->models.size(), 2u);
  EXPECT_EQ(answer->models[0].id, "fake-a");
  EXPECT_EQ(answer->models[1].id, "fake-b");
  std::vector<fake_upstream::RecordedRequest> seen = fake_->requests().Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/v1/models");
  bool bearer = false;
  for (const auto& [name, value] : seen[0].headers) {
    bearer |= absl::AsciiStrToLower(name) == "authorization" &&
              value == absl::StrCat("Bearer ", kSecret);
  }
  EXPECT_TRUE(bearer);
}

TEST_F(ModelListerTest, AnthropicFormatSendsItsOwnHeadersAndGetsDisplayNames) {
  absl::StatusOr<ModelListAnswer> answer = List("anthropic");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->ok());
  ASSERT_EQ(answer->models.size(), 2u);
  EXPECT_FALSE(answer->models[0].display_name.empty());
  std::vector<fake_upstream::RecordedRequest> seen = fake_->requests().Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/v1/models");
  bool x_api_key = false, version = false, bearer = false;
  for (const auto& [name, value] : seen[0].headers) {
    const std::string n = absl::AsciiStrToLower(name);
    x_api_key |= n == "x-api-key" && value == kSecret;
    version |= n == "anthropic-version" && !value.empty();
    bearer |= n == "authorization";
  }
  EXPECT_TRUE(x_api_key);
  EXPECT_TRUE(version);
  EXPECT_FALSE(bearer);
}

TEST_F(ModelListerTest, ARejectedKeyIsSaidSoScrubbedOfTheKey) {
  Refuse(401, absl::StrCat("Incorrect API key provided: ", kSecret, "."), "invalid_api_key");
  absl::StatusOr<ModelListAnswer> answer = List("openai");
  ASSERT_TRUE(answer.ok()) << answer.status();  // an answer, if not the one hoped for
  EXPECT_FALSE(answer->ok());
  EXPECT_EQ(answer->http_status, 401);
  EXPECT_TRUE(answer->key_rejected());
  EXPECT_EQ(answer->error_class(), providers::ErrorClass::kKeyRejected);
  EXPECT_EQ(answer->error_code, "invalid_api_key");
  EXPECT_TRUE(answer->models.empty());
  EXPECT_TRUE(absl::StrContains(answer->error_message, "Incorrect API key provided: sk-p...1234"))
      << answer->error_message;
  EXPECT_FALSE(absl::StrContains(answer->error_message, "AbCdEfGh")) << answer->error_message;
}

TEST_F(ModelListerTest, OtherRefusalsAreNoVerdictOnTheKey) {
  Refuse(403, "Country, region, or territory not supported");
  absl::StatusOr<ModelListAnswer> answer = List("openai");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->http_status, 403);
  EXPECT_FALSE(answer->key_rejected());
  EXPECT_EQ(answer->error_message, "Country, region, or territory not supported");
  fake_->rules().Clear();

  Refuse(429, "Rate limit reached");
  answer = List("openai");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->http_status, 429);
  EXPECT_EQ(answer->error_class(), providers::ErrorClass::kRateLimited);
  EXPECT_FALSE(answer->key_rejected());
  fake_->rules().Clear();

  Refuse(503, "overloaded");
  answer = List("anthropic");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->http_status, 503);
  EXPECT_FALSE(answer->ok());
  EXPECT_FALSE(answer->key_rejected());
}

TEST_F(ModelListerTest, AnUnreachableProviderIsUnavailable) {
  ModelLister lister(engine_.get(), absl::Seconds(10));
  absl::StatusOr<ModelListAnswer> answer = lister.List("http://127.0.0.1:1/v1", "openai", kSecret);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable) << answer.status();
  EXPECT_TRUE(absl::StrContains(answer.status().message(), "cannot reach the provider at "
                                                           "http://127.0.0.1:1/v1/models"))
      << answer.status();
}

TEST_F(ModelListerTest, A2xxThatIsNoModelListIsInternal) {
  absl::StatusOr<std::unique_ptr<aigw::testing::RawSocketServer>> raw =
      aigw::testing::RawSocketServer::Start([](aigw::testing::RawConnection& c) {
        if (!c.ReadRequest().ok()) return;
        const std::string body = R"({"object":"error page"})";
        c.Write(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n",
                             body));
      });
  ASSERT_TRUE(raw.ok()) << raw.status();
  ModelLister lister(engine_.get(), absl::Seconds(10));
  absl::StatusOr<ModelListAnswer> answer =
      lister.List(absl::StrCat((*raw)->base_url(), "/v1"), "openai", kSecret);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInternal) << answer.status();
  EXPECT_TRUE(absl::StrContains(answer.status().message(), "did not parse")) << answer.status();
}

TEST_F(ModelListerTest, AHostOffTheAllowListIsNeverCalled) {
  absl::StatusOr<http::HostAllowlist> hosts = http::HostAllowlist::Parse("api.openai.com");
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  absl::StatusOr<ModelListAnswer> answer = List("openai", &*hosts);
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition) << answer.status();
  EXPECT_TRUE(absl::StrContains(answer.status().message(), "host 127.0.0.1 is not in the provider "
                                                           "host allow-list"))
      << answer.status();
  EXPECT_TRUE(fake_->requests().Requests().empty());
  // On the list, it is.
  hosts = http::HostAllowlist::Parse("127.0.0.1");
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  answer = List("openai", &*hosts);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->ok());
}

}  // namespace
}  // namespace aigw::admin
