// ProviderAdapter::ParseError (the error body of a non-2xx answer, and its
// Retry-After header) on arbitrary bytes, through both adapters.
//
// Input: the body, optionally followed by a NUL byte and a Retry-After value,
// optionally followed by another NUL byte and an x-ratelimit-reset-* value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "libs/common/clock.h"
#include "libs/providers/adapter.h"
#include "libs/providers/retry_after.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static aigw::ManualClock* const clock = new aigw::ManualClock();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> parts = absl::StrSplit(input, absl::MaxSplits('\0', 2));
  const absl::string_view body = parts[0];
  const absl::string_view retry_after = parts.size() > 1 ? parts[1] : "";
  const absl::string_view reset = parts.size() > 2 ? parts[2] : "";

  const int http_status = 400 + static_cast<int>(size % 200);
  for (absl::string_view format : {"openai", "anthropic"}) {
    const aigw::providers::UpstreamError error =
        aigw::providers::AdapterFor(format).ParseError(http_status, body, retry_after, clock);
    // A caller always gets some text, and a delay is never negative.
    if (error.message.empty() || error.http_status != http_status) abort();
    if (error.retry_after_ms.has_value() && *error.retry_after_ms < 0) abort();
  }
  if (std::optional<int64_t> ms = aigw::providers::ParseResetDurationMs(reset); ms && *ms < 0) {
    abort();
  }
  return 0;
}
