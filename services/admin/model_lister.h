#ifndef AIGW_SERVICES_ADMIN_MODEL_LISTER_H_
#define AIGW_SERVICES_ADMIN_MODEL_LISTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/http/host_allowlist.h"
#include "libs/http/http_engine.h"
#include "libs/providers/adapter.h"
#include "libs/providers/outcome.h"

namespace aigw::admin {

// What a provider said to a model-list call.
struct ModelListAnswer {
  int http_status = 0;
  // Set on a 2xx answer that parsed.
  std::vector<providers::ModelInfo> models;
  // The provider's reason on a non-2xx answer, scrubbed of the key
  // (crypto::ScrubSecret) wherever the provider echoed it.
  std::string error_message;
  std::string error_type;
  std::string error_code;

  bool ok() const { return http_status >= 200 && http_status < 300; }
  // What a non-2xx answer meant (providers::ClassifyError).
  providers::ErrorClass error_class() const {
    return providers::ClassifyError(http_status, error_type, error_code, error_message);
  }
  // The provider refused the key itself (401, authentication_error,
  // invalid_api_key); a 403 refuses a request, not the key.
  bool key_rejected() const {
    return !ok() && error_class() == providers::ErrorClass::kKeyRejected;
  }
};

// The provider's model list with one key (OpenAI-format GET {base}/models
// with a bearer token; Anthropic GET {base}/v1/models with x-api-key and
// anthropic-version), through the shared HTTP engine. Blocks the calling
// thread (the admin service's sync handlers) until the answer or `timeout`.
class ModelLister {
 public:
  // `allowed_hosts` (may be null): the hosts it may call
  // (--provider_host_allowlist).
  ModelLister(http::HttpEngine* engine, absl::Duration timeout,
              const http::HostAllowlist* allowed_hosts = nullptr)
      : engine_(engine), timeout_(timeout), allowed_hosts_(allowed_hosts) {}

  // Transport failures are UNAVAILABLE / DEADLINE_EXCEEDED; a 2xx body that
  // is not a model list is INTERNAL; a host outside `allowed_hosts` is
  // FAILED_PRECONDITION, and nothing is sent. Any HTTP answer is an OK
  // result.
  absl::StatusOr<ModelListAnswer> List(absl::string_view base_url, absl::string_view api_format,
                                       absl::string_view api_key) const;

 private:
  http::HttpEngine* const engine_;
  const absl::Duration timeout_;
  const http::HostAllowlist* const allowed_hosts_;
};

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_MODEL_LISTER_H_
