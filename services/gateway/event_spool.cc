#include "services/gateway/event_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "libs/common/logging.h"
#include "libs/common/utf8.h"

namespace aigw::gateway {
namespace {

using aigw::v1::RecordCallsRequest;

constexpr char kMagic[4] = {'A', 'G', 'S', '2'};
constexpr int64_t kHeaderBytes = 16;
constexpr int64_t kPositionFileBytes = 20;
// Reads and copies go in pieces of this size: memory stays bounded whatever
// the file holds.
constexpr int64_t kPiece = int64_t{1} << 20;

// CRC-32C (Castagnoli), the checksum of storage formats (ext4, iSCSI).
class Crc32c {
 public:
  void Update(const void* data, size_t n) {
    static const std::array<uint32_t, 256> kTable = [] {
      std::array<uint32_t, 256> t{};
      for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[i] = c;
      }
      return t;
    }();
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) crc_ = kTable[(crc_ ^ p[i]) & 0xFF] ^ (crc_ >> 8);
  }
  uint32_t value() const { return ~crc_; }

 private:
  uint32_t crc_ = 0xFFFFFFFFu;
};

void PutLe32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void PutLe64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
uint32_t GetLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t GetLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

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

// Reads exactly n bytes at offset; false on a short read or an error.
bool ReadAt(int fd, int64_t offset, char* out, size_t n) {
  while (n > 0) {
    ssize_t r = pread(fd, out, n, offset);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return true;
}

// Copies [begin, end) of `in` to the end of `out`.
absl::Status CopyRange(int in, int64_t begin, int64_t end, int out) {
  std::string buf;
  for (int64_t at = begin; at < end;) {
    const size_t n = static_cast<size_t>(std::min(kPiece, end - at));
    buf.resize(n);
    if (!ReadAt(in, at, buf.data(), n)) return absl::InternalError("spool read failed");
    if (absl::Status st = WriteAll(out, buf.data(), n); !st.ok()) return st;
    at += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

struct Header {
  uint32_t length = 0;
  uint32_t events = 0;
  uint32_t crc = 0;
};

std::string EncodeRecord(absl::string_view payload, uint32_t events) {
  std::string record(kHeaderBytes, '\0');
  std::memcpy(record.data(), kMagic, 4);
  PutLe32(static_cast<uint32_t>(payload.size()), record.data() + 4);
  PutLe32(events, record.data() + 8);
  Crc32c crc;
  crc.Update(record.data() + 4, 8);
  crc.Update(payload.data(), payload.size());
  PutLe32(crc.value(), record.data() + 12);
  record.append(payload.data(), payload.size());
  return record;
}

// True when a whole record whose checksum holds starts at `at` and ends by
// `end`; reads its payload in pieces (memory bounded by kPiece).
bool RecordAt(int fd, int64_t at, int64_t end, Header* h) {
  if (end - at < kHeaderBytes) return false;
  char head[kHeaderBytes];
  if (!ReadAt(fd, at, head, sizeof(head)) || std::memcmp(head, kMagic, 4) != 0) return false;
  h->length = GetLe32(head + 4);
  h->events = GetLe32(head + 8);
  h->crc = GetLe32(head + 12);
  if (h->length > EventSpool::kMaxRecordBytes || at + kHeaderBytes + h->length > end) return false;
  Crc32c crc;
  crc.Update(head + 4, 8);
  std::string buf;
  for (int64_t done = 0; done < h->length;) {
    const size_t n = static_cast<size_t>(std::min<int64_t>(kPiece, h->length - done));
    buf.resize(n);
    if (!ReadAt(fd, at + kHeaderBytes + done, buf.data(), n)) return false;
    crc.Update(buf.data(), n);
    done += static_cast<int64_t>(n);
  }
  return crc.value() == h->crc;
}

// The offset of the first record after `from` whose checksum holds, or `end`.
int64_t FindNextRecord(int fd, int64_t from, int64_t end) {
  std::string buf;
  for (int64_t at = from; at < end;) {
    const size_t n = static_cast<size_t>(std::min(kPiece, end - at));
    buf.resize(n);
    if (!ReadAt(fd, at, buf.data(), n)) return end;
    for (size_t i = 0; i < n; ++i) {
      if (buf[i] != kMagic[0]) continue;
      Header h;
      if (RecordAt(fd, at + static_cast<int64_t>(i), end, &h)) {
        return at + static_cast<int64_t>(i);
      }
    }
    at += static_cast<int64_t>(n);
  }
  return end;
}

// One step of reading: a record at `at`, or the unreadable bytes up to the
// next record (or the end).
struct Step {
  bool record = false;
  Header header;
  int64_t next = 0;
};
Step ScanAt(int fd, int64_t at, int64_t end) {
  Step s;
  if (RecordAt(fd, at, end, &s.header)) {
    s.record = true;
    s.next = at + kHeaderBytes + s.header.length;
  } else {
    s.next = FindNextRecord(fd, at + 1, end);
  }
  return s;
}

// `bytes` (a serialized `type`) again with every string field's text made
// valid UTF-8, nested messages included; false when it is no message at all.
bool RepairUtf8(const std::string& bytes, const google::protobuf::Descriptor& type,
                std::string* out) {
  using google::protobuf::FieldDescriptor;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  google::protobuf::io::StringOutputStream sink(out);
  google::protobuf::io::CodedOutputStream o(&sink);
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    o.WriteTag(tag);
    switch (tag & 7) {
      case 0: {
        uint64_t v;
        if (!in.ReadVarint64(&v)) return false;
        o.WriteVarint64(v);
        break;
      }
      case 1: {
        uint64_t v;
        if (!in.ReadLittleEndian64(&v)) return false;
        o.WriteLittleEndian64(v);
        break;
      }
      case 5: {
        uint32_t v;
        if (!in.ReadLittleEndian32(&v)) return false;
        o.WriteLittleEndian32(v);
        break;
      }
      case 2: {
        uint32_t length;
        std::string v;
        if (!in.ReadVarint32(&length) || !in.ReadString(&v, static_cast<int>(length))) {
          return false;
        }
        const FieldDescriptor* f = type.FindFieldByNumber(static_cast<int>(tag >> 3));
        if (f != nullptr && f->type() == FieldDescriptor::TYPE_STRING) {
          v = ToValidUtf8(v);
        } else if (f != nullptr && f->type() == FieldDescriptor::TYPE_MESSAGE) {
          std::string repaired;
          if (!RepairUtf8(v, *f->message_type(), &repaired)) return false;
          v = std::move(repaired);
        }
        o.WriteVarint32(static_cast<uint32_t>(v.size()));
        o.WriteString(v);
        break;
      }
      default:
        return false;  // groups: none in these messages
    }
  }
  return in.ConsumedEntireMessage() && !o.HadError();
}

// Parses a record's payload; one whose text is not UTF-8 (proto3 refuses it)
// is repaired first (*repaired set).
bool ParseBatch(const std::string& payload, RecordCallsRequest* batch, bool* repaired) {
  *repaired = false;
  if (batch->ParseFromString(payload)) return true;
  std::string fixed;
  if (!RepairUtf8(payload, *RecordCallsRequest::descriptor(), &fixed)) return false;
  batch->Clear();
  if (!batch->ParseFromString(fixed)) return false;
  *repaired = true;
  return true;
}

// A file's size and inode; size -1 on error.
struct FileInfo {
  int64_t size = -1;
  uint64_t inode = 0;
};
FileInfo Stat(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Where replay stopped: kept only for this very file, within it; else 0.
int64_t SavedPosition(const std::string& path, const FileInfo& info) {
  Fd pos(open((path + ".pos").c_str(), O_RDONLY | O_CLOEXEC));
  if (!pos.ok()) return 0;
  char b[kPositionFileBytes];
  if (!ReadAt(pos.get(), 0, b, sizeof(b))) return 0;
  Crc32c crc;
  crc.Update(b, 16);
  const uint64_t inode = GetLe64(b);
  const auto saved = static_cast<int64_t>(GetLe64(b + 8));
  if (crc.value() == GetLe32(b + 16) && inode == info.inode && saved <= info.size) return saved;
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventSpool>> EventSpool::Open(const std::string& path) {
  return Open(path, Options());
}

absl::StatusOr<std::unique_ptr<EventSpool>> EventSpool::Open(const std::string& path,
                                                             Options options) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open event spool ", path, ": ", strerror(errno)));
  }
  std::unique_ptr<EventSpool> spool(new EventSpool(path, options));
  FileInfo info = Stat(fd.get());
  if (info.size < 0) return Errno("cannot stat event spool", path);

  // A spool of the first format (a 4-byte length per record, no header) is
  // rewritten in this one, record by record.
  char first[4] = {0, 0, 0, 0};
  const size_t probe = static_cast<size_t>(std::min<int64_t>(4, info.size));
  if (probe > 0 && ReadAt(fd.get(), 0, first, probe) && std::memcmp(first, kMagic, probe) != 0) {
    if (absl::Status st = spool->ConvertFirstFormat(fd.get(), info.size); !st.ok()) return st;
    return Open(path, options);
  }

  const int64_t position = SavedPosition(path, info);
  // Count what waits; bytes after the last readable record (a record cut
  // short by a crash) are set aside and cut off, so new records follow a
  // whole one.
  int64_t events = 0;
  int64_t readable_end = position;
  for (int64_t at = position; at < info.size;) {
    const Step s = ScanAt(fd.get(), at, info.size);
    if (s.record) {
      events += s.header.events;
      readable_end = s.next;
    }
    at = s.next;
  }
  if (readable_end < info.size) {
    spool->SetAside(fd.get(), readable_end, info.size, "torn tail");
    if (ftruncate(fd.get(), readable_end) != 0 || fdatasync(fd.get()) != 0) {
      return Errno("cannot repair event spool", path);
    }
    info.size = readable_end;
  }
  absl::MutexLock lock(&spool->mu_);
  spool->size_ = info.size;
  spool->inode_ = info.inode;
  spool->read_position_ = position;
  spool->events_ = events;
  return spool;
}

absl::Status EventSpool::ConvertFirstFormat(int fd, int64_t size) {
  const std::string tmp = path_ + ".tmp";
  Fd out(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out.ok()) return Errno("cannot convert event spool", tmp);
  int64_t at = 0, converted = 0, repaired = 0;
  std::string payload;
  while (at + 4 <= size) {
    char len_bytes[4];
    if (!ReadAt(fd, at, len_bytes, 4)) break;
    const int64_t len = GetLe32(len_bytes);
    if (len > kMaxRecordBytes || at + 4 + len > size) break;
    payload.resize(static_cast<size_t>(len));
    if (!ReadAt(fd, at + 4, payload.data(), payload.size())) break;
    RecordCallsRequest batch;
    bool was_repaired = false;
    uint32_t events = 0;
    if (ParseBatch(payload, &batch, &was_repaired)) {
      events = static_cast<uint32_t>(batch.events_size());
      if (was_repaired) {
        payload = batch.SerializeAsString();
        ++repaired;
      }
    }  // else: kept as it is; reading sets it aside
    const std::string record = EncodeRecord(payload, events);
    if (absl::Status st = WriteAll(out.get(), record.data(), record.size()); !st.ok()) return st;
    at += 4 + len;
    ++converted;
  }
  if (at < size) SetAside(fd, at, size, "torn tail of a first-format spool");
  if (fdatasync(out.get()) != 0) return Errno("cannot sync", tmp);
  if (rename(tmp.c_str(), path_.c_str()) != 0) return Errno("cannot replace event spool", path_);
  spdlog::info(
      "msg=\"converted the event spool to its checksummed format\" records={} "
      "repaired={} path=\"{}\"",
      converted, repaired, path_);
  return absl::OkStatus();
}

void EventSpool::SetAside(int fd, int64_t begin, int64_t end, absl::string_view why) {
  const std::string aside = path_ + ".unreadable";
  spdlog::error(
      "msg=\"unreadable bytes in the event spool set aside\" why=\"{}\" offset={} "
      "bytes={} file=\"{}\"",
      why, begin, end - begin, aside);
  Fd out(open(aside.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  absl::Status st = out.ok() ? CopyRange(fd, begin, end, out.get()) : Errno("open", aside);
  if (st.ok() && fdatasync(out.get()) != 0) st = Errno("sync", aside);
  if (!st.ok())
    spdlog::error("msg=\"cannot keep unreadable spool bytes\" error=\"{}\"", st.message());
  absl::MutexLock lock(&mu_);
  unreadable_bytes_ += end - begin;
}

absl::Status EventSpool::Append(const RecordCallsRequest& batch) {
  std::string payload;
  if (!batch.SerializeToString(&payload)) return absl::InternalError("cannot serialize events");
  if (static_cast<int64_t>(payload.size()) > kMaxRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a spool record holds at most ", kMaxRecordBytes,
                                                   " bytes, got ", payload.size()));
  }
  const std::string record = EncodeRecord(payload, static_cast<uint32_t>(batch.events_size()));
  absl::MutexLock lock(&mu_);
  Fd fd(open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.ok()) return Errno("spool open", path_);
  absl::Status st = WriteAll(fd.get(), record.data(), record.size());
  if (st.ok() && fdatasync(fd.get()) != 0) st = Errno("spool fsync", path_);
  if (!st.ok()) {
    // Take back a partial record, so the next one follows a whole one.
    if (ftruncate(fd.get(), size_) != 0) {
      spdlog::error("msg=\"cannot cut a partial spool record\" error=\"{}\"", strerror(errno));
    }
    return st;
  }
  const FileInfo info = Stat(fd.get());
  size_ = info.size >= 0 ? info.size : size_ + static_cast<int64_t>(record.size());
  events_ += batch.events_size();
  return absl::OkStatus();
}

absl::StatusOr<SpoolChunk> EventSpool::Read(int64_t max_bytes) {
  SpoolChunk chunk;
  int64_t end;
  {
    absl::MutexLock lock(&mu_);
    chunk.begin = chunk.end = read_position_;
    end = size_;
  }
  if (chunk.begin >= end) return chunk;
  Fd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return Errno("spool open", path_);
  int64_t at = chunk.begin;
  int64_t taken = 0;
  std::string payload;
  while (at < end) {
    const Step s = ScanAt(fd.get(), at, end);
    if (!s.record) {
      SetAside(fd.get(), at, s.next, "no record with a valid checksum");
      at = s.next;
      continue;
    }
    if (taken > 0 && taken + (s.next - at) > max_bytes) break;
    payload.resize(s.header.length);
    if (!ReadAt(fd.get(), at + kHeaderBytes, payload.data(), payload.size())) {
      return Errno("spool read", path_);
    }
    RecordCallsRequest batch;
    bool repaired = false;
    if (ParseBatch(payload, &batch, &repaired)) {
      chunk.batches.push_back(std::move(batch));
      if (repaired) ++chunk.repaired;
    } else {
      SetAside(fd.get(), at, s.next, "a record that does not parse");
    }
    chunk.events += s.header.events;
    taken += s.next - at;
    at = s.next;
  }
  chunk.end = at;
  return chunk;
}

absl::Status EventSpool::Consume(const SpoolChunk& chunk) {
  absl::MutexLock lock(&mu_);
  if (chunk.begin != read_position_) {
    return absl::FailedPreconditionError("the spool was consumed past this chunk already");
  }
  read_position_ = chunk.end;
  events_ = std::max<int64_t>(0, events_ - chunk.events);
  if (read_position_ >= size_) {
    // Everything delivered: empty the file (appends wait for the lock). The
    // position goes back first: a crash in between replays what was
    // delivered (usage takes the repeats as duplicates), never skips.
    read_position_ = 0;
    if (absl::Status st = SaveReadPositionLocked(); !st.ok()) {
      read_position_ = chunk.end;
      return st;
    }
    if (truncate(path_.c_str(), 0) != 0) return Errno("spool truncate", path_);
    size_ = 0;
    events_ = 0;
    return absl::OkStatus();
  }
  if (read_position_ >= options_.compact_after_bytes && read_position_ * 2 >= size_) {
    if (absl::Status st = CompactLocked(); !st.ok()) {
      spdlog::warn("msg=\"cannot compact the event spool\" error=\"{}\"", st.message());
    }
  }
  return SaveReadPositionLocked();
}

absl::Status EventSpool::CompactLocked() {
  // The part still to replay goes to a new file, renamed over the spool. A
  // crash before the rename leaves the old file and its position; after it,
  // the position file names the old inode and reading starts at 0.
  const std::string tmp = path_ + ".tmp";
  Fd in(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  Fd out(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!in.ok() || !out.ok()) return Errno("spool compact", path_);
  if (absl::Status st = CopyRange(in.get(), read_position_, size_, out.get()); !st.ok()) return st;
  if (fdatasync(out.get()) != 0) return Errno("spool compact sync", tmp);
  if (rename(tmp.c_str(), path_.c_str()) != 0) return Errno("spool compact rename", path_);
  const FileInfo info = Stat(out.get());
  size_ -= read_position_;
  read_position_ = 0;
  inode_ = info.inode;
  return absl::OkStatus();
}

absl::Status EventSpool::SaveReadPositionLocked() {
  char b[kPositionFileBytes];
  PutLe64(inode_, b);
  PutLe64(static_cast<uint64_t>(read_position_), b + 8);
  Crc32c crc;
  crc.Update(b, 16);
  PutLe32(crc.value(), b + 16);
  const std::string pos = path_ + ".pos";
  Fd fd(open(pos.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.ok()) return Errno("spool position open", pos);
  // A torn write fails its checksum: replay then starts over, and usage
  // takes the repeats as duplicates.
  if (pwrite(fd.get(), b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b)) ||
      fdatasync(fd.get()) != 0) {
    return Errno("spool position write", pos);
  }
  return absl::OkStatus();
}

int64_t EventSpool::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

int64_t EventSpool::bytes() const {
  absl::MutexLock lock(&mu_);
  return size_ - read_position_;
}

int64_t EventSpool::unreadable_bytes() const {
  absl::MutexLock lock(&mu_);
  return unreadable_bytes_;
}

}  // namespace aigw::gateway
