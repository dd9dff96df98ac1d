// The gateway's last step before a call event or a keypool report is queued
// (services/gateway/event_sanitizer MakeStorable / MakeSendable), on events
// whose text and figures are arbitrary: what a provider's answer, a caller's
// fields and the pipeline's arithmetic could have put there.
//
// Input: consumed by FuzzedDataProvider into every field of a CallEvent and
// of a ReportUsageRequest.
//
// After MakeStorable the event encodes and decodes again as protobuf (a text
// field that is not UTF-8 makes the receiver refuse the whole RecordCalls
// batch); it is no larger than its text columns allow; a second pass changes
// nothing; and the usage service turns it into a row (ToLogRow: no
// INVALID_ARGUMENT) whenever the pipeline set what only it sets (a
// request_id and provider_code, an outcome, created_at). MakeSendable's
// report encodes and decodes again, and a second pass changes nothing.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/time.h"
#include "aigw/v1/keypool.pb.h"
#include "aigw/v1/usage.pb.h"
#include "libs/db/api_log_columns.h"
#include "services/gateway/event_sanitizer.h"
#include "services/usage/call_log_row.h"

namespace {

namespace columns = ::aigw::db::api_log;

aigw::v1::CallEvent EventFrom(FuzzedDataProvider& in) {
  aigw::v1::CallEvent e;
  e.set_request_id(in.ConsumeRandomLengthString(300));
  e.set_attempt(in.ConsumeIntegral<int32_t>());
  e.set_provider_code(in.ConsumeRandomLengthString(300));
  e.set_provider_id(in.ConsumeIntegral<int64_t>());
  e.set_key_id(in.ConsumeIntegral<int64_t>());
  e.set_model(in.ConsumeRandomLengthString(600));
  if (in.ConsumeBool()) {
    aigw::v1::Caller* c = e.mutable_caller();
    c->set_user_id(in.ConsumeRandomLengthString(600));
    c->set_ip_address(in.ConsumeRandomLengthString(300));
    c->set_user_agent(in.ConsumeRandomLengthString(3000));
  }
  e.set_outcome(static_cast<aigw::v1::Outcome>(in.ConsumeIntegralInRange<int>(0, 12)));
  e.set_error_code(in.ConsumeRandomLengthString(300));
  e.set_error_message(in.ConsumeRandomLengthString(5000));
  e.set_http_status(in.ConsumeIntegral<int32_t>());
  if (in.ConsumeBool()) {
    aigw::v1::Usage* u = e.mutable_usage();
    u->set_prompt_tokens(in.ConsumeIntegral<int64_t>());
    u->set_completion_tokens(in.ConsumeIntegral<int64_t>());
    u->set_total_tokens(in.ConsumeIntegral<int64_t>());
    u->set_cached_prompt_tokens(in.ConsumeIntegral<int64_t>());
    u->set_cache_creation_tokens(in.ConsumeIntegral<int64_t>());
    u->set_reasoning_tokens(in.ConsumeIntegral<int64_t>());
  }
  e.set_cost_nanos(in.ConsumeIntegral<int64_t>());
  e.set_latency_ms(in.ConsumeIntegral<int64_t>());
  e.set_ttft_ms(in.ConsumeIntegral<int64_t>());
  e.set_is_stream(in.ConsumeBool());
  e.set_is_final(in.ConsumeBool());
  if (in.ConsumeBool()) {
    // The gateway's clock: some time in the years the tables hold.
    e.mutable_created_at()->set_seconds(in.ConsumeIntegralInRange<int64_t>(0, 253402300799));
    e.mutable_created_at()->set_nanos(in.ConsumeIntegralInRange<int32_t>(0, 999999999));
  }
  return e;
}

template <typename Message>
void CheckDecodes(const Message& m) {
  std::string wire;
  Message back;
  if (!m.SerializeToString(&wire) || !back.ParseFromString(wire)) {
    fprintf(stderr, "a sanitised %s does not decode\n", m.GetTypeName().c_str());
    abort();
  }
}

// What the text columns and the bounded error text allow, four bytes a
// character, and room for the figures.
size_t MaxEventBytes() {
  return 4 * (columns::kMaxRequestIdChars + columns::kMaxProviderCodeChars +
              columns::kMaxModelChars + columns::kMaxErrorCodeChars + columns::kMaxUserIdChars +
              columns::kMaxIpChars + columns::kMaxUserAgentChars) +
         aigw::gateway::kMaxEventErrorMessageBytes + 256;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  aigw::v1::CallEvent event = EventFrom(in);
  aigw::gateway::MakeStorable(&event);
  CheckDecodes(event);
  if (event.ByteSizeLong() > MaxEventBytes()) abort();
  if (aigw::gateway::MakeStorable(&event)) abort();  // a second pass changes nothing

  const bool pipeline_fields_set =
      !event.request_id().empty() && !event.provider_code().empty() &&
      event.outcome() != aigw::v1::OUTCOME_UNSPECIFIED && event.outcome() != aigw::v1::RELEASED &&
      aigw::v1::Outcome_IsValid(event.outcome());
  if (pipeline_fields_set) {
    absl::StatusOr<aigw::usage::LogRow> row =
        aigw::usage::ToLogRow(event, absl::UTCTimeZone(), absl::FromUnixSeconds(1767225600));
    if (!row.ok()) {
      fprintf(stderr, "usage refuses a sanitised event: %s\n", row.status().ToString().c_str());
      abort();
    }
  }

  aigw::v1::ReportUsageRequest report;
  report.set_lease_id(in.ConsumeRandomLengthString(200));
  report.set_error_message(in.ConsumeRandomLengthString(3000));
  report.set_prompt_tokens(in.ConsumeIntegral<int64_t>());
  report.set_completion_tokens(in.ConsumeIntegral<int64_t>());
  report.set_total_tokens(in.ConsumeIntegral<int64_t>());
  report.set_retry_after_ms(in.ConsumeIntegral<int64_t>());
  aigw::gateway::MakeSendable(&report);
  CheckDecodes(report);
  if (aigw::gateway::MakeSendable(&report)) abort();
  return 0;
}
