#include "libs/providers/anthropic_adapter.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/providers/error_body.h"
#include "libs/providers/json_util.h"

namespace aigw::providers {
namespace {

using json::Member;
using json::Str;

constexpr size_t kEnvelopeBytes = 224;
constexpr size_t kPerMessageBytes = 40;
constexpr absl::string_view kJoiner = "\n\n";

bool IsSystem(absl::string_view role) { return role == "system" || role == "developer"; }

absl::string_view WireRole(absl::string_view role) {
  return role == "assistant" ? absl::string_view("assistant") : absl::string_view("user");
}

// Raw Anthropic counts; only normalised on the way out.
struct RawUsage {
  int64_t input = 0;
  int64_t cache_creation = 0;
  int64_t cache_read = 0;
  int64_t output = 0;

  // Fields absent from `u` keep their value: message_delta usage is
  // cumulative and may carry only output_tokens.
  void Update(const json::Value& u) {
    auto update = [&u](absl::string_view key, int64_t* field) {
      const json::Value* v = Member(u, key);
      if (json::HasCount(v)) *field = json::Count(v);
    };
    update("input_tokens", &input);
    update("cache_creation_input_tokens", &cache_creation);
    update("cache_read_input_tokens", &cache_read);
    update("output_tokens", &output);
  }

  TokenUsage Normalised() const {
    TokenUsage t;
    t.prompt = input + cache_creation + cache_read;
    t.completion = output;
    t.total = t.prompt + t.completion;
    t.cached_prompt = cache_read;
    t.cache_creation = cache_creation;
    t.reasoning = 0;  // Anthropic does not split thinking out of output_tokens
    return t;
  }
};

bool IsToolResult(const ChatMessage& m) { return m.role == "tool" || !m.tool_call_id.empty(); }

// A data: URL split into its media type and base64 payload; false when it
// is not a base64 data: URL.
bool SplitDataUrl(absl::string_view url, absl::string_view* media_type, absl::string_view* data) {
  if (!absl::ConsumePrefix(&url, "data:")) return false;
  const size_t comma = url.find(',');
  if (comma == absl::string_view::npos) return false;
  absl::string_view header = url.substr(0, comma);
  if (!absl::ConsumeSuffix(&header, ";base64")) return false;
  *media_type = header.substr(0, header.find(';'));
  *data = url.substr(comma + 1);
  return true;
}

void WriteTextBlock(json::Writer& w, absl::string_view text) {
  if (text.empty()) return;  // Anthropic refuses empty text blocks
  w.StartObject();
  json::Key(w, "type");
  json::String(w, "text");
  json::Key(w, "text");
  json::String(w, text);
  w.EndObject();
}

// {"type":"image","source":{"type":"base64","media_type","data"}} for a
// data: URL, {"type":"image","source":{"type":"url","url"}} otherwise.
void WriteImageBlock(json::Writer& w, absl::string_view url) {
  w.StartObject();
  json::Key(w, "type");
  json::String(w, "image");
  json::Key(w, "source");
  w.StartObject();
  absl::string_view media_type;
  absl::string_view data;
  json::Key(w, "type");
  if (SplitDataUrl(url, &media_type, &data)) {
    json::String(w, "base64");
    json::Key(w, "media_type");
    json::String(w, media_type);
    json::Key(w, "data");
    json::String(w, data);
  } else {
    json::String(w, "url");
    json::Key(w, "url");
    json::String(w, url);
  }
  w.EndObject();
  w.EndObject();
}

// The message's text and images as blocks.
void WriteContentBlocks(json::Writer& w, const ChatMessage& m) {
  if (m.parts.empty()) {
    WriteTextBlock(w, m.content);
    return;
  }
  for (const ContentPart& part : m.parts) {
    if (part.kind == ContentPart::Kind::kImageUrl) {
      WriteImageBlock(w, part.url);
    } else {
      WriteTextBlock(w, part.text);
    }
  }
}

// {"type":"tool_result","tool_use_id","content"}: the content a string, or
// text and image blocks when the tool turn has parts.
void WriteToolResultBlock(json::Writer& w, const ChatMessage& m) {
  w.StartObject();
  json::Key(w, "type");
  json::String(w, "tool_result");
  json::Key(w, "tool_use_id");
  json::String(w, m.tool_call_id);
  json::Key(w, "content");
  if (m.parts.empty()) {
    json::String(w, m.content);
  } else {
    w.StartArray();
    WriteContentBlocks(w, m);
    w.EndArray();
  }
  w.EndObject();
}

// {"type":"tool_use","id","name","input"}: the arguments as an object
// ({} when they are not one).
void WriteToolUseBlock(json::Writer& w, const ToolCall& call) {
  w.StartObject();
  json::Key(w, "type");
  json::String(w, "tool_use");
  json::Key(w, "id");
  json::String(w, call.id);
  json::Key(w, "name");
  json::String(w, call.name);
  json::Key(w, "input");
  json::WriteJsonObjectOrEmpty(w, call.arguments_json);
  w.EndObject();
}

// Writes the run of `count` non-system messages in [begin, end) as one
// message; messages[begin] is the first of them. A run of plain text turns
// is one string (joined with a blank line); any other run is an array of
// blocks, the run's tool results first (Anthropic wants the results of the
// previous turn's tool_use blocks at the start of the next user turn).
void WriteRun(json::Writer& w, const ChatParams& params, size_t begin, size_t end, size_t count,
              absl::string_view role, std::string* scratch) {
  w.StartObject();
  json::Key(w, "role");
  json::String(w, role);
  json::Key(w, "content");
  bool plain = true;
  for (size_t i = begin; i < end && plain; ++i) plain = params.messages[i].IsPlainText();
  if (!plain) {
    w.StartArray();
    for (size_t i = begin; i < end; ++i) {
      const ChatMessage& m = params.messages[i];
      if (!IsSystem(m.role) && IsToolResult(m)) WriteToolResultBlock(w, m);
    }
    for (size_t i = begin; i < end; ++i) {
      const ChatMessage& m = params.messages[i];
      if (IsSystem(m.role) || IsToolResult(m)) continue;
      WriteContentBlocks(w, m);
      for (const ToolCall& call : m.tool_calls) WriteToolUseBlock(w, call);
    }
    w.EndArray();
  } else if (count == 1) {
    json::String(w, params.messages[begin].content);  // the usual case: no copy
  } else {
    scratch->clear();
    for (size_t i = begin; i < end; ++i) {
      if (IsSystem(params.messages[i].role)) continue;
      if (i != begin) scratch->append(kJoiner.data(), kJoiner.size());
      scratch->append(params.messages[i].content);
    }
    json::String(w, *scratch);
  }
  w.EndObject();
}

bool HasToolHistory(const ChatParams& params) {
  for (const ChatMessage& m : params.messages) {
    if (!m.tool_calls.empty() || IsToolResult(m)) return true;
  }
  return false;
}

void WriteToolDefinition(json::Writer& w, absl::string_view name, absl::string_view description,
                         absl::string_view schema_json) {
  w.StartObject();
  json::Key(w, "name");
  json::String(w, name);
  if (!description.empty()) {
    json::Key(w, "description");
    json::String(w, description);
  }
  json::Key(w, "input_schema");
  if (!json::WriteJsonObject(w, schema_json)) {
    // No (usable) parameters: Anthropic still wants an object schema.
    w.StartObject();
    json::Key(w, "type");
    json::String(w, "object");
    json::Key(w, "properties");
    w.StartObject();
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
}

// tools, tool_choice and the structured-output tool. See the header.
void WriteTools(json::Writer& w, const ChatParams& params) {
  const bool structured = params.response_format.IsJson();
  const ToolChoice& choice = params.tool_choice;
  // "none" offers no tools, unless earlier turns used them: Anthropic wants
  // the definitions whenever tool_use or tool_result blocks are present.
  const bool none = choice.mode == "none";
  const bool offer_user_tools = !params.tools.empty() && (!none || HasToolHistory(params));
  if (!offer_user_tools && !structured) return;
  json::Key(w, "tools");
  w.StartArray();
  if (offer_user_tools) {
    for (const ToolDefinition& tool : params.tools) {
      WriteToolDefinition(w, tool.name, tool.description, tool.parameters_json);
    }
  }
  if (structured) {
    WriteToolDefinition(
        w, AnthropicAdapter::kStructuredOutputTool,
        "Give your final answer by calling this tool: its input is the answer, a JSON object.",
        params.response_format.type == "json_schema" ? params.response_format.schema_json
                                                     : absl::string_view("{\"type\":\"object\"}"));
  }
  w.EndArray();

  std::string type;
  absl::string_view name;
  if (structured && (!offer_user_tools || none)) {
    type = "tool";  // the answer must come through the structured-output tool
    name = AnthropicAdapter::kStructuredOutputTool;
  } else if (none) {
    type = "none";
  } else if (choice.mode == "required") {
    type = "any";
  } else if (choice.mode == "tool") {
    type = "tool";
    name = choice.name;
  } else if (choice.mode == "auto" || params.parallel_tool_calls == false) {
    type = "auto";
  } else {
    return;  // Anthropic's default
  }
  json::Key(w, "tool_choice");
  w.StartObject();
  json::Key(w, "type");
  json::String(w, type);
  if (!name.empty()) {
    json::Key(w, "name");
    json::String(w, name);
  }
  if (params.parallel_tool_calls == false && type != "none") {
    json::Key(w, "disable_parallel_tool_use");
    w.Bool(true);
  }
  w.EndObject();
}

// The body's size, roughly (so it is written without growing), and the
// system turns' count and bytes (they are joined into one "system").
struct BodyEstimate {
  size_t bytes = 0;
  size_t system_count = 0;
  size_t system_bytes = 0;
};

BodyEstimate EstimateBody(const ChatParams& params) {
  BodyEstimate e;
  e.bytes = kEnvelopeBytes + params.model.size() + params.user.size();
  for (const ChatMessage& m : params.messages) {
    e.bytes += kPerMessageBytes + m.content.size();
    for (const ContentPart& part : m.parts) e.bytes += part.text.size() + part.url.size() + 64;
    if (IsSystem(m.role)) {
      ++e.system_count;
      e.system_bytes += m.content.size() + kJoiner.size();
    }
  }
  for (const std::string& s : params.stop) e.bytes += s.size() + 4;
  return e;
}

// "system": the one system turn's content as it is, or all system turns'
// text joined with a blank line; nothing when there is none.
void WriteSystem(json::Writer& w, const ChatParams& params, const BodyEstimate& estimate,
                 std::string* scratch) {
  if (estimate.system_count == 0) return;
  json::Key(w, "system");
  const ChatMessage* only = nullptr;
  for (const ChatMessage& m : params.messages) {
    if (IsSystem(m.role)) only = &m;
  }
  if (estimate.system_count == 1 && only->parts.empty()) {
    json::String(w, only->content);
    return;
  }
  scratch->reserve(estimate.system_bytes);
  for (const ChatMessage& m : params.messages) {
    if (!IsSystem(m.role)) continue;
    if (m.parts.empty()) {
      if (!scratch->empty()) scratch->append(kJoiner.data(), kJoiner.size());
      scratch->append(m.content);
    }
    for (const ContentPart& part : m.parts) {  // a system turn's text parts
      if (part.kind != ContentPart::Kind::kText) continue;
      if (!scratch->empty()) scratch->append(kJoiner.data(), kJoiner.size());
      scratch->append(part.text);
    }
  }
  json::String(w, *scratch);
}

// "messages": runs of same-role messages become one message. System
// messages between two user messages do not break the run: they have left
// the list.
void WriteMessages(json::Writer& w, const ChatParams& params, std::string* scratch) {
  json::Key(w, "messages");
  w.StartArray();
  size_t begin = 0;
  size_t end = 0;  // one past the run's last non-system message
  size_t count = 0;
  absl::string_view run_role;
  for (size_t i = 0; i < params.messages.size(); ++i) {
    const ChatMessage& m = params.messages[i];
    if (IsSystem(m.role)) continue;
    absl::string_view role = WireRole(m.role);
    if (count > 0 && role == run_role) {
      end = i + 1;
      ++count;
      continue;
    }
    if (count > 0) WriteRun(w, params, begin, end, count, run_role, scratch);
    begin = i;
    end = i + 1;
    count = 1;
    run_role = role;
  }
  if (count > 0) WriteRun(w, params, begin, end, count, run_role, scratch);
  w.EndArray();
}

// Sampling, stop sequences, stream, tools and metadata: the fields after
// the messages.
void WriteOptions(json::Writer& w, const ChatParams& params) {
  if (params.temperature.has_value()) {
    json::DoubleField(w, "temperature", std::clamp(*params.temperature, 0.0, 1.0));
  }
  if (params.top_p.has_value()) json::DoubleField(w, "top_p", *params.top_p);
  if (!params.stop.empty()) {
    json::Key(w, "stop_sequences");
    w.StartArray();
    for (const std::string& s : params.stop) json::String(w, s);
    w.EndArray();
  }
  if (params.stream) {
    json::Key(w, "stream");
    w.Bool(true);
  }
  if (!params.tools.empty() || params.response_format.IsJson()) WriteTools(w, params);
  if (!params.user.empty()) {
    json::Key(w, "metadata");
    w.StartObject();
    json::Key(w, "user_id");
    json::String(w, params.user);
    w.EndObject();
  }
}

class AnthropicStreamParser final : public SseStreamParser {
 protected:
  absl::Status OnEvent(SseEvent& event, std::vector<StreamEvent>* out) override {
    if (done()) return absl::OkStatus();
    json::ParsedJson doc;
    if (absl::Status s = doc.ParseInsitu(&event.data); !s.ok()) return s;
    const json::Value& root = doc.root();
    if (!root.IsObject()) return absl::InternalError("malformed upstream JSON: event is not an object");
    absl::string_view type = Str(Member(root, "type"));
    if (type.empty()) type = event.type;

    if (type == "content_block_delta") {
      const json::Value* delta = Member(root, "delta");
      absl::string_view kind = Str(Member(delta, "type"));
      if (kind == "text_delta") {
        EmitText(Str(Member(delta, "text")), {}, out);
      } else if (kind == "thinking_delta") {
        EmitText({}, Str(Member(delta, "thinking")), out);
      } else if (kind == "input_json_delta") {
        EmitArguments(json::Count(Member(root, "index"), -1), Str(Member(delta, "partial_json")),
                      out);
      }
      // signature_delta carries nothing the gateway forwards.
    } else if (type == "message_start") {
      const json::Value* message = Member(root, "message");
      SeeIdentity(Str(Member(message, "id")), Str(Member(message, "model")));
      UpdateUsage(Member(message, "usage"));
    } else if (type == "content_block_start") {
      // The block's initial text is normally empty, but is content if not.
      const json::Value* block = Member(root, "content_block");
      absl::string_view kind = Str(Member(block, "type"));
      if (kind == "text") {
        EmitText(Str(Member(block, "text")), {}, out);
      } else if (kind == "thinking") {
        EmitText({}, Str(Member(block, "thinking")), out);
      } else if (kind == "tool_use") {
        StartToolUse(json::Count(Member(root, "index"), -1), *block, out);
      }
    } else if (type == "message_delta") {
      absl::string_view stop = Str(Member(Member(root, "delta"), "stop_reason"));
      if (!stop.empty()) {
        std::string finish = MapAnthropicStopReason(stop);
        // Only the structured-output tool was called: the answer is complete.
        if (finish == "tool_calls" && structured_block_ >= 0 && tool_blocks_.empty()) finish = "stop";
        Emit(StreamEvent::Kind::kFinish, out).finish_reason = std::move(finish);
      }
      UpdateUsage(Member(root, "usage"));
      FlushUsage(out);
    } else if (type == "message_stop") {
      FlushUsage(out);
      set_done();
      Emit(StreamEvent::Kind::kDone, out);
    } else if (type == "error") {
      StreamEvent& e = Emit(StreamEvent::Kind::kError, out);
      ReadErrorObject(root, &e.error);
      e.error.http_status = StatusForErrorType(e.error.type, e.error.code);
      if (e.error.message.empty()) e.error.message = "upstream error inside the stream";
    }
    // ping, content_block_stop and event types added later are ignored, as
    // Anthropic's versioning policy asks.
    return absl::OkStatus();
  }

 private:
  // content_block_start of a tool_use block: the call's first delta (id and
  // name; the input arrives as input_json_delta pieces, the start's own
  // input being {}), numbered densely from 0. The structured-output tool's
  // input is the answer's content instead.
  void StartToolUse(int64_t block_index, const json::Value& block, std::vector<StreamEvent>* out) {
    absl::string_view name = json::StrMember(block, "name");
    if (name == AnthropicAdapter::kStructuredOutputTool) {
      structured_block_ = block_index;
      return;
    }
    StreamEvent& e = Emit(StreamEvent::Kind::kToolCall, out);
    e.tool_call.index = static_cast<int>(tool_blocks_.size());
    absl::string_view id = json::StrMember(block, "id");
    e.tool_call.id.assign(id.data(), id.size());
    e.tool_call.name.assign(name.data(), name.size());
    tool_blocks_.push_back(block_index);
  }

  void EmitArguments(int64_t block_index, absl::string_view partial_json,
                     std::vector<StreamEvent>* out) {
    if (partial_json.empty()) return;
    if (block_index == structured_block_) {
      EmitText(partial_json, {}, out);
      return;
    }
    for (size_t i = 0; i < tool_blocks_.size(); ++i) {
      if (tool_blocks_[i] != block_index) continue;
      StreamEvent& e = Emit(StreamEvent::Kind::kToolCall, out);
      e.tool_call.index = static_cast<int>(i);
      e.tool_call.arguments_delta.assign(partial_json.data(), partial_json.size());
      return;
    }
  }

  void EmitText(absl::string_view content, absl::string_view reasoning,
                std::vector<StreamEvent>* out) {
    if (content.empty() && reasoning.empty()) return;
    StreamEvent& e = Emit(StreamEvent::Kind::kDelta, out);
    e.delta_content.assign(content.data(), content.size());
    e.delta_reasoning.assign(reasoning.data(), reasoning.size());
  }

  void UpdateUsage(const json::Value* usage) {
    if (usage == nullptr || !usage->IsObject()) return;
    raw_.Update(*usage);
    usage_dirty_ = true;
  }

  // message_start's counts are provisional (output_tokens 1), so usage is
  // reported at message_delta, or at message_stop if no delta carried it.
  void FlushUsage(std::vector<StreamEvent>* out) {
    if (!usage_dirty_) return;
    usage_dirty_ = false;
    Emit(StreamEvent::Kind::kUsage, out).usage = raw_.Normalised();
  }

  RawUsage raw_;
  bool usage_dirty_ = false;
  std::vector<int64_t> tool_blocks_;  // Anthropic block index of each tool call
  int64_t structured_block_ = -2;    // the structured-output tool's block, if any
};

}  // namespace

std::string MapAnthropicStopReason(absl::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence" || stop_reason == "pause_turn") {
    return "stop";
  }
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return std::string(stop_reason);
}

HttpRequest AnthropicAdapter::BuildRequest(const ChatParams& params, absl::string_view base_url,
                                           absl::string_view api_key) const {
  HttpRequest request;
  request.url = JoinUrl(base_url, "/v1/messages");
  request.headers.reserve(4);
  request.headers.emplace_back("x-api-key", std::string(api_key));
  request.headers.emplace_back("anthropic-version", std::string(kApiVersion));
  request.headers.emplace_back("content-type", "application/json");
  if (params.stream) request.headers.emplace_back("accept", "text/event-stream");

  const BodyEstimate estimate = EstimateBody(params);
  request.body.reserve(estimate.bytes);
  json::StringSink sink(&request.body);
  json::Writer w(sink);
  w.StartObject();
  json::Key(w, "model");
  json::String(w, params.model);
  json::Key(w, "max_tokens");
  w.Int64(params.max_tokens.value_or(
      params.model_max_output_tokens > 0 ? params.model_max_output_tokens : kDefaultMaxTokens));
  std::string scratch;
  WriteSystem(w, params, estimate, &scratch);
  WriteMessages(w, params, &scratch);
  WriteOptions(w, params);
  w.EndObject();
  sink.Finish();
  return request;
}

absl::StatusOr<Completion> AnthropicAdapter::ParseResponse(absl::string_view body) const {
  json::ParsedJson doc;
  if (absl::Status s = doc.Parse(body); !s.ok()) return s;
  const json::Value& root = doc.root();
  if (!root.IsObject()) return absl::InternalError("malformed upstream JSON: not an object");
  if (json::StrMember(root, "type") == "error") {
    UpstreamError error;
    ReadErrorObject(root, &error);
    return absl::InternalError(absl::StrCat("upstream returned an error in a 2xx response: ",
                                            error.message.empty() ? error.type : error.message));
  }
  const json::Value* content = Member(root, "content");
  if (content == nullptr || !content->IsArray()) {
    return absl::InternalError("upstream response has no content array");
  }

  Completion c;
  auto assign = [](std::string* out, absl::string_view v) { out->assign(v.data(), v.size()); };
  assign(&c.id, Str(Member(root, "id")));
  assign(&c.model, Str(Member(root, "model")));
  bool structured = false;
  for (const json::Value& block : content->GetArray()) {
    absl::string_view type = json::StrMember(block, "type");
    if (type == "text") {
      absl::string_view text = json::StrMember(block, "text");
      c.content.append(text.data(), text.size());
    } else if (type == "thinking") {
      absl::string_view thinking = json::StrMember(block, "thinking");
      c.reasoning_content.append(thinking.data(), thinking.size());
    } else if (type == "tool_use") {
      const json::Value* input = Member(block, "input");
      std::string arguments = input != nullptr && input->IsObject() ? json::ToJsonText(*input) : "{}";
      absl::string_view name = json::StrMember(block, "name");
      if (name == AnthropicAdapter::kStructuredOutputTool) {
        structured = true;
        c.content.append(arguments);  // the emulated response_format's answer
        continue;
      }
      ToolCall& call = c.tool_calls.emplace_back();
      call.id = std::string(json::StrMember(block, "id"));
      call.name = std::string(name);
      call.arguments_json = std::move(arguments);
    }
  }
  absl::string_view stop = Str(Member(root, "stop_reason"));
  if (!stop.empty()) c.finish_reason = MapAnthropicStopReason(stop);
  // Only the structured-output tool was called: the answer is complete.
  if (structured && c.tool_calls.empty() && c.finish_reason == "tool_calls") c.finish_reason = "stop";
  if (const json::Value* usage = Member(root, "usage"); usage != nullptr && usage->IsObject()) {
    RawUsage raw;
    raw.Update(*usage);
    c.usage = raw.Normalised();
    c.has_usage = true;
  }
  return c;
}

std::unique_ptr<StreamParser> AnthropicAdapter::NewStreamParser() const {
  return std::make_unique<AnthropicStreamParser>();
}

HttpRequest AnthropicAdapter::BuildListModelsRequest(absl::string_view base_url,
                                                     absl::string_view api_key) const {
  HttpRequest request;
  request.method = "GET";
  // The default page is 20 models; 1000 is the maximum.
  request.url = absl::StrCat(JoinUrl(base_url, "/v1/models"), "?limit=1000");
  request.headers.emplace_back("x-api-key", std::string(api_key));
  request.headers.emplace_back("anthropic-version", std::string(kApiVersion));
  return request;
}

}  // namespace aigw::providers
