#include "tests/fault/recovery_probes.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "libs/server/peer_channel.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/server/grpc_status.h"
#include "tests/testing/subprocess.h"

namespace aigw::fault {
namespace {

constexpr const char* kProbeNames[] = {"usage ingests", "usage queries", "admin", "keypool reload"};

// A fresh channel that reconnects briskly, so the figure is the service's
// recovery and not this channel's reconnect backoff. With a `health_name`,
// to whichever of the replicas in `target` serves it (the active keypool).
std::shared_ptr<grpc::Channel> ProbeChannel(const std::string& target,
                                            const std::string& health_name = "") {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!health_name.empty()) {
    args.SetServiceConfigJSON(absl::StrCat(
        R"({"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": )",
        R"({"serviceName": ")", health_name, R"("}})"));
  }
  return grpc::CreateCustomChannel(server::ReplicatedPeerTarget(target),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace

absl::StatusOr<double> ReadMetric(int port, const std::string& name) {
  absl::StatusOr<std::string> page = testing::HttpGet(port, "/metrics");
  if (!page.ok()) return page.status();
  for (absl::string_view line : absl::StrSplit(*page, '\n')) {
    if (absl::StartsWith(line, name + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(name.size() + 1), &v)) return v;
    }
  }
  return absl::NotFoundError(absl::StrCat(name, " not in the metrics of port ", port));
}

RecoveryProbes::RecoveryProbes(const FaultCluster* cluster, std::string admin_token)
    : cluster_(cluster), admin_token_(std::move(admin_token)) {}

RecoveryProbes::~RecoveryProbes() {
  if (thread_.joinable()) thread_.join();
}

void RecoveryProbes::Start(absl::Time since, absl::Duration timeout) {
  since_ = since;
  deadline_ = since + timeout;
  results_.clear();
  for (const char* name : kProbeNames) results_.push_back(Result{name, std::nullopt, ""});
  thread_ = std::thread([this] { Run(); });
}

std::vector<RecoveryProbes::Result> RecoveryProbes::Wait() {
  if (thread_.joinable()) thread_.join();
  return results_;
}

void RecoveryProbes::Run() {
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < results_.size(); ++i) {
      if (results_[i].recovered_after.has_value()) continue;
      absl::Status st = Probe(i);
      if (st.ok()) {
        results_[i].recovered_after = absl::Now() - since_;
      } else {
        all = false;
        results_[i].last_error = std::string(st.message());
      }
    }
    if (all || absl::Now() > deadline_) return;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status RecoveryProbes::Probe(size_t i) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  ctx.AddMetadata("authorization", "Bearer " + admin_token_);
  switch (i) {
    case 0: {
      absl::StatusOr<double> spooled =
          ReadMetric(cluster_->gateway_metrics_port(), "aigw_gateway_spool_events");
      if (!spooled.ok()) return spooled.status();
      if (*spooled > 0) return absl::UnavailableError(absl::StrCat(*spooled, " events spooled"));
      return absl::OkStatus();
    }
    case 1: {
      auto stub = aigw::v1::UsageService::NewStub(ProbeChannel(cluster_->usage_target()));
      aigw::v1::QueryLogsRequest req;
      req.set_page_size(1);
      aigw::v1::QueryLogsResponse resp;
      return server::ToAbslStatus(stub->QueryLogs(&ctx, req, &resp));
    }
    case 2: {
      auto stub = aigw::v1::AdminService::NewStub(ProbeChannel(cluster_->admin_target()));
      aigw::v1::ListProvidersRequest req;
      aigw::v1::ListProvidersResponse resp;
      return server::ToAbslStatus(stub->ListProviders(&ctx, req, &resp));
    }
    default: {
      auto stub = aigw::v1::KeyPool::NewStub(ProbeChannel(cluster_->keypool_target(), "aigw.v1.KeyPool"));
      aigw::v1::ReloadRequest req;
      aigw::v1::ReloadResponse resp;
      return server::ToAbslStatus(stub->Reload(&ctx, req, &resp));
    }
  }
}

}  // namespace aigw::fault
