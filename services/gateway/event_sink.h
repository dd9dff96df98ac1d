#ifndef AIGW_SERVICES_GATEWAY_EVENT_SINK_H_
#define AIGW_SERVICES_GATEWAY_EVENT_SINK_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/common/periodic_task.h"
#include "services/gateway/event_spool.h"

namespace aigw::gateway {

// Where the pipeline puts one CallEvent per upstream attempt. Emit never
// blocks on the network.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(aigw::v1::CallEvent event) = 0;
};

// Delivers a batch to the usage service; OK only once usage has committed it.
class EventUploader {
 public:
  virtual ~EventUploader() = default;
  virtual absl::Status Upload(const aigw::v1::RecordCallsRequest& batch) = 0;
};

class GrpcEventUploader : public EventUploader {
 public:
  GrpcEventUploader(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
                    std::function<std::string()> authorization = nullptr);
  absl::Status Upload(const aigw::v1::RecordCallsRequest& batch) override;

 private:
  std::unique_ptr<aigw::v1::UsageService::Stub> stub_;
  const absl::Duration timeout_;
  const std::function<std::string()> authorization_;
};

struct EventSinkStats {
  int64_t queued = 0;         // in memory, waiting
  int64_t spooled = 0;        // on disk, waiting for usage
  int64_t spooled_bytes = 0;  // their size
  int64_t delivered = 0;      // acknowledged by usage (this process)
  int64_t rejected = 0;       // refused by usage; kept in <spool>.rejected
  // Events whose text had to be made valid UTF-8 or cut to its column
  // before they were queued (or replayed).
  int64_t cleaned = 0;
  // Spool bytes that were no readable record; kept in <spool>.unreadable.
  int64_t unreadable_bytes = 0;
};

// A bounded in-memory queue drained by one thread that sends batches to
// usage. Every event is made storable (MakeStorable) before it is queued.
// A batch usage does not take, and events that find the queue full, go to
// the EventSpool; the spool is replayed, a bounded chunk at a time, whenever
// usage answers again. Usage is idempotent on (request_id, attempt), so a
// replay after a partial delivery is harmless: every event arrives, once.
//
// Batches are bounded in events and in bytes (below the receiver's gRPC
// message limit, 4 MiB by default). A batch usage refuses for what it holds
// rather than for its own health is narrowed down to the events that cause
// the refusal; those are set aside in <spool>.rejected for an operator and
// the rest is delivered. Refusals: INVALID_ARGUMENT (usage names events[i]),
// RESOURCE_EXHAUSTED (a message over the receiver's limit), and
// UNIMPLEMENTED when usage does serve RecordCalls (checked with an empty
// batch): what gRPC's callback API answers for a request it cannot decode.
// Anything else (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL...) means usage
// is not taking events now: the batch waits in the spool.
class BatchingEventSink : public EventSink {
 public:
  struct Options {
    size_t queue_capacity = 200000;
    size_t batch_size = 500;
    // Serialized bytes per RecordCalls request (a single larger event still
    // goes alone). Below gRPC's default 4 MiB receive limit of usage.
    size_t max_batch_bytes = size_t{3} << 20;
    absl::Duration flush_interval = absl::Milliseconds(200);
    // After a failed delivery, how long before usage is tried again.
    absl::Duration retry_interval = absl::Seconds(2);
    // Spool bytes read and replayed per step.
    int64_t replay_chunk_bytes = int64_t{4} << 20;
  };
  BatchingEventSink(Options options, EventUploader* uploader, EventSpool* spool);
  ~BatchingEventSink() override;

  void Start();
  // Sends or spools everything still queued; nothing is dropped.
  void Stop();
  void Emit(aigw::v1::CallEvent event) override;
  EventSinkStats Stats() const;
  // Called after every state change (metrics).
  void set_observer(std::function<void(const EventSinkStats&)> observer) {
    observer_ = std::move(observer);
  }

 private:
  // The sender's chore: one round of SendOnce, more while a full batch
  // waits.
  void SendBatches();
  // Replays the spool when usage may be back, then delivers one batch taken
  // from the queue; false when that batch could be neither delivered nor
  // spooled (it went back to the queue).
  bool SendOnce();
  aigw::v1::RecordCallsRequest TakeBatch();
  // Delivers or spools one batch; false when neither worked (the events
  // went back to the queue).
  bool Deliver(aigw::v1::RecordCallsRequest batch);
  // Replays the spool, a chunk at a time, while usage takes it; false when
  // usage is still down.
  bool ReplaySpool();
  // `batch` cut into requests within the count and byte bounds.
  std::vector<aigw::v1::RecordCallsRequest> Split(aigw::v1::RecordCallsRequest batch) const;
  // Uploads `batch`. When usage refuses it, narrows it down to the refused
  // events: by the index usage names, else by halving, so one bad event does
  // not hold back the others; sets those aside (after 16 of them, what is
  // still refused goes aside whole, so a batch of bad events costs a bounded
  // number of uploads). OK once every event is taken or set aside
  // (*delivered: how many were taken); otherwise usage's error, with nothing
  // set aside: the caller keeps the whole batch, and a later replay of the
  // parts already taken only finds duplicates.
  absl::Status UploadNarrowing(const aigw::v1::RecordCallsRequest& batch, int64_t* delivered);
  // Whether `st` refuses the batch for what it holds. `*serves_record_calls`
  // caches the answer to the empty batch that tells an undecodable request
  // from a server without RecordCalls.
  bool IsRefusal(const absl::Status& st, std::optional<bool>* serves_record_calls);
  void Reject(const aigw::v1::RecordCallsRequest& refused, const absl::Status& first_reason);
  void Notify();

  const Options options_;
  EventUploader* const uploader_;
  EventSpool* const spool_;
  std::function<void(const EventSinkStats&)> observer_;

  mutable absl::Mutex mu_;
  std::deque<aigw::v1::CallEvent> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejected_events_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cleaned_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<EventSpool> rejected_;
  // Sends every flush_interval, and at once when a batch is full.
  PeriodicTask sender_{options_.flush_interval, [this] { SendBatches(); }};
  bool started_ = false;
  // Sender thread only (and Stop's, once the sender is gone).
  absl::Time usage_down_until_ = absl::InfinitePast();
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_EVENT_SINK_H_
