// aigw-loadgen: a closed-loop load generator for aigw.v1.ChatService (and,
// for comparison, for the upstream HTTP endpoint directly). Keeps
// --concurrency calls in flight for --duration, then prints throughput and
// latency percentiles (and time to first delta for streams).
//
//   aigw-loadgen --target=127.0.0.1:50051 --concurrency=64 --duration=10s
//   aigw-loadgen --mode=stream ...
//   aigw-loadgen --mode=http --url=http://127.0.0.1:8091/v1/chat/completions
//   aigw-loadgen --mode=count ...   CountTokens: the gateway's gRPC round trip
//                                   with no upstream and no keypool behind it

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/http/http_engine.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "gateway gRPC address");
ABSL_FLAG(std::string, mode, "unary", "unary | stream | count | http");
ABSL_FLAG(std::string, url, "", "http mode: the upstream URL to POST to");
ABSL_FLAG(std::string, provider, "openai", "provider_code");
ABSL_FLAG(std::string, model, "", "model (empty: the provider's default)");
ABSL_FLAG(std::string, prompt, "Write one line about rain.", "user message");
ABSL_FLAG(int, concurrency, 1, "calls in flight");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measurement time");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "time before measuring");
ABSL_FLAG(int, channels, 0, "gRPC channels (0: one per 32 calls in flight, at least 1)");
ABSL_FLAG(std::string, token, "", "bearer token for the authorization header");

namespace {

struct Sample {
  double latency_us;
  double ttft_us;  // streams only; -1 otherwise
  bool ok;
};

class Recorder {
 public:
  void Add(Sample s) {
    if (!measuring_.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(mu_);
    samples_.push_back(s);
  }
  void StartMeasuring() { measuring_ = true; }
  void StopMeasuring() { measuring_ = false; }
  std::vector<Sample> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(samples_);
  }

 private:
  std::atomic<bool> measuring_{false};
  std::mutex mu_;
  std::vector<Sample> samples_;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

aigw::v1::ChatCompletionRequest MakeRequest() {
  aigw::v1::ChatCompletionRequest r;
  r.set_provider_code(absl::GetFlag(FLAGS_provider));
  r.set_model(absl::GetFlag(FLAGS_model));
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content(absl::GetFlag(FLAGS_prompt));
  r.mutable_caller()->set_user_id("loadgen");
  return r;
}

// One closed-loop worker slot: issues a call, and the next when it ends.
class GrpcSlot {
 public:
  enum class Kind { kUnary, kStream, kCount };

  GrpcSlot(aigw::v1::ChatService::Stub* stub, Recorder* rec, std::atomic<bool>* stop,
           std::atomic<int>* live, Kind kind)
      : stub_(stub), rec_(rec), stop_(stop), live_(live), kind_(kind) {
    count_request_.set_provider_code(request_.provider_code());
    count_request_.set_model(request_.model());
    *count_request_.mutable_messages() = request_.messages();
  }

  void Next() {
    if (stop_->load()) {
      live_->fetch_sub(1);
      return;
    }
    switch (kind_) {
      case Kind::kStream:
        (new StreamCall(this))->Begin();
        break;
      case Kind::kCount:
        CountNext();
        break;
      case Kind::kUnary:
        UnaryNext();
        break;
    }
  }

 private:
  void UnaryNext() {
    StartUnary();
    resp_.Clear();
    stub_->async()->CreateChatCompletion(ctx_.get(), &request_, &resp_,
                                         [this](grpc::Status st) { UnaryDone(st); });
  }

  void CountNext() {
    StartUnary();
    stub_->async()->CountTokens(ctx_.get(), &count_request_, &count_resp_,
                                [this](grpc::Status st) { UnaryDone(st); });
  }

  void StartUnary() {
    ctx_ = std::make_unique<grpc::ClientContext>();
    AddAuth(ctx_.get());
    start_ = absl::Now();
  }

  void UnaryDone(const grpc::Status& st) {
    rec_->Add({absl::ToDoubleMicroseconds(absl::Now() - start_), -1, st.ok()});
    if (!st.ok() && errors_++ < 3) {
      std::fprintf(stderr, "error: %d %s\n", st.error_code(), st.error_message().c_str());
    }
    Next();
  }

  static void AddAuth(grpc::ClientContext* ctx) {
    static const std::string token = absl::GetFlag(FLAGS_token);
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  }

  class StreamCall : public grpc::ClientReadReactor<aigw::v1::ChatCompletionChunk> {
   public:
    explicit StreamCall(GrpcSlot* slot) : slot_(slot) {}
    void Begin() {
      AddAuth(&ctx_);
      start_ = absl::Now();
      slot_->stub_->async()->StreamChatCompletion(&ctx_, &slot_->request_, this);
      StartRead(&chunk_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      if (ttft_ < 0) ttft_ = absl::ToDoubleMicroseconds(absl::Now() - start_);
      StartRead(&chunk_);
    }
    void OnDone(const grpc::Status& st) override {
      slot_->rec_->Add({absl::ToDoubleMicroseconds(absl::Now() - start_), ttft_, st.ok()});
      GrpcSlot* slot = slot_;
      delete this;
      slot->Next();
    }

   private:
    GrpcSlot* slot_;
    grpc::ClientContext ctx_;
    aigw::v1::ChatCompletionChunk chunk_;
    absl::Time start_;
    double ttft_ = -1;
  };

  aigw::v1::ChatService::Stub* stub_;
  Recorder* rec_;
  std::atomic<bool>* stop_;
  std::atomic<int>* live_;
  const Kind kind_;
  const aigw::v1::ChatCompletionRequest request_ = MakeRequest();
  aigw::v1::CountTokensRequest count_request_;
  aigw::v1::CountTokensResponse count_resp_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  aigw::v1::ChatCompletion resp_;
  absl::Time start_;
  int errors_ = 0;
};

void Report(const std::string& label, std::vector<Sample> samples, absl::Duration measured) {
  std::vector<double> lat, ttft;
  int64_t ok = 0, failed = 0;
  for (const Sample& s : samples) {
    if (!s.ok) {
      ++failed;
      continue;
    }
    ++ok;
    lat.push_back(s.latency_us);
    if (s.ttft_us >= 0) ttft.push_back(s.ttft_us);
  }
  const double secs = absl::ToDoubleSeconds(measured);
  std::printf("%s concurrency=%d ok=%lld failed=%lld throughput=%.0f/s latency_us p50=%.0f "
              "p90=%.0f p99=%.0f max=%.0f",
              label.c_str(), absl::GetFlag(FLAGS_concurrency), static_cast<long long>(ok),
              static_cast<long long>(failed), ok / secs, Percentile(lat, 50), Percentile(lat, 90),
              Percentile(lat, 99), lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()));
  if (!ttft.empty()) {
    std::printf(" ttft_us p50=%.0f p90=%.0f p99=%.0f", Percentile(ttft, 50), Percentile(ttft, 90),
                Percentile(ttft, 99));
  }
  std::printf("\n");
  std::fflush(stdout);
}

// With the slots already running: warm up, measure for --duration, stop the
// slots, wait for the calls in flight, print the figures.
void Measure(const std::string& label, Recorder& rec, std::atomic<bool>& stop,
             std::atomic<int>& live) {
  absl::SleepFor(absl::GetFlag(FLAGS_warmup));
  rec.StartMeasuring();
  const absl::Time t0 = absl::Now();
  absl::SleepFor(absl::GetFlag(FLAGS_duration));
  rec.StopMeasuring();
  const absl::Duration measured = absl::Now() - t0;
  stop = true;
  while (live.load() > 0) absl::SleepFor(absl::Milliseconds(5));
  Report(label, rec.Take(), measured);
}

int RunGrpc(GrpcSlot::Kind kind) {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  int channels = absl::GetFlag(FLAGS_channels);
  if (channels <= 0) channels = std::max(1, concurrency / 32);
  std::vector<std::unique_ptr<aigw::v1::ChatService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection each
    stubs.push_back(aigw::v1::ChatService::NewStub(grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), args)));
  }
  Recorder rec;
  std::atomic<bool> stop{false};
  std::atomic<int> live{concurrency};
  std::vector<std::unique_ptr<GrpcSlot>> slots;
  for (int i = 0; i < concurrency; ++i) {
    slots.push_back(
        std::make_unique<GrpcSlot>(stubs[i % channels].get(), &rec, &stop, &live, kind));
  }
  for (auto& s : slots) s->Next();
  Measure(kind == GrpcSlot::Kind::kStream  ? "grpc-stream"
          : kind == GrpcSlot::Kind::kCount ? "grpc-count"
                                           : "grpc-unary",
          rec, stop, live);
  return 0;
}

int RunHttp() {
  const std::string url = absl::GetFlag(FLAGS_url);
  if (url.empty()) {
    std::fprintf(stderr, "--mode=http needs --url\n");
    return 2;
  }
  auto engine = aigw::http::HttpEngine::Create({});
  if (!engine.ok()) return 1;
  Recorder rec;
  std::atomic<bool> stop{false};
  std::atomic<int> live{absl::GetFlag(FLAGS_concurrency)};
  const std::string body = absl::StrCat(
      R"({"model":"gpt-4o","messages":[{"role":"user","content":")",
      absl::GetFlag(FLAGS_prompt), R"("}]})");
  std::function<void()> next = [&] {
    if (stop.load()) {
      live.fetch_sub(1);
      return;
    }
    aigw::http::HttpRequest req;
    req.url = url;
    req.body = body;
    req.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer sk-direct"}};
    const absl::Time start = absl::Now();
    aigw::http::HttpCallbacks cb;
    cb.on_done = [&, start](absl::Status transport, int status, std::string) {
      rec.Add({absl::ToDoubleMicroseconds(absl::Now() - start), -1, transport.ok() && status == 200});
      next();
    };
    (*engine)->Start(std::move(req), std::move(cb));
  };
  for (int i = 0; i < absl::GetFlag(FLAGS_concurrency); ++i) next();
  Measure("http-direct", rec, stop, live);
  (*engine)->Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Closed-loop load generator for aigw.v1.ChatService.");
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "unary") return RunGrpc(GrpcSlot::Kind::kUnary);
  if (mode == "stream") return RunGrpc(GrpcSlot::Kind::kStream);
  if (mode == "count") return RunGrpc(GrpcSlot::Kind::kCount);
  if (mode == "http") return RunHttp();
  std::fprintf(stderr, "--mode must be unary, stream, count or http\n");
  return 2;
}
