#include "tools/fake-upstream/wire_format.h"

#include <algorithm>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace aigw::fake_upstream {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Fixed so that model lists are deterministic.
constexpr int64_t kModelCreated = 1700000000;
constexpr absl::string_view kModelCreatedAt = "2023-11-14T22:13:20Z";
constexpr absl::string_view kFingerprint = "fp_fake";

void Str(Writer& w, absl::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void Field(Writer& w, const char* key, absl::string_view value) {
  w.Key(key);
  Str(w, value);
}
void Field(Writer& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}
void NullField(Writer& w, const char* key) {
  w.Key(key);
  w.Null();
}

std::string Json(absl::FunctionRef<void(Writer&)> body) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  body(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// --- OpenAI / DeepSeek -------------------------------------------------------

void WriteOpenAiUsage(Writer& w, const Usage& u, bool deepseek) {
  w.StartObject();
  Field(w, "prompt_tokens", u.prompt_tokens);
  Field(w, "completion_tokens", u.completion_tokens);
  Field(w, "total_tokens", u.prompt_tokens + u.completion_tokens);
  w.Key("prompt_tokens_details");
  w.StartObject();
  Field(w, "cached_tokens", u.cached_tokens);
  w.EndObject();
  w.Key("completion_tokens_details");
  w.StartObject();
  Field(w, "reasoning_tokens", u.reasoning_tokens);
  w.EndObject();
  if (deepseek) {
    Field(w, "prompt_cache_hit_tokens", u.cached_tokens);
    Field(w, "prompt_cache_miss_tokens", std::max<int64_t>(0, u.prompt_tokens - u.cached_tokens));
  }
  w.EndObject();
}

void WriteOpenAiHeader(Writer& w, const ResponseMeta& meta, absl::string_view object) {
  Field(w, "id", meta.id);
  Field(w, "object", object);
  Field(w, "created", meta.created);
  Field(w, "model", meta.model);
  Field(w, "system_fingerprint", kFingerprint);
}

std::string SseData(absl::string_view json) { return absl::StrCat("data: ", json, "\n\n"); }

// One chat.completion.chunk. `usage` null with include_usage writes
// "usage":null, as OpenAI does on every chunk but the last.
std::string OpenAiChunk(const ResponseMeta& meta, absl::FunctionRef<void(Writer&)> delta,
                        absl::string_view finish_reason, bool usage_null, const Usage* usage,
                        bool deepseek) {
  return SseData(Json([&](Writer& w) {
    w.StartObject();
    WriteOpenAiHeader(w, meta, "chat.completion.chunk");
    w.Key("choices");
    w.StartArray();
    w.StartObject();
    Field(w, "index", int64_t{0});
    w.Key("delta");
    w.StartObject();
    delta(w);
    w.EndObject();
    NullField(w, "logprobs");
    if (finish_reason.empty()) {
      NullField(w, "finish_reason");
    } else {
      Field(w, "finish_reason", finish_reason);
    }
    w.EndObject();
    w.EndArray();
    if (usage != nullptr) {
      w.Key("usage");
      WriteOpenAiUsage(w, *usage, deepseek);
    } else if (usage_null) {
      NullField(w, "usage");
    }
    w.EndObject();
  }));
}

// --- Anthropic ---------------------------------------------------------------

absl::string_view StopReason(const Completion& completion) {
  if (completion.finish_reason == "tool_calls") return "tool_use";
  return completion.finish_reason == "length" ? "max_tokens" : "end_turn";
}

// {"id","type":"function","function":{"name","arguments"}}, with `index`
// first in stream deltas (index >= 0); `arguments` null leaves it out.
void WriteOpenAiToolCall(Writer& w, int64_t index, const ToolCallOut* call,
                         absl::string_view arguments) {
  w.StartObject();
  if (index >= 0) Field(w, "index", index);
  if (call != nullptr) {
    Field(w, "id", absl::StrCat("call_", call->id));
    Field(w, "type", "function");
  }
  w.Key("function");
  w.StartObject();
  if (call != nullptr) Field(w, "name", call->name);
  Field(w, "arguments", arguments);
  w.EndObject();
  w.EndObject();
}

// Anthropic's input_tokens is only the uncached remainder: cache reads and
// writes are reported beside it, not inside it. `u.prompt_tokens` is the
// whole prompt (the OpenAI convention used everywhere else here).
void WriteAnthropicUsage(Writer& w, const Usage& u, int64_t output_tokens) {
  w.StartObject();
  Field(w, "input_tokens",
        std::max<int64_t>(0, u.prompt_tokens - u.cached_tokens - u.cache_creation_tokens));
  Field(w, "cache_creation_input_tokens", u.cache_creation_tokens);
  Field(w, "cache_read_input_tokens", u.cached_tokens);
  Field(w, "output_tokens", output_tokens);
  w.EndObject();
}

SseFrame AnthropicEvent(absl::string_view type, absl::string_view json) {
  return {absl::StrCat("event: ", type, "\ndata: ", json, "\n\n")};
}

std::string DisplayName(absl::string_view id) {
  std::string name(id);
  bool word_start = true;
  for (char& c : name) {
    if (c == '-' || c == '_') {
      c = ' ';
      word_start = true;
    } else if (word_start) {
      c = absl::ascii_toupper(static_cast<unsigned char>(c));
      word_start = false;
    }
  }
  return name;
}

absl::string_view OwnedBy(absl::string_view id) {
  if (IsDeepSeekModel(id)) return "deepseek";
  if (absl::StartsWith(id, "claude")) return "anthropic";
  return "openai";
}

}  // namespace

std::string OpenAiCompletionJson(const ResponseMeta& meta, const Completion& completion,
                                 bool omit_usage) {
  const bool deepseek = IsDeepSeekModel(meta.model);
  return Json([&](Writer& w) {
    w.StartObject();
    WriteOpenAiHeader(w, meta, "chat.completion");
    w.Key("choices");
    w.StartArray();
    w.StartObject();
    Field(w, "index", int64_t{0});
    w.Key("message");
    w.StartObject();
    Field(w, "role", "assistant");
    if (completion.content.empty() && !completion.tool_calls.empty()) {
      NullField(w, "content");
    } else {
      Field(w, "content", completion.content);
    }
    if (IsReasonerModel(meta.model)) Field(w, "reasoning_content", completion.reasoning_content);
    if (!completion.tool_calls.empty()) {
      w.Key("tool_calls");
      w.StartArray();
      for (const ToolCallOut& call : completion.tool_calls) {
        WriteOpenAiToolCall(w, -1, &call, call.arguments);
      }
      w.EndArray();
    }
    if (!deepseek) NullField(w, "refusal");
    w.EndObject();
    NullField(w, "logprobs");
    Field(w, "finish_reason", completion.finish_reason);
    w.EndObject();
    w.EndArray();
    if (!omit_usage) {
      w.Key("usage");
      WriteOpenAiUsage(w, completion.usage, deepseek);
    }
    w.EndObject();
  });
}

std::vector<SseFrame> OpenAiStreamFrames(const ResponseMeta& meta, const Completion& completion,
                                         const StreamShape& shape) {
  const bool deepseek = IsDeepSeekModel(meta.model);
  const bool reasoner = IsReasonerModel(meta.model);
  const bool usage_null = shape.include_usage && !deepseek;
  const SseFrame keep_alive{": keep-alive\n\n", /*comment=*/true};
  std::vector<SseFrame> frames;
  frames.reserve(completion.content_deltas.size() + completion.reasoning_deltas.size() + 6);

  if (deepseek) frames.push_back(keep_alive);
  frames.push_back({OpenAiChunk(
      meta,
      [&](Writer& w) {
        Field(w, "role", "assistant");
        if (reasoner) {
          NullField(w, "content");
          Field(w, "reasoning_content", "");
        } else {
          Field(w, "content", "");
        }
      },
      "", usage_null, nullptr, deepseek)});
  if (deepseek) frames.push_back(keep_alive);

  for (const std::string& piece : completion.reasoning_deltas) {
    frames.push_back({OpenAiChunk(
        meta,
        [&](Writer& w) {
          NullField(w, "content");
          Field(w, "reasoning_content", piece);
        },
        "", usage_null, nullptr, deepseek)});
  }
  for (const std::string& piece : completion.content_deltas) {
    frames.push_back({OpenAiChunk(
        meta,
        [&](Writer& w) {
          Field(w, "content", piece);
          if (reasoner) NullField(w, "reasoning_content");
        },
        "", usage_null, nullptr, deepseek)});
  }

  // Tool calls: the first chunk of each has its index, id, type, name and
  // empty arguments; the argument pieces follow by index, as OpenAI sends.
  for (size_t i = 0; i < completion.tool_calls.size(); ++i) {
    const ToolCallOut& call = completion.tool_calls[i];
    auto tool_chunk = [&](const ToolCallOut* head, absl::string_view arguments) {
      frames.push_back({OpenAiChunk(
          meta,
          [&](Writer& w) {
            w.Key("tool_calls");
            w.StartArray();
            WriteOpenAiToolCall(w, static_cast<int64_t>(i), head, arguments);
            w.EndArray();
          },
          "", usage_null, nullptr, deepseek)});
    };
    tool_chunk(&call, "");
    for (const std::string& piece : call.argument_deltas) tool_chunk(nullptr, piece);
  }

  const Usage* finish_usage = deepseek && !shape.omit_usage ? &completion.usage : nullptr;
  frames.push_back({OpenAiChunk(
      meta,
      [&](Writer& w) {
        if (deepseek && completion.tool_calls.empty()) Field(w, "content", "");
      },
      completion.finish_reason, usage_null, finish_usage, deepseek)});

  if (shape.include_usage && !deepseek && !shape.omit_usage) {
    frames.push_back({SseData(Json([&](Writer& w) {
      w.StartObject();
      WriteOpenAiHeader(w, meta, "chat.completion.chunk");
      w.Key("choices");
      w.StartArray();
      w.EndArray();
      w.Key("usage");
      WriteOpenAiUsage(w, completion.usage, deepseek);
      w.EndObject();
    }))});
  }
  frames.push_back({"data: [DONE]\n\n"});
  return frames;
}

std::string AnthropicMessageJson(const ResponseMeta& meta, const Completion& completion,
                                 bool omit_usage) {
  return Json([&](Writer& w) {
    w.StartObject();
    Field(w, "id", meta.id);
    Field(w, "type", "message");
    Field(w, "role", "assistant");
    Field(w, "model", meta.model);
    w.Key("content");
    w.StartArray();
    if (!completion.content.empty() || completion.tool_calls.empty()) {
      w.StartObject();
      Field(w, "type", "text");
      Field(w, "text", completion.content);
      w.EndObject();
    }
    for (const ToolCallOut& call : completion.tool_calls) {
      w.StartObject();
      Field(w, "type", "tool_use");
      Field(w, "id", absl::StrCat("toolu_", call.id));
      Field(w, "name", call.name);
      w.Key("input");
      w.RawValue(call.arguments.data(), call.arguments.size(), rapidjson::kObjectType);
      w.EndObject();
    }
    w.EndArray();
    Field(w, "stop_reason", StopReason(completion));
    NullField(w, "stop_sequence");
    if (!omit_usage) {
      w.Key("usage");
      WriteAnthropicUsage(w, completion.usage, completion.usage.completion_tokens);
    }
    w.EndObject();
  });
}

std::vector<SseFrame> AnthropicStreamFrames(const ResponseMeta& meta, const Completion& completion,
                                            const StreamShape& shape) {
  std::vector<SseFrame> frames;
  frames.reserve(completion.content_deltas.size() + 6);
  frames.push_back(AnthropicEvent("message_start", Json([&](Writer& w) {
                                    w.StartObject();
                                    Field(w, "type", "message_start");
                                    w.Key("message");
                                    w.StartObject();
                                    Field(w, "id", meta.id);
                                    Field(w, "type", "message");
                                    Field(w, "role", "assistant");
                                    Field(w, "model", meta.model);
                                    w.Key("content");
                                    w.StartArray();
                                    w.EndArray();
                                    NullField(w, "stop_reason");
                                    NullField(w, "stop_sequence");
                                    if (!shape.omit_usage) {
                                      w.Key("usage");
                                      // Anthropic reports a token of output already at the start;
                                      // the message_delta figure is the final count, not an
                                      // increment.
                                      WriteAnthropicUsage(w, completion.usage, 1);
                                    }
                                    w.EndObject();
                                    w.EndObject();
                                  })));
  int64_t block = 0;
  auto block_delta = [&](absl::string_view type, absl::string_view key, absl::string_view piece) {
    frames.push_back(AnthropicEvent("content_block_delta", Json([&](Writer& w) {
                                      w.StartObject();
                                      Field(w, "type", "content_block_delta");
                                      Field(w, "index", block);
                                      w.Key("delta");
                                      w.StartObject();
                                      Field(w, "type", type);
                                      Field(w, key.data(), piece);
                                      w.EndObject();
                                      w.EndObject();
                                    })));
  };
  auto block_stop = [&] {
    frames.push_back(AnthropicEvent("content_block_stop", Json([&](Writer& w) {
                                      w.StartObject();
                                      Field(w, "type", "content_block_stop");
                                      Field(w, "index", block);
                                      w.EndObject();
                                    })));
    ++block;
  };
  // Anthropic pings once, after the first block's start.
  bool pinged = false;
  auto ping_once = [&] {
    if (!pinged) frames.push_back(AnthropicEvent("ping", R"({"type": "ping"})"));
    pinged = true;
  };
  const bool text_block = !completion.content.empty() || completion.tool_calls.empty();
  if (text_block) {
    frames.push_back(AnthropicEvent(
        "content_block_start",
        R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
    ping_once();
    for (const std::string& piece : completion.content_deltas) {
      block_delta("text_delta", "text", piece);
    }
    block_stop();
  }
  // tool_use blocks: the start names the tool with an empty input, the
  // input follows as input_json_delta pieces (the first one empty, as
  // Anthropic sends it).
  for (const ToolCallOut& call : completion.tool_calls) {
    frames.push_back(AnthropicEvent("content_block_start", Json([&](Writer& w) {
                                      w.StartObject();
                                      Field(w, "type", "content_block_start");
                                      Field(w, "index", block);
                                      w.Key("content_block");
                                      w.StartObject();
                                      Field(w, "type", "tool_use");
                                      Field(w, "id", absl::StrCat("toolu_", call.id));
                                      Field(w, "name", call.name);
                                      w.Key("input");
                                      w.StartObject();
                                      w.EndObject();
                                      w.EndObject();
                                      w.EndObject();
                                    })));
    ping_once();
    block_delta("input_json_delta", "partial_json", "");
    for (const std::string& piece : call.argument_deltas) {
      block_delta("input_json_delta", "partial_json", piece);
    }
    block_stop();
  }
  frames.push_back(AnthropicEvent("message_delta", Json([&](Writer& w) {
                                    w.StartObject();
                                    Field(w, "type", "message_delta");
                                    w.Key("delta");
                                    w.StartObject();
                                    Field(w, "stop_reason", StopReason(completion));
                                    NullField(w, "stop_sequence");
                                    w.EndObject();
                                    if (!shape.omit_usage) {
                                      w.Key("usage");
                                      w.StartObject();
                                      Field(w, "output_tokens", completion.usage.completion_tokens);
                                      w.EndObject();
                                    }
                                    w.EndObject();
                                  })));
  frames.push_back(AnthropicEvent("message_stop", R"({"type":"message_stop"})"));
  return frames;
}

std::string OpenAiErrorJson(absl::string_view message, absl::string_view type,
                            absl::string_view code) {
  return Json([&](Writer& w) {
    w.StartObject();
    w.Key("error");
    w.StartObject();
    Field(w, "message", message);
    Field(w, "type", type);
    NullField(w, "param");
    if (code.empty()) {
      NullField(w, "code");
    } else {
      Field(w, "code", code);
    }
    w.EndObject();
    w.EndObject();
  });
}

std::string AnthropicErrorJson(absl::string_view type, absl::string_view message) {
  return Json([&](Writer& w) {
    w.StartObject();
    Field(w, "type", "error");
    w.Key("error");
    w.StartObject();
    Field(w, "type", type);
    Field(w, "message", message);
    w.EndObject();
    w.EndObject();
  });
}

ErrorDefaults DefaultError(ApiFormat format, int status) {
  if (format == ApiFormat::kAnthropic) {
    switch (status) {
      case 400:
        return {"invalid_request_error", "", "Invalid request"};
      case 401:
        return {"authentication_error", "", "invalid x-api-key"};
      case 403:
        return {"permission_error", "",
                "Your API key does not have permission to use the specified resource."};
      case 404:
        return {"not_found_error", "", "Not found"};
      case 413:
        return {"request_too_large", "", "Request exceeds the maximum allowed number of bytes."};
      case 429:
        return {"rate_limit_error", "",
                "Number of request tokens has exceeded your per-minute rate limit"};
      case 503:
      case 529:
        return {"overloaded_error", "", "Overloaded"};
      default:
        return status >= 500 ? ErrorDefaults{"api_error", "", "Internal server error"}
                             : ErrorDefaults{"invalid_request_error", "", "Invalid request"};
    }
  }
  switch (status) {
    case 400:
      return {"invalid_request_error", "", "Invalid request"};
    case 401:
      return {"invalid_request_error", "invalid_api_key", "Incorrect API key provided."};
    case 403:
      return {"request_forbidden", "unsupported_country_region_territory",
              "Country, region, or territory not supported"};
    case 404:
      return {"invalid_request_error", "model_not_found",
              "The model does not exist or you do not have access to it."};
    case 429:
      return {"requests", "rate_limit_exceeded", "Rate limit reached for requests"};
    case 503:
      return {"server_error", "", "The server is overloaded or not ready yet."};
    default:
      return status >= 500 ? ErrorDefaults{"server_error", "",
                                           "The server had an error while processing your request. "
                                           "Sorry about that!"}
                           : ErrorDefaults{"invalid_request_error", "", "Invalid request"};
  }
}

std::string OpenAiModelListJson(const std::vector<std::string>& models) {
  return Json([&](Writer& w) {
    w.StartObject();
    Field(w, "object", "list");
    w.Key("data");
    w.StartArray();
    for (const std::string& id : models) {
      w.StartObject();
      Field(w, "id", id);
      Field(w, "object", "model");
      Field(w, "created", kModelCreated);
      Field(w, "owned_by", OwnedBy(id));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

std::string AnthropicModelListJson(const std::vector<std::string>& models) {
  return Json([&](Writer& w) {
    w.StartObject();
    w.Key("data");
    w.StartArray();
    for (const std::string& id : models) {
      w.StartObject();
      Field(w, "type", "model");
      Field(w, "id", id);
      Field(w, "display_name", DisplayName(id));
      Field(w, "created_at", kModelCreatedAt);
      w.EndObject();
    }
    w.EndArray();
    w.Key("has_more");
    w.Bool(false);
    if (models.empty()) {
      NullField(w, "first_id");
      NullField(w, "last_id");
    } else {
      Field(w, "first_id", models.front());
      Field(w, "last_id", models.back());
    }
    w.EndObject();
  });
}

}  // namespace aigw::fake_upstream
