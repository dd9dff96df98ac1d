#include "services/gateway/event_sink.h"

#include <filesystem>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

// Stands in for the usage service: can be down, records what it accepted
// (keyed like usage's idempotency: request_id + attempt).
class FakeUsage : public EventUploader {
 public:
  absl::Status Upload(const aigw::v1::RecordCallsRequest& batch) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (down_after_calls_ >= 0 && calls_ > down_after_calls_) down_ = true;
    if (down_) return absl::UnavailableError("usage is down");
    for (const auto& e : batch.events()) {
      if (e.request_id().empty()) {
        return absl::InvalidArgumentError("events[0].request_id is empty");
      }
    }
    for (const auto& e : batch.events()) {
      ++received_;
      keys_.insert(e.request_id() + "#" + std::to_string(e.attempt()));
    }
    return absl::OkStatus();
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

 private:
  absl::Mutex mu_;
  bool down_ = false;
  int down_after_calls_ = -1;
  int calls_ = 0;
  int received_ = 0;
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

TEST_F(EventSinkTest, SpoolSurvivesReopenAndIgnoresATornTail) {
  {
    auto spool = EventSpool::Open(path_);
    ASSERT_TRUE(spool.ok()) << spool.status();
    aigw::v1::RecordCallsRequest b;
    for (int i = 0; i < 3; ++i) *b.add_events() = Event(i);
    ASSERT_TRUE((*spool)->Append(b).ok());
    EXPECT_EQ((*spool)->events(), 3);
  }
  // A crash in the middle of the next append leaves a partial record.
  {
    std::FILE* f = std::fopen(path_.c_str(), "ab");
    const char torn[] = {static_cast<char>(200), 0, 0, 0, 'x', 'y'};
    std::fwrite(torn, 1, sizeof(torn), f);
    std::fclose(f);
  }
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->events(), 3);
  aigw::v1::RecordCallsRequest more;
  *more.add_events() = Event(9);
  ASSERT_TRUE((*spool)->Append(more).ok());
  int64_t read = 0;
  auto all = (*spool)->ReadAll(&read);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].events(0).request_id(), "req-9");
}

TEST_F(EventSinkTest, ConsumeKeepsWhatWasAppendedAfterTheRead) {
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  aigw::v1::RecordCallsRequest a, b;
  *a.add_events() = Event(1);
  *b.add_events() = Event(2);
  ASSERT_TRUE((*spool)->Append(a).ok());
  int64_t read = 0;
  ASSERT_TRUE((*spool)->ReadAll(&read).ok());
  ASSERT_TRUE((*spool)->Append(b).ok());  // arrives while the read is sent
  ASSERT_TRUE((*spool)->Consume(read).ok());
  EXPECT_EQ((*spool)->events(), 1);
  auto rest = (*spool)->ReadAll(&read);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].events(0).request_id(), "req-2");
}

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

TEST_F(EventSinkTest, OneRefusedEventDoesNotHoldBackTheRestOfItsBatch) {
  FakeUsage usage;
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  BatchingEventSink sink(QuickOptions(10), &usage, spool->get());
  for (auto& e : TenWithTwoBad()) sink.Emit(std::move(e));  // one batch
  sink.Start();
  for (int i = 0; i < 1000 && sink.Stats().delivered + sink.Stats().rejected < 10; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  sink.Stop();
  EXPECT_EQ(usage.unique(), 8u);
  EXPECT_EQ(usage.received(), 8) << "each good event is taken once";
  EXPECT_EQ(sink.Stats().delivered, 8);
  EXPECT_EQ(sink.Stats().rejected, 2);
  EXPECT_EQ(sink.Stats().spooled, 0);
  auto rejected = EventSpool::Open(path_ + ".rejected");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ((*rejected)->events(), 2) << "only the two refused events are set aside";
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

}  // namespace
}  // namespace aigw::gateway
