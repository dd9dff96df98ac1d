#include "services/gateway/request_validation_messages.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/tokenizer/image_header.h"
#include "libs/tokenizer/image_tokens.h"
#include "libs/tokenizer/tool_tokens.h"
#include "services/gateway/request_validation_tools.h"

namespace aigw::gateway {
namespace {

using aigw::v1::ChatMessage;

bool IsRole(const std::string& role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool";
}

// The first byte of `s` that is a space, a control character or not ASCII,
// or npos.
size_t FirstNonGraphic(absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b <= 0x20 || b >= 0x7F) return i;
  }
  return absl::string_view::npos;
}

absl::Status CheckHttpsUrl(const std::string& field, absl::string_view url,
                           const ValidationLimits& limits) {
  if (static_cast<int64_t>(url.size()) > limits.max_image_url_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", url.size(),
                                                   " bytes; an image URL may have at most ",
                                                   limits.max_image_url_bytes));
  }
  if (const size_t at = FirstNonGraphic(url); at != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s has byte 0x%02X at position %d: percent-encode spaces, control characters and "
        "non-ASCII text",
        field, static_cast<unsigned char>(url[at]), at));
  }
  if (url.size() == 8 || url[8] == '/') {
    return absl::InvalidArgumentError(absl::StrCat(field, " has no host"));
  }
  return absl::OkStatus();
}

absl::Status CheckDataUrl(const std::string& field, absl::string_view url,
                          const ValidationLimits& limits) {
  absl::StatusOr<tokenizer::ImageDataUrl> data = tokenizer::ParseImageDataUrl(url);
  if (!data.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", data.status().message()));
  }
  if (data->decoded_bytes > limits.max_image_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, " holds an image of ",
                                                   data->decoded_bytes, " bytes; at most ",
                                                   limits.max_image_bytes, " are accepted"));
  }
  absl::StatusOr<tokenizer::ImageDimensions> image = tokenizer::ReadDataUrlImage(*data);
  if (!image.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ",
        absl::IsOutOfRange(image.status()) ? "the image ends inside its header (is it cut short?)"
                                           : image.status().message()));
  }
  if (image->format != data->format) {
    // Anthropic refuses an image whose media type is not what it holds.
    return absl::InvalidArgumentError(absl::StrCat(
        field, " says ", data->media_type, " but holds a ", tokenizer::MediaTypeOf(image->format),
        " image: send it as ", tokenizer::MediaTypeOf(image->format)));
  }
  return absl::OkStatus();
}

absl::Status CheckImage(const std::string& field, const aigw::v1::ImageUrl& image,
                        const ValidationLimits& limits) {
  if (!tokenizer::ParseImageDetail(image.detail()).has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".detail is '", image.detail(),
                                                   "': use auto, low or high"));
  }
  const std::string url_field = absl::StrCat(field, ".url");
  const std::string& url = image.url();
  if (url.empty()) return absl::InvalidArgumentError(absl::StrCat(url_field, " is empty"));
  if (absl::StartsWithIgnoreCase(url, "https://")) return CheckHttpsUrl(url_field, url, limits);
  if (absl::StartsWithIgnoreCase(url, "data:")) return CheckDataUrl(url_field, url, limits);
  return absl::InvalidArgumentError(absl::StrCat(
      url_field, " is neither an https URL nor a data: URL (data:image/png;base64,...): "
                 "the providers fetch only https images"));
}

// Walks the messages in order, keeping the tool calls that still wait for
// their tool turn.
class MessageChecker {
 public:
  explicit MessageChecker(const ValidationLimits& limits) : limits_(limits) {}

  absl::Status Check(int i, const ChatMessage& m) {
    if (!IsRole(m.role())) {
      return absl::InvalidArgumentError(absl::StrCat("messages[", i, "].role is '", m.role(),
                                                     "': use system, user, assistant or tool"));
    }
    if (m.role() != "tool" && !pending_.empty()) return Unanswered(m.role());
    summary_.text_bytes += static_cast<int64_t>(m.content().size() + m.name().size());
    const bool plain = m.parts().empty() && m.tool_calls().empty() && m.tool_call_id().empty() &&
                       m.role() != "tool";
    if (plain) {  // most turns: no field name built unless refused
      if (!m.content().empty()) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat("messages[", i, "].content is empty"));
    }
    const std::string field = absl::StrCat("messages[", i, "]");
    absl::Status st = CheckContent(field, m);
    if (st.ok()) st = CheckToolCalls(i, field, m);
    if (st.ok()) st = CheckToolTurn(field, m);
    return st;
  }

  // After the last message.
  absl::StatusOr<MessagesSummary> Finish() {
    if (!pending_.empty()) return Unanswered("");
    return summary_;
  }

 private:
  absl::Status CheckContent(const std::string& field, const ChatMessage& m) {
    if (m.parts().empty()) {
      const bool may_be_empty =
          m.role() == "tool" || (m.role() == "assistant" && !m.tool_calls().empty());
      if (m.content().empty() && !may_be_empty) {
        return absl::InvalidArgumentError(absl::StrCat(field, ".content is empty"));
      }
      return absl::OkStatus();
    }
    if (!m.content().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " has both content and parts: put the text in a text part, or send no parts"));
    }
    for (int j = 0; j < m.parts_size(); ++j) {
      const aigw::v1::ContentPart& part = m.parts(j);
      const std::string part_field = absl::StrCat(field, ".parts[", j, "]");
      if (part.has_image_url()) {
        if (m.role() != "user") {
          return absl::InvalidArgumentError(absl::StrCat(
              part_field, " is an image but the turn's role is '", m.role(),
              "': images go in user turns"));
        }
        if (++summary_.images > limits_.max_images) {
          return absl::InvalidArgumentError(absl::StrCat(
              part_field, " is image ", summary_.images, "; at most ", limits_.max_images,
              " images are accepted in a request"));
        }
        if (absl::Status st = CheckImage(absl::StrCat(part_field, ".image_url"), part.image_url(),
                                         limits_);
            !st.ok()) {
          return st;
        }
      } else if (part.text().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(part_field, " is empty: set text or image_url"));
      }
      summary_.text_bytes += static_cast<int64_t>(part.text().size());
    }
    return absl::OkStatus();
  }

  absl::Status CheckToolCalls(int i, const std::string& field, const ChatMessage& m) {
    if (m.tool_calls().empty()) return absl::OkStatus();
    if (m.role() != "assistant") {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " has tool_calls but its role is '", m.role(),
          "': only assistant turns call tools"));
    }
    summary_.has_tool_turns = true;
    pending_turn_ = i;
    for (int k = 0; k < m.tool_calls_size(); ++k) {
      const aigw::v1::ToolCall& call = m.tool_calls(k);
      const std::string call_field = absl::StrCat(field, ".tool_calls[", k, "]");
      absl::Status st = CheckCallId(absl::StrCat(call_field, ".id"), call.id());
      if (st.ok()) st = CheckToolName(absl::StrCat(call_field, ".name"), call.name());
      if (st.ok() && !call.arguments_json().empty()) {
        st = tokenizer::CheckJsonObject(call.arguments_json());
        if (!st.ok()) {
          st = absl::InvalidArgumentError(absl::StrCat(
              call_field, ".arguments_json ", st.message(),
              ": send the arguments as a JSON object, as the model wrote them"));
        }
      }
      if (!st.ok()) return st;
      for (const PendingCall& p : pending_) {
        if (p.id == call.id()) {
          return absl::InvalidArgumentError(absl::StrCat(
              call_field, ".id '", call.id(), "' is also the id of another call in this turn"));
        }
      }
      pending_.push_back(PendingCall{call.id(), call.name()});
      summary_.text_bytes += static_cast<int64_t>(call.id().size() + call.name().size() +
                                                  call.arguments_json().size());
    }
    return absl::OkStatus();
  }

  absl::Status CheckToolTurn(const std::string& field, const ChatMessage& m) {
    if (m.role() != "tool") {
      if (!m.tool_call_id().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".tool_call_id is set but its role is '", m.role(),
            "': only tool turns answer tool calls"));
      }
      return absl::OkStatus();
    }
    summary_.has_tool_turns = true;
    const std::string id_field = absl::StrCat(field, ".tool_call_id");
    if (m.tool_call_id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(id_field, " is empty: name the tool call this turn answers"));
    }
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->id == m.tool_call_id()) {
        answered_.insert(it->id);
        pending_.erase(it);
        return absl::OkStatus();
      }
    }
    if (answered_.contains(m.tool_call_id())) {
      return absl::InvalidArgumentError(absl::StrCat(
          id_field, " '", m.tool_call_id(), "' answers a call an earlier tool turn answered"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        id_field, " '", m.tool_call_id(),
        "' answers no tool call of the assistant turn before it",
        pending_turn_ < 0 ? " (no assistant turn called a tool)" : ""));
  }

  absl::Status CheckCallId(const std::string& field, const std::string& id) {
    if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
    if (static_cast<int>(id.size()) > kMaxToolCallIdLength) {
      return absl::InvalidArgumentError(absl::StrCat(field, " is ", id.size(),
                                                     " characters; at most ",
                                                     kMaxToolCallIdLength));
    }
    if (const size_t at = FirstNonGraphic(id); at != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has byte 0x%02X at position %d: use printable ASCII without spaces", field,
          static_cast<unsigned char>(id[at]), at));
    }
    return absl::OkStatus();
  }

  // A turn (`next_role`, or the end when empty) came while calls wait.
  absl::Status Unanswered(absl::string_view next_role) const {
    const PendingCall& p = pending_.front();
    return absl::InvalidArgumentError(absl::StrCat(
        "messages[", pending_turn_, "] calls tool '", p.name, "' (id '", p.id,
        "') but no tool turn answers it before ",
        next_role.empty() ? "the conversation ends" : absl::StrCat("the next ", next_role, " turn"),
        ": send a tool turn with that tool_call_id"));
  }

  struct PendingCall {
    std::string id;
    std::string name;
  };

  const ValidationLimits& limits_;
  MessagesSummary summary_;
  std::vector<PendingCall> pending_;  // in call order
  int pending_turn_ = -1;             // the latest assistant turn with tool calls
  absl::flat_hash_set<std::string> answered_;
};

}  // namespace

absl::StatusOr<MessagesSummary> CheckMessages(
    const google::protobuf::RepeatedPtrField<aigw::v1::ChatMessage>& messages,
    const ValidationLimits& limits) {
  if (messages.size() > limits.max_messages) {
    return absl::InvalidArgumentError(absl::StrCat("messages has ", messages.size(),
                                                   " entries; at most ", limits.max_messages,
                                                   " are accepted"));
  }
  MessageChecker checker(limits);
  for (int i = 0; i < messages.size(); ++i) {
    if (absl::Status st = checker.Check(i, messages[i]); !st.ok()) return st;
  }
  return checker.Finish();
}

}  // namespace aigw::gateway
