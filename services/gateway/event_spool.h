#ifndef AIGW_SERVICES_GATEWAY_EVENT_SPOOL_H_
#define AIGW_SERVICES_GATEWAY_EVENT_SPOOL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/usage.pb.h"

namespace aigw::gateway {

// What EventSpool::Read hands out: the batches of consecutive records from
// the replay position, and where the next read starts once they are
// delivered (EventSpool::Consume).
struct SpoolChunk {
  std::vector<aigw::v1::RecordCallsRequest> batches;
  int64_t begin = 0;
  int64_t end = 0;
  // Events the chunk's records held, the set-aside ones included.
  int64_t events = 0;
  // Records whose text was not UTF-8 (an older gateway wrote them), repaired.
  int64_t repaired = 0;
};

// An append-only file of call-event batches that could not be delivered to
// the usage service, replayed oldest first.
//
// A record is a 16-byte header (magic "AGS2", payload length, event count,
// CRC-32C of those two and the payload; little-endian) and a serialized
// RecordCallsRequest, fsync'd before Append returns. Replay reads a bounded
// chunk at a time from a position kept in `<path>.pos` (so a restart does not
// resend what was delivered); the file is emptied once everything is
// delivered, and compacted when the delivered part grows large.
//
// Nothing unreadable stops the replay: bytes that are no record (a length or
// checksum that does not hold, a record cut short by a crash) are copied to
// `<path>.unreadable` for an operator and skipped, and reading resumes at the
// next record whose checksum holds; a record that passes its checksum but
// does not parse (text that is not UTF-8, written by an older gateway) is
// repaired, and set aside the same way if it still does not parse. A spool of
// the first format (no header; a 4-byte length per record) is converted when
// opened. Thread-safe.
class EventSpool {
 public:
  struct Options {
    // Past this many delivered bytes at the front of the file, and when they
    // are more than half of it, the rest is copied to a new file.
    int64_t compact_after_bytes = int64_t{64} << 20;
  };
  // The largest record Append writes and Read takes.
  static constexpr int64_t kMaxRecordBytes = int64_t{64} << 20;

  // Opens (creating the directory and file if needed), converts a spool of
  // the first format, sets aside a torn tail and counts what is waiting.
  static absl::StatusOr<std::unique_ptr<EventSpool>> Open(const std::string& path);
  static absl::StatusOr<std::unique_ptr<EventSpool>> Open(const std::string& path, Options options);

  absl::Status Append(const aigw::v1::RecordCallsRequest& batch);
  // The records after the replay position, at most `max_bytes` of them (but
  // at least one record when any is waiting); empty at the end.
  absl::StatusOr<SpoolChunk> Read(int64_t max_bytes);
  // Moves the replay position past `chunk` (the last Read) once its batches
  // are delivered or set aside.
  absl::Status Consume(const SpoolChunk& chunk);

  // Waiting to be replayed.
  int64_t events() const;
  int64_t bytes() const;
  // Set aside in <path>.unreadable by this process.
  int64_t unreadable_bytes() const;
  const std::string& path() const { return path_; }

 private:
  EventSpool(std::string path, Options options) : path_(std::move(path)), options_(options) {}
  absl::Status SaveReadPositionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CompactLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies [begin, end) of the spool to <path>.unreadable.
  void SetAside(int fd, int64_t begin, int64_t end, absl::string_view why);
  // Rewrites the first format's `size` bytes in `fd` (a 4-byte length per
  // record, no header) into this one, in place of the file at path_.
  absl::Status ConvertFirstFormat(int fd, int64_t size);

  const std::string path_;
  const Options options_;
  mutable absl::Mutex mu_;
  // The file's size and identity; the replay position.
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t inode_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t read_position_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unreadable_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_EVENT_SPOOL_H_
