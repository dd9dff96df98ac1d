#include "services/keypool/keypool_service.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "google/protobuf/timestamp.pb.h"
#include "libs/common/proto_time.h"
#include "libs/server/grpc_status.h"

namespace aigw::keypool {

using ::aigw::server::ToGrpcStatus;

namespace {

UsageReport ToUsageReport(const aigw::v1::ReportUsageRequest& request) {
  UsageReport report;
  report.lease_id = request.lease_id();
  report.outcome = request.outcome();
  report.http_status = request.http_status();
  report.prompt_tokens = request.prompt_tokens();
  report.completion_tokens = request.completion_tokens();
  report.total_tokens = request.total_tokens();
  report.retry_after_ms = request.retry_after_ms();
  report.error_message = request.error_message();
  return report;
}

void FillLease(const LeaseGrant& grant, aigw::v1::LeaseKeyResponse* out) {
  out->set_lease_id(grant.lease_id);
  out->set_key_id(grant.key->id);
  out->set_api_key(grant.key->secret);
  out->set_key_name(grant.key->key_name);
}

}  // namespace


KeyPoolService::KeyPoolService(KeyPool* pool, AsyncReload reload, const ServingGate* gate)
    : pool_(pool), reload_(std::move(reload)), gate_(gate) {}

bool KeyPoolService::Refused(grpc::ServerUnaryReactor* reactor) const {
  if (gate_ == nullptr) return false;
  absl::Status st = gate_->CheckServing();
  if (st.ok()) return false;
  reactor->Finish(ToGrpcStatus(st));
  return true;
}

grpc::ServerUnaryReactor* KeyPoolService::LeaseKey(grpc::CallbackServerContext* ctx,
                                                   const aigw::v1::LeaseKeyRequest* request,
                                                   aigw::v1::LeaseKeyResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (Refused(reactor)) return reactor;
  if (request->prefetch() < 0 || request->prefetch() > Prefetch::kMaxCount) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("prefetch must be between 0 and ", Prefetch::kMaxCount, " (got ",
                     request->prefetch(), ")")));
    return reactor;
  }
  absl::Duration retry_after = absl::InfiniteDuration();
  const auto& exclude = request->exclude_key_ids();
  std::vector<LeaseGrant> prefetched;
  Prefetch prefetch{request->prefetch(), request->refill(), &prefetched};
  absl::StatusOr<LeaseGrant> grant =
      pool_->Lease(request->provider_code(), request->estimated_tokens(),
                   absl::MakeConstSpan(exclude.data(), exclude.size()), &retry_after, &prefetch);
  if (!grant.ok()) {
    if (grant.status().code() == absl::StatusCode::kResourceExhausted &&
        retry_after != absl::InfiniteDuration()) {
      const int64_t ms = std::max<int64_t>(
          1, static_cast<int64_t>(std::ceil(absl::ToDoubleMilliseconds(retry_after))));
      ctx->AddTrailingMetadata(kRetryAfterMsMetadata, absl::StrCat(ms));
    }
    reactor->Finish(ToGrpcStatus(grant.status()));
    return reactor;
  }
  FillLease(*grant, response);
  response->set_base_url(grant->provider->base_url);
  response->set_api_format(grant->provider->api_format);
  response->set_provider_id(grant->provider->id);
  for (const LeaseGrant& extra : prefetched) FillLease(extra, response->add_prefetched());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* KeyPoolService::ReportUsage(grpc::CallbackServerContext* ctx,
                                                      const aigw::v1::ReportUsageRequest* request,
                                                      aigw::v1::ReportUsageResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (Refused(reactor)) return reactor;
  reactor->Finish(ToGrpcStatus(pool_->Report(ToUsageReport(*request))));
  return reactor;
}

grpc::ServerUnaryReactor* KeyPoolService::ReportUsageBatch(
    grpc::CallbackServerContext* ctx, const aigw::v1::ReportUsageBatchRequest* request,
    aigw::v1::ReportUsageBatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (Refused(reactor)) return reactor;
  if (request->reports_size() == 0) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "reports is empty"));
    return reactor;
  }
  if (request->reports_size() > kMaxReportBatch) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 absl::StrCat("at most ", kMaxReportBatch,
                                              " reports per batch (got ",
                                              request->reports_size(), ")")));
    return reactor;
  }
  response->mutable_codes()->Reserve(request->reports_size());
  for (const aigw::v1::ReportUsageRequest& r : request->reports()) {
    const absl::Status st = pool_->Report(ToUsageReport(r));
    response->add_codes(static_cast<int32_t>(st.code()));
    response->add_messages(std::string(st.message()));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* KeyPoolService::ListKeyStates(
    grpc::CallbackServerContext* ctx, const aigw::v1::ListKeyStatesRequest* request,
    aigw::v1::ListKeyStatesResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (Refused(reactor)) return reactor;
  absl::StatusOr<std::vector<KeyStateView>> states = pool_->ListKeyStates(request->provider_code());
  if (!states.ok()) {
    reactor->Finish(ToGrpcStatus(states.status()));
    return reactor;
  }
  for (const KeyStateView& v : *states) {
    aigw::v1::KeyState* k = response->add_keys();
    k->set_key_id(v.key_id);
    k->set_provider_code(v.provider_code);
    k->set_key_name(v.key_name);
    k->set_masked_key(v.masked_key);
    k->set_status(v.status);
    k->set_priority(v.priority);
    k->set_requests_current_minute(v.requests_current_minute);
    k->set_tokens_current_minute(v.tokens_current_minute);
    k->set_requests_today(v.requests_today);
    k->set_tokens_today(v.tokens_today);
    k->set_rate_limit_rpm(v.rate_limit_rpm);
    k->set_rate_limit_tpm(v.rate_limit_tpm);
    k->set_rate_limit_rpd(v.rate_limit_rpd);
    if (v.cooldown_until != absl::InfinitePast()) {
      ToProtoTimestamp(v.cooldown_until, k->mutable_cooldown_until());
    }
    if (v.last_used_at != absl::InfinitePast()) {
      ToProtoTimestamp(v.last_used_at, k->mutable_last_used_at());
    }
    k->set_last_error(v.last_error);
    k->set_is_active(v.is_active);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* KeyPoolService::Reload(grpc::CallbackServerContext* ctx,
                                                 const aigw::v1::ReloadRequest* request,
                                                 aigw::v1::ReloadResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (Refused(reactor)) return reactor;
  if (!reload_) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "this keypool has no database to reload from"));
    return reactor;
  }
  // The reactor and response stay valid until Finish; the call cannot
  // complete before that, even if the client cancels.
  reload_([reactor, response](absl::StatusOr<int> loaded) {
    if (!loaded.ok()) {
      reactor->Finish(ToGrpcStatus(loaded.status()));
      return;
    }
    response->set_keys_loaded(*loaded);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* KeyPoolService::AllotKeys(grpc::CallbackServerContext* ctx,
                                                    const aigw::v1::AllotKeysRequest* request,
                                                    aigw::v1::AllotKeysResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (Refused(reactor)) return reactor;
  if (allotter_ == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "this keypool grants no allotments (it has no database)"));
    return reactor;
  }
  std::vector<AllotmentUse> held;
  held.reserve(request->held_size());
  for (const aigw::v1::AllotmentUse& u : request->held()) {
    held.push_back(AllotmentUse{u.allotment_id(), u.requests(), u.tokens()});
  }
  const absl::Time asked = pool_->clock()->Now();
  allotter_->Allot(request->provider_code(), request->holder(), std::move(held),
                   request->give_back(), [reactor, response, asked](absl::StatusOr<AllotmentPlan> plan) {
                     if (!plan.ok()) {
                       reactor->Finish(ToGrpcStatus(plan.status()));
                       return;
                     }
                     response->set_base_url(plan->provider->base_url);
                     response->set_api_format(plan->provider->api_format);
                     response->set_provider_id(plan->provider->id);
                     for (const auto* list : {&plan->extended, &plan->granted}) {
                       for (const AllotmentGrant& g : *list) {
                         aigw::v1::KeyAllotment* a = response->add_allotments();
                         a->set_allotment_id(g.allotment.id);
                         a->set_key_id(g.key->id);
                         a->set_api_key(g.key->secret);
                         a->set_key_name(g.key->key_name);
                         a->set_requests_per_minute(g.allotment.requests);
                         a->set_tokens_per_minute(g.allotment.tokens);
                         a->set_requests_per_day(g.allotment.day_requests);
                         // From when the request arrived: the gateway
                         // counts from before it sent it, so it stops no
                         // later than use_until by this clock.
                         a->set_valid_for_ms(std::max<int64_t>(
                             0, absl::ToInt64Milliseconds(g.allotment.use_until - asked)));
                       }
                     }
                     reactor->Finish(grpc::Status::OK);
                   });
  return reactor;
}

}  // namespace aigw::keypool
