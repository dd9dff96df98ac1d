#include "services/gateway/event_sanitizer.h"

#include <limits>
#include <string>

#include "libs/common/utf8.h"
#include "libs/db/api_log_columns.h"

namespace aigw::gateway {
namespace {

namespace columns = ::aigw::db::api_log;

constexpr size_t kAnyLength = std::numeric_limits<size_t>::max();

// Cleans one text field in place; true when it changed.
bool CleanText(std::string* text, size_t max_chars, size_t max_bytes = kAnyLength) {
  if (IsCleanUtf8(*text, max_chars, max_bytes)) return false;
  *text = CleanUtf8(*text, max_chars, max_bytes);
  return true;
}

// Brings one figure into 0..max in place; true when it changed.
template <typename Message, typename Get, typename Set>
bool Bounded(Message* m, Get get, Set set, int64_t max = std::numeric_limits<int64_t>::max()) {
  const int64_t value = (m->*get)();
  if (value >= 0 && value <= max) return false;
  (m->*set)(value < 0 ? 0 : max);
  return true;
}

}  // namespace

bool MakeStorable(aigw::v1::CallEvent* e) {
  bool changed = false;
  changed |= CleanText(e->mutable_request_id(), columns::kMaxRequestIdChars);
  changed |= CleanText(e->mutable_provider_code(), columns::kMaxProviderCodeChars);
  changed |= CleanText(e->mutable_model(), columns::kMaxModelChars);
  changed |= CleanText(e->mutable_error_code(), columns::kMaxErrorCodeChars);
  changed |= CleanText(e->mutable_error_message(), columns::kMaxErrorMessageChars,
                       kMaxEventErrorMessageBytes);
  if (e->has_caller()) {
    aigw::v1::Caller* c = e->mutable_caller();
    changed |= CleanText(c->mutable_user_id(), columns::kMaxUserIdChars);
    changed |= CleanText(c->mutable_ip_address(), columns::kMaxIpChars);
    changed |= CleanText(c->mutable_user_agent(), columns::kMaxUserAgentChars);
  }
  if (e->attempt() < 1) {
    e->set_attempt(1);
    changed = true;
  }
  using E = aigw::v1::CallEvent;
  changed |= Bounded(e, &E::provider_id, &E::set_provider_id);
  changed |= Bounded(e, &E::key_id, &E::set_key_id);
  changed |= Bounded(e, &E::cost_nanos, &E::set_cost_nanos, columns::kMaxCostNanosPerEvent);
  changed |= Bounded(e, &E::latency_ms, &E::set_latency_ms);  // a clock stepped back
  changed |= Bounded(e, &E::ttft_ms, &E::set_ttft_ms);
  if (e->has_usage()) {
    using U = aigw::v1::Usage;
    U* u = e->mutable_usage();
    constexpr int64_t kMax = columns::kMaxTokensPerEvent;
    changed |= Bounded(u, &U::prompt_tokens, &U::set_prompt_tokens, kMax);
    changed |= Bounded(u, &U::completion_tokens, &U::set_completion_tokens, kMax);
    changed |= Bounded(u, &U::total_tokens, &U::set_total_tokens, kMax);
    changed |= Bounded(u, &U::cached_prompt_tokens, &U::set_cached_prompt_tokens, kMax);
    changed |= Bounded(u, &U::cache_creation_tokens, &U::set_cache_creation_tokens, kMax);
    changed |= Bounded(u, &U::reasoning_tokens, &U::set_reasoning_tokens, kMax);
  }
  return changed;
}

bool MakeSendable(aigw::v1::ReportUsageRequest* r) {
  bool changed = CleanText(r->mutable_lease_id(), kAnyLength);
  changed |= CleanText(r->mutable_error_message(), kAnyLength, kMaxEventErrorMessageBytes);
  using R = aigw::v1::ReportUsageRequest;
  constexpr int64_t kMax = columns::kMaxTokensPerEvent;
  changed |= Bounded(r, &R::prompt_tokens, &R::set_prompt_tokens, kMax);
  changed |= Bounded(r, &R::completion_tokens, &R::set_completion_tokens, kMax);
  changed |= Bounded(r, &R::total_tokens, &R::set_total_tokens, kMax);
  changed |= Bounded(r, &R::retry_after_ms, &R::set_retry_after_ms);
  return changed;
}

}  // namespace aigw::gateway
