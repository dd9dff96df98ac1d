#include "libs/providers/openai_adapter.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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

bool IsDeepSeek(absl::string_view model) { return absl::StartsWithIgnoreCase(model, "deepseek"); }

// {"type":"text","text":...} / {"type":"image_url","image_url":{"url","detail"?}}
void WriteParts(json::Writer& w, const std::vector<ContentPart>& parts) {
  w.StartArray();
  for (const ContentPart& part : parts) {
    w.StartObject();
    json::Key(w, "type");
    if (part.kind == ContentPart::Kind::kImageUrl) {
      json::String(w, "image_url");
      json::Key(w, "image_url");
      w.StartObject();
      json::Key(w, "url");
      json::String(w, part.url);
      if (!part.detail.empty()) {
        json::Key(w, "detail");
        json::String(w, part.detail);
      }
      w.EndObject();
    } else {
      json::String(w, "text");
      json::Key(w, "text");
      json::String(w, part.text);
    }
    w.EndObject();
  }
  w.EndArray();
}

// "tool_calls":[{"id","type":"function","function":{"name","arguments"}}]
void WriteToolCalls(json::Writer& w, const std::vector<ToolCall>& calls) {
  json::Key(w, "tool_calls");
  w.StartArray();
  for (const ToolCall& call : calls) {
    w.StartObject();
    json::Key(w, "id");
    json::String(w, call.id);
    json::Key(w, "type");
    json::String(w, "function");
    json::Key(w, "function");
    w.StartObject();
    json::Key(w, "name");
    json::String(w, call.name);
    json::Key(w, "arguments");
    json::String(w, call.arguments_json.empty() ? absl::string_view("{}") : call.arguments_json);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
}

void WriteMessage(json::Writer& w, const ChatMessage& m) {
  w.StartObject();
  json::Key(w, "role");
  json::String(w, m.role);
  json::Key(w, "content");
  if (!m.parts.empty()) {
    WriteParts(w, m.parts);
  } else if (m.content.empty() && !m.tool_calls.empty()) {
    w.Null();  // an assistant turn that only calls tools
  } else {
    json::String(w, m.content);
  }
  if (!m.tool_calls.empty()) WriteToolCalls(w, m.tool_calls);
  if (m.role == "tool") {
    json::Key(w, "tool_call_id");
    json::String(w, m.tool_call_id);
  } else if (!m.name.empty()) {
    json::Key(w, "name");
    json::String(w, m.name);
  }
  w.EndObject();
}

// "tools":[{"type":"function","function":{"name","description","parameters","strict"}}]
void WriteTools(json::Writer& w, const std::vector<ToolDefinition>& tools) {
  json::Key(w, "tools");
  w.StartArray();
  for (const ToolDefinition& tool : tools) {
    w.StartObject();
    json::Key(w, "type");
    json::String(w, "function");
    json::Key(w, "function");
    w.StartObject();
    json::Key(w, "name");
    json::String(w, tool.name);
    if (!tool.description.empty()) {
      json::Key(w, "description");
      json::String(w, tool.description);
    }
    if (!tool.parameters_json.empty()) {
      json::Key(w, "parameters");
      json::WriteJsonObjectOrEmpty(w, tool.parameters_json);
    }
    if (tool.strict) {
      json::Key(w, "strict");
      w.Bool(true);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
}

// "auto" | "none" | "required" | {"type":"function","function":{"name"}}
void WriteToolChoice(json::Writer& w, const ToolChoice& choice) {
  if (choice.mode.empty()) return;
  json::Key(w, "tool_choice");
  if (choice.mode == "tool") {
    w.StartObject();
    json::Key(w, "type");
    json::String(w, "function");
    json::Key(w, "function");
    w.StartObject();
    json::Key(w, "name");
    json::String(w, choice.name);
    w.EndObject();
    w.EndObject();
  } else {
    json::String(w, choice.mode);
  }
}

// OpenAI: {"type":"json_object"} or {"type":"json_schema","json_schema":
// {"name","schema","strict"}}. DeepSeek takes json_object only, so a schema
// becomes json_object plus DeepSeekSchemaInstruction.
void WriteResponseFormat(json::Writer& w, const ResponseFormat& format, bool deepseek) {
  if (!format.IsJson()) return;
  json::Key(w, "response_format");
  w.StartObject();
  json::Key(w, "type");
  if (format.type == "json_object" || deepseek) {
    json::String(w, "json_object");
  } else {
    json::String(w, "json_schema");
    json::Key(w, "json_schema");
    w.StartObject();
    json::Key(w, "name");
    json::String(w, format.name.empty() ? absl::string_view("response") : format.name);
    json::Key(w, "schema");
    json::WriteJsonObjectOrEmpty(w, format.schema_json);
    if (format.strict) {
      json::Key(w, "strict");
      w.Bool(true);
    }
    w.EndObject();
  }
  w.EndObject();
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

// The body's size, roughly, so it is written without growing.
size_t EstimateBody(const ChatParams& params) {
  size_t estimate = kEnvelopeBytes + params.model.size() + params.user.size();
  for (const ChatMessage& m : params.messages) {
    estimate += kPerMessageBytes + m.content.size() + m.name.size();
  }
  for (const std::string& s : params.stop) estimate += s.size() + 4;
  return estimate;
}

// "messages", led on DeepSeek by the system message standing in for a JSON
// Schema. Plain text turns are written inline: the usual case.
void WriteMessages(json::Writer& w, const ChatParams& params, bool deepseek) {
  json::Key(w, "messages");
  w.StartArray();
  if (deepseek && params.response_format.type == "json_schema") {
    w.StartObject();
    json::Key(w, "role");
    json::String(w, "system");
    json::Key(w, "content");
    json::String(w, DeepSeekSchemaInstruction(params.response_format));
    w.EndObject();
  }
  for (const ChatMessage& m : params.messages) {
    if (!m.IsPlainText()) {
      WriteMessage(w, m);
      continue;
    }
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
}

// max_tokens, temperature, top_p and stop, as given.
void WriteSampling(json::Writer& w, const ChatParams& params) {
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
}

void WriteStream(json::Writer& w) {
  json::Key(w, "stream");
  w.Bool(true);
  // Without this OpenAI sends no usage at all in a stream.
  json::Key(w, "stream_options");
  w.StartObject();
  json::Key(w, "include_usage");
  w.Bool(true);
  w.EndObject();
}

void WritePenaltiesAndSeed(json::Writer& w, const ChatParams& params, bool deepseek) {
  if (params.presence_penalty.has_value()) {
    json::DoubleField(w, "presence_penalty", *params.presence_penalty);
  }
  if (params.frequency_penalty.has_value()) {
    json::DoubleField(w, "frequency_penalty", *params.frequency_penalty);
  }
  if (params.seed.has_value() && !deepseek) {  // DeepSeek takes no seed
    json::Key(w, "seed");
    w.Int64(*params.seed);
  }
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
      if (const json::Value* calls = Member(delta, "tool_calls");
          calls != nullptr && calls->IsArray()) {
        for (const json::Value& call : calls->GetArray()) EmitToolCall(call, out);
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

 private:
  // One entry of delta.tool_calls: {index, id?, type?, function:{name?,
  // arguments?}}. The upstream's index is renumbered densely from 0 in the
  // order calls first appear.
  void EmitToolCall(const json::Value& call, std::vector<StreamEvent>* out) {
    const int64_t upstream_index = json::Count(Member(call, "index"), 0);
    int index = 0;
    while (index < static_cast<int>(indexes_.size()) && indexes_[index] != upstream_index) ++index;
    if (index == static_cast<int>(indexes_.size())) indexes_.push_back(upstream_index);
    const json::Value* function = Member(call, "function");
    absl::string_view id = Str(Member(call, "id"));
    absl::string_view name = Str(Member(function, "name"));
    absl::string_view arguments = Str(Member(function, "arguments"));
    if (id.empty() && name.empty() && arguments.empty()) return;  // nothing to pass on
    StreamEvent& e = Emit(StreamEvent::Kind::kToolCall, out);
    e.tool_call.index = index;
    e.tool_call.id.assign(id.data(), id.size());
    e.tool_call.name.assign(name.data(), name.size());
    e.tool_call.arguments_delta.assign(arguments.data(), arguments.size());
  }

  std::vector<int64_t> indexes_;  // upstream index of each call, by position
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

  request.body.reserve(EstimateBody(params));
  json::StringSink sink(&request.body);
  json::Writer w(sink);
  w.StartObject();
  json::Key(w, "model");
  json::String(w, params.model);
  const bool deepseek = IsDeepSeek(params.model);
  WriteMessages(w, params, deepseek);
  WriteSampling(w, params);
  if (params.stream) WriteStream(w);
  if (!params.user.empty()) {
    json::Key(w, "user");
    json::String(w, params.user);
  }
  WritePenaltiesAndSeed(w, params, deepseek);
  // OpenAI refuses tool_choice and parallel_tool_calls without tools.
  if (!params.tools.empty()) {
    WriteTools(w, params.tools);
    WriteToolChoice(w, params.tool_choice);
    if (params.parallel_tool_calls.has_value()) {
      json::Key(w, "parallel_tool_calls");
      w.Bool(*params.parallel_tool_calls);
    }
  }
  WriteResponseFormat(w, params.response_format, deepseek);
  w.EndObject();
  sink.Finish();
  return request;
}

std::string DeepSeekSchemaInstruction(const ResponseFormat& format) {
  return absl::StrCat(
      "Reply with one JSON object only, no other text. It must conform to this JSON Schema",
      format.name.empty() ? "" : absl::StrCat(" (", format.name, ")"), ": ", format.schema_json);
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
  if (const json::Value* calls = Member(message, "tool_calls"); calls != nullptr && calls->IsArray()) {
    c.tool_calls.reserve(calls->Size());
    for (const json::Value& call : calls->GetArray()) {
      const json::Value* function = Member(call, "function");
      ToolCall& out = c.tool_calls.emplace_back();
      assign(&out.id, Str(Member(call, "id")));
      assign(&out.name, Str(Member(function, "name")));
      assign(&out.arguments_json, Str(Member(function, "arguments")));
    }
  }
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

}  // namespace aigw::providers
