#ifndef AIGW_LIBS_PROVIDERS_ADAPTER_H_
#define AIGW_LIBS_PROVIDERS_ADAPTER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/common/clock.h"
#include "libs/http/http_request.h"
#include "libs/providers/chat_types.h"
#include "libs/providers/stream_parser.h"

namespace aigw::providers {

// The request an adapter builds is the one the HTTP engine sends.
using http::HttpRequest;

// One entry of a provider's model list.
struct ModelInfo {
  std::string id;
  std::string display_name;  // Anthropic only; empty elsewhere
};

// The wire format of one provider API family. Stateless and thread-safe; the
// instances returned by AdapterFor live for the whole process.
//
// Bodies are untrusted: malformed or unexpected JSON gives an INTERNAL status
// ("malformed upstream JSON ...") or a best-effort UpstreamError, never a
// crash; JSON beyond ParseLimits (nested too deep) gives RESOURCE_EXHAUSTED.
class ProviderAdapter {
 public:
  virtual ~ProviderAdapter() = default;

  // "openai" or "anthropic".
  virtual absl::string_view api_format() const = 0;

  // The chat call. `base_url` is the provider's configured base URL; a
  // trailing '/' is tolerated.
  virtual HttpRequest BuildRequest(const ChatParams& params, absl::string_view base_url,
                                   absl::string_view api_key) const = 0;

  // A non-streaming 2xx body. INTERNAL when it is not JSON, carries an error
  // object instead of a completion, or has no choice / content.
  virtual absl::StatusOr<Completion> ParseResponse(absl::string_view body) const = 0;

  // A non-2xx response. Both formats' error bodies share one shape,
  // {"error":{"type","message"[,"code","param"]}} (Anthropic adds a top-level
  // "type":"error"), so this is common code. The body may also be another
  // JSON shape from an OpenAI-compatible server, HTML from a proxy, or empty;
  // message falls back to the start of the body, then to "HTTP <status>".
  // `retry_after_header` is the Retry-After value ("" when absent), an
  // HTTP-date being measured from `clock`.
  UpstreamError ParseError(int http_status, absl::string_view body,
                           absl::string_view retry_after_header,
                           Clock* clock = Clock::Real()) const;

  // A parser for the SSE body of a streaming call.
  virtual std::unique_ptr<StreamParser> NewStreamParser() const = 0;

  // The model list call used to validate a key and to sync models. Both
  // formats' answers share one shape, so its parsing is common code
  // (ParseModelListData).
  virtual HttpRequest BuildListModelsRequest(absl::string_view base_url,
                                             absl::string_view api_key) const = 0;
  absl::StatusOr<std::vector<ModelInfo>> ParseModelList(absl::string_view body) const;
};

// The adapter for a provider's api_format: "openai" (also used for DeepSeek
// and custom OpenAI-compatible providers; "deepseek" and "custom" are
// accepted as aliases) or "anthropic". Case-insensitive. Returns nullptr for
// anything else.
const ProviderAdapter* FindAdapter(absl::string_view api_format);
// As FindAdapter, but an unknown format falls back to the OpenAI adapter,
// the de facto common format.
const ProviderAdapter& AdapterFor(absl::string_view api_format);

// The HTTP status an error type implies, for errors that arrive inside a 200
// stream: rate limit 429, overloaded 529, authentication 401, permission
// 403, not found 404, invalid request 400, otherwise 500.
int StatusForErrorType(absl::string_view type, absl::string_view code);

// Both formats' model lists: {"data":[{"id", "display_name"?}, ...]}
// (display_name is Anthropic's; empty elsewhere). INTERNAL when the body is
// not JSON or has no data array; entries without an id are skipped.
absl::StatusOr<std::vector<ModelInfo>> ParseModelListData(absl::string_view body);

// Joins a base URL and an API path ("/chat/completions"), tolerating
// trailing slashes on the base, and a base that already ends in the path.
std::string JoinUrl(absl::string_view base_url, absl::string_view path);

}  // namespace aigw::providers

#endif  // AIGW_LIBS_PROVIDERS_ADAPTER_H_
