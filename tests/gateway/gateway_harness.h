#ifndef AIGW_TESTS_GATEWAY_GATEWAY_HARNESS_H_
#define AIGW_TESTS_GATEWAY_GATEWAY_HARNESS_H_

#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "aigw/v1/chat.pb.h"
#include "gtest/gtest.h"
#include "libs/http/http_engine.h"
#include "services/gateway/catalogue.h"
#include "services/gateway/completion_call.h"
#include "services/gateway/event_sink.h"
#include "services/gateway/key_leaser.h"
#include "services/gateway/prefetching_key_leaser.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"
#include "tools/fake-upstream/fake_upstream_server.h"

namespace aigw::gateway::testing {

inline constexpr char kMasterKey[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
inline constexpr char kJwtSecret[] = "gateway-test-jwt-secret-0123456789abcdef0123";

// "Bearer <jwt>" for `role`, signed with kJwtSecret.
std::string BearerFor(const std::string& role);

// Call events as the usage service would receive them.
class RecordingEventSink : public EventSink {
 public:
  void Emit(aigw::v1::CallEvent event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }
  std::vector<aigw::v1::CallEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<aigw::v1::CallEvent> events_;
};

class RecordingChunkWriter : public ChunkWriter {
 public:
  absl::Status Write(aigw::v1::ChatCompletionChunk chunk, bool) override {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      chunks_.push_back(std::move(chunk));
      hook = on_first_;
      on_first_ = nullptr;
    }
    if (hook) hook();
    return absl::OkStatus();
  }
  std::vector<aigw::v1::ChatCompletionChunk> chunks() {
    absl::MutexLock lock(&mu_);
    return chunks_;
  }
  void OnFirstChunk(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    on_first_ = std::move(hook);
  }

 private:
  absl::Mutex mu_;
  std::vector<aigw::v1::ChatCompletionChunk> chunks_;
  std::function<void()> on_first_;
};

// Forwards to another leaser (the pipeline's) and keeps every report: what
// the keypool is told.
class RecordingLeaser : public KeyLeaser {
 public:
  explicit RecordingLeaser(KeyLeaser* inner) : inner_(inner) {}
  void Lease(const aigw::v1::LeaseKeyRequest& request,
             std::function<void(LeaseResult)> done) override {
    inner_->Lease(request, std::move(done));
  }
  void Report(const aigw::v1::ReportUsageRequest& request) override {
    {
      absl::MutexLock lock(&mu_);
      reports_.push_back(request);
    }
    inner_->Report(request);
  }
  std::vector<aigw::v1::ReportUsageRequest> reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }
  KeyLeaser* inner() const { return inner_; }

 private:
  KeyLeaser* const inner_;
  absl::Mutex mu_;
  std::vector<aigw::v1::ReportUsageRequest> reports_;
};

struct CallResult {
  absl::Status status;
  aigw::v1::ChatCompletion completion;
  std::vector<aigw::v1::ChatCompletionChunk> chunks;
};

// The real pieces around the pipeline: a migrated SQLite database with the
// seeded providers pointed at an in-process fake upstream, the real
// aigw-keypool binary over that database, the libcurl engine, and a
// recording event sink. Backoff delays are recorded and skipped.
class GatewayHarness {
 public:
  // `keys`: (provider_code, secret, priority) rows inserted in plaintext, as
  // an operator may do straight in the table.
  struct Key {
    std::string provider;
    std::string secret;
    int priority = 100;
  };
  // `base_urls`: providers pointed elsewhere than the fake upstream (code ->
  // base_url), e.g. at a raw-socket server that misbehaves. `keypool_flags`
  // go to the aigw-keypool binary after the harness's own.
  absl::Status Start(const std::vector<Key>& keys,
                     const std::map<std::string, std::string>& base_urls = {},
                     const std::vector<std::string>& keypool_flags = {});
  ~GatewayHarness();

  fake_upstream::FakeUpstreamServer& upstream() { return *upstream_; }
  RecordingEventSink& events() { return events_; }
  PipelineContext& pipeline() { return pipeline_; }
  http::HttpEngine& engine() { return *engine_; }
  std::shared_ptr<const Catalogue> catalogue() { return catalogue_; }
  const std::vector<absl::Duration>& delays() const { return delays_; }
  const std::string& keypool_target() const { return keypool_target_; }
  db::Database& db() { return database_->db(); }
  // Adds a fake-upstream rule from its JSON form.
  void AddRule(const std::string& json);

  // Runs one request through the pipeline and waits for its end.
  CallResult Run(const aigw::v1::ChatCompletionRequest& request, bool stream = false);
  // Starts one; `writer` may be null (unary).
  std::shared_ptr<CompletionCall> Begin(const aigw::v1::ChatCompletionRequest& request,
                                        ChunkWriter* writer,
                                        std::promise<CallResult>* done);

 private:
  std::unique_ptr<aigw::testing::TestDatabase> database_;
  std::unique_ptr<fake_upstream::FakeUpstreamServer> upstream_;
  std::unique_ptr<aigw::testing::Subprocess> keypool_;
  std::string keypool_target_;
  std::unique_ptr<http::HttpEngine> engine_;
  std::unique_ptr<GrpcKeyLeaser> grpc_leaser_;
  // As the gateway runs it: leases kept ready in front of the keypool.
  std::unique_ptr<PrefetchingKeyLeaser> leaser_;
  RecordingEventSink events_;
  std::shared_ptr<const Catalogue> catalogue_;
  PipelineContext pipeline_;
  std::vector<absl::Duration> delays_;
};

aigw::v1::ChatCompletionRequest UserRequest(const std::string& provider, const std::string& model,
                                            const std::string& text);

}  // namespace aigw::gateway::testing

#endif  // AIGW_TESTS_GATEWAY_GATEWAY_HARNESS_H_
