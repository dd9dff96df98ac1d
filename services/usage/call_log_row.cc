#include "services/usage/call_log_row.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "libs/common/proto_time.h"
#include "libs/common/utf8.h"
#include "libs/db/api_log_columns.h"
#include "libs/db/dialect.h"
#include "services/usage/usage_time.h"

namespace aigw::usage {
namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

absl::Status CheckIdentifier(absl::string_view field, const std::string& value, size_t max_chars,
                             bool required) {
  if (value.empty()) {
    return required ? Invalid(absl::StrCat(field, " is required")) : absl::OkStatus();
  }
  if (Utf8Length(value) > max_chars) {
    return Invalid(absl::StrCat(field, " is longer than ", max_chars, " characters"));
  }
  if (CleanUtf8(value, max_chars) != value) {
    return Invalid(absl::StrCat(field, " is not valid UTF-8 text"));
  }
  return absl::OkStatus();
}

absl::Status CheckNotNegative(absl::string_view field, int64_t value) {
  if (value < 0) return Invalid(absl::StrCat(field, " must not be negative, got ", value));
  return absl::OkStatus();
}

void AppendInt(int64_t v, std::string* out) {
  absl::StrAppend(out, v);
  out->push_back(',');
}

}  // namespace

const char kLogInsertColumns[] =
    "request_id, attempt, provider_id, provider_code, key_id, model, user_id, ip_address, "
    "user_agent, status, error_code, error_message, http_status, prompt_tokens, "
    "completion_tokens, total_tokens, cached_prompt_tokens, cache_creation_tokens, "
    "reasoning_tokens, cost, latency_ms, ttft_ms, is_stream, is_final, created_at";

absl::StatusOr<LogRow> ToLogRow(const v1::CallEvent& e, absl::TimeZone stats_zone, absl::Time now) {
  absl::Status st =
      CheckIdentifier("request_id", e.request_id(), db::api_log::kMaxRequestIdChars, true);
  if (st.ok())
    st = CheckIdentifier("provider_code", e.provider_code(), db::api_log::kMaxProviderCodeChars,
                         true);
  if (st.ok()) st = CheckIdentifier("model", e.model(), db::api_log::kMaxModelChars, false);
  if (!st.ok()) return st;
  if (e.attempt() < 1) {
    return Invalid(absl::StrCat("attempt must be 1 or more (it is 1-based), got ", e.attempt()));
  }
  if (e.outcome() == v1::OUTCOME_UNSPECIFIED) return Invalid("outcome is required");
  if (!v1::Outcome_IsValid(e.outcome())) {
    return Invalid(
        absl::StrCat("outcome ", static_cast<int>(e.outcome()), " is not a known Outcome"));
  }
  if (e.outcome() == v1::RELEASED) {
    return Invalid("outcome RELEASED is for giving back an unused lease, not for a call event");
  }
  const v1::Usage& u = e.usage();
  constexpr int64_t kAny = std::numeric_limits<int64_t>::max();
  struct Figure {
    const char* name;
    int64_t value;
    int64_t max;
  };
  for (const Figure& f :
       {Figure{"usage.prompt_tokens", u.prompt_tokens(), kMaxTokensPerEvent},
        Figure{"usage.completion_tokens", u.completion_tokens(), kMaxTokensPerEvent},
        Figure{"usage.total_tokens", u.total_tokens(), kMaxTokensPerEvent},
        Figure{"usage.cached_prompt_tokens", u.cached_prompt_tokens(), kMaxTokensPerEvent},
        Figure{"usage.cache_creation_tokens", u.cache_creation_tokens(), kMaxTokensPerEvent},
        Figure{"usage.reasoning_tokens", u.reasoning_tokens(), kMaxTokensPerEvent},
        Figure{"cost_nanos", e.cost_nanos(), kMaxCostNanosPerEvent},
        Figure{"latency_ms", e.latency_ms(), kAny}, Figure{"ttft_ms", e.ttft_ms(), kAny},
        Figure{"key_id", e.key_id(), kAny}, Figure{"provider_id", e.provider_id(), kAny}}) {
    if (absl::Status neg = CheckNotNegative(f.name, f.value); !neg.ok()) return neg;
    if (f.value > f.max) {
      return Invalid(absl::StrCat(f.name, " is ", f.value,
                                  ", more than any one call reaches (at most ", f.max,
                                  "): refused so that the daily sums cannot overflow"));
    }
  }
  if (e.has_created_at() && !TimestampInRange(e.created_at())) {
    return Invalid(absl::StrCat("created_at (", e.created_at().seconds(),
                                " s) is outside the years 1970..9999"));
  }

  LogRow r;
  r.request_id = e.request_id();
  r.attempt = e.attempt();
  r.provider_id = e.provider_id();
  r.provider_code = e.provider_code();
  r.key_id = e.key_id();
  r.model = e.model();
  r.user_id = CleanUtf8(e.caller().user_id(), db::api_log::kMaxUserIdChars);
  r.ip_address = CleanUtf8(e.caller().ip_address(), db::api_log::kMaxIpChars);
  r.user_agent = CleanUtf8(e.caller().user_agent(), db::api_log::kMaxUserAgentChars);
  r.success = e.outcome() == v1::SUCCESS;
  if (!r.success) {
    r.error_code = CleanUtf8(e.error_code(), db::api_log::kMaxErrorCodeChars);
    if (r.error_code.empty()) r.error_code = v1::Outcome_Name(e.outcome());
    r.error_message = CleanUtf8(e.error_message(), db::api_log::kMaxErrorMessageChars);
  }
  r.http_status = e.http_status();
  r.prompt_tokens = u.prompt_tokens();
  r.completion_tokens = u.completion_tokens();
  r.total_tokens = u.total_tokens();
  r.cached_prompt_tokens = u.cached_prompt_tokens();
  r.cache_creation_tokens = u.cache_creation_tokens();
  r.reasoning_tokens = u.reasoning_tokens();
  r.cost_nanos = e.cost_nanos();
  r.latency_ms = std::min(e.latency_ms(), kIntMax);
  r.ttft_ms = std::min(e.ttft_ms(), kIntMax);
  r.is_stream = e.is_stream();
  r.is_final = e.is_final();
  r.created_at = TruncateToMillis(e.has_created_at() ? FromProtoTimestamp(e.created_at()) : now);
  r.stat_date = absl::ToCivilDay(r.created_at, stats_zone);
  r.created_at_text = FormatDbTime(r.created_at);
  r.cost_text = db::NanosToDecimal(r.cost_nanos);
  return r;
}

void AppendLogValues(const LogRow& r, const SqlQuoter& q, std::string* out) {
  out->push_back('(');
  q.Append(r.request_id, out);
  out->push_back(',');
  AppendInt(r.attempt, out);
  AppendInt(r.provider_id, out);
  q.Append(r.provider_code, out);
  out->push_back(',');
  AppendInt(r.key_id, out);
  q.Append(r.model, out);
  out->push_back(',');
  q.AppendOrNull(r.user_id, out);
  out->push_back(',');
  q.AppendOrNull(r.ip_address, out);
  out->push_back(',');
  q.AppendOrNull(r.user_agent, out);
  out->append(r.success ? ",'success'," : ",'error',");
  q.AppendOrNull(r.error_code, out);
  out->push_back(',');
  q.AppendOrNull(r.error_message, out);
  out->push_back(',');
  AppendInt(r.http_status, out);
  AppendInt(r.prompt_tokens, out);
  AppendInt(r.completion_tokens, out);
  AppendInt(r.total_tokens, out);
  AppendInt(r.cached_prompt_tokens, out);
  AppendInt(r.cache_creation_tokens, out);
  AppendInt(r.reasoning_tokens, out);
  out->append(r.cost_text.empty() ? db::NanosToDecimal(r.cost_nanos) : r.cost_text);
  out->push_back(',');
  AppendInt(r.latency_ms, out);
  AppendInt(r.ttft_ms, out);
  AppendInt(r.is_stream ? 1 : 0, out);
  AppendInt(r.is_final ? 1 : 0, out);
  out->push_back('\'');
  out->append(r.created_at_text.empty() ? FormatDbTime(r.created_at) : r.created_at_text);
  out->append("')");
}

v1::Outcome DeriveOutcome(bool success, absl::string_view error_code, int http_status,
                          int64_t key_id) {
  if (success) return v1::SUCCESS;
  v1::Outcome named;
  if (v1::Outcome_Parse(std::string(error_code), &named) && named != v1::OUTCOME_UNSPECIFIED) {
    return named;
  }
  if (http_status == 429) return v1::RATE_LIMITED;
  if (http_status == 401) return v1::AUTH_FAILED;
  if (http_status == 403) return v1::PERMISSION_DENIED;
  if (http_status >= 500) return v1::SERVER_ERROR;
  if (http_status >= 400) return v1::CLIENT_ERROR;
  if (key_id == 0) return v1::NOT_SENT;
  return v1::NETWORK_ERROR;
}

void ToCallEvent(const LogRow& r, v1::CallEvent* e) {
  e->set_outcome(DeriveOutcome(r.success, r.error_code, r.http_status, r.key_id));
  e->set_request_id(r.request_id);
  e->set_attempt(r.attempt);
  e->set_provider_code(r.provider_code);
  e->set_provider_id(r.provider_id);
  e->set_key_id(r.key_id);
  e->set_model(r.model);
  e->mutable_caller()->set_user_id(r.user_id);
  e->mutable_caller()->set_ip_address(r.ip_address);
  e->mutable_caller()->set_user_agent(r.user_agent);
  e->set_error_code(r.error_code);
  e->set_error_message(r.error_message);
  e->set_http_status(r.http_status);
  v1::Usage* u = e->mutable_usage();
  u->set_prompt_tokens(r.prompt_tokens);
  u->set_completion_tokens(r.completion_tokens);
  u->set_total_tokens(r.total_tokens);
  u->set_cached_prompt_tokens(r.cached_prompt_tokens);
  u->set_cache_creation_tokens(r.cache_creation_tokens);
  u->set_reasoning_tokens(r.reasoning_tokens);
  e->set_cost_nanos(r.cost_nanos);
  e->set_latency_ms(r.latency_ms);
  e->set_ttft_ms(r.ttft_ms);
  e->set_is_stream(r.is_stream);
  e->set_is_final(r.is_final);
  ToProtoTimestamp(r.created_at, e->mutable_created_at());
}

}  // namespace aigw::usage
