#ifndef AIGW_SERVICES_GATEWAY_EVENT_SANITIZER_H_
#define AIGW_SERVICES_GATEWAY_EVENT_SANITIZER_H_

#include <cstddef>

#include "aigw/v1/keypool.pb.h"
#include "aigw/v1/usage.pb.h"

namespace aigw::gateway {

// The most bytes of a provider's error text a call event or a keypool report
// carries (the rest is rarely more than a stack of the same message).
inline constexpr size_t kMaxEventErrorMessageBytes = 1000;

// Makes `event` storable by the usage service whatever the pipeline put in
// it: every text field valid UTF-8 without NULs (a proto3 string that is not
// UTF-8 makes the whole RecordCalls request undecodable), cut on a character
// boundary to its t_ai_api_logs column (error_message also to
// kMaxEventErrorMessageBytes), attempt at least 1, no negative count, cost
// or latency, and no token count or cost beyond what one call reaches
// (kMaxTokensPerEvent, kMaxCostNanosPerEvent: a provider that reports more
// is wrong, and usage refuses such an event). True when anything changed.
bool MakeStorable(aigw::v1::CallEvent* event);

// The same for a report to the keypool: its error text is valid UTF-8 of at
// most kMaxEventErrorMessageBytes, its figures not negative and its token
// counts at most kMaxTokensPerEvent (the keypool adds them up). True when
// anything changed.
bool MakeSendable(aigw::v1::ReportUsageRequest* report);

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_EVENT_SANITIZER_H_
