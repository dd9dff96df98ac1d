#include "tests/fault/fault_callers.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace aigw::fault {
namespace {

// Calls are short (the fake upstream answers in ~5 ms); a client that sees
// no answer in this long counts the call as unanswered.
constexpr absl::Duration kCallDeadline = absl::Seconds(20);
constexpr absl::Duration kPauseAfterFailure = absl::Milliseconds(20);

// One rotation of 20 calls per client.
CallKind KindAt(int64_t n) {
  const int slot = static_cast<int>(n % 20);
  if (slot < 11) return CallKind::kUnary;
  if (slot < 15) return CallKind::kStream;
  if (slot < 17) return CallKind::kFallback;
  if (slot < 19) return CallKind::kRefused;
  return CallKind::kInvalid;
}

aigw::v1::ChatCompletionRequest RequestFor(CallKind kind, const std::string& request_id) {
  aigw::v1::ChatCompletionRequest r;
  r.set_request_id(request_id);
  r.set_provider_code("openai");
  r.set_model("gpt-4o-mini");
  r.mutable_caller()->set_user_id("fault-harness");
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content(absl::StrCat("a line about rain for ", request_id));
  switch (kind) {
    case CallKind::kUnary:
    case CallKind::kStream:
      break;
    case CallKind::kFallback: {
      r.set_provider_code("deepseek");
      r.set_model("deepseek-chat");
      auto* f = r.add_fallbacks();
      f->set_provider_code("openai");
      f->set_model("gpt-4o-mini");
      break;
    }
    case CallKind::kRefused:
      r.set_model("gpt-3.5-turbo");
      break;
    case CallKind::kInvalid:
      r.set_temperature(5);
      break;
  }
  return r;
}

}  // namespace

std::string CallKindName(CallKind kind) {
  switch (kind) {
    case CallKind::kUnary:
      return "unary";
    case CallKind::kStream:
      return "stream";
    case CallKind::kFallback:
      return "fallback";
    case CallKind::kRefused:
      return "refused";
    case CallKind::kInvalid:
      return "invalid";
  }
  return "?";
}

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

FaultCallers::FaultCallers(const std::vector<std::string>& gateway_targets,
                           std::string bearer_token, int clients)
    : token_(std::move(bearer_token)), clients_(clients) {
  for (const std::string& target : gateway_targets) {
    stubs_.push_back(aigw::v1::ChatService::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials())));
  }
}

FaultCallers::~FaultCallers() { (void)Stop(); }

void FaultCallers::Start(const std::string& prefix) {
  prefix_ = prefix;
  stop_ = false;
  for (int i = 0; i < clients_; ++i) threads_.emplace_back([this, i] { Run(i); });
}

std::vector<CallRecord> FaultCallers::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  absl::MutexLock lock(&mu_);
  return std::move(records_);
}

void FaultCallers::Run(int client) {
  // Clients start at different points of the rotation.
  for (int64_t n = client * 7; !stop_.load(); ++n) {
    const std::string request_id = absl::StrCat(prefix_, "-c", client, "-", n);
    CallRecord r = Call(*stubs_[client % stubs_.size()], KindAt(n), request_id);
    // A failed call is tried again a little later, as a real client would,
    // rather than thousands of times a second while something is down.
    const bool pause = r.code != grpc::StatusCode::OK;
    {
      absl::MutexLock lock(&mu_);
      records_.push_back(std::move(r));
    }
    if (pause) absl::SleepFor(kPauseAfterFailure);
  }
}

CallRecord FaultCallers::Call(aigw::v1::ChatService::Stub& stub, CallKind kind,
                              const std::string& request_id) {
  CallRecord rec;
  rec.request_id = request_id;
  rec.kind = kind;
  const aigw::v1::ChatCompletionRequest request = RequestFor(kind, request_id);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token_);
  rec.start = absl::Now();
  ctx.set_deadline(absl::ToChronoTime(rec.start + kCallDeadline));
  grpc::Status st;
  if (kind == CallKind::kStream) {
    std::unique_ptr<grpc::ClientReader<aigw::v1::ChatCompletionChunk>> reader =
        stub.StreamChatCompletion(&ctx, request);
    aigw::v1::ChatCompletionChunk chunk;
    while (reader->Read(&chunk)) {
      if (chunk.attempts() > 0) {  // the last chunk: usage, cost, attempts
        rec.attempts = chunk.attempts();
        rec.prompt_tokens = chunk.usage().prompt_tokens();
        rec.completion_tokens = chunk.usage().completion_tokens();
        rec.total_tokens = chunk.usage().total_tokens();
        rec.cost_nanos = chunk.cost_nanos();
      }
    }
    st = reader->Finish();
  } else {
    aigw::v1::ChatCompletion out;
    st = stub.CreateChatCompletion(&ctx, request, &out);
    if (st.ok()) {
      rec.attempts = out.attempts();
      rec.prompt_tokens = out.usage().prompt_tokens();
      rec.completion_tokens = out.usage().completion_tokens();
      rec.total_tokens = out.usage().total_tokens();
      rec.cost_nanos = out.cost_nanos();
    }
  }
  rec.end = absl::Now();
  rec.code = st.error_code();
  rec.message = st.error_message();
  return rec;
}

}  // namespace aigw::fault
