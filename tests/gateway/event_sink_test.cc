#include "services/gateway/event_sink.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/local_grpc_server.h"

namespace aigw::gateway {
namespace {

// Stands in for the usage service: can be down, records what it accepted
// (keyed like usage's idempotency: request_id + attempt).
//
// Refusals as the real ones look: an event without request_id is refused
// as usage does (INVALID_ARGUMENT naming events[i]); a batch holding a
// "too-big" event as gRPC refuses a message over the receive limit
// (RESOURCE_EXHAUSTED); one holding an "undecodable" event as gRPC's
// callback API answers a request it cannot parse (UNIMPLEMENTED, while an
// empty batch is taken).
class FakeUsage : public EventUploader {
 public:
  absl::Status Upload(const aigw::v1::RecordCallsRequest& batch) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (down_after_calls_ >= 0 && calls_ > down_after_calls_) down_ = true;
    if (down_) return absl::UnavailableError("usage is down");
    if (no_record_calls_) return absl::UnimplementedError("");
    for (int i = 0; i < batch.events_size(); ++i) {
      const auto& e = batch.events(i);
      if (e.request_id() == "too-big") {
        return absl::ResourceExhaustedError(
            "Received message larger than max (5000000 vs. 4194304)");
      }
      if (e.request_id() == "undecodable") return absl::UnimplementedError("");
      if (e.request_id().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "events[", misnamed_ ? 0 : i, "] (request_id ''): request_id is required"));
      }
    }
    max_batch_bytes_ = std::max(max_batch_bytes_, batch.ByteSizeLong());
    for (const auto& e : batch.events()) {
      ++received_;
      keys_.insert(e.request_id() + "#" + std::to_string(e.attempt()));
    }
    return absl::OkStatus();
  }
  // A server without RecordCalls (a wrong --usage_addr).
  void SetNoRecordCalls() {
    absl::MutexLock lock(&mu_);
    no_record_calls_ = true;
  }
  // Names events[0] whatever event it refuses.
  void SetMisnamed() {
    absl::MutexLock lock(&mu_);
    misnamed_ = true;
  }
  void SetDown(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
    down_after_calls_ = -1;
  }
  // Usage answers `calls` more uploads, then goes down.
  void GoDownAfter(int calls) {
    absl::MutexLock lock(&mu_);
    down_after_calls_ = calls_ + calls;
  }
  size_t unique() {
    absl::MutexLock lock(&mu_);
    return keys_.size();
  }
  int received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  size_t max_batch_bytes() {
    absl::MutexLock lock(&mu_);
    return max_batch_bytes_;
  }

 private:
  absl::Mutex mu_;
  bool down_ = false;
  bool no_record_calls_ = false;
  bool misnamed_ = false;
  int down_after_calls_ = -1;
  int calls_ = 0;
  int received_ = 0;
  size_t max_batch_bytes_ = 0;
  std::set<std::string> keys_;
};

aigw::v1::CallEvent Event(int i) {
  aigw::v1::CallEvent e;
  e.set_request_id("req-" + std::to_string(i));
  e.set_attempt(1);
  e.set_provider_code("openai");
  return e;
}

// Sends within milliseconds and retries a down usage soon, so tests run fast.
BatchingEventSink::Options QuickOptions(size_t batch_size) {
  BatchingEventSink::Options o;
  o.batch_size = batch_size;
  o.flush_interval = absl::Milliseconds(5);
  o.retry_interval = absl::Milliseconds(20);
  return o;
}

class EventSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("aigw_spool_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "events.spool").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(EventSinkTest, UsageDownThenBackEveryEventArrivesOnce) {
  FakeUsage usage;
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(7), &usage, spool->get());
  sink.Start();
  usage.SetDown(true);
  for (int i = 0; i < 100; ++i) sink.Emit(Event(i));
  // Everything ends up on disk while usage is down.
  for (int i = 0; i < 500 && sink.Stats().spooled < 100; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(sink.Stats().spooled, 100);
  EXPECT_EQ(usage.unique(), 0u);
  usage.SetDown(false);
  for (int i = 100; i < 150; ++i) sink.Emit(Event(i));
  for (int i = 0; i < 1000 && usage.unique() < 150; ++i) absl::SleepFor(absl::Milliseconds(5));
  sink.Stop();
  EXPECT_EQ(usage.unique(), 150u);
  EXPECT_EQ(usage.received(), 150) << "an event was delivered twice";
  EXPECT_EQ(sink.Stats().spooled, 0);
  EXPECT_EQ(sink.Stats().delivered, 150);
}

TEST_F(EventSinkTest, StopWithUsageDownLeavesEverythingInTheSpoolForTheNextRun) {
  FakeUsage usage;
  usage.SetDown(true);
  {
    auto spool = EventSpool::Open(path_);
    ASSERT_TRUE(spool.ok());
    BatchingEventSink::Options o;
    o.flush_interval = absl::Milliseconds(5);
    BatchingEventSink sink(o, &usage, spool->get());
    sink.Start();
    for (int i = 0; i < 42; ++i) sink.Emit(Event(i));
    sink.Stop();
  }
  // The next process replays them.
  usage.SetDown(false);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->events(), 42);
  BatchingEventSink::Options o;
  o.flush_interval = absl::Milliseconds(5);
  BatchingEventSink sink(o, &usage, spool->get());
  sink.Start();
  for (int i = 0; i < 1000 && usage.unique() < 42; ++i) absl::SleepFor(absl::Milliseconds(5));
  sink.Stop();
  EXPECT_EQ(usage.unique(), 42u);
  EXPECT_EQ((*spool)->events(), 0);
}

TEST_F(EventSinkTest, ABatchUsageRejectsIsSetAsideNotReplayedForever) {
  FakeUsage usage;
  usage.SetDown(true);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(1), &usage, spool->get());
  sink.Start();
  sink.Emit(Event(1));
  sink.Emit(aigw::v1::CallEvent());  // no request_id: usage refuses it
  sink.Emit(Event(2));
  for (int i = 0; i < 500 && sink.Stats().spooled < 3; ++i) absl::SleepFor(absl::Milliseconds(5));
  usage.SetDown(false);
  for (int i = 0; i < 1000 && (usage.unique() < 2 || sink.Stats().spooled > 0); ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  sink.Stop();
  EXPECT_EQ(usage.unique(), 2u);
  EXPECT_EQ(sink.Stats().spooled, 0) << "the bad batch blocked the spool";
  EXPECT_EQ(sink.Stats().rejected, 1);
  auto rejected = EventSpool::Open(path_ + ".rejected");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ((*rejected)->events(), 1);
}

// Ten events with two usage refuses (no request_id), sent as one batch.
std::vector<aigw::v1::CallEvent> TenWithTwoBad() {
  std::vector<aigw::v1::CallEvent> events;
  for (int i = 0; i < 10; ++i) events.push_back(i == 3 || i == 8 ? aigw::v1::CallEvent() : Event(i));
  return events;
}

TEST_F(EventSinkTest, ABatchOfRefusedEventsCostsABoundedNumberOfUploads) {
  FakeUsage usage;
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(1000), &usage, spool->get());
  for (int i = 0; i < 1000; ++i) {
    sink.Emit(i == 500 ? Event(i) : aigw::v1::CallEvent());  // one good event
  }
  sink.Start();
  for (int i = 0; i < 1000 && sink.Stats().delivered + sink.Stats().rejected < 1000; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  sink.Stop();
  EXPECT_EQ(sink.Stats().delivered + sink.Stats().rejected, 1000) << "every event accounted for";
  // Singling out all 999 would take about 2000 uploads.
  EXPECT_LE(usage.calls(), 400);
  auto rejected = EventSpool::Open(path_ + ".rejected");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ((*rejected)->events(), sink.Stats().rejected);
  EXPECT_GE(sink.Stats().rejected, 999);
}

TEST_F(EventSinkTest, UsageGoingDownWhileRefusedEventsAreSingledOutLosesNothing) {
  FakeUsage usage;
  usage.GoDownAfter(3);  // the whole batch, then two halves, then down
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), &usage, spool->get());
  for (auto& e : TenWithTwoBad()) sink.Emit(std::move(e));  // one batch
  sink.Start();
  for (int i = 0; i < 500 && sink.Stats().spooled < 10; ++i) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(sink.Stats().spooled, 10) << "the whole batch waits on disk";
  EXPECT_EQ(sink.Stats().rejected, 0);
  usage.SetDown(false);
  sink.Emit(Event(100));
  for (int i = 0; i < 1000 && (usage.unique() < 9 || sink.Stats().spooled > 0); ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  sink.Stop();
  EXPECT_EQ(usage.unique(), 9u);
  EXPECT_EQ(sink.Stats().spooled, 0);
  EXPECT_EQ(sink.Stats().rejected, 2);
  auto rejected = EventSpool::Open(path_ + ".rejected");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ((*rejected)->events(), 2);
}

TEST_F(EventSinkTest, AFullQueueSpillsToDiskInsteadOfDropping) {
  FakeUsage usage;
  usage.SetDown(true);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink::Options o;
  o.queue_capacity = 10;
  o.flush_interval = absl::Hours(1);  // the sender never wakes on its own
  o.batch_size = 1000;
  BatchingEventSink sink(o, &usage, spool->get());
  for (int i = 0; i < 25; ++i) sink.Emit(Event(i));  // not started: nothing drains
  EXPECT_EQ(sink.Stats().queued, 10);
  EXPECT_EQ(sink.Stats().spooled, 15);
}

aigw::v1::CallEvent Marked(const std::string& request_id) {
  aigw::v1::CallEvent e = Event(0);
  e.set_request_id(request_id);
  return e;
}

// Ten events with two bad ones of the given kind, sent as one batch.
std::vector<aigw::v1::CallEvent> TenWithTwo(const std::string& bad_request_id) {
  std::vector<aigw::v1::CallEvent> events;
  for (int i = 0; i < 10; ++i)
    events.push_back(i == 3 || i == 8 ? Marked(bad_request_id) : Event(i));
  return events;
}

class RefusalKindTest : public EventSinkTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(RefusalKindTest, IsNarrowedToTheEventsThatCauseIt) {
  FakeUsage usage;
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), &usage, spool->get());
  for (auto& e : TenWithTwo(GetParam())) sink.Emit(std::move(e));  // one batch
  sink.Start();
  sink.Stop();  // sends what is queued
  EXPECT_EQ(usage.unique(), 8u);
  EXPECT_EQ(usage.received(), 8) << "each good event is taken once";
  EXPECT_EQ(sink.Stats().delivered, 8);
  EXPECT_EQ(sink.Stats().rejected, 2);
  EXPECT_EQ(sink.Stats().spooled, 0) << "nothing waits for a usage that is up";
  auto rejected = EventSpool::Open(path_ + ".rejected");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ((*rejected)->events(), 2) << "only the two refused events are set aside";
}

INSTANTIATE_TEST_SUITE_P(EveryKind, RefusalKindTest,
                         ::testing::Values("",              // INVALID_ARGUMENT
                                           "too-big",       // RESOURCE_EXHAUSTED
                                           "undecodable"),  // UNIMPLEMENTED
                         [](const auto& info) {
                           return std::string(info.param[0] == 0     ? "invalid"
                                              : info.param[0] == 't' ? "too_large"
                                                                     : "undecodable");
                         });

TEST_F(EventSinkTest, AnEventUsageNamesCostsTwoUploads) {
  FakeUsage usage;
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(100), &usage, spool->get());
  for (int i = 0; i < 100; ++i) sink.Emit(i == 57 ? aigw::v1::CallEvent() : Event(i));
  sink.Start();
  sink.Stop();
  EXPECT_EQ(usage.unique(), 99u);
  EXPECT_EQ(sink.Stats().rejected, 1);
  EXPECT_EQ(usage.calls(), 3) << "the batch, the named event alone, the rest";
}

TEST_F(EventSinkTest, AMisnamedRefusalStillSetsAsideOnlyTheRefusedEvents) {
  FakeUsage usage;
  usage.SetMisnamed();
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), &usage, spool->get());
  for (auto& e : TenWithTwo("")) sink.Emit(std::move(e));
  sink.Start();
  sink.Stop();
  EXPECT_EQ(usage.unique(), 8u);
  EXPECT_EQ(sink.Stats().rejected, 2);
}

TEST_F(EventSinkTest, AServerWithoutRecordCallsIsNotTakenForARefusal) {
  // A wrong --usage_addr answers UNIMPLEMENTED to everything, an empty
  // batch included: the events wait in the spool, none is set aside.
  FakeUsage usage;
  usage.SetNoRecordCalls();
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), &usage, spool->get());
  for (int i = 0; i < 5; ++i) sink.Emit(Event(i));
  sink.Start();
  sink.Stop();
  EXPECT_EQ(sink.Stats().spooled, 5);
  EXPECT_EQ(sink.Stats().rejected, 0);
}

TEST_F(EventSinkTest, BatchesAreBoundedInBytes) {
  FakeUsage usage;
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink::Options o = QuickOptions(1000);
  o.max_batch_bytes = 10000;
  BatchingEventSink sink(o, &usage, spool->get());
  for (int i = 0; i < 100; ++i) {
    aigw::v1::CallEvent e = Event(i);
    e.mutable_caller()->set_user_agent(std::string(500, 'u'));
    sink.Emit(std::move(e));
  }
  sink.Start();
  sink.Stop();
  EXPECT_EQ(usage.unique(), 100u);
  EXPECT_LE(usage.max_batch_bytes(), 10000u);
  EXPECT_GE(usage.calls(), 6);
}

TEST_F(EventSinkTest, EventsAreMadeStorableBeforeTheyAreQueued) {
  FakeUsage usage;
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), &usage, spool->get());
  aigw::v1::CallEvent e = Event(1);
  e.set_error_message("\xE4\xB8");  // a character cut short
  sink.Emit(e);
  sink.Emit(Event(2));
  EXPECT_EQ(sink.Stats().cleaned, 1);
  sink.Start();
  sink.Stop();
  EXPECT_EQ(usage.unique(), 2u);
}

// The usage service's RecordCalls over real gRPC in this process: what it
// gets is what gRPC could decode, under its receive limit (4 MiB unless
// set).
class InProcessUsage final : public aigw::v1::UsageService::CallbackService {
 public:
  explicit InProcessUsage(int max_receive_bytes = -1) {
    server_ = std::make_unique<aigw::testing::LocalGrpcServer>(
        std::vector<grpc::Service*>{this}, [&](grpc::ServerBuilder& builder) {
          if (max_receive_bytes > 0) builder.SetMaxReceiveMessageSize(max_receive_bytes);
        });
  }
  ~InProcessUsage() override { server_.reset(); }

  grpc::ServerUnaryReactor* RecordCalls(grpc::CallbackServerContext* ctx,
                                        const aigw::v1::RecordCallsRequest* request,
                                        aigw::v1::RecordCallsResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& e : request->events()) events_.push_back(e);
    }
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::unique_ptr<GrpcEventUploader> Uploader() {
    return std::make_unique<GrpcEventUploader>(server_->NewChannel(), absl::Seconds(10));
  }
  std::vector<aigw::v1::CallEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::set<std::string> request_ids() {
    std::set<std::string> ids;
    for (const auto& e : events()) ids.insert(e.request_id());
    return ids;
  }

 private:
  std::unique_ptr<aigw::testing::LocalGrpcServer> server_;
  absl::Mutex mu_;
  std::vector<aigw::v1::CallEvent> events_;
};

// The provider error text as the pipeline used to record it: a long run of
// Chinese cut at 1000 bytes, inside a character.
std::string ChineseErrorCutInsideACharacter() {
  std::string text;
  for (int i = 0; i < 600; ++i) text += "请求参数错误";
  return text.substr(0, 1000);
}

TEST_F(EventSinkTest, GrpcRefusesUndecodableAndOversizedBatchesWithTheseCodes) {
  // What the narrowing relies on, pinned: gRPC's callback server answers
  // UNIMPLEMENTED for a request it cannot parse (a proto3 string that is
  // not UTF-8) and RESOURCE_EXHAUSTED for one over its receive limit.
  InProcessUsage usage;
  auto uploader = usage.Uploader();
  aigw::v1::RecordCallsRequest undecodable;
  *undecodable.add_events() = Event(1);
  undecodable.mutable_events(0)->set_error_message(ChineseErrorCutInsideACharacter());
  EXPECT_EQ(uploader->Upload(undecodable).code(), absl::StatusCode::kUnimplemented);
  aigw::v1::RecordCallsRequest oversized;
  *oversized.add_events() = Event(2);
  oversized.mutable_events(0)->mutable_caller()->set_user_agent(std::string(5 << 20, 'a'));
  EXPECT_EQ(uploader->Upload(oversized).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(uploader->Upload(aigw::v1::RecordCallsRequest()).ok());
  EXPECT_TRUE(usage.events().empty());
}

TEST_F(EventSinkTest, AChineseProviderErrorDoesNotStopTheCallRecord) {
  InProcessUsage usage;
  auto uploader = usage.Uploader();
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), uploader.get(), spool->get());
  aigw::v1::CallEvent refused = Event(1);
  refused.set_outcome(aigw::v1::CLIENT_ERROR);
  refused.set_http_status(400);
  refused.set_error_message(ChineseErrorCutInsideACharacter());
  sink.Emit(refused);
  sink.Emit(Event(2));  // a later good call
  sink.Start();
  sink.Stop();
  EXPECT_EQ(usage.request_ids(), (std::set<std::string>{"req-1", "req-2"}));
  EXPECT_EQ(sink.Stats().spooled, 0);
  EXPECT_EQ(sink.Stats().rejected, 0);
  for (const auto& e : usage.events()) {
    if (e.request_id() == "req-1") {
      EXPECT_EQ(e.error_message(), std::string(ChineseErrorCutInsideACharacter(), 0, 999))
          << "cut after the last whole character";
    }
  }
}

TEST_F(EventSinkTest, CallsWithHugeCallerFieldsDoNotStopTheCallRecord) {
  InProcessUsage usage;
  auto uploader = usage.Uploader();
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), uploader.get(), spool->get());
  for (int i = 0; i < 3; ++i) {
    aigw::v1::CallEvent e = Event(i);
    e.mutable_caller()->set_user_agent(std::string(2 << 20, 'a'));
    e.mutable_caller()->set_user_id(std::string(2 << 20, 'u'));
    e.mutable_caller()->set_ip_address(std::string(2 << 20, '1'));
    sink.Emit(std::move(e));
  }
  sink.Emit(Event(3));
  sink.Start();
  sink.Stop();
  EXPECT_EQ(usage.request_ids(), (std::set<std::string>{"req-0", "req-1", "req-2", "req-3"}));
  EXPECT_EQ(sink.Stats().spooled, 0);
  for (const auto& e : usage.events()) {
    EXPECT_LE(e.caller().user_agent().size(), 512u);
    EXPECT_LE(e.caller().user_id().size(), 128u);
    EXPECT_LE(e.caller().ip_address().size(), 64u);
  }
}

TEST_F(EventSinkTest, BatchesStayUnderTheReceiversMessageLimit) {
  // 200 events of ~2.6 KB: one batch by count, about 520 KB; usage takes
  // at most 64 KB here.
  InProcessUsage usage(64 << 10);
  auto uploader = usage.Uploader();
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink::Options o = QuickOptions(200);
  o.max_batch_bytes = 60 << 10;
  BatchingEventSink sink(o, uploader.get(), spool->get());
  for (int i = 0; i < 200; ++i) {
    aigw::v1::CallEvent e = Event(i);
    e.mutable_caller()->set_user_agent(std::string(512, 'a'));
    e.set_error_message(std::string(2000, 'e'));
    sink.Emit(std::move(e));
  }
  sink.Start();
  sink.Stop();
  EXPECT_EQ(usage.request_ids().size(), 200u);
  EXPECT_EQ(sink.Stats().rejected, 0);
  EXPECT_EQ(sink.Stats().spooled, 0);
}

TEST_F(EventSinkTest, ASpoolAnOlderGatewayLeftStuckIsDelivered) {
  // What the old pipeline spooled and could never replay: a batch with
  // error text cut inside a character, and one over the receive limit.
  {
    auto spool = EventSpool::Open(path_);
    ASSERT_TRUE(spool.ok());
    aigw::v1::RecordCallsRequest chinese;
    *chinese.add_events() = Event(1);
    chinese.mutable_events(0)->set_error_message(ChineseErrorCutInsideACharacter());
    *chinese.add_events() = Event(2);
    ASSERT_TRUE((*spool)->Append(chinese).ok());
    aigw::v1::RecordCallsRequest huge;
    for (int i = 3; i < 6; ++i) {
      *huge.add_events() = Event(i);
      huge.mutable_events(i - 3)->mutable_caller()->set_user_agent(std::string(2 << 20, 'a'));
    }
    ASSERT_TRUE((*spool)->Append(huge).ok());
    aigw::v1::RecordCallsRequest last;
    *last.add_events() = Event(6);
    ASSERT_TRUE((*spool)->Append(last).ok());
  }
  InProcessUsage usage;
  auto uploader = usage.Uploader();
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->events(), 6);
  BatchingEventSink sink(QuickOptions(10), uploader.get(), spool->get());
  sink.Start();
  for (int i = 0; i < 1000 && sink.Stats().spooled > 0; ++i) absl::SleepFor(absl::Milliseconds(5));
  sink.Stop();
  EXPECT_EQ(usage.request_ids().size(), 6u);
  EXPECT_EQ(sink.Stats().spooled, 0);
  EXPECT_EQ(sink.Stats().rejected, 0);
}

}  // namespace
}  // namespace aigw::gateway
