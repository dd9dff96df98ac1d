#include "tools/fake-upstream/rules.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace aigw::fake_upstream {
namespace {

absl::Status FieldError(absl::string_view name, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat("rule field \"", name, "\" must be ", want));
}

absl::StatusOr<int64_t> NonNegativeInt(const rapidjson::Value& v, absl::string_view name) {
  if (!v.IsInt64() || v.GetInt64() < 0) return FieldError(name, "a non-negative integer");
  return v.GetInt64();
}

absl::Status ParseUsage(const rapidjson::Value& v, UsageOverride& usage) {
  if (!v.IsObject()) return FieldError("usage", "an object");
  for (const auto& member : v.GetObject()) {
    absl::string_view name(member.name.GetString(), member.name.GetStringLength());
    absl::StatusOr<int64_t> n = NonNegativeInt(member.value, absl::StrCat("usage.", name));
    if (!n.ok()) return n.status();
    // The provider-native names are accepted as aliases so a test can write
    // the figures it expects to see on the wire.
    if (name == "prompt_tokens" || name == "input_tokens") {
      usage.prompt_tokens = *n;
    } else if (name == "completion_tokens" || name == "output_tokens") {
      usage.completion_tokens = *n;
    } else if (name == "cached_tokens" || name == "cache_read_input_tokens" ||
               name == "prompt_cache_hit_tokens") {
      usage.cached_tokens = *n;
    } else if (name == "cache_creation_tokens" || name == "cache_creation_input_tokens") {
      usage.cache_creation_tokens = *n;
    } else if (name == "reasoning_tokens") {
      usage.reasoning_tokens = *n;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown usage field \"", name, "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Rule> ParseRule(const rapidjson::Value& v) {
  if (!v.IsObject()) return absl::InvalidArgumentError("a rule must be a JSON object");
  Rule rule;
  for (const auto& member : v.GetObject()) {
    absl::string_view name(member.name.GetString(), member.name.GetStringLength());
    const rapidjson::Value& value = member.value;
    auto string_field = [&](std::string& out) -> absl::Status {
      if (!value.IsString()) return FieldError(name, "a string");
      out.assign(value.GetString(), value.GetStringLength());
      return absl::OkStatus();
    };
    auto int_field = [&](auto& out) -> absl::Status {
      absl::StatusOr<int64_t> n = NonNegativeInt(value, name);
      if (!n.ok()) return n.status();
      out = *n;
      return absl::OkStatus();
    };
    auto bool_field = [&](bool& out) -> absl::Status {
      if (!value.IsBool()) return FieldError(name, "true or false");
      out = value.GetBool();
      return absl::OkStatus();
    };
    auto millis_field = [&](absl::Duration& out) -> absl::Status {
      absl::StatusOr<int64_t> n = NonNegativeInt(value, name);
      if (!n.ok()) return n.status();
      out = absl::Milliseconds(*n);
      return absl::OkStatus();
    };

    absl::Status status;
    if (name == "api_key") {
      status = string_field(rule.api_key);
    } else if (name == "path") {
      status = string_field(rule.path);
    } else if (name == "model") {
      status = string_field(rule.model);
    } else if (name == "times") {
      status = int_field(rule.times);
    } else if (name == "status") {
      int64_t code = 0;
      status = int_field(code);
      if (status.ok() && code != 0 && (code < 100 || code > 599)) {
        status = FieldError(name, "an HTTP status (100-599) or 0");
      }
      rule.status = static_cast<int>(code);
    } else if (name == "message") {
      status = string_field(rule.message);
    } else if (name == "error_type") {
      status = string_field(rule.error_type);
    } else if (name == "error_code") {
      status = string_field(rule.error_code);
    } else if (name == "retry_after") {
      int64_t seconds = 0;
      status = int_field(seconds);
      rule.retry_after_seconds = seconds;
    } else if (name == "delay_ms") {
      status = millis_field(rule.delay);
    } else if (name == "chunk_delay_ms") {
      status = millis_field(rule.chunk_delay);
    } else if (name == "drop") {
      status = bool_field(rule.drop);
    } else if (name == "drop_after_chunks") {
      status = int_field(rule.drop_after_chunks);
    } else if (name == "usage") {
      status = ParseUsage(value, rule.usage);
    } else if (name == "omit_usage") {
      status = bool_field(rule.omit_usage);
    } else if (name == "content") {
      std::string content;
      status = string_field(content);
      rule.content = std::move(content);
    } else if (name == "id") {
      // Echoed back by GET /_control/rules; ignored so that output can be
      // posted again.
    } else {
      status = absl::InvalidArgumentError(absl::StrCat("unknown rule field \"", name, "\""));
    }
    if (!status.ok()) return status;
  }
  return rule;
}

void WriteOptional(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key,
                   const std::optional<int64_t>& value) {
  if (!value.has_value()) return;
  w.Key(key);
  w.Int64(*value);
}

}  // namespace

absl::StatusOr<std::vector<Rule>> ParseRules(absl::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rules: invalid JSON at offset ", doc.GetErrorOffset(), ": ",
                     rapidjson::GetParseError_En(doc.GetParseError())));
  }
  const rapidjson::Value* list = &doc;
  if (doc.IsObject() && doc.HasMember("rules")) list = &doc["rules"];
  std::vector<Rule> rules;
  if (list->IsArray()) {
    for (const auto& item : list->GetArray()) {
      absl::StatusOr<Rule> rule = ParseRule(item);
      if (!rule.ok()) return rule.status();
      rules.push_back(*std::move(rule));
    }
  } else {
    absl::StatusOr<Rule> rule = ParseRule(*list);
    if (!rule.ok()) return rule.status();
    rules.push_back(*std::move(rule));
  }
  return rules;
}

std::string RulesToJson(const std::vector<Rule>& rules) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    w.Key(key);
    w.String(value);
  };
  w.StartObject();
  w.Key("rules");
  w.StartArray();
  for (const Rule& r : rules) {
    w.StartObject();
    w.Key("id");
    w.Int64(r.id);
    str("api_key", r.api_key);
    str("path", r.path);
    str("model", r.model);
    if (r.times > 0) {
      w.Key("times");
      w.Int64(r.times);
    }
    if (r.status != 0) {
      w.Key("status");
      w.Int(r.status);
    }
    str("message", r.message);
    str("error_type", r.error_type);
    str("error_code", r.error_code);
    WriteOptional(w, "retry_after", r.retry_after_seconds);
    if (r.delay > absl::ZeroDuration()) {
      w.Key("delay_ms");
      w.Int64(absl::ToInt64Milliseconds(r.delay));
    }
    if (r.chunk_delay > absl::ZeroDuration()) {
      w.Key("chunk_delay_ms");
      w.Int64(absl::ToInt64Milliseconds(r.chunk_delay));
    }
    if (r.drop) {
      w.Key("drop");
      w.Bool(true);
    }
    if (r.drop_after_chunks >= 0) {
      w.Key("drop_after_chunks");
      w.Int64(r.drop_after_chunks);
    }
    const UsageOverride& u = r.usage;
    if (u.prompt_tokens || u.completion_tokens || u.cached_tokens || u.cache_creation_tokens ||
        u.reasoning_tokens) {
      w.Key("usage");
      w.StartObject();
      WriteOptional(w, "prompt_tokens", u.prompt_tokens);
      WriteOptional(w, "completion_tokens", u.completion_tokens);
      WriteOptional(w, "cached_tokens", u.cached_tokens);
      WriteOptional(w, "cache_creation_tokens", u.cache_creation_tokens);
      WriteOptional(w, "reasoning_tokens", u.reasoning_tokens);
      w.EndObject();
    }
    if (r.omit_usage) {
      w.Key("omit_usage");
      w.Bool(true);
    }
    if (r.content.has_value()) {
      w.Key("content");
      w.String(*r.content);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

int64_t RuleBook::Add(Rule rule) {
  absl::MutexLock lock(&mu_);
  rule.id = next_id_++;
  const int64_t id = rule.id;
  const int64_t remaining = rule.times;
  entries_.push_back({std::make_shared<const Rule>(std::move(rule)), remaining});
  size_.store(entries_.size(), std::memory_order_release);
  return id;
}

bool RuleBook::Remove(int64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [id](const Entry& e) { return e.rule->id == id; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  size_.store(entries_.size(), std::memory_order_release);
  return true;
}

void RuleBook::Clear() {
  absl::MutexLock lock(&mu_);
  entries_.clear();
  size_.store(0, std::memory_order_release);
}

std::vector<Rule> RuleBook::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<Rule> rules;
  rules.reserve(entries_.size());
  for (const Entry& e : entries_) {
    rules.push_back(*e.rule);
    if (e.rule->times > 0) rules.back().times = e.remaining;
  }
  return rules;
}

std::shared_ptr<const Rule> RuleBook::Take(absl::string_view api_key, absl::string_view path,
                                           absl::string_view model) {
  if (size_.load(std::memory_order_acquire) == 0) return nullptr;
  absl::MutexLock lock(&mu_);
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    const Rule& r = *it->rule;
    if ((!r.api_key.empty() && r.api_key != api_key) || (!r.path.empty() && r.path != path) ||
        (!r.model.empty() && r.model != model)) {
      continue;
    }
    std::shared_ptr<const Rule> taken = it->rule;
    if (r.times > 0 && --it->remaining == 0) {
      entries_.erase(std::next(it).base());
      size_.store(entries_.size(), std::memory_order_release);
    }
    return taken;
  }
  return nullptr;
}

}  // namespace aigw::fake_upstream
