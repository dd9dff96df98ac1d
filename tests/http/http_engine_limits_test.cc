// The HTTP engine against upstreams that misbehave at the byte level (a raw
// socket server): what it holds of an answer is bounded, and it fetches
// http and https only.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/http/http_engine.h"
#include "tests/testing/raw_socket_server.h"

namespace aigw::http {
namespace {

using aigw::testing::RawConnection;
using aigw::testing::RawSocketServer;

// A guard for the test's own memory should the engine keep reading: far
// beyond every limit under test, and the server then holds the connection
// open, so an engine without the limit waits for its timeout.
constexpr int64_t kServerCap = 64 << 20;

struct Result {
  absl::Status transport;
  int status = 0;
  std::string body;
  int64_t streamed = 0;
};

class HttpEngineLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpEngine::Options options;
    options.max_body_bytes = 64 << 10;
    options.max_header_bytes = 16 << 10;
    auto engine = HttpEngine::Create(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }

  void Serve(RawSocketServer::Handler handler) {
    auto server = RawSocketServer::Start(std::move(handler));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  Result Get(const std::string& url, bool streaming = false) {
    auto result = std::make_shared<Result>();
    std::promise<void> done;
    HttpRequest req;
    req.method = "GET";
    req.url = url;
    // An engine that does not stop reading fails here instead of hanging.
    req.timeout = absl::Seconds(10);
    HttpCallbacks cb;
    if (streaming) {
      cb.on_data = [result](absl::string_view chunk) {
        result->streamed += static_cast<int64_t>(chunk.size());
      };
    }
    cb.on_done = [result, &done](absl::Status transport, int status, std::string body) {
      result->transport = std::move(transport);
      result->status = status;
      result->body = std::move(body);
      done.set_value();
    };
    engine_->Start(std::move(req), std::move(cb));
    done.get_future().wait();
    return *result;
  }

  std::unique_ptr<HttpEngine> engine_;
  std::unique_ptr<RawSocketServer> server_;
};

// Reads the request, sends `head`, then `block` until the engine hangs up.
RawSocketServer::Handler Endless(std::string head, std::string block) {
  return [head, block](RawConnection& c) {
    if (!c.ReadRequest().ok() || !c.Write(head)) return;
    c.WriteRepeatedly(block, kServerCap);
    c.WaitForClose();
  };
}

TEST_F(HttpEngineLimitsTest, ABodyThatNeverEndsIsCutAtTheLimit) {
  Serve(Endless("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                std::string(4096, ' ')));
  Result r = Get(server_->base_url() + "/v1/chat/completions");
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kResourceExhausted) << r.transport;
  EXPECT_TRUE(absl::StrContains(r.transport.message(), "response body over the 64 KiB limit"))
      << r.transport;
  EXPECT_TRUE(r.body.empty());
}

TEST_F(HttpEngineLimitsTest, AnAnnouncedHugeBodyIsRefusedBeforeItIsRead) {
  Serve(Endless("HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n", std::string(4096, 'x')));
  Result r = Get(server_->base_url() + "/");
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kResourceExhausted) << r.transport;
  EXPECT_TRUE(absl::StrContains(r.transport.message(), "64 KiB")) << r.transport;
}

// A streaming caller bounds what it is handed itself; the error body of a
// failed stream is collected by the engine, so bounded by it.
TEST_F(HttpEngineLimitsTest, AStreamsErrorBodyIsBoundedToo) {
  Serve(Endless("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n",
                "1000\r\n" + std::string(4096, 'e') + "\r\n"));
  Result r = Get(server_->base_url() + "/", /*streaming=*/true);
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kResourceExhausted) << r.transport;
  EXPECT_EQ(r.streamed, 0);
}

TEST_F(HttpEngineLimitsTest, HeadersThatNeverEndAreCutAtTheLimit) {
  Serve(Endless("HTTP/1.1 200 OK\r\n", absl::StrCat("X-Filler: ", std::string(1000, 'h'), "\r\n")));
  Result r = Get(server_->base_url() + "/");
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kResourceExhausted) << r.transport;
  EXPECT_TRUE(absl::StrContains(r.transport.message(), "response headers over the 16 KiB limit"))
      << r.transport;
}

TEST_F(HttpEngineLimitsTest, OnlyHttpAndHttpsUrlsAreFetched) {
  Serve([](RawConnection& c) { c.WaitForClose(); });
  const std::string secret =
      (std::filesystem::temp_directory_path() / absl::StrCat("aigw_secret_", getpid())).string();
  std::ofstream(secret) << "the contents of a local file";
  Result file = Get("file://" + secret);
  std::remove(secret.c_str());
  EXPECT_EQ(file.transport.code(), absl::StatusCode::kInvalidArgument) << file.transport;
  EXPECT_TRUE(absl::StrContains(file.transport.message(), "http and https only"))
      << file.transport;
  EXPECT_TRUE(file.body.empty());

  // Other protocols libcurl speaks would connect and talk to the host.
  for (const char* scheme : {"dict", "gopher", "telnet", "ftp"}) {
    Result r = Get(absl::StrCat(scheme, "://127.0.0.1:", server_->port(), "/x"));
    EXPECT_EQ(r.transport.code(), absl::StatusCode::kInvalidArgument) << scheme << ": "
                                                                       << r.transport;
  }
  EXPECT_EQ(server_->connections(), 0);
}

}  // namespace
}  // namespace aigw::http
