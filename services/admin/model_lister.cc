#include "services/admin/model_lister.h"

#include <algorithm>
#include <future>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/crypto/secret_scrub.h"

namespace aigw::admin {
namespace {

struct Outcome {
  absl::Status transport;
  int status = 0;
  std::string retry_after;
  std::string body;
};

}  // namespace

absl::StatusOr<ModelListAnswer> ModelLister::List(absl::string_view base_url,
                                                  absl::string_view api_format,
                                                  absl::string_view api_key) const {
  const providers::ProviderAdapter& adapter = providers::AdapterFor(api_format);
  providers::HttpRequest built = adapter.BuildListModelsRequest(base_url, api_key);
  // The database row may have been edited by hand past admin's checks.
  if (allowed_hosts_ != nullptr) {
    if (absl::Status st = allowed_hosts_->Check(built.url); !st.ok()) return st;
  }
  http::HttpRequest request;
  request.method = built.method;
  request.url = built.url;
  for (const auto& [name, value] : built.headers) {
    request.headers.push_back(absl::StrCat(name, ": ", value));
  }
  request.headers.push_back("Accept: application/json");
  request.timeout = timeout_;
  request.connect_timeout = std::min(timeout_, absl::Seconds(10));

  auto done = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> result = done->get_future();
  auto retry_after = std::make_shared<std::string>();
  http::HttpCallbacks callbacks;
  callbacks.on_headers = [retry_after](int, absl::string_view value) {
    *retry_after = std::string(value);
  };
  callbacks.on_done = [done, retry_after](absl::Status transport, int status, std::string body) {
    done->set_value(Outcome{std::move(transport), status, *retry_after, std::move(body)});
  };
  engine_->Start(std::move(request), std::move(callbacks));
  Outcome o = result.get();
  if (!o.transport.ok()) {
    return absl::Status(o.transport.code(),
                        absl::StrCat("cannot reach the provider at ", built.url, ": ",
                                     crypto::ScrubSecret(o.transport.message(), api_key)));
  }
  ModelListAnswer answer;
  answer.http_status = o.status;
  if (answer.ok()) {
    absl::StatusOr<std::vector<providers::ModelInfo>> models = adapter.ParseModelList(o.body);
    if (!models.ok()) {
      return absl::InternalError(
          absl::StrCat("the provider's model list at ", built.url, " did not parse: ",
                       crypto::ScrubSecret(models.status().message(), api_key)));
    }
    answer.models = *std::move(models);
    return answer;
  }
  providers::UpstreamError error = adapter.ParseError(o.status, o.body, o.retry_after);
  answer.error_message = crypto::ScrubSecret(error.message, api_key);
  answer.error_type = error.type;
  answer.error_code = error.code;
  return answer;
}

}  // namespace aigw::admin
