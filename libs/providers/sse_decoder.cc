#include "libs/providers/sse_decoder.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/byte_size.h"

namespace aigw::providers {
namespace {

constexpr char kBom[3] = {'\xEF', '\xBB', '\xBF'};

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status TooLarge(size_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "server-sent event over the ", ByteSizeText(static_cast<int64_t>(limit)), " limit"));
}

}  // namespace

absl::Status SseDecoder::Feed(absl::string_view bytes,
                              absl::FunctionRef<absl::Status(SseEvent&)> on_event) {
  size_t pos = 0;
  const size_t n = bytes.size();

  // The standard strips one UTF-8 BOM at the very start of the stream, which
  // itself may arrive split.
  while (bom_bytes_ >= 0 && pos < n) {
    if (bytes[pos] == kBom[bom_bytes_]) {
      ++pos;
      if (++bom_bytes_ == 3) bom_bytes_ = -1;
    } else {
      // Not a BOM after all: the bytes matched so far are line content (none
      // of them is CR or LF).
      line_.append(kBom, bom_bytes_);
      bom_bytes_ = -1;
    }
  }

  if (skip_lf_ && pos < n) {
    skip_lf_ = false;
    if (bytes[pos] == '\n') ++pos;
  }

  while (pos < n) {
    size_t end = pos;
    while (end < n && bytes[end] != '\n' && bytes[end] != '\r') ++end;
    if (end == n) {
      if (line_.size() + (n - pos) > max_event_bytes_) return TooLarge(max_event_bytes_);
      line_.append(bytes.data() + pos, n - pos);
      break;
    }
    absl::Status status;
    if (line_.empty()) {
      // The common case: the whole line is in this chunk, so no copy.
      status = ProcessLine(bytes.substr(pos, end - pos), on_event);
    } else {
      if (line_.size() + (end - pos) > max_event_bytes_) return TooLarge(max_event_bytes_);
      line_.append(bytes.data() + pos, end - pos);
      status = ProcessLine(line_, on_event);
      line_.clear();
    }
    if (!status.ok()) return status;

    if (bytes[end] == '\r') {
      if (end + 1 < n) {
        if (bytes[end + 1] == '\n') ++end;
      } else {
        skip_lf_ = true;  // a "\r\n" may be split across chunks
      }
    }
    pos = end + 1;
  }
  return absl::OkStatus();
}

absl::Status SseDecoder::Feed(absl::string_view bytes, std::vector<SseEvent>* out) {
  return Feed(bytes, [out](SseEvent& event) {
    out->push_back(std::move(event));
    return absl::OkStatus();
  });
}

absl::Status SseDecoder::ProcessLine(absl::string_view line,
                                     absl::FunctionRef<absl::Status(SseEvent&)> on_event) {
  if (line.empty()) {
    // Dispatch. An event with no data line is dropped, type and all.
    if (!has_data_) {
      event_.type.clear();
      return absl::OkStatus();
    }
    if (event_.type.empty()) event_.type.assign("message");
    event_.id = last_id_;
    absl::Status status = on_event(event_);
    event_.type.clear();
    event_.data.clear();
    has_data_ = false;
    return status;
  }
  if (line[0] == ':') {
    ++comments_;
    return absl::OkStatus();
  }

  absl::string_view field = line;
  absl::string_view value;
  if (size_t colon = line.find(':'); colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }

  if (field == "data") {
    // Joining with a leading '\n' is the standard's "append LF to every line,
    // drop the final LF" without the final trim.
    if (has_data_) event_.data.push_back('\n');
    event_.data.append(value.data(), value.size());
    has_data_ = true;
    if (event_.data.size() > max_event_bytes_) return TooLarge(max_event_bytes_);
  } else if (field == "event") {
    event_.type.assign(value.data(), value.size());
  } else if (field == "id") {
    if (value.find('\0') == absl::string_view::npos) last_id_.assign(value.data(), value.size());
  } else if (field == "retry") {
    int64_t ms;
    if (AllDigits(value) && absl::SimpleAtoi(value, &ms)) retry_ms_ = ms;
  }
  // Any other field is ignored, as the standard requires.
  return absl::OkStatus();
}

}  // namespace aigw::providers
