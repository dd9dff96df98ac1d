#include "libs/providers/provider_call.h"

#include <future>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/crypto/secret_scrub.h"

namespace aigw::providers {
namespace {

std::string ErrorCode(aigw::v1::Outcome outcome, const absl::Status& transport) {
  if (outcome == aigw::v1::NETWORK_ERROR &&
      transport.code() == absl::StatusCode::kDeadlineExceeded) {
    return error_code::kTimeout;
  }
  return aigw::v1::Outcome_Name(outcome);
}

}  // namespace

http::HttpRequest ProviderCall::BuildListModels(absl::string_view base_url) const {
  return adapter_->BuildListModelsRequest(base_url, api_key_);
}

std::string ProviderCall::Scrub(absl::string_view text) const {
  return crypto::ScrubSecret(text, api_key_);
}

UpstreamError ProviderCall::ReadError(const HttpAnswer& answer) const {
  UpstreamError e = adapter_->ParseError(answer.status, answer.body, answer.retry_after, clock_);
  e.message = Scrub(e.message);
  return e;
}

absl::Status ProviderCall::AttemptStatus(aigw::v1::Outcome outcome, int http_status,
                                         const absl::Status& transport,
                                         absl::string_view upstream_message) const {
  const absl::string_view p = provider_;
  switch (outcome) {
    case aigw::v1::NETWORK_ERROR:
      if (transport.code() == absl::StatusCode::kDeadlineExceeded) {
        return absl::DeadlineExceededError(absl::StrCat(p, " timed out: ", upstream_message));
      }
      return absl::UnavailableError(absl::StrCat(p, " unreachable: ", upstream_message));
    case aigw::v1::RATE_LIMITED:
      return absl::ResourceExhaustedError(
          absl::StrCat(p, " rate limit (HTTP 429): ", upstream_message));
    case aigw::v1::AUTH_FAILED:
      return absl::UnauthenticatedError(
          absl::StrCat(p, " rejected the API key (HTTP ", http_status, "): ", upstream_message));
    case aigw::v1::PERMISSION_DENIED:
      return absl::PermissionDeniedError(
          absl::StrCat(p, " refused the request (HTTP ", http_status, "): ", upstream_message));
    case aigw::v1::SERVER_ERROR:
      return absl::UnavailableError(
          absl::StrCat(p, " failed (HTTP ", http_status, "): ", upstream_message));
    default:
      break;
  }
  if (http_status == 404) return absl::NotFoundError(absl::StrCat(p, ": ", upstream_message));
  const std::string refused =
      absl::StrCat(p, " refused the request (HTTP ", http_status, "): ", upstream_message);
  if (http_status == 400 || http_status == 413 || http_status == 422) {
    return absl::InvalidArgumentError(refused);
  }
  return absl::FailedPreconditionError(refused);
}

absl::Status ProviderCall::OverLimit(absl::string_view what) const {
  return absl::UnavailableError(absl::StrCat(provider_, " answered beyond a limit: ", what));
}

AttemptResult ProviderCall::ReadChat(const HttpAnswer& answer) const {
  const aigw::v1::Outcome outcome = ClassifyAttempt(answer.transport, answer.status);
  if (outcome != aigw::v1::SUCCESS) return ReadFailure(answer, outcome);
  AttemptResult r;
  r.http_status = answer.status;
  absl::StatusOr<Completion> parsed = adapter_->ParseResponse(answer.body);
  if (parsed.ok()) {
    r.completion = *std::move(parsed);
    return r;
  }
  r.outcome = aigw::v1::SERVER_ERROR;
  if (parsed.status().code() == absl::StatusCode::kResourceExhausted) {  // nested too deep
    r.next = NextStep::kNextTarget;
    r.error_code = error_code::kResponseTooLarge;
    r.failure = OverLimit(parsed.status().message());
  } else {
    r.next = NextStepFor(r.outcome);
    r.error_code = error_code::kBadResponse;
    r.failure = absl::UnavailableError(absl::StrCat(
        provider_, " sent an unreadable answer: ", Scrub(parsed.status().message())));
  }
  return r;
}

AttemptResult ProviderCall::ReadStream(const HttpAnswer& answer, StreamAccumulator& stream) const {
  const aigw::v1::Outcome outcome = ClassifyAttempt(answer.transport, answer.status);
  if (outcome != aigw::v1::SUCCESS) return ReadFailure(answer, outcome);
  AttemptResult r;
  r.http_status = answer.status;
  if (stream.error().has_value()) {
    // An error inside a 200 stream: as the error answer it stands for.
    const UpstreamError& e = *stream.error();
    const Verdict verdict = ClassifyUpstreamError(e);
    r.outcome = verdict.outcome;
    r.next = verdict.next;
    r.error_code = aigw::v1::Outcome_Name(r.outcome);
    r.failure = AttemptStatus(r.outcome, e.http_status, answer.transport,
                              Scrub(absl::StrCat(e.type, e.type.empty() ? "" : ": ", e.message)));
    r.http_status = e.http_status;
    r.retry_after_ms = e.retry_after_ms;
  } else if (!stream.done() && stream.completion().finish_reason.empty()) {
    r.outcome = aigw::v1::NETWORK_ERROR;
    r.next = NextStepFor(r.outcome);
    r.error_code = error_code::kStreamInterrupted;
    r.failure = absl::UnavailableError(absl::StrCat(provider_, " ended the stream early"));
  } else {
    r.completion = stream.Take();
  }
  return r;
}

AttemptResult ProviderCall::ReadFailure(const HttpAnswer& answer,
                                        aigw::v1::Outcome outcome) const {
  AttemptResult r;
  r.outcome = outcome;
  r.next = NextStepFor(outcome);
  r.http_status = answer.status;
  const absl::Status& transport = answer.transport;
  if (transport.code() == absl::StatusCode::kResourceExhausted) {
    // The engine cut an answer over its bounds (body, headers).
    r.outcome = aigw::v1::SERVER_ERROR;
    r.next = NextStep::kNextTarget;
    r.error_code = error_code::kResponseTooLarge;
    r.failure = OverLimit(transport.message());
  } else if (answer.status >= 300 && answer.status < 400) {
    r.outcome = aigw::v1::SERVER_ERROR;
    r.next = NextStep::kNextTarget;
    r.error_code = error_code::kRedirect;
    r.failure = absl::UnavailableError(absl::StrCat(
        provider_, " answered with a redirect (HTTP ", answer.status,
        "): the gateway follows no redirects; correct the provider's base_url"));
  } else if (outcome == aigw::v1::NETWORK_ERROR) {
    r.error_code = ErrorCode(outcome, transport);
    r.failure = AttemptStatus(outcome, 0, transport, Scrub(transport.message()));
  } else {
    const UpstreamError e =
        adapter_->ParseError(answer.status, answer.body, answer.retry_after, clock_);
    const Verdict verdict = ClassifyUpstreamError(e);
    r.outcome = verdict.outcome;
    r.next = verdict.next;
    r.retry_after_ms = e.retry_after_ms;
    r.error_code = ErrorCode(r.outcome, transport);
    r.failure = AttemptStatus(r.outcome, answer.status, transport, Scrub(e.message));
  }
  return r;
}

HttpAnswer SendAndWait(http::HttpEngine& engine, http::HttpRequest request) {
  auto done = std::make_shared<std::promise<HttpAnswer>>();
  std::future<HttpAnswer> result = done->get_future();
  auto retry_after = std::make_shared<std::string>();
  http::HttpCallbacks callbacks;
  callbacks.on_headers = [retry_after](int, absl::string_view value) {
    *retry_after = std::string(value);
  };
  callbacks.on_done = [done, retry_after](absl::Status transport, int status, std::string body) {
    done->set_value(HttpAnswer{std::move(transport), status, *retry_after, std::move(body)});
  };
  engine.Start(std::move(request), std::move(callbacks));
  return result.get();
}

}  // namespace aigw::providers
