#ifndef AIGW_LIBS_PROVIDERS_RETRY_AFTER_H_
#define AIGW_LIBS_PROVIDERS_RETRY_AFTER_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aigw::providers {

// The delay a Retry-After header asks for, in milliseconds: either
// delay-seconds ("120"; a fractional "1.5" is accepted too, as some
// OpenAI-compatible servers send it) or an HTTP-date (IMF-fixdate
// "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete RFC 850 and asctime
// forms) measured from `now`; a date in the past gives 0. Empty or
// unparseable gives nullopt.
std::optional<int64_t> ParseRetryAfterMs(absl::string_view header, absl::Time now);

// A Go-style duration as in OpenAI's x-ratelimit-reset-requests /
// x-ratelimit-reset-tokens headers ("1s", "6m0s", "20ms", "1h2m3.5s"), in
// milliseconds rounded up. Useful when a 429 carries no Retry-After.
std::optional<int64_t> ParseResetDurationMs(absl::string_view value);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_RETRY_AFTER_H_
