#include "services/gateway/event_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace aigw::gateway {
namespace {

absl::Status WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("spool write: ", strerror(errno)));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

// A record: 4-byte little-endian length, then the serialized batch.
std::string EncodeRecord(const aigw::v1::RecordCallsRequest& batch) {
  std::string payload;
  batch.SerializeToString(&payload);
  const uint32_t len = static_cast<uint32_t>(payload.size());
  std::string record;
  record.reserve(4 + payload.size());
  for (int i = 0; i < 4; ++i) record.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  record += payload;
  return record;
}

// Reads complete records; returns the byte length they span.
int64_t ReadRecords(const std::string& path, std::vector<aigw::v1::RecordCallsRequest>* out) {
  std::ifstream in(path, std::ios::binary);
  int64_t good = 0;
  for (;;) {
    unsigned char len_bytes[4];
    if (!in.read(reinterpret_cast<char*>(len_bytes), 4)) break;
    const uint32_t len = len_bytes[0] | (len_bytes[1] << 8) | (len_bytes[2] << 16) |
                         (static_cast<uint32_t>(len_bytes[3]) << 24);
    std::string buf(len, '\0');
    if (!in.read(buf.data(), len)) break;
    aigw::v1::RecordCallsRequest batch;
    if (!batch.ParseFromString(buf)) break;
    good += 4 + len;
    if (out != nullptr) out->push_back(std::move(batch));
  }
  return good;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventSpool>> EventSpool::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open event spool ", path, ": ", strerror(errno)));
  }
  close(fd);
  std::unique_ptr<EventSpool> spool(new EventSpool(path));
  std::vector<aigw::v1::RecordCallsRequest> batches;
  const int64_t good = ReadRecords(path, &batches);
  // A torn record at the end (crash mid-append) is cut off, so new records
  // are not appended after garbage.
  if (std::filesystem::file_size(path, ec) != static_cast<uintmax_t>(good)) {
    if (truncate(path.c_str(), good) != 0) {
      return absl::InternalError(absl::StrCat("cannot repair event spool ", path));
    }
  }
  absl::MutexLock lock(&spool->mu_);
  for (const auto& b : batches) spool->events_ += b.events_size();
  spool->bytes_ = good;
  return spool;
}

absl::Status EventSpool::Append(const aigw::v1::RecordCallsRequest& batch) {
  const std::string record = EncodeRecord(batch);
  absl::MutexLock lock(&mu_);
  int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("spool open: ", strerror(errno)));
  absl::Status st = WriteAll(fd, record.data(), record.size());
  if (st.ok() && fdatasync(fd) != 0) {
    st = absl::InternalError(absl::StrCat("spool fsync: ", strerror(errno)));
  }
  close(fd);
  if (st.ok()) {
    events_ += batch.events_size();
    bytes_ += static_cast<int64_t>(record.size());
  }
  return st;
}

absl::StatusOr<std::vector<aigw::v1::RecordCallsRequest>> EventSpool::ReadAll(
    int64_t* read_bytes) {
  absl::MutexLock lock(&mu_);
  std::vector<aigw::v1::RecordCallsRequest> batches;
  *read_bytes = ReadRecords(path_, &batches);
  return batches;
}

absl::Status EventSpool::Consume(int64_t read_bytes) {
  absl::MutexLock lock(&mu_);
  // Keep what was appended after the read: copy the tail to a new file and
  // rename it over the spool (atomic on POSIX).
  std::vector<aigw::v1::RecordCallsRequest> all;
  ReadRecords(path_, &all);
  std::vector<aigw::v1::RecordCallsRequest> keep;
  int64_t offset = 0;
  for (auto& b : all) {
    const int64_t size = 4 + static_cast<int64_t>(b.ByteSizeLong());
    if (offset >= read_bytes) keep.push_back(std::move(b));
    offset += size;
  }
  const std::string tmp = path_ + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("spool rewrite: ", strerror(errno)));
  int64_t events = 0, bytes = 0;
  absl::Status st;
  for (const auto& b : keep) {
    const std::string record = EncodeRecord(b);
    st.Update(WriteAll(fd, record.data(), record.size()));
    events += b.events_size();
    bytes += static_cast<int64_t>(record.size());
  }
  if (st.ok() && fdatasync(fd) != 0) st = absl::InternalError("spool fsync failed");
  close(fd);
  if (!st.ok()) return st;
  if (rename(tmp.c_str(), path_.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("spool rename: ", strerror(errno)));
  }
  events_ = events;
  bytes_ = bytes;
  return absl::OkStatus();
}

int64_t EventSpool::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

int64_t EventSpool::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace aigw::gateway
