#include "services/usage/call_log_row.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "libs/common/proto_time.h"
#include "libs/common/utf8.h"
#include "libs/db/api_log_columns.h"
#include "libs/db/dialect.h"
#include "libs/providers/outcome.h"
#include "services/usage/usage_time.h"

namespace aigw::usage {
namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
constexpr int64_t kAny = std::numeric_limits<int64_t>::max();

// The token counts of an event's usage and the row fields that keep them.
struct TokenField {
  const char* name;  // as an error names it
  int64_t LogRow::*row;
  int64_t (v1::Usage::*get)() const;
  void (v1::Usage::*set)(int64_t);
};
constexpr TokenField kTokenFields[] = {
    {"usage.prompt_tokens", &LogRow::prompt_tokens, &v1::Usage::prompt_tokens,
     &v1::Usage::set_prompt_tokens},
    {"usage.completion_tokens", &LogRow::completion_tokens, &v1::Usage::completion_tokens,
     &v1::Usage::set_completion_tokens},
    {"usage.total_tokens", &LogRow::total_tokens, &v1::Usage::total_tokens,
     &v1::Usage::set_total_tokens},
    {"usage.cached_prompt_tokens", &LogRow::cached_prompt_tokens, &v1::Usage::cached_prompt_tokens,
     &v1::Usage::set_cached_prompt_tokens},
    {"usage.cache_creation_tokens", &LogRow::cache_creation_tokens,
     &v1::Usage::cache_creation_tokens, &v1::Usage::set_cache_creation_tokens},
    {"usage.reasoning_tokens", &LogRow::reasoning_tokens, &v1::Usage::reasoning_tokens,
     &v1::Usage::set_reasoning_tokens},
};

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

// What the row is keyed and grouped by: request_id, provider_code and model
// fit their columns as they are, attempt is 1-based.
absl::Status CheckIdentity(const v1::CallEvent& e) {
  absl::Status st =
      CheckIdentifier("request_id", e.request_id(), db::api_log::kMaxRequestIdChars, true);
  if (st.ok()) {
    st = CheckIdentifier("provider_code", e.provider_code(), db::api_log::kMaxProviderCodeChars,
                         true);
  }
  if (st.ok()) st = CheckIdentifier("model", e.model(), db::api_log::kMaxModelChars, false);
  if (st.ok() && e.attempt() < 1) {
    st = Invalid(absl::StrCat("attempt must be 1 or more (it is 1-based), got ", e.attempt()));
  }
  return st;
}

absl::Status CheckOutcome(const v1::CallEvent& e) {
  if (e.outcome() == v1::OUTCOME_UNSPECIFIED) return Invalid("outcome is required");
  if (!v1::Outcome_IsValid(e.outcome())) {
    return Invalid(
        absl::StrCat("outcome ", static_cast<int>(e.outcome()), " is not a known Outcome"));
  }
  if (e.outcome() == v1::RELEASED) {
    return Invalid("outcome RELEASED is for giving back an unused lease, not for a call event");
  }
  return absl::OkStatus();
}

absl::Status CheckFigure(absl::string_view name, int64_t value, int64_t max) {
  if (value < 0) return Invalid(absl::StrCat(name, " must not be negative, got ", value));
  if (value > max) {
    return Invalid(absl::StrCat(name, " is ", value, ", more than any one call reaches (at most ",
                                max, "): refused so that the daily sums cannot overflow"));
  }
  return absl::OkStatus();
}

// Counts, cost, times and ids: none negative, none beyond any real call.
absl::Status CheckFigures(const v1::CallEvent& e) {
  for (const TokenField& t : kTokenFields) {
    absl::Status st = CheckFigure(t.name, (e.usage().*t.get)(), kMaxTokensPerEvent);
    if (!st.ok()) return st;
  }
  struct Figure {
    const char* name;
    int64_t value;
    int64_t max;
  };
  for (const Figure& f :
       {Figure{"cost_nanos", e.cost_nanos(), kMaxCostNanosPerEvent},
        Figure{"latency_ms", e.latency_ms(), kAny}, Figure{"ttft_ms", e.ttft_ms(), kAny},
        Figure{"key_id", e.key_id(), kAny}, Figure{"provider_id", e.provider_id(), kAny},
        Figure{"tool_calls", e.tool_calls(), kAny}, Figure{"images", e.images(), kAny}}) {
    absl::Status st = CheckFigure(f.name, f.value, f.max);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status CheckCreatedAt(const v1::CallEvent& e) {
  if (e.has_created_at() && !TimestampInRange(e.created_at())) {
    return Invalid(absl::StrCat("created_at (", e.created_at().seconds(),
                                " s) is outside the years 1970..9999"));
  }
  return absl::OkStatus();
}

// The row of a checked event: descriptive text cleaned and cut to its
// column, latencies clamped to theirs, the texts the writer needs made here.
LogRow BuildRow(const v1::CallEvent& e, absl::TimeZone stats_zone, absl::Time now) {
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
  for (const TokenField& t : kTokenFields) r.*t.row = (e.usage().*t.get)();
  r.cost_nanos = e.cost_nanos();
  r.latency_ms = static_cast<int32_t>(std::min(e.latency_ms(), kIntMax));
  r.ttft_ms = static_cast<int32_t>(std::min(e.ttft_ms(), kIntMax));
  r.is_stream = e.is_stream();
  r.is_final = e.is_final();
  r.tool_calls = e.tool_calls();
  r.images = e.images();
  r.created_at = TruncateToMillis(e.has_created_at() ? FromProtoTimestamp(e.created_at()) : now);
  r.stat_date = absl::ToCivilDay(r.created_at, stats_zone);
  r.created_at_text = FormatDbTime(r.created_at);
  r.cost_text = db::NanosToDecimal(r.cost_nanos);
  return r;
}

}  // namespace

absl::StatusOr<LogRow> ToLogRow(const v1::CallEvent& e, absl::TimeZone stats_zone, absl::Time now) {
  absl::Status st = CheckIdentity(e);
  if (st.ok()) st = CheckOutcome(e);
  if (st.ok()) st = CheckFigures(e);
  if (st.ok()) st = CheckCreatedAt(e);
  if (!st.ok()) return st;
  return BuildRow(e, stats_zone, now);
}

v1::Outcome DeriveOutcome(bool success, absl::string_view error_code, int http_status,
                          int64_t key_id) {
  if (success) return v1::SUCCESS;
  if (std::optional<v1::Outcome> named = providers::OutcomeForErrorCode(error_code)) {
    return *named;
  }
  if (http_status >= 300) return providers::ClassifyAttempt(absl::OkStatus(), http_status);
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
  for (const TokenField& t : kTokenFields) (e->mutable_usage()->*t.set)(r.*t.row);
  e->set_cost_nanos(r.cost_nanos);
  e->set_latency_ms(r.latency_ms);
  e->set_ttft_ms(r.ttft_ms);
  e->set_is_stream(r.is_stream);
  e->set_is_final(r.is_final);
  e->set_tool_calls(r.tool_calls);
  e->set_images(r.images);
  ToProtoTimestamp(r.created_at, e->mutable_created_at());
}

}  // namespace aigw::usage
