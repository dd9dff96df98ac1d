#include "tests/fault/upstream_limits.h"

#include <curl/curl.h>

#include <algorithm>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"

namespace aigw::fault {
namespace {

constexpr absl::Duration kMinute = absl::Seconds(60);

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

double Over(int64_t figure, int64_t limit) {
  if (limit <= 0 || figure <= limit) return 0;
  return static_cast<double>(figure - limit) / static_cast<double>(limit);
}

}  // namespace

absl::StatusOr<std::vector<KeyLimits>> ParseKeyLimits(absl::string_view text) {
  std::vector<KeyLimits> out;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(entry, ':');
    KeyLimits k;
    if (f.size() != 3 || !absl::SimpleAtoi(f[0], &k.rpm) || !absl::SimpleAtoi(f[1], &k.tpm) ||
        !absl::SimpleAtoi(f[2], &k.rpd) || k.rpm < 0 || k.tpm < 0 || k.rpd < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("key limits '", entry, "': want rpm:tpm:rpd, each 0 (none) or more"));
    }
    k.api_key = absl::StrCat("sk-fault-openai-", out.size() + 1, "-0123456789abcdef");
    out.push_back(k);
  }
  return out;
}

std::vector<KeyUse> CountUse(const std::vector<KeyLimits>& keys,
                             const std::vector<UpstreamRequest>& requests,
                             int64_t tokens_per_answer) {
  std::vector<KeyUse> out;
  for (const KeyLimits& k : keys) {
    std::vector<const UpstreamRequest*> mine;
    for (const UpstreamRequest& r : requests) {
      if (r.api_key == k.api_key) mine.push_back(&r);
    }
    std::sort(mine.begin(), mine.end(), [](const UpstreamRequest* a, const UpstreamRequest* b) {
      return a->time < b->time;
    });
    KeyUse u;
    u.limits = k;
    u.requests = static_cast<int64_t>(mine.size());
    // Every window [t, t + 60 s) that starts at a request: the busiest
    // minute starts at one.
    size_t end = 0;
    int64_t tokens = 0;
    for (size_t begin = 0; begin < mine.size(); ++begin) {
      while (end < mine.size() && mine[end]->time < mine[begin]->time + kMinute) {
        if (mine[end]->status == 200) tokens += tokens_per_answer;
        ++end;
      }
      u.max_minute_requests = std::max<int64_t>(u.max_minute_requests, end - begin);
      u.max_minute_tokens = std::max(u.max_minute_tokens, tokens);
      if (mine[begin]->status == 200) tokens -= tokens_per_answer;
    }
    u.rpm_over = Over(u.max_minute_requests, k.rpm);
    u.tpm_over = Over(u.max_minute_tokens, k.tpm);
    u.rpd_over = Over(u.requests, k.rpd);
    out.push_back(u);
  }
  return out;
}

absl::StatusOr<std::vector<UpstreamRequest>> FetchUpstreamRequests(int port) {
  CURL* curl = curl_easy_init();
  std::string body;
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/_control/requests");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 120000L);
  const CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return absl::UnavailableError(curl_easy_strerror(rc));
  if (code != 200) return absl::InternalError(absl::StrCat("HTTP ", code, " from ", url));
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("requests") ||
      !doc["requests"].IsArray()) {
    return absl::InternalError("the fake's /_control/requests is not {\"requests\":[...]}");
  }
  std::vector<UpstreamRequest> out;
  for (const rapidjson::Value& r : doc["requests"].GetArray()) {
    if (!r.IsObject() || !r.HasMember("time_unix_ms") || !r.HasMember("api_key") ||
        !r.HasMember("status")) {
      continue;
    }
    UpstreamRequest u;
    u.time = absl::FromUnixMillis(r["time_unix_ms"].GetInt64());
    u.api_key = r["api_key"].GetString();
    u.status = r["status"].GetInt();
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace aigw::fault
