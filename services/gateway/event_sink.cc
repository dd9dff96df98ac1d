#include "services/gateway/event_sink.h"

#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "libs/common/logging.h"
#include "libs/server/grpc_status.h"
#include "services/gateway/event_sanitizer.h"

namespace aigw::gateway {

GrpcEventUploader::GrpcEventUploader(std::shared_ptr<grpc::Channel> channel,
                                     absl::Duration timeout,
                                     std::function<std::string()> authorization)
    : stub_(aigw::v1::UsageService::NewStub(std::move(channel))),
      timeout_(timeout),
      authorization_(std::move(authorization)) {}

absl::Status GrpcEventUploader::Upload(const aigw::v1::RecordCallsRequest& batch) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  if (authorization_) ctx.AddMetadata("authorization", authorization_());
  aigw::v1::RecordCallsResponse response;
  return server::ToAbslStatus(stub_->RecordCalls(&ctx, batch, &response));
}

BatchingEventSink::BatchingEventSink(Options options, EventUploader* uploader, EventSpool* spool)
    : options_(options), uploader_(uploader), spool_(spool) {
  absl::StatusOr<std::unique_ptr<EventSpool>> rejected = EventSpool::Open(spool->path() + ".rejected");
  if (rejected.ok()) rejected_ = std::move(*rejected);
}

BatchingEventSink::~BatchingEventSink() { Stop(); }

void BatchingEventSink::Start() {
  started_ = true;
  sender_.Start();
}

void BatchingEventSink::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (!started_) return;
  sender_.Stop();
  // What is still queued goes now, from this thread: the sender's is gone.
  for (;;) {
    const bool progressed = SendOnce();
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) break;
    if (!progressed) {
      // Usage down and the disk refusing writes: nothing more can be done.
      spdlog::error("msg=\"call events lost at shutdown\" events={}", queue_.size());
      break;
    }
  }
}

void BatchingEventSink::Emit(aigw::v1::CallEvent event) {
  // Before it is queued: an event usage cannot decode or store would be
  // refused with every event batched with it.
  const bool cleaned = MakeStorable(&event);
  {
    absl::MutexLock lock(&mu_);
    if (cleaned) ++cleaned_;
    if (queue_.size() < options_.queue_capacity) {
      queue_.push_back(std::move(event));
      // A full batch goes without waiting for the flush interval.
      if (queue_.size() == options_.batch_size) sender_.RunNow();
      return;
    }
  }
  // The queue is full (usage slow or down for long): the event goes to disk
  // now rather than being dropped.
  aigw::v1::RecordCallsRequest batch;
  *batch.add_events() = std::move(event);
  absl::Status st = spool_->Append(batch);
  if (!st.ok()) spdlog::error("msg=\"cannot spool call event\" error=\"{}\"", st.message());
  Notify();
}

EventSinkStats BatchingEventSink::Stats() const {
  EventSinkStats s;
  {
    absl::MutexLock lock(&mu_);
    s.queued = static_cast<int64_t>(queue_.size());
    s.delivered = delivered_;
    s.rejected = rejected_events_;
    s.cleaned = cleaned_;
  }
  s.spooled = spool_->events();
  s.spooled_bytes = spool_->bytes();
  s.unreadable_bytes = spool_->unreadable_bytes();
  return s;
}

void BatchingEventSink::Notify() {
  if (observer_) observer_(Stats());
}

namespace {

// The serialized size an event adds to a RecordCallsRequest (its tag and
// length prefix included).
size_t EventBytes(const aigw::v1::CallEvent& e) {
  const size_t n = e.ByteSizeLong();
  return n + 1 + google::protobuf::io::CodedOutputStream::VarintSize64(n);
}

// The index usage names in a refusal ("events[12] (request_id ...): ..."),
// or -1.
int NamedEvent(const absl::Status& st, size_t batch_events) {
  if (st.code() != absl::StatusCode::kInvalidArgument) return -1;
  absl::string_view m = st.message();
  if (!absl::ConsumePrefix(&m, "events[")) return -1;
  const size_t close = m.find(']');
  int index = -1;
  if (close == absl::string_view::npos || !absl::SimpleAtoi(m.substr(0, close), &index) ||
      index < 0 || static_cast<size_t>(index) >= batch_events) {
    return -1;
  }
  return index;
}

}  // namespace

bool BatchingEventSink::IsRefusal(const absl::Status& st,
                                  std::optional<bool>* serves_record_calls) {
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
      return true;
    case absl::StatusCode::kUnimplemented:
      // gRPC's callback API answers UNIMPLEMENTED for a request it cannot
      // decode, and so does a server without the method (a wrong
      // --usage_addr): an empty batch tells them apart.
      if (!serves_record_calls->has_value()) {
        *serves_record_calls = uploader_->Upload(aigw::v1::RecordCallsRequest()).code() !=
                               absl::StatusCode::kUnimplemented;
      }
      return **serves_record_calls;
    default:
      return false;
  }
}

void BatchingEventSink::Reject(const aigw::v1::RecordCallsRequest& refused,
                               const absl::Status& first_reason) {
  // Sending these again would fail again and block the spool forever. Keep
  // them aside, on disk, for an operator.
  spdlog::error("msg=\"usage refused call events; set aside\" events={} file=\"{}\" error=\"{}\"",
                refused.events_size(), spool_->path() + ".rejected", first_reason.ToString());
  absl::Status kept = rejected_ ? rejected_->Append(refused)
                                : absl::UnavailableError("the rejected file could not be opened");
  if (!kept.ok()) spdlog::error("msg=\"cannot keep rejected events\" error=\"{}\"", kept.message());
  absl::MutexLock lock(&mu_);
  rejected_events_ += refused.events_size();
}

namespace {

// The narrowing of one refused batch (see UploadNarrowing): each group of
// events refused together is split, at the index usage names or in halves,
// and its parts uploaded again, until every event is taken or set aside.
class Narrowing {
 public:
  using RefusalTest = absl::FunctionRef<bool(const absl::Status&)>;

  Narrowing(const aigw::v1::RecordCallsRequest& batch, EventUploader& uploader,
            RefusalTest is_refusal)
      : batch_(batch), uploader_(uploader), is_refusal_(is_refusal) {}

  // Narrows the whole batch, refused with `st`. OK once every event is taken
  // or set aside; otherwise the error that was no refusal.
  absl::Status Run(const absl::Status& st) {
    std::vector<Group> work;
    work.push_back(Group{std::vector<int>(batch_.events_size()), st});
    for (int i = 0; i < batch_.events_size(); ++i) work.back().events[i] = i;
    while (!work.empty()) {
      Group g = std::move(work.back());
      work.pop_back();
      if (g.events.size() == 1) {
        SetAsideAlone(g.events[0], g.status);
      } else if (singled_out_ >= kMaxSingledOut) {
        for (int i : g.events) *refused_.add_events() = batch_.events(i);
      } else if (absl::Status failed = Split(std::move(g), &work); !failed.ok()) {
        return failed;
      }
    }
    return absl::OkStatus();
  }

  const aigw::v1::RecordCallsRequest& refused() const { return refused_; }
  // Why the first event set aside alone was refused; else `otherwise`.
  absl::Status reason(const absl::Status& otherwise) const {
    return first_reason_.ok() ? otherwise : first_reason_;
  }
  int64_t taken() const { return taken_; }

 private:
  // Each refused event costs about two uploads when usage names it and two
  // per halving otherwise, so past kMaxSingledOut of them (a usage older
  // than this gateway refuses them all, say) the rest of the refused groups
  // go aside whole: set aside, not lost, and replayable once the cause is
  // fixed.
  static constexpr int kMaxSingledOut = 16;

  struct Group {
    std::vector<int> events;  // indices into the batch, refused together
    absl::Status status;
  };

  // Uploads `g` in two parts; a part refused again goes back on `work`.
  absl::Status Split(Group g, std::vector<Group>* work) {
    std::vector<std::vector<int>> parts;
    const int named = trust_names_ ? NamedEvent(g.status, g.events.size()) : -1;
    if (named >= 0) {
      parts.push_back({g.events[named]});
      parts.emplace_back(g.events);
      parts.back().erase(parts.back().begin() + named);
    } else {
      const auto mid = g.events.begin() + static_cast<std::ptrdiff_t>(g.events.size() / 2);
      parts.emplace_back(g.events.begin(), mid);
      parts.emplace_back(mid, g.events.end());
    }
    for (size_t p = 0; p < parts.size(); ++p) {
      absl::Status part_st = Upload(parts[p]);
      if (part_st.ok()) {
        taken_ += static_cast<int64_t>(parts[p].size());
        if (named >= 0 && p == 0) trust_names_ = false;  // usage named the wrong one
      } else if (!is_refusal_(part_st)) {
        return part_st;
      } else if (parts[p].size() == 1) {
        SetAsideAlone(parts[p][0], part_st);
      } else {
        work->push_back(Group{std::move(parts[p]), part_st});
      }
    }
    return absl::OkStatus();
  }

  absl::Status Upload(const std::vector<int>& events) const {
    aigw::v1::RecordCallsRequest part;
    for (int i : events) *part.add_events() = batch_.events(i);
    return uploader_.Upload(part);
  }

  void SetAsideAlone(int i, const absl::Status& why) {
    ++singled_out_;
    if (first_reason_.ok()) first_reason_ = why;
    spdlog::warn("msg=\"usage refused a call event\" request_id=\"{}\" attempt={} error=\"{}\"",
                 batch_.events(i).request_id(), batch_.events(i).attempt(), why.ToString());
    *refused_.add_events() = batch_.events(i);
  }

  const aigw::v1::RecordCallsRequest& batch_;
  EventUploader& uploader_;
  const RefusalTest is_refusal_;
  aigw::v1::RecordCallsRequest refused_;
  absl::Status first_reason_;
  int singled_out_ = 0;
  bool trust_names_ = true;  // until a named event goes through alone
  int64_t taken_ = 0;
};

}  // namespace

absl::Status BatchingEventSink::UploadNarrowing(const aigw::v1::RecordCallsRequest& batch,
                                                int64_t* delivered) {
  *delivered = 0;
  absl::Status st = uploader_->Upload(batch);
  if (st.ok()) {
    *delivered = batch.events_size();
    return st;
  }
  std::optional<bool> serves_record_calls;
  if (!IsRefusal(st, &serves_record_calls)) {
    if (serves_record_calls == false) {
      return absl::UnimplementedError(
          "the usage address serves no UsageService.RecordCalls (check --usage_addr)");
    }
    return st;
  }
  auto is_refusal = [&](const absl::Status& part_st) {
    return IsRefusal(part_st, &serves_record_calls);
  };
  Narrowing narrowing(batch, *uploader_, is_refusal);
  if (absl::Status failed = narrowing.Run(st); !failed.ok()) return failed;
  if (narrowing.refused().events_size() > 0) Reject(narrowing.refused(), narrowing.reason(st));
  *delivered = narrowing.taken();
  return absl::OkStatus();
}

std::vector<aigw::v1::RecordCallsRequest> BatchingEventSink::Split(
    aigw::v1::RecordCallsRequest batch) const {
  std::vector<aigw::v1::RecordCallsRequest> out;
  size_t bytes = 0;
  for (aigw::v1::CallEvent& e : *batch.mutable_events()) {
    const size_t n = EventBytes(e);
    if (out.empty() || static_cast<size_t>(out.back().events_size()) >= options_.batch_size ||
        (out.back().events_size() > 0 && bytes + n > options_.max_batch_bytes)) {
      out.emplace_back();
      bytes = 0;
    }
    *out.back().add_events() = std::move(e);
    bytes += n;
  }
  return out;
}

bool BatchingEventSink::ReplaySpool() {
  while (spool_->bytes() > 0) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return true;  // the rest waits for the next start
    }
    absl::StatusOr<SpoolChunk> chunk = spool_->Read(options_.replay_chunk_bytes);
    if (!chunk.ok()) {
      spdlog::error("msg=\"cannot read event spool\" error=\"{}\"", chunk.status().message());
      return false;
    }
    int64_t events = 0, cleaned = 0;
    for (aigw::v1::RecordCallsRequest& b : chunk->batches) {
      // Written by this gateway or an older one: made storable like any event.
      for (aigw::v1::CallEvent& e : *b.mutable_events()) cleaned += MakeStorable(&e) ? 1 : 0;
      for (const aigw::v1::RecordCallsRequest& part : Split(std::move(b))) {
        int64_t taken = 0;
        if (!UploadNarrowing(part, &taken).ok()) return false;
        events += taken;
      }
    }
    if (absl::Status st = spool_->Consume(*chunk); !st.ok()) {
      // Delivered all the same; a restart may send them again (duplicates).
      spdlog::error("msg=\"cannot move the event spool's read position\" error=\"{}\"",
                    st.message());
    }
    {
      absl::MutexLock lock(&mu_);
      delivered_ += events;
      cleaned_ += cleaned;
    }
    spdlog::info("msg=\"replayed spooled call events\" events={} repaired_records={}", events,
                 chunk->repaired);
    Notify();
  }
  return true;
}

bool BatchingEventSink::Deliver(aigw::v1::RecordCallsRequest batch) {
  if (absl::Now() >= usage_down_until_) {
    int64_t taken = 0;
    absl::Status st = UploadNarrowing(batch, &taken);
    if (st.ok()) {
      absl::MutexLock lock(&mu_);
      delivered_ += taken;
      return true;
    }
    spdlog::warn("msg=\"usage unreachable; spooling call events\" error=\"{}\"", st.message());
    usage_down_until_ = absl::Now() + options_.retry_interval;
  }
  absl::Status spooled = spool_->Append(batch);
  if (!spooled.ok()) {
    // The disk refused too: keep the events in memory and try again later.
    spdlog::error("msg=\"cannot spool call events\" error=\"{}\"", spooled.message());
    absl::MutexLock lock(&mu_);
    for (int i = batch.events_size() - 1; i >= 0; --i) {
      queue_.push_front(std::move(*batch.mutable_events(i)));
    }
    return false;
  }
  return true;
}

aigw::v1::RecordCallsRequest BatchingEventSink::TakeBatch() {
  aigw::v1::RecordCallsRequest batch;
  absl::MutexLock lock(&mu_);
  size_t bytes = 0;
  while (!queue_.empty() && static_cast<size_t>(batch.events_size()) < options_.batch_size) {
    const size_t n = EventBytes(queue_.front());
    if (batch.events_size() > 0 && bytes + n > options_.max_batch_bytes) break;
    *batch.add_events() = std::move(queue_.front());
    queue_.pop_front();
    bytes += n;
  }
  return batch;
}

bool BatchingEventSink::SendOnce() {
  aigw::v1::RecordCallsRequest batch = TakeBatch();
  // Spooled events go first once usage is back, so the spool drains.
  if (absl::Now() >= usage_down_until_ && spool_->bytes() > 0 && !ReplaySpool()) {
    usage_down_until_ = absl::Now() + options_.retry_interval;
  }
  const bool progressed = batch.events_size() == 0 || Deliver(std::move(batch));
  Notify();
  return progressed;
}

void BatchingEventSink::SendBatches() {
  for (;;) {
    SendOnce();
    absl::MutexLock lock(&mu_);
    // A full batch waiting goes at once; a partial one waits for the next
    // flush interval.
    if (stopping_ || queue_.size() < options_.batch_size) return;
  }
}

}  // namespace aigw::gateway
