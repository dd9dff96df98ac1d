#include "services/admin/model_lister.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/providers/provider_call.h"

namespace aigw::admin {

absl::StatusOr<ModelListAnswer> ModelLister::List(absl::string_view base_url,
                                                  absl::string_view api_format,
                                                  absl::string_view api_key) const {
  const providers::ProviderCall call(providers::AdapterFor(api_format), "the provider", api_key);
  http::HttpRequest request = call.BuildListModels(base_url);
  // The database row may have been edited by hand past admin's checks.
  if (allowed_hosts_ != nullptr) {
    if (absl::Status st = allowed_hosts_->Check(request.url); !st.ok()) return st;
  }
  const std::string url = request.url;
  request.headers.emplace_back("Accept", "application/json");
  request.timeout = timeout_;
  request.connect_timeout = std::min(timeout_, absl::Seconds(10));

  const providers::HttpAnswer o = providers::SendAndWait(*engine_, std::move(request));
  if (!o.transport.ok()) {
    return absl::Status(o.transport.code(), absl::StrCat("cannot reach the provider at ", url,
                                                         ": ", call.Scrub(o.transport.message())));
  }
  ModelListAnswer answer;
  answer.http_status = o.status;
  if (answer.ok()) {
    absl::StatusOr<std::vector<providers::ModelInfo>> models =
        call.adapter().ParseModelList(o.body);
    if (!models.ok()) {
      return absl::InternalError(absl::StrCat("the provider's model list at ", url,
                                              " did not parse: ",
                                              call.Scrub(models.status().message())));
    }
    answer.models = *std::move(models);
    return answer;
  }
  providers::UpstreamError error = call.ReadError(o);
  answer.error_message = std::move(error.message);
  answer.error_type = std::move(error.type);
  answer.error_code = std::move(error.code);
  return answer;
}

}  // namespace aigw::admin
