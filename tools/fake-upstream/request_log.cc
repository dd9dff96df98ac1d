#include "tools/fake-upstream/request_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace aigw::fake_upstream {

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kInFlight:
      return "in_flight";
    case Outcome::kOk:
      return "ok";
    case Outcome::kError:
      return "error";
    case Outcome::kDropped:
      return "dropped";
    case Outcome::kClientDisconnected:
      return "client_disconnected";
    case Outcome::kServerStopped:
      return "server_stopped";
  }
  return "unknown";
}

std::shared_ptr<RecordedRequest> RequestLog::Begin(RecordedRequest request) {
  auto record = std::make_shared<RecordedRequest>(std::move(request));
  absl::MutexLock lock(&mu_);
  record->seq = next_seq_++;
  ++total_;
  ++by_path_[record->path];
  max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
  if (capacity_ > 0) {
    if (requests_.size() >= capacity_) requests_.pop_front();
    requests_.push_back(record);
  }
  return record;
}

void RequestLog::Finish(RecordedRequest& request, int status, Outcome outcome) {
  absl::MutexLock lock(&mu_);
  if (request.outcome != Outcome::kInFlight) return;
  request.status = status;
  request.outcome = outcome;
  --in_flight_;
  if (status != 0) ++by_status_[status];
  if (outcome == Outcome::kClientDisconnected) ++client_disconnects_;
  if (outcome == Outcome::kDropped) ++dropped_;
}

std::vector<RecordedRequest> RequestLog::Requests() const {
  absl::MutexLock lock(&mu_);
  std::vector<RecordedRequest> out;
  out.reserve(requests_.size());
  for (const auto& r : requests_) out.push_back(*r);
  return out;
}

int64_t RequestLog::client_disconnects() const {
  absl::MutexLock lock(&mu_);
  return client_disconnects_;
}

std::string RequestLog::RequestsJson() const {
  std::vector<RecordedRequest> requests = Requests();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("requests");
  w.StartArray();
  for (const RecordedRequest& r : requests) {
    w.StartObject();
    w.Key("seq");
    w.Int64(r.seq);
    w.Key("time");
    w.String(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", r.time, absl::UTCTimeZone()));
    w.Key("time_unix_ms");
    w.Int64(absl::ToUnixMillis(r.time));
    w.Key("method");
    w.String(r.method);
    w.Key("path");
    w.String(r.path);
    w.Key("api_key");
    w.String(r.api_key);
    w.Key("headers");
    w.StartObject();
    for (const auto& [name, value] : r.headers) {
      w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
      w.String(value);
    }
    w.EndObject();
    w.Key("body");
    w.String(r.body);
    w.Key("status");
    w.Int(r.status);
    w.Key("outcome");
    absl::string_view outcome = OutcomeName(r.outcome);
    w.String(outcome.data(), static_cast<rapidjson::SizeType>(outcome.size()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string RequestLog::StatsJson() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  absl::MutexLock lock(&mu_);
  w.StartObject();
  w.Key("requests_total");
  w.Int64(total_);
  w.Key("requests_by_path");
  w.StartObject();
  for (const auto& [path, n] : by_path_) {
    w.Key(path.data(), static_cast<rapidjson::SizeType>(path.size()));
    w.Int64(n);
  }
  w.EndObject();
  w.Key("responses_by_status");
  w.StartObject();
  for (const auto& [status, n] : by_status_) {
    const std::string key = absl::StrCat(status);
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.Int64(n);
  }
  w.EndObject();
  w.Key("client_disconnects");
  w.Int64(client_disconnects_);
  w.Key("dropped_connections");
  w.Int64(dropped_);
  w.Key("in_flight");
  w.Int64(in_flight_);
  w.Key("max_in_flight");
  w.Int64(max_in_flight_);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void RequestLog::ClearRequests() {
  absl::MutexLock lock(&mu_);
  requests_.clear();
}

void RequestLog::ResetStats() {
  absl::MutexLock lock(&mu_);
  total_ = 0;
  by_path_.clear();
  by_status_.clear();
  client_disconnects_ = 0;
  dropped_ = 0;
  max_in_flight_ = in_flight_;
}

}  // namespace aigw::fake_upstream
