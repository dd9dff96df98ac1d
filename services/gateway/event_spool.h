#ifndef AIGW_SERVICES_GATEWAY_EVENT_SPOOL_H_
#define AIGW_SERVICES_GATEWAY_EVENT_SPOOL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/usage.pb.h"

namespace aigw::gateway {

// An append-only file of call-event batches that could not be delivered to
// the usage service. Each record is a 4-byte little-endian length and a
// serialized RecordCallsRequest, fsync'd before Append returns. A record cut
// short by a crash is ignored on reading. Thread-safe.
class EventSpool {
 public:
  // Opens (creating the directory and file if needed) and counts what is
  // already spooled from an earlier run.
  static absl::StatusOr<std::unique_ptr<EventSpool>> Open(const std::string& path);

  absl::Status Append(const aigw::v1::RecordCallsRequest& batch);
  // Every complete batch, oldest first; `read_bytes` gets the length they
  // span, for Consume.
  absl::StatusOr<std::vector<aigw::v1::RecordCallsRequest>> ReadAll(int64_t* read_bytes);
  // Empties the file once everything read has been delivered. Batches
  // appended after `read_bytes` (the size ReadAll saw) are kept.
  absl::Status Consume(int64_t read_bytes);

  int64_t events() const;
  int64_t bytes() const;
  const std::string& path() const { return path_; }

 private:
  explicit EventSpool(std::string path) : path_(std::move(path)) {}
  const std::string path_;
  mutable absl::Mutex mu_;
  int64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_EVENT_SPOOL_H_
