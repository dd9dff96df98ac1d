// Keypool benchmarks.
//
// 1. In-process selection cost per lease (Google Benchmark) with 1, 10 and
//    1000 keys per provider: the usual case (the head of the LRU list fits),
//    every key but the last past its limit (blocked keys are set aside, so
//    this stays cheap), every key past its limit (the failure computes a
//    retry-after hint over all keys), lease+report pairs, two threads at once.
// 2. gRPC LeaseKey+ReportUsage throughput: concurrent callback-API clients
//    against an in-process server on 127.0.0.1 (or --grpc_target=host:port
//    for a running aigw-keypool whose provider has unlimited keys).
//
// Flags of part 2 (part 1 takes Google Benchmark's own flags):
//   --grpc_seconds=3 --grpc_concurrency=64 --grpc_channels=4
//   --grpc_keys=10 --grpc_target= --grpc_provider=openai --grpc_only --grpc_prefetch=N --grpc_token=JWT
//   --grpc_minimal_stack --grpc_no_deadlock_detection --grpc_no_report
//
// Targets (issue): selection <= 2 us at 1000 keys; >= 50k leases/s over gRPC.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "benchmark/benchmark.h"
#include "grpc/impl/codegen/grpc_types.h"
#include "grpcpp/grpcpp.h"
#include "libs/common/clock.h"
#include "services/keypool/key_pool.h"
#include "services/keypool/keypool_service.h"

namespace aigw::keypool {
namespace {

PoolSnapshot Snapshot(int keys, int64_t rpd = 0) {
  PoolSnapshot s;
  ProviderRow p;
  p.id = 1;
  p.code = "openai";
  p.base_url = "https://api.openai.com/v1";
  p.api_format = "openai";
  s.providers.push_back(p);
  for (int i = 1; i <= keys; ++i) {
    KeyRow k;
    k.id = i;
    k.provider_id = 1;
    k.key_name = absl::StrCat("key-", i);
    k.secret = absl::StrCat("sk-bench-", i, "-0123456789abcdef");
    k.masked = "sk-b...cdef";
    k.priority = 10;
    // Realistic limits that the benchmark does not reach.
    k.rate_limit_rpm = 1'000'000'000;
    k.rate_limit_tpm = 1'000'000'000'000;
    k.rate_limit_rpd = rpd;
    s.keys.push_back(k);
  }
  return s;
}

// Reports leases in batches outside the timed region, so the lease registry
// stays small.
void ReportAll(KeyPool& pool, std::vector<std::string>& ids) {
  UsageReport r;
  r.outcome = aigw::v1::SUCCESS;
  r.total_tokens = 120;
  for (std::string& id : ids) {
    r.lease_id = std::move(id);
    (void)pool.Report(r);
  }
  ids.clear();
}

// One shared pool per key count, so threads of one benchmark share it.
KeyPool& SharedPool(int keys) {
  static absl::Mutex mu;
  static auto* pools = new std::map<int, KeyPool*>();
  absl::MutexLock l(&mu);
  KeyPool*& p = (*pools)[keys];
  if (p == nullptr) {
    p = new KeyPool(Clock::Real(), KeyPoolOptions{});
    p->Apply(Snapshot(keys));
  }
  return *p;
}

void BM_Lease(benchmark::State& state) {
  KeyPool& pool = SharedPool(static_cast<int>(state.range(0)));
  std::vector<std::string> ids;
  ids.reserve(4096);
  for (auto _ : state) {
    absl::StatusOr<LeaseGrant> g = pool.Lease("openai", 100, {});
    if (!g.ok()) state.SkipWithError("lease failed");
    ids.push_back(std::move(g->lease_id));
    if (ids.size() == 4096) {
      state.PauseTiming();
      ReportAll(pool, ids);
      state.ResumeTiming();
    }
  }
  ReportAll(pool, ids);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Lease)->Arg(1)->Arg(10)->Arg(1000)->UseRealTime();
BENCHMARK(BM_Lease)->Arg(1000)->Threads(2)->UseRealTime();

void BM_LeaseAndReport(benchmark::State& state) {
  KeyPool pool(Clock::Real(), KeyPoolOptions{});
  pool.Apply(Snapshot(static_cast<int>(state.range(0))));
  UsageReport r;
  r.outcome = aigw::v1::SUCCESS;
  r.total_tokens = 120;
  for (auto _ : state) {
    absl::StatusOr<LeaseGrant> g = pool.Lease("openai", 100, {});
    r.lease_id = std::move(g->lease_id);
    benchmark::DoNotOptimize(pool.Report(r));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeaseAndReport)->Arg(1)->Arg(10)->Arg(1000);

// Every key but one has used its RPD: each lease walks all 1000 keys.
void BM_LeaseWorstCaseScan(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  PoolSnapshot snap = Snapshot(keys, /*rpd=*/1);
  snap.keys.back().rate_limit_rpd = 0;
  snap.keys.back().priority = 0;  // last in the scan
  KeyPool pool(Clock::Real(), KeyPoolOptions{});
  pool.Apply(snap);
  std::vector<std::string> ids;
  for (int i = 0; i < keys - 1; ++i) {
    absl::StatusOr<LeaseGrant> g = pool.Lease("openai", 0, {});
    ids.push_back(g->lease_id);
  }
  ReportAll(pool, ids);
  for (auto _ : state) {
    absl::StatusOr<LeaseGrant> g = pool.Lease("openai", 100, {});
    if (!g.ok() || g->key->id != keys) state.SkipWithError("expected the last key");
    ids.push_back(std::move(g->lease_id));
    if (ids.size() == 4096) {
      state.PauseTiming();
      ReportAll(pool, ids);
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeaseWorstCaseScan)->Arg(10)->Arg(1000);

// Every key has used its RPD: the lease fails, and the retry-after hint
// looks at every key.
void BM_LeaseExhausted(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  KeyPool pool(Clock::Real(), KeyPoolOptions{});
  pool.Apply(Snapshot(keys, /*rpd=*/1));
  std::vector<std::string> ids;
  for (int i = 0; i < keys; ++i) ids.push_back(pool.Lease("openai", 0, {})->lease_id);
  ReportAll(pool, ids);
  absl::Duration retry_after;
  for (auto _ : state) {
    absl::StatusOr<LeaseGrant> g = pool.Lease("openai", 100, {}, &retry_after);
    if (g.ok()) state.SkipWithError("expected exhaustion");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeaseExhausted)->Arg(10)->Arg(1000);

// --- gRPC throughput ----------------------------------------------------------

struct GrpcOptions {
  double seconds = 3;
  int concurrency = 64;
  int channels = 4;
  int keys = 10;
  std::string target;
  std::string provider = "openai";
  bool only = false;
  // GRPC_ARG_MINIMAL_STACK on both ends (drops the deadline and census
  // filters); the shared server start-up does not set it today.
  bool minimal_stack = false;
  // absl::Mutex deadlock detection (on in this Abseil build; gRPC's mutexes
  // are absl::Mutex too). --grpc_no_deadlock_detection turns it off as a
  // service could at start-up.
  bool deadlock_detection = true;
  // LeaseKey alone, without the ReportUsage after each lease.
  bool report = true;
  // Leases asked for ahead per LeaseKey (the gateway's ready leases); the
  // reports of one answer's leases then go in one ReportUsageBatch, as the
  // gateway sends them.
  int prefetch = 0;
};

// Set from --grpc_token before the chains start.
std::string g_authorization;

// One chain: LeaseKey, then ReportUsage of that lease, then the next lease,
// until the deadline.
class Chain {
 public:
  Chain(aigw::v1::KeyPool::Stub* stub, const std::string& provider, bool report, int prefetch,
        std::chrono::steady_clock::time_point deadline, std::atomic<int64_t>* leases,
        std::atomic<int64_t>* errors, std::atomic<int>* running, absl::Notification* all_done)
      : stub_(stub),
        authorization_(g_authorization),
        report_(report),
        deadline_(deadline),
        leases_(leases),
        errors_(errors),
        running_(running),
        all_done_(all_done) {
    lease_req_.set_provider_code(provider);
    lease_req_.set_model("gpt-4o-mini");
    lease_req_.set_estimated_tokens(100);
    lease_req_.set_prefetch(prefetch);
  }

  void Lease() {
    if (std::chrono::steady_clock::now() >= deadline_) {
      if (running_->fetch_sub(1) == 1) all_done_->Notify();
      return;
    }
    ctx_ = NewContext();
    stub_->async()->LeaseKey(ctx_.get(), &lease_req_, &lease_resp_, [this](grpc::Status st) {
      if (!st.ok()) {
        ++*errors_;
        Lease();
        return;
      }
      *leases_ += 1 + lease_resp_.prefetched_size();
      if (!report_) {
        Lease();
        return;
      }
      if (lease_req_.prefetch() > 0) {
        ReportBatch();
        return;
      }
      report_req_.set_lease_id(lease_resp_.lease_id());
      report_req_.set_outcome(aigw::v1::SUCCESS);
      report_req_.set_total_tokens(120);
      ctx_ = NewContext();
      stub_->async()->ReportUsage(ctx_.get(), &report_req_, &report_resp_,
                                  [this](grpc::Status rst) {
                                    if (!rst.ok()) ++*errors_;
                                    Lease();
                                  });
    });
  }

 private:
  std::unique_ptr<grpc::ClientContext> NewContext() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!authorization_.empty()) ctx->AddMetadata("authorization", authorization_);
    return ctx;
  }

  aigw::v1::KeyPool::Stub* stub_;
  const std::string authorization_;
  const bool report_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<int64_t>* leases_;
  std::atomic<int64_t>* errors_;
  std::atomic<int>* running_;
  absl::Notification* all_done_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  aigw::v1::LeaseKeyRequest lease_req_;
  aigw::v1::LeaseKeyResponse lease_resp_;
  aigw::v1::ReportUsageRequest report_req_;
  aigw::v1::ReportUsageResponse report_resp_;
  aigw::v1::ReportUsageBatchRequest batch_req_;
  aigw::v1::ReportUsageBatchResponse batch_resp_;

  void ReportBatch() {
    batch_req_.Clear();
    auto add = [this](const std::string& lease_id) {
      aigw::v1::ReportUsageRequest* r = batch_req_.add_reports();
      r->set_lease_id(lease_id);
      r->set_outcome(aigw::v1::SUCCESS);
      r->set_total_tokens(120);
    };
    add(lease_resp_.lease_id());
    for (const auto& p : lease_resp_.prefetched()) add(p.lease_id());
    ctx_ = NewContext();
    stub_->async()->ReportUsageBatch(ctx_.get(), &batch_req_, &batch_resp_,
                                     [this](grpc::Status rst) {
                                       if (!rst.ok()) ++*errors_;
                                       for (int code : batch_resp_.codes()) {
                                         if (code != 0) ++*errors_;
                                       }
                                       Lease();
                                     });
  }
};

void RunGrpcThroughput(const GrpcOptions& o) {
  std::unique_ptr<KeyPool> pool;
  std::unique_ptr<KeyPoolService> service;
  std::unique_ptr<grpc::Server> server;
  std::string target = o.target;
  if (target.empty()) {
    pool = std::make_unique<KeyPool>(Clock::Real(), KeyPoolOptions{});
    pool->Apply(Snapshot(o.keys));
    service = std::make_unique<KeyPoolService>(pool.get(), nullptr);
    grpc::ServerBuilder b;
    if (o.minimal_stack) b.AddChannelArgument(GRPC_ARG_MINIMAL_STACK, 1);
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service.get());
    server = b.BuildAndStart();
    if (server == nullptr || port == 0) {
      std::fprintf(stderr, "cannot start the in-process server\n");
      return;
    }
    target = absl::StrCat("127.0.0.1:", port);
  }
  std::vector<std::unique_ptr<aigw::v1::KeyPool::Stub>> stubs;
  for (int c = 0; c < o.channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("aigw.bench.channel", c);  // one connection per channel
    if (o.minimal_stack) args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    stubs.push_back(aigw::v1::KeyPool::NewStub(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
  }
  // Warm up the connections.
  for (auto& stub : stubs) {
    grpc::ClientContext ctx;
    if (!g_authorization.empty()) ctx.AddMetadata("authorization", g_authorization);
    aigw::v1::LeaseKeyRequest req;
    req.set_provider_code(o.provider);
    aigw::v1::LeaseKeyResponse resp;
    grpc::Status st = stub->LeaseKey(&ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "warm-up LeaseKey failed: %s\n", st.error_message().c_str());
      return;
    }
  }
  std::atomic<int64_t> leases{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int> running{o.concurrency};
  absl::Notification done;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::microseconds(static_cast<int64_t>(o.seconds * 1e6));
  std::vector<std::unique_ptr<Chain>> chains;
  for (int i = 0; i < o.concurrency; ++i) {
    chains.push_back(std::make_unique<Chain>(stubs[i % stubs.size()].get(), o.provider, o.report,
                                             o.prefetch, deadline,
                                             &leases, &errors, &running, &done));
  }
  for (auto& c : chains) c->Lease();
  done.WaitForNotification();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "\ngRPC LeaseKey+ReportUsage over %s (%s server, %d keys): concurrency %d on %d "
      "channels, %.2f s\n",
      target.c_str(), o.target.empty() ? "in-process" : "external", o.keys, o.concurrency,
      o.channels, secs);
  std::printf("  options:           minimal_stack=%d mutex_deadlock_detection=%s prefetch=%d\n",
              o.minimal_stack ? 1 : 0, o.deadlock_detection ? "default" : "off", o.prefetch);
  std::printf("  leases:            %lld (%lld errors)\n", static_cast<long long>(leases.load()),
              static_cast<long long>(errors.load()));
  std::printf("  leases/s:          %.0f   (%s)\n", leases.load() / secs,
              !o.report         ? "LeaseKey only"
              : o.prefetch > 0 ? "each answer's leases reported in one ReportUsageBatch"
                               : "each followed by its ReportUsage");
  const double per_lease_rpcs = (o.report ? 2.0 : 1.0) / (1 + o.prefetch);
  std::printf("  RPCs/s:            %.0f\n", per_lease_rpcs * leases.load() / secs);
  std::printf("  mean round:        %.1f us per chain\n",
              leases.load() > 0 ? secs * 1e6 * o.concurrency / leases.load() : 0.0);
  if (server != nullptr) server->Shutdown();
}

bool TakeFlag(const char* arg, const char* name, std::string* value) {
  const std::string prefix = absl::StrCat("--", name, "=");
  if (!absl::StartsWith(arg, prefix)) return false;
  *value = std::string(arg + prefix.size());
  return true;
}

}  // namespace
}  // namespace aigw::keypool

int main(int argc, char** argv) {
  aigw::keypool::GrpcOptions grpc_options;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string v;
    if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_seconds", &v)) {
      (void)absl::SimpleAtod(v, &grpc_options.seconds);
    } else if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_concurrency", &v)) {
      (void)absl::SimpleAtoi(v, &grpc_options.concurrency);
    } else if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_channels", &v)) {
      (void)absl::SimpleAtoi(v, &grpc_options.channels);
    } else if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_token", &v)) {
      aigw::keypool::g_authorization = absl::StrCat("Bearer ", v);
    } else if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_prefetch", &v)) {
      (void)absl::SimpleAtoi(v, &grpc_options.prefetch);
    } else if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_keys", &v)) {
      (void)absl::SimpleAtoi(v, &grpc_options.keys);
    } else if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_target", &v)) {
      grpc_options.target = v;
    } else if (i > 0 && aigw::keypool::TakeFlag(argv[i], "grpc_provider", &v)) {
      grpc_options.provider = v;
    } else if (i > 0 && std::strcmp(argv[i], "--grpc_only") == 0) {
      grpc_options.only = true;
    } else if (i > 0 && std::strcmp(argv[i], "--grpc_no_report") == 0) {
      grpc_options.report = false;
    } else if (i > 0 && std::strcmp(argv[i], "--grpc_minimal_stack") == 0) {
      grpc_options.minimal_stack = true;
    } else if (i > 0 && std::strcmp(argv[i], "--grpc_no_deadlock_detection") == 0) {
      grpc_options.deadlock_detection = false;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (grpc_options.concurrency < 1) grpc_options.concurrency = 1;
  if (!grpc_options.deadlock_detection) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  if (grpc_options.channels < 1) grpc_options.channels = 1;
  int rest_argc = static_cast<int>(rest.size());
  if (!grpc_options.only) {
    benchmark::Initialize(&rest_argc, rest.data());
    if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  }
  aigw::keypool::RunGrpcThroughput(grpc_options);
  return 0;
}
