#ifndef AIGW_TOOLS_FAKE_UPSTREAM_REQUEST_LOG_H_
#define AIGW_TOOLS_FAKE_UPSTREAM_REQUEST_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aigw::fake_upstream {

// How an exchange ended, as tests see it in GET /_control/requests.
enum class Outcome {
  kInFlight,
  kOk,                  // a 2xx answer was sent in full
  kError,               // an error status was sent in full
  kDropped,             // a rule closed the connection
  kClientDisconnected,  // the client went away before the answer was done
  kServerStopped,
};

struct RecordedRequest {
  int64_t seq = 0;
  absl::Time time;
  std::string method;
  std::string path;
  // From "Authorization: Bearer ..." or "x-api-key"; empty when neither.
  std::string api_key;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int status = 0;
  Outcome outcome = Outcome::kInFlight;
};

// The last `capacity` provider requests and counters over all of them.
// Thread-safe.
class RequestLog {
 public:
  explicit RequestLog(size_t capacity) : capacity_(capacity) {}

  // Records the start of an exchange; pass the result to Finish.
  std::shared_ptr<RecordedRequest> Begin(RecordedRequest request);
  void Finish(RecordedRequest& request, int status, Outcome outcome);

  // {"requests":[...]} oldest first.
  std::string RequestsJson() const;
  // {"requests_total", "requests_by_path", "responses_by_status",
  //  "client_disconnects", "dropped_connections", "in_flight", "max_in_flight"}
  std::string StatsJson() const;
  std::vector<RecordedRequest> Requests() const;
  int64_t client_disconnects() const;

  void ClearRequests();
  void ResetStats();

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<RecordedRequest>> requests_ ABSL_GUARDED_BY(mu_);
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::btree_map<std::string, int64_t> by_path_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<int, int64_t> by_status_ ABSL_GUARDED_BY(mu_);
  int64_t client_disconnects_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::string_view OutcomeName(Outcome outcome);

}  // namespace aigw::fake_upstream

#endif  // AIGW_TOOLS_FAKE_UPSTREAM_REQUEST_LOG_H_
