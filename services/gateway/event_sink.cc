#include "services/gateway/event_sink.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"

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
  grpc::Status st = stub_->RecordCalls(&ctx, batch, &response);
  if (st.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
}

BatchingEventSink::BatchingEventSink(Options options, EventUploader* uploader, EventSpool* spool)
    : options_(options), uploader_(uploader), spool_(spool) {
  absl::StatusOr<std::unique_ptr<EventSpool>> rejected = EventSpool::Open(spool->path() + ".rejected");
  if (rejected.ok()) rejected_ = std::move(*rejected);
}

BatchingEventSink::~BatchingEventSink() { Stop(); }

void BatchingEventSink::Start() {
  thread_ = std::thread([this] { Run(); });
}

void BatchingEventSink::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BatchingEventSink::Emit(aigw::v1::CallEvent event) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() < options_.queue_capacity) {
      queue_.push_back(std::move(event));
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
  }
  s.spooled = spool_->events();
  return s;
}

void BatchingEventSink::Notify() {
  if (observer_) observer_(Stats());
}

bool BatchingEventSink::IsRejection(const absl::Status& st) {
  return st.code() == absl::StatusCode::kInvalidArgument;
}

void BatchingEventSink::Reject(const aigw::v1::RecordCallsRequest& refused,
                               const absl::Status& first_reason) {
  // Sending these again would fail again and block the spool forever. Keep
  // them aside, on disk, for an operator.
  spdlog::error("msg=\"usage refused call events\" events={} error=\"{}\"",
                refused.events_size(), first_reason.message());
  absl::Status kept = rejected_ ? rejected_->Append(refused)
                                : absl::UnavailableError("the rejected file could not be opened");
  if (!kept.ok()) spdlog::error("msg=\"cannot keep rejected events\" error=\"{}\"", kept.message());
  absl::MutexLock lock(&mu_);
  rejected_events_ += refused.events_size();
}

absl::Status BatchingEventSink::UploadSettingAsideRefused(
    const aigw::v1::RecordCallsRequest& batch, int64_t* delivered) {
  *delivered = 0;
  absl::Status st = uploader_->Upload(batch);
  if (st.ok()) {
    *delivered = batch.events_size();
    return st;
  }
  if (!IsRejection(st)) return st;
  // Halve the refused ranges until each refused one is a single event.
  // Each refused event costs about two uploads per halving, so past
  // kMaxSingledOut of them (a usage older than this gateway refuses them
  // all, say) the rest of the refused ranges go aside whole: set aside, not
  // lost, and replayable once the cause is fixed.
  constexpr int kMaxSingledOut = 16;
  aigw::v1::RecordCallsRequest refused;
  absl::Status first_reason = st;
  std::vector<std::pair<int, int>> ranges;  // [begin, end) refused as a whole
  ranges.emplace_back(0, batch.events_size());
  int64_t taken = 0;
  while (!ranges.empty()) {
    const auto [begin, end] = ranges.back();
    ranges.pop_back();
    if (end - begin == 1 || refused.events_size() >= kMaxSingledOut) {
      for (int i = begin; i < end; ++i) *refused.add_events() = batch.events(i);
      continue;
    }
    const int mid = begin + (end - begin) / 2;
    for (const auto& [lo, hi] : {std::pair<int, int>{begin, mid}, {mid, end}}) {
      aigw::v1::RecordCallsRequest part;
      for (int i = lo; i < hi; ++i) *part.add_events() = batch.events(i);
      absl::Status part_st = uploader_->Upload(part);
      if (part_st.ok()) {
        taken += hi - lo;
      } else if (IsRejection(part_st)) {
        if (hi - lo == 1) first_reason = part_st;
        ranges.emplace_back(lo, hi);
      } else {
        return part_st;
      }
    }
  }
  if (refused.events_size() > 0) Reject(refused, first_reason);
  *delivered = taken;
  return absl::OkStatus();
}

bool BatchingEventSink::ReplaySpool() {
  if (spool_->events() == 0) return true;
  int64_t read_bytes = 0;
  absl::StatusOr<std::vector<aigw::v1::RecordCallsRequest>> batches = spool_->ReadAll(&read_bytes);
  if (!batches.ok()) return false;
  int64_t events = 0;
  for (const auto& b : *batches) {
    int64_t taken = 0;
    if (!UploadSettingAsideRefused(b, &taken).ok()) return false;
    events += taken;
  }
  absl::Status consumed = spool_->Consume(read_bytes);
  if (!consumed.ok()) {
    spdlog::error("msg=\"cannot truncate event spool\" error=\"{}\"", consumed.message());
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    delivered_ += events;
  }
  spdlog::info("msg=\"replayed spooled call events\" events={}", events);
  return true;
}

bool BatchingEventSink::Deliver(aigw::v1::RecordCallsRequest batch) {
  if (absl::Now() >= usage_down_until_) {
    int64_t taken = 0;
    absl::Status st = UploadSettingAsideRefused(batch, &taken);
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

void BatchingEventSink::Run() {
  for (;;) {
    aigw::v1::RecordCallsRequest batch;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || queue_.size() >= options_.batch_size;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
      stopping = stopping_;
      const size_t n = std::min(queue_.size(), options_.batch_size);
      for (size_t i = 0; i < n; ++i) {
        *batch.add_events() = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    // Spooled events go first once usage is back, so the spool drains.
    if (absl::Now() >= usage_down_until_ && spool_->events() > 0 && !ReplaySpool()) {
      usage_down_until_ = absl::Now() + options_.retry_interval;
    }
    const bool progressed = batch.events_size() == 0 || Deliver(std::move(batch));
    Notify();
    if (stopping) {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) break;
      if (!progressed) {
        // Usage down and the disk refusing writes: nothing more can be done.
        spdlog::error("msg=\"call events lost at shutdown\" events={}", queue_.size());
        break;
      }
    }
  }
}

}  // namespace aigw::gateway
