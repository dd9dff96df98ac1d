#ifndef AIGW_TOOLS_FAKE_UPSTREAM_FAKE_UPSTREAM_SERVER_H_
#define AIGW_TOOLS_FAKE_UPSTREAM_FAKE_UPSTREAM_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "tools/fake-upstream/request_log.h"
#include "tools/fake-upstream/rules.h"

namespace aigw::fake_upstream {

std::vector<std::string> DefaultModels();

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: an ephemeral port, see FakeUpstreamServer::port()
  // One thread per open connection (cpp-httplib's model), so this bounds the
  // concurrent calls the fake can hold open.
  int threads = 64;
  std::vector<std::string> models = DefaultModels();
  std::vector<Rule> rules;
  size_t max_recorded_requests = 10000;
  // Chat calls for a model not in `models` get the provider's 404.
  bool strict_models = false;
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // Stamps recorded requests and response "created" fields.
  Clock* clock = Clock::Real();
};

// An HTTP server speaking the OpenAI, Anthropic and DeepSeek wire formats
// with deterministic answers, scriptable failures (rules) and a record of
// what it was sent. Endpoints and the control API are in README.md.
class FakeUpstreamServer {
 public:
  explicit FakeUpstreamServer(ServerOptions options);
  ~FakeUpstreamServer();  // stops
  FakeUpstreamServer(const FakeUpstreamServer&) = delete;
  FakeUpstreamServer& operator=(const FakeUpstreamServer&) = delete;

  // Binds and starts serving on background threads. Ignores SIGPIPE only on
  // the server's own threads, so a vanished client is an error, not a kill.
  absl::Status Start();
  // Wakes every delayed answer, closes connections and joins the threads.
  void Stop();

  // The bound port; valid after Start.
  int port() const;
  std::string base_url() const;

  RuleBook& rules();
  RequestLog& requests();
  std::vector<std::string> models() const;
  void SetModels(std::vector<std::string> models);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aigw::fake_upstream

#endif  // AIGW_TOOLS_FAKE_UPSTREAM_FAKE_UPSTREAM_SERVER_H_
