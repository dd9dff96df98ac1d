#include "libs/providers/openai_adapter.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/providers/error_body.h"
#include "libs/providers/json_util.h"

namespace aigw::providers {
namespace {

using json::Member;
using json::Str;

// Room for the JSON around the message texts, so the body is built without
// reallocating in the common case.
constexpr size_t kEnvelopeBytes = 192;
constexpr size_t kPerMessageBytes = 40;

void ReadUsage(const json::Value& u, TokenUsage* out) {
  const json::Value* prompt = Member(u, "prompt_tokens");
  const json::Value* hit = Member(u, "prompt_cache_hit_tokens");   // DeepSeek
  const json::Value* miss = Member(u, "prompt_cache_miss_tokens");  // DeepSeek
  out->prompt = json::HasCount(prompt) ? json::Count(prompt) : json::Count(hit) + json::Count(miss);
  out->completion = json::Count(Member(u, "completion_tokens"));
  const json::Value* total = Member(u, "total_tokens");
  out->total = json::HasCount(total) ? json::Count(total) : out->prompt + out->completion;
  // DeepSeek reports its cache hits in both places on newer models; its own
  // field is the authoritative one.
  out->cached_prompt = json::HasCount(hit)
                           ? json::Count(hit)
                           : json::Count(Member(Member(u, "prompt_tokens_details"), "cached_tokens"));
  out->cache_creation = 0;
  out->reasoning =
      json::Count(Member(Member(u, "completion_tokens_details"), "reasoning_tokens"));
}

// DeepSeek names it reasoning_content; several OpenAI-compatible servers
// (vLLM, OpenRouter) use "reasoning".
absl::string_view Reasoning(const json::Value* obj) {
  absl::string_view r = Str(Member(obj, "reasoning_content"));
  return r.empty() ? Str(Member(obj, "reasoning")) : r;
}

absl::Status ErrorInBody(const json::Value& root) {
  UpstreamError error;
  ReadErrorObject(root, &error);
  return absl::InternalError(absl::StrCat("upstream returned an error in a 2xx response: ",
                                          error.message.empty() ? error.type : error.message));
}

// The choice for index 0, or nullptr.
const json::Value* FirstChoice(const json::Value& root) {
  const json::Value* choices = Member(root, "choices");
  if (choices == nullptr || !choices->IsArray()) return nullptr;
  for (const json::Value& choice : choices->GetArray()) {
    if (!choice.IsObject()) continue;
    const json::Value* index = Member(choice, "index");
    if (index == nullptr || json::Count(index, -1) == 0) return &choice;
  }
  return nullptr;
}

class OpenAiStreamParser final : public SseStreamParser {
 protected:
  absl::Status OnEvent(SseEvent& event, std::vector<StreamEvent>* out) override {
    if (done()) return absl::OkStatus();  // nothing is meaningful after [DONE]
    if (absl::StripAsciiWhitespace(event.data) == "[DONE]") {
      set_done();
      Emit(StreamEvent::Kind::kDone, out);
      return absl::OkStatus();
    }
    json::ParsedJson doc;
    if (absl::Status s = doc.ParseInsitu(&event.data); !s.ok()) return s;
    const json::Value& root = doc.root();
    if (!root.IsObject()) return absl::InternalError("malformed upstream JSON: chunk is not an object");

    if (const json::Value* err = Member(root, "error"); err != nullptr && !err->IsNull()) {
      StreamEvent& e = Emit(StreamEvent::Kind::kError, out);
      ReadErrorObject(root, &e.error);
      e.error.http_status = StatusForErrorType(e.error.type, e.error.code);
      if (e.error.message.empty()) e.error.message = "upstream error inside the stream";
      return absl::OkStatus();
    }

    SeeIdentity(Str(Member(root, "id")), Str(Member(root, "model")));
    if (const json::Value* choice = FirstChoice(root); choice != nullptr) {
      const json::Value* delta = Member(*choice, "delta");
      absl::string_view content = Str(Member(delta, "content"));
      absl::string_view reasoning = Reasoning(delta);
      if (!content.empty() || !reasoning.empty()) {
        StreamEvent& e = Emit(StreamEvent::Kind::kDelta, out);
        e.delta_content.assign(content.data(), content.size());
        e.delta_reasoning.assign(reasoning.data(), reasoning.size());
      }
      absl::string_view finish = Str(Member(*choice, "finish_reason"));
      if (!finish.empty()) {
        Emit(StreamEvent::Kind::kFinish, out).finish_reason.assign(finish.data(), finish.size());
      }
    }
    // Null on every chunk but the last with include_usage; DeepSeek puts it
    // on the finish chunk.
    if (const json::Value* usage = Member(root, "usage"); usage != nullptr && usage->IsObject()) {
      ReadUsage(*usage, &Emit(StreamEvent::Kind::kUsage, out).usage);
    }
    return absl::OkStatus();
  }
};

}  // namespace

HttpRequest OpenAiAdapter::BuildRequest(const ChatParams& params, absl::string_view base_url,
                                        absl::string_view api_key) const {
  HttpRequest request;
  request.url = JoinUrl(base_url, "/chat/completions");
  request.headers.reserve(3);
  request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", api_key));
  request.headers.emplace_back("Content-Type", "application/json");
  if (params.stream) request.headers.emplace_back("Accept", "text/event-stream");

  size_t estimate = kEnvelopeBytes + params.model.size() + params.user.size();
  for (const ChatMessage& m : params.messages) {
    estimate += kPerMessageBytes + m.content.size() + m.name.size();
  }
  for (const std::string& s : params.stop) estimate += s.size() + 4;
  request.body.reserve(estimate);

  json::StringSink sink(&request.body);
  json::Writer w(sink);
  w.StartObject();
  json::Key(w, "model");
  json::String(w, params.model);
  json::Key(w, "messages");
  w.StartArray();
  for (const ChatMessage& m : params.messages) {
    w.StartObject();
    json::Key(w, "role");
    json::String(w, m.role);
    json::Key(w, "content");
    json::String(w, m.content);
    if (!m.name.empty()) {
      json::Key(w, "name");
      json::String(w, m.name);
    }
    w.EndObject();
  }
  w.EndArray();
  if (params.max_tokens.has_value()) {
    json::Key(w, "max_tokens");
    w.Int64(*params.max_tokens);
  }
  if (params.temperature.has_value()) json::DoubleField(w, "temperature", *params.temperature);
  if (params.top_p.has_value()) json::DoubleField(w, "top_p", *params.top_p);
  if (!params.stop.empty()) {
    json::Key(w, "stop");
    w.StartArray();
    for (const std::string& s : params.stop) json::String(w, s);
    w.EndArray();
  }
  if (params.stream) {
    json::Key(w, "stream");
    w.Bool(true);
    // Without this OpenAI sends no usage at all in a stream.
    json::Key(w, "stream_options");
    w.StartObject();
    json::Key(w, "include_usage");
    w.Bool(true);
    w.EndObject();
  }
  if (!params.user.empty()) {
    json::Key(w, "user");
    json::String(w, params.user);
  }
  w.EndObject();
  sink.Finish();
  return request;
}

absl::StatusOr<Completion> OpenAiAdapter::ParseResponse(absl::string_view body) const {
  json::ParsedJson doc;
  if (absl::Status s = doc.Parse(body); !s.ok()) return s;
  const json::Value& root = doc.root();
  if (!root.IsObject()) return absl::InternalError("malformed upstream JSON: not an object");
  const json::Value* choice = FirstChoice(root);
  if (choice == nullptr) {
    if (Member(root, "error") != nullptr) return ErrorInBody(root);
    return absl::InternalError("upstream response has no choices");
  }
  const json::Value* message = Member(*choice, "message");
  if (message == nullptr || !message->IsObject()) {
    return absl::InternalError("upstream response choice has no message");
  }

  Completion c;
  auto assign = [](std::string* out, absl::string_view v) { out->assign(v.data(), v.size()); };
  assign(&c.id, Str(Member(root, "id")));
  assign(&c.model, Str(Member(root, "model")));
  assign(&c.content, Str(Member(message, "content")));
  assign(&c.reasoning_content, Reasoning(message));
  assign(&c.finish_reason, Str(Member(*choice, "finish_reason")));
  if (const json::Value* usage = Member(root, "usage"); usage != nullptr && usage->IsObject()) {
    ReadUsage(*usage, &c.usage);
    c.has_usage = true;
  }
  return c;
}

std::unique_ptr<StreamParser> OpenAiAdapter::NewStreamParser() const {
  return std::make_unique<OpenAiStreamParser>();
}

HttpRequest OpenAiAdapter::BuildListModelsRequest(absl::string_view base_url,
                                                  absl::string_view api_key) const {
  HttpRequest request;
  request.method = "GET";
  request.url = JoinUrl(base_url, "/models");
  request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", api_key));
  return request;
}

absl::StatusOr<std::vector<ModelInfo>> OpenAiAdapter::ParseModelList(
    absl::string_view body) const {
  return ParseModelListData(body);
}

}  // namespace aigw::providers
