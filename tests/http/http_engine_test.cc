#include "libs/http/http_engine.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/subprocess.h"

namespace aigw::http {
namespace {

// 64 KiB that is not one byte repeated, so a lost or reordered piece shows.
std::string BigBody() {
  std::string body;
  for (int i = 0; body.size() < 64 * 1024; ++i) body += std::to_string(i) + ",";
  return body;
}

struct Result {
  absl::Status transport;
  int status = 0;
  std::string body;
  std::string retry_after;
  std::vector<std::string> chunks;
};

class HttpEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("you sent: " + req.body + " key=" + req.get_header_value("X-Key"),
                      "text/plain");
    });
    server_.Get("/limited", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      res.set_header("Retry-After", "7");
      res.set_content(R"({"error":{"message":"slow down"}})", "application/json");
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3000));
      res.set_content("late", "text/plain");
    });
    server_.Get("/stream", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream",
                                       [](size_t offset, httplib::DataSink& sink) {
                                         for (int i = 0; i < 5; ++i) {
                                           std::string ev = "data: " + std::to_string(i) + "\n\n";
                                           sink.write(ev.data(), ev.size());
                                           std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                         }
                                         sink.done();
                                         return true;
                                       });
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(BigBody(), "text/plain");
    });
    // More workers than the engine's per-host connection cap below, so every
    // kept-alive connection has a server thread.
    server_.new_task_queue = [] { return new httplib::ThreadPool(24); };
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    HttpEngine::Options options;
    options.max_host_connections = 16;
    auto engine = HttpEngine::Create(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  void TearDown() override {
    engine_.reset();
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  Result Run(HttpRequest req, bool streaming = false) {
    return RunOn(*engine_, std::move(req), streaming);
  }

  static Result RunOn(HttpEngine& engine, HttpRequest req, bool streaming = false) {
    auto result = std::make_shared<Result>();
    std::promise<void> done;
    HttpCallbacks cb;
    cb.on_headers = [result](int status, absl::string_view retry_after) {
      result->retry_after = std::string(retry_after);
    };
    if (streaming) {
      cb.on_data = [result](absl::string_view chunk) { result->chunks.emplace_back(chunk); };
    }
    cb.on_done = [result, &done](absl::Status transport, int status, std::string body) {
      result->transport = transport;
      result->status = status;
      result->body = std::move(body);
      done.set_value();
    };
    engine.Start(std::move(req), std::move(cb));
    done.get_future().wait();
    return *result;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::unique_ptr<HttpEngine> engine_;
};

TEST_F(HttpEngineTest, PostsBodyAndHeadersAndCollectsTheResponse) {
  HttpRequest req;
  req.url = Url("/echo");
  req.body = "hello";
  req.headers = {{"X-Key", "k1"}, {"Content-Type", "text/plain"}};
  Result r = Run(req);
  ASSERT_TRUE(r.transport.ok()) << r.transport;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "you sent: hello key=k1");
}

TEST_F(HttpEngineTest, ErrorStatusKeepsBodyAndRetryAfter) {
  HttpRequest req;
  req.method = "GET";
  req.url = Url("/limited");
  Result r = Run(req, /*streaming=*/true);
  ASSERT_TRUE(r.transport.ok());
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after, "7");
  // Error bodies are collected whole even for a streaming caller.
  EXPECT_TRUE(r.chunks.empty());
  EXPECT_EQ(r.body, R"({"error":{"message":"slow down"}})");
}

TEST_F(HttpEngineTest, StreamsChunksAsTheyArrive) {
  HttpRequest req;
  req.method = "GET";
  req.url = Url("/stream");
  Result r = Run(req, /*streaming=*/true);
  ASSERT_TRUE(r.transport.ok()) << r.transport;
  std::string joined;
  for (const auto& c : r.chunks) joined += c;
  EXPECT_EQ(joined, "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
  EXPECT_GE(r.chunks.size(), 2u) << "the body arrived in one piece: not streamed";
  EXPECT_TRUE(r.body.empty());
}

// A small receive buffer (what the gateway uses to hold many slow calls)
// delivers a large body in pieces no bigger than it, whole and in order.
TEST_F(HttpEngineTest, SmallReceiveBufferDeliversLargeBodiesInSmallPieces) {
  HttpEngine::Options options;
  options.receive_buffer_bytes = 1024;
  auto small = HttpEngine::Create(options);
  ASSERT_TRUE(small.ok()) << small.status();
  HttpRequest req;
  req.method = "GET";
  req.url = Url("/big");
  Result streamed = RunOn(**small, req, /*streaming=*/true);
  ASSERT_TRUE(streamed.transport.ok()) << streamed.transport;
  EXPECT_EQ(streamed.status, 200);
  std::string joined;
  for (const auto& c : streamed.chunks) {
    EXPECT_LE(c.size(), 1024u);
    joined += c;
  }
  EXPECT_EQ(joined, BigBody());
  EXPECT_GE(streamed.chunks.size(), 64u);
  Result collected = RunOn(**small, req);
  ASSERT_TRUE(collected.transport.ok()) << collected.transport;
  EXPECT_EQ(collected.body, BigBody());
}

TEST_F(HttpEngineTest, ConnectionRefusedIsUnavailable) {
  HttpRequest req;
  req.method = "GET";
  req.url = "http://127.0.0.1:" + std::to_string(testing::PickFreePort()) + "/";
  Result r = Run(req);
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kUnavailable) << r.transport;
}

TEST_F(HttpEngineTest, TimeoutIsDeadlineExceeded) {
  HttpRequest req;
  req.method = "GET";
  req.url = Url("/slow");
  req.timeout = absl::Milliseconds(100);
  Result r = Run(req);
  EXPECT_EQ(r.transport.code(), absl::StatusCode::kDeadlineExceeded) << r.transport;
}

TEST_F(HttpEngineTest, CancelEndsTheTransferOnceWithCancelled) {
  std::atomic<int> done_calls{0};
  std::promise<absl::Status> done;
  HttpRequest req;
  req.method = "GET";
  req.url = Url("/slow");
  HttpCallbacks cb;
  cb.on_done = [&](absl::Status transport, int, std::string) {
    if (done_calls.fetch_add(1) == 0) done.set_value(transport);
  };
  HttpEngine::TransferId id = engine_->Start(req, cb);
  engine_->Cancel(id);
  absl::Status st = done.get_future().get();
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  engine_->Cancel(id);  // a second cancel of a finished transfer is ignored
  engine_->Post([] {});
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(done_calls.load(), 1);
  EXPECT_EQ(engine_->ActiveTransfers(), 0);
}

// 500 transfers at once over at most 16 connections: curl queues the rest
// and reuses kept-alive connections.
TEST_F(HttpEngineTest, ManyConcurrentTransfersAllCompleteOverFewConnections) {
  constexpr int kN = 500;
  std::atomic<int> ok{0}, finished{0};
  absl::Notification all;
  for (int i = 0; i < kN; ++i) {
    HttpRequest req;
    req.url = Url("/echo");
    req.body = std::to_string(i);
    HttpCallbacks cb;
    cb.on_done = [&, i](absl::Status transport, int status, std::string body) {
      if (transport.ok() && status == 200 && body == "you sent: " + std::to_string(i) + " key=") {
        ok.fetch_add(1);
      }
      if (finished.fetch_add(1) + 1 == kN) all.Notify();
    };
    engine_->Start(std::move(req), std::move(cb));
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(ok.load(), kN);
}

// Eight calls in flight with room for only two idle connections: when they
// finish, all eight connections stay, and the next eight calls reuse them
// instead of connecting again.
TEST(HttpEngineConnectionsTest, ConnectionsInUseAreKeptBeyondTheIdleCap) {
  constexpr int kCalls = 8;
  absl::Mutex mu;
  int arrived = 0;
  std::vector<std::set<int>> ports(2);  // client ports seen, per round
  httplib::Server server;
  // Answers once the whole round is in flight, so each call holds its own
  // connection while the others run.
  server.Get("/together", [&](const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock lock(&mu);
    const int round = arrived++ / kCalls;
    ports[round].insert(req.remote_port);
    auto all_here = [&, round] { return arrived >= (round + 1) * kCalls; };
    mu.AwaitWithTimeout(absl::Condition(&all_here), absl::Seconds(10));
    res.set_content("ok", "text/plain");
  });
  server.new_task_queue = [] { return new httplib::ThreadPool(2 * kCalls); };
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  HttpEngine::Options options;
  options.max_idle_connections = 2;
  auto engine = HttpEngine::Create(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (int round = 0; round < 2; ++round) {
    std::atomic<int> ok{0}, finished{0};
    absl::Notification all;
    for (int i = 0; i < kCalls; ++i) {
      HttpRequest req;
      req.method = "GET";
      req.url = "http://127.0.0.1:" + std::to_string(port) + "/together";
      HttpCallbacks cb;
      cb.on_done = [&](absl::Status transport, int status, std::string) {
        if (transport.ok() && status == 200) ok.fetch_add(1);
        if (finished.fetch_add(1) + 1 == kCalls) all.Notify();
      };
      (*engine)->Start(std::move(req), std::move(cb));
    }
    ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
    ASSERT_EQ(ok.load(), kCalls);
  }
  engine->reset();
  server.stop();
  listener.join();
  ASSERT_EQ(ports[0].size(), static_cast<size_t>(kCalls)) << "one connection per call in flight";
  EXPECT_EQ(ports[1], ports[0]) << "the second round connected again";
}

// A Node HTTP/2 server over TLS with a certificate made for the test, which
// the engine trusts through Options::ca_file.
class Http2UpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("aigw_h2_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    const std::string make_cert = absl::StrCat(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 ",
        "-subj /CN=aigw-test -addext subjectAltName=IP:127.0.0.1 -keyout ", Path("key.pem"),
        " -out ", Path("cert.pem"), " 2>/dev/null");
    ASSERT_EQ(std::system(make_cert.c_str()), 0) << make_cert;
    port_ = aigw::testing::PickFreePort();
    auto server = aigw::testing::Subprocess::Start(
        {"/usr/bin/env", "node", AIGW_H2_SERVER_JS, std::to_string(port_), Path("key.pem"),
         Path("cert.pem"), "300"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    HttpEngine::Options options;
    options.ca_file = Path("cert.pem");
    auto engine = HttpEngine::Create(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    // Up once it answers.
    for (int i = 0; i < 200; ++i) {
      if (Connections().ok()) return;
      absl::SleepFor(absl::Milliseconds(25));
    }
    FAIL() << "the HTTP/2 server did not start: " << server_->Stderr();
  }
  void TearDown() override {
    engine_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Url(const std::string& path) const {
    return absl::StrCat("https://127.0.0.1:", port_, path);
  }

  // How many connections the server has accepted so far.
  absl::StatusOr<int> Connections() {
    HttpRequest req;
    req.method = "GET";
    req.url = Url("/connections");
    req.connect_timeout = absl::Seconds(1);
    auto result = std::make_shared<std::promise<std::pair<absl::Status, std::string>>>();
    HttpCallbacks cb;
    cb.on_done = [result](absl::Status transport, int status, std::string body) {
      if (transport.ok() && status != 200) transport = absl::InternalError(body);
      result->set_value({transport, body});
    };
    engine_->Start(std::move(req), std::move(cb));
    auto [status, body] = result->get_future().get();
    if (!status.ok()) return status;
    int n = 0;
    if (!absl::SimpleAtoi(body, &n)) return absl::InternalError(body);
    return n;
  }

  std::filesystem::path dir_;
  int port_ = 0;
  std::unique_ptr<aigw::testing::Subprocess> server_;
  std::unique_ptr<HttpEngine> engine_;
};

// 250 calls at once to a server taking 100 streams per connection: they
// share three connections. (libcurl 7.88 alone gives every call past the
// first connection's 100 a connection of its own: ~150 TLS handshakes.)
TEST_F(Http2UpstreamTest, ABurstSharesConnectionsInsteadOfOpeningOnePerCall) {
  ASSERT_EQ(*Connections(), 1);  // the probe's own
  constexpr int kCalls = 250;
  std::atomic<int> ok{0}, finished{0};
  absl::Notification all;
  for (int i = 0; i < kCalls; ++i) {
    HttpRequest req;
    req.url = Url("/v1/chat/completions");
    req.body = "{}";
    HttpCallbacks cb;
    cb.on_done = [&](absl::Status transport, int status, std::string body) {
      if (transport.ok() && status == 200 && body == "ok") ok.fetch_add(1);
      if (finished.fetch_add(1) + 1 == kCalls) all.Notify();
    };
    engine_->Start(std::move(req), std::move(cb));
  }
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(ok.load(), kCalls);
  absl::StatusOr<int> connections = Connections();
  ASSERT_TRUE(connections.ok()) << connections.status();
  EXPECT_LE(*connections, 4) << "connections opened for " << kCalls << " calls";
}

// Calls cancelled while the admission holds them end once, as cancelled,
// like those already in flight; none is left behind.
TEST_F(Http2UpstreamTest, CancellingHeldCallsEndsEachOnce) {
  constexpr int kCalls = 150;  // 100 on the ready connection, 1 opening, 49 held
  std::atomic<int> cancelled{0}, finished{0};
  absl::Notification all;
  std::vector<HttpEngine::TransferId> ids;
  for (int i = 0; i < kCalls; ++i) {
    HttpRequest req;
    req.url = Url("/v1/chat/completions");
    req.body = "{}";
    HttpCallbacks cb;
    cb.on_done = [&](absl::Status transport, int, std::string) {
      if (transport.code() == absl::StatusCode::kCancelled) cancelled.fetch_add(1);
      if (finished.fetch_add(1) + 1 == kCalls) all.Notify();
    };
    ids.push_back(engine_->Start(std::move(req), std::move(cb)));
  }
  for (HttpEngine::TransferId id : ids) engine_->Cancel(id);
  ASSERT_TRUE(all.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(cancelled.load(), kCalls) << "the server answers only after 300 ms";
  EXPECT_EQ(engine_->ActiveTransfers(), 0);
  // The engine still works afterwards.
  absl::StatusOr<int> connections = Connections();
  ASSERT_TRUE(connections.ok()) << connections.status();
  EXPECT_EQ(finished.load(), kCalls) << "a callback ran twice";
}

TEST_F(HttpEngineTest, TimersRunInDueOrderOnTheLoop) {
  std::vector<int> order;
  absl::Notification done;
  engine_->RunAfter(absl::Milliseconds(30), [&] {
    order.push_back(3);
    done.Notify();
  });
  engine_->RunAfter(absl::Milliseconds(10), [&] { order.push_back(2); });
  engine_->Post([&] { order.push_back(1); });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST_F(HttpEngineTest, ShutdownFinishesWhatIsInFlight) {
  std::atomic<bool> finished{false};
  HttpRequest req;
  req.url = Url("/echo");
  req.body = "x";
  HttpCallbacks cb;
  cb.on_done = [&](absl::Status transport, int status, std::string) {
    finished = transport.ok() && status == 200;
  };
  engine_->Start(req, cb);
  engine_->Shutdown();
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace aigw::http
