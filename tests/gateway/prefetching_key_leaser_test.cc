#include "services/gateway/prefetching_key_leaser.h"

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"

namespace aigw::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

// A keypool in memory: grants leases round-robin over `keys` (one plus as
// many as asked to prefetch), and records every call. Answers at once, or
// holds the answer when `hold` is set.
class FakeKeypool : public KeyLeaser {
 public:
  explicit FakeKeypool(std::vector<int64_t> keys) : keys_(std::move(keys)) {}

  void Lease(const aigw::v1::LeaseKeyRequest& request,
             std::function<void(LeaseResult)> done) override {
    LeaseResult result;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      if (exhausted_) {
        result.status = absl::ResourceExhaustedError("No available API keys for provider openai");
      } else {
        result.lease = Grant();
        result.lease.set_base_url("http://upstream/v1");
        result.lease.set_api_format("openai");
        result.lease.set_provider_id(1);
        for (int i = 0; i < request.prefetch(); ++i) *result.lease.add_prefetched() = Grant();
      }
      if (hold_) {
        held_.push_back([done, result]() mutable { done(std::move(result)); });
        return;
      }
    }
    done(std::move(result));
  }
  void Report(const aigw::v1::ReportUsageRequest& request) override {
    absl::MutexLock lock(&mu_);
    reports_.push_back(request);
  }

  void set_hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  void set_exhausted(bool exhausted) {
    absl::MutexLock lock(&mu_);
    exhausted_ = exhausted;
  }
  void AnswerHeld() {
    std::vector<std::function<void()>> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (auto& f : held) f();
  }
  std::vector<aigw::v1::LeaseKeyRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  // Lease ids reported RELEASED.
  std::vector<std::string> released() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& r : reports_) {
      if (r.outcome() == aigw::v1::RELEASED) out.push_back(r.lease_id());
    }
    return out;
  }
  int granted() {
    absl::MutexLock lock(&mu_);
    return next_;
  }

 private:
  aigw::v1::LeaseKeyResponse Grant() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    aigw::v1::LeaseKeyResponse l;
    const int64_t key = keys_[next_ % keys_.size()];
    l.set_lease_id(absl::StrCat("lease-", next_++));
    l.set_key_id(key);
    l.set_api_key(absl::StrCat("sk-", key));
    l.set_key_name(absl::StrCat("key-", key));
    return l;
  }

  const std::vector<int64_t> keys_;
  absl::Mutex mu_;
  int next_ ABSL_GUARDED_BY(mu_) = 0;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  bool exhausted_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> held_ ABSL_GUARDED_BY(mu_);
  std::vector<aigw::v1::LeaseKeyRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<aigw::v1::ReportUsageRequest> reports_ ABSL_GUARDED_BY(mu_);
};

class PrefetchingKeyLeaserTest : public ::testing::Test {
 protected:
  PrefetchingKeyLeaserTest() : clock_(kT0) {}

  std::unique_ptr<PrefetchingKeyLeaser> Make(int max_stock = 32) {
    PrefetchingKeyLeaser::Options o;
    o.max_stock = max_stock;
    o.min_stock = 4;
    o.ttl = absl::Seconds(2);
    o.sweep_interval = absl::ZeroDuration();
    return std::make_unique<PrefetchingKeyLeaser>(&keypool_, &clock_, o);
  }

  // Leases synchronously (the fake answers at once); fails the test when
  // the answer did not come right away.
  LeaseResult LeaseNow(PrefetchingKeyLeaser& leaser, std::vector<int64_t> exclude = {}) {
    aigw::v1::LeaseKeyRequest req;
    req.set_provider_code("openai");
    req.set_model("gpt-4o");
    req.set_estimated_tokens(100);
    for (int64_t k : exclude) req.add_exclude_key_ids(k);
    LeaseResult out;
    bool answered = false;
    leaser.Lease(req, [&](LeaseResult r) {
      out = std::move(r);
      answered = true;
    });
    EXPECT_TRUE(answered);
    return out;
  }

  void Report(PrefetchingKeyLeaser& leaser, const std::string& lease_id,
              aigw::v1::Outcome outcome) {
    aigw::v1::ReportUsageRequest r;
    r.set_lease_id(lease_id);
    r.set_outcome(outcome);
    leaser.Report(r);
  }

  ManualClock clock_;
  FakeKeypool keypool_{{1, 2, 3}};
};

TEST_F(PrefetchingKeyLeaserTest, TheFirstCallBringsTheStockAndLaterCallsNeedNoRoundTrip) {
  auto leaser = Make();
  LeaseResult first = LeaseNow(*leaser);
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(first.lease.lease_id(), "lease-0");
  EXPECT_EQ(first.lease.prefetched_size(), 0) << "the caller gets one lease";
  ASSERT_EQ(keypool_.requests().size(), 1u);
  EXPECT_EQ(keypool_.requests()[0].prefetch(), 4);
  EXPECT_FALSE(keypool_.requests()[0].refill());
  EXPECT_EQ(leaser->ready("openai"), 4);

  // The keypool answers nothing from now on: the call is served anyway.
  keypool_.set_hold(true);
  LeaseResult second = LeaseNow(*leaser);
  ASSERT_TRUE(second.status.ok());
  EXPECT_EQ(second.lease.lease_id(), "lease-1");
  EXPECT_EQ(second.lease.api_key(), "sk-2");
  // The provider's fields are filled in from the answer that brought it.
  EXPECT_EQ(second.lease.base_url(), "http://upstream/v1");
  EXPECT_EQ(second.lease.api_format(), "openai");
  EXPECT_EQ(second.lease.provider_id(), 1);
  // Only a refill went out, and nobody waits for it.
  ASSERT_EQ(keypool_.requests().size(), 2u);
  EXPECT_TRUE(keypool_.requests()[1].refill());
  keypool_.AnswerHeld();
}

TEST_F(PrefetchingKeyLeaserTest, RefillsAtHalfTheTargetOneAtATime) {
  auto leaser = Make();
  keypool_.set_hold(false);
  LeaseResult a = LeaseNow(*leaser);  // stock 4, 1 in use: target 4
  keypool_.set_hold(true);
  LeaseResult b = LeaseNow(*leaser);  // stock 3, 2 in use: target 6 -> refill
  ASSERT_EQ(keypool_.requests().size(), 2u);
  const aigw::v1::LeaseKeyRequest refill = keypool_.requests()[1];
  EXPECT_TRUE(refill.refill());
  EXPECT_EQ(refill.prefetch(), 6 - 3 - 1);
  EXPECT_EQ(refill.estimated_tokens(), 100);
  LeaseResult c = LeaseNow(*leaser);  // served from stock; the refill is still out
  ASSERT_TRUE(c.status.ok());
  EXPECT_EQ(keypool_.requests().size(), 2u);
  keypool_.AnswerHeld();
  // The refill's own lease and its prefetched ones are all ready now.
  EXPECT_EQ(leaser->ready("openai"), 2 + 1 + 2);
}

TEST_F(PrefetchingKeyLeaserTest, ExcludedKeysAreSkippedAndMayNeedARoundTrip) {
  auto leaser = Make();
  ASSERT_TRUE(LeaseNow(*leaser).status.ok());  // key 1; ready: 2, 3, 1, 2
  LeaseResult r = LeaseNow(*leaser, {2});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.lease.key_id(), 3);
  const size_t before = keypool_.requests().size();
  LeaseResult none = LeaseNow(*leaser, {1, 2, 3});
  ASSERT_TRUE(none.status.ok());
  ASSERT_EQ(keypool_.requests().size(), before + 1);
  EXPECT_THAT(keypool_.requests().back().exclude_key_ids(), ElementsAre(1, 2, 3));
}

TEST_F(PrefetchingKeyLeaserTest, UnusedLeasesGoBackAfterTheTtl) {
  auto leaser = Make();
  ASSERT_TRUE(LeaseNow(*leaser).status.ok());
  ASSERT_EQ(leaser->ready("openai"), 4);
  clock_.Advance(absl::Seconds(2) - absl::Milliseconds(1));
  leaser->ReleaseExpired();
  EXPECT_TRUE(keypool_.released().empty());
  clock_.Advance(absl::Milliseconds(1));
  leaser->ReleaseExpired();
  EXPECT_THAT(keypool_.released(),
              UnorderedElementsAreArray({"lease-1", "lease-2", "lease-3", "lease-4"}));
  EXPECT_EQ(leaser->ready("openai"), 0);
}

TEST_F(PrefetchingKeyLeaserTest, ARateLimitedKeysReadyLeasesGoBackAtOnce) {
  auto leaser = Make();
  LeaseResult first = LeaseNow(*leaser);  // key 1; ready: 2 (lease-1), 3, 1 (lease-3), 2
  ASSERT_TRUE(first.status.ok());
  Report(*leaser, first.lease.lease_id(), aigw::v1::RATE_LIMITED);
  EXPECT_THAT(keypool_.released(), ElementsAre("lease-3"));
  EXPECT_EQ(leaser->ready("openai"), 3);
  LeaseResult next = LeaseNow(*leaser);  // key 2; its refill brings lease-6 on key 1
  ASSERT_TRUE(next.status.ok());
  EXPECT_THAT(keypool_.released(), ElementsAre("lease-3", "lease-6"));
  Report(*leaser, next.lease.lease_id(), aigw::v1::AUTH_FAILED);  // key 2
  EXPECT_THAT(keypool_.released(), ElementsAre("lease-3", "lease-6", "lease-4"));
  // A success leaves the stock alone.
  LeaseResult ok = LeaseNow(*leaser);
  const size_t released = keypool_.released().size();
  Report(*leaser, ok.lease.lease_id(), aigw::v1::SUCCESS);
  EXPECT_EQ(keypool_.released().size(), released);
}

TEST_F(PrefetchingKeyLeaserTest, ARefillUnderWayBringsNoReadyLeaseOfARateLimitedKey) {
  auto leaser = Make();
  LeaseResult first = LeaseNow(*leaser);  // key 1; ready: 2, 3, 1 (lease-3), 2
  ASSERT_TRUE(first.status.ok());
  keypool_.set_hold(true);
  ASSERT_TRUE(LeaseNow(*leaser).status.ok());  // lease-1 (key 2); a refill goes out
  ASSERT_TRUE(keypool_.requests().back().refill());
  // Key 1 answers 429 while the refill (granted before the keypool heard of
  // it: leases 5, 6 and 7 on keys 3, 1, 2) is under way.
  aigw::v1::ReportUsageRequest limited;
  limited.set_lease_id(first.lease.lease_id());
  limited.set_outcome(aigw::v1::RATE_LIMITED);
  limited.set_retry_after_ms(5000);
  leaser->Report(limited);
  EXPECT_THAT(keypool_.released(), ElementsAre("lease-3"));
  keypool_.AnswerHeld();
  EXPECT_THAT(keypool_.released(), ElementsAre("lease-3", "lease-6"));
  EXPECT_EQ(leaser->ready("openai"), 4);
  for (int i = 0; i < 4; ++i) {
    LeaseResult r = LeaseNow(*leaser);
    ASSERT_TRUE(r.status.ok());
    EXPECT_NE(r.lease.key_id(), 1) << r.lease.lease_id();
  }
  // After its Retry-After, key 1's leases are kept ready again.
  clock_.Advance(absl::Seconds(5));
  leaser->ReleaseExpired();
  keypool_.set_hold(false);
  keypool_.AnswerHeld();
  bool key1 = false;
  for (int i = 0; i < 8 && !key1; ++i) key1 = LeaseNow(*leaser).lease.key_id() == 1;
  EXPECT_TRUE(key1);
}

TEST_F(PrefetchingKeyLeaserTest, AWaitingCallTakesAShunnedKeyWhenTheKeypoolGrantsNothingElse) {
  FakeKeypool single({1});
  PrefetchingKeyLeaser::Options o;
  o.min_stock = 4;
  o.sweep_interval = absl::ZeroDuration();
  PrefetchingKeyLeaser leaser(&single, &clock_, o);
  LeaseResult first = LeaseNow(leaser);
  ASSERT_TRUE(first.status.ok());
  Report(leaser, first.lease.lease_id(), aigw::v1::RATE_LIMITED);
  EXPECT_EQ(single.released().size(), 4u);
  // The keypool is the authority: a lease it grants on demand serves.
  LeaseResult again = LeaseNow(leaser);
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.lease.key_id(), 1);
  EXPECT_EQ(leaser.ready("openai"), 0);
}

TEST_F(PrefetchingKeyLeaserTest, ShutdownGivesEveryReadyLeaseBack) {
  auto leaser = Make();
  ASSERT_TRUE(LeaseNow(*leaser).status.ok());
  leaser.reset();
  EXPECT_EQ(keypool_.released().size(), 4u);
}

TEST_F(PrefetchingKeyLeaserTest, AnExhaustedRefillLeavesTheNextCallToAskOnNeed) {
  auto leaser = Make();
  ASSERT_TRUE(LeaseNow(*leaser).status.ok());
  keypool_.set_exhausted(true);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(LeaseNow(*leaser).status.ok());
  LeaseResult none = LeaseNow(*leaser);
  EXPECT_EQ(none.status.code(), absl::StatusCode::kResourceExhausted);
}

// Leases a call that may wait: its answer lands in `out`.
struct Pending {
  absl::Mutex mu;
  std::vector<LeaseResult> results;
  int answered() {
    absl::MutexLock lock(&mu);
    return static_cast<int>(results.size());
  }
};

void LeaseLater(PrefetchingKeyLeaser& leaser, Pending* out) {
  aigw::v1::LeaseKeyRequest req;
  req.set_provider_code("openai");
  req.set_estimated_tokens(100);
  leaser.Lease(req, [out](LeaseResult r) {
    absl::MutexLock lock(&out->mu);
    out->results.push_back(std::move(r));
  });
}

TEST_F(PrefetchingKeyLeaserTest, ABurstOfCallsWaitsOnAFewRoundTrips) {
  auto leaser = Make();
  keypool_.set_hold(true);
  Pending pending;
  for (int i = 0; i < 100; ++i) LeaseLater(*leaser, &pending);
  // Four LeaseKey calls out at most, whatever the number of calls waiting.
  EXPECT_EQ(keypool_.requests().size(), 4u);
  EXPECT_EQ(pending.answered(), 0);
  for (int round = 0; round < 20 && pending.answered() < 100; ++round) keypool_.AnswerHeld();
  ASSERT_EQ(pending.answered(), 100);
  std::set<std::string> ids;
  for (const LeaseResult& r : pending.results) {
    EXPECT_TRUE(r.status.ok()) << r.status;
    ids.insert(r.lease.lease_id());
  }
  EXPECT_EQ(ids.size(), 100u) << "each call its own lease";
  EXPECT_EQ(pending.results[0].lease.lease_id(), "lease-0") << "first come, first served";
  EXPECT_LE(keypool_.requests().size(), 8u);
  for (const auto& r : keypool_.requests()) EXPECT_FALSE(r.refill());
}

TEST_F(PrefetchingKeyLeaserTest, WaitingCallsHearTheKeypoolsRefusalWhenTheLastFetchFails) {
  auto leaser = Make();
  keypool_.set_exhausted(true);
  keypool_.set_hold(true);
  Pending pending;
  for (int i = 0; i < 10; ++i) LeaseLater(*leaser, &pending);
  const size_t fetches = keypool_.requests().size();
  EXPECT_EQ(fetches, 2u);  // 5 leases asked by each
  keypool_.AnswerHeld();
  ASSERT_EQ(pending.answered(), 10);
  for (const LeaseResult& r : pending.results) {
    EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  }
  EXPECT_EQ(keypool_.requests().size(), fetches) << "no fetch chases a refusing keypool";
}

TEST_F(PrefetchingKeyLeaserTest, ACallFarAboveTheUsualEstimateAsksWithItsOwn) {
  auto leaser = Make();
  ASSERT_TRUE(LeaseNow(*leaser).status.ok());  // 100 tokens: the usual
  ASSERT_EQ(leaser->ready("openai"), 4);
  aigw::v1::LeaseKeyRequest big;
  big.set_provider_code("openai");
  big.set_estimated_tokens(2 * 100 + 1024 + 1);
  LeaseResult r;
  leaser->Lease(big, [&r](LeaseResult result) { r = std::move(result); });
  ASSERT_TRUE(r.status.ok()) << r.status;
  // Its own round trip, counted with its own estimate; the stock untouched.
  EXPECT_EQ(keypool_.requests().back().estimated_tokens(), 2 * 100 + 1024 + 1);
  EXPECT_EQ(keypool_.requests().back().prefetch(), 0);
  EXPECT_EQ(leaser->ready("openai"), 4);
  // At the line, a call still takes a ready lease.
  aigw::v1::LeaseKeyRequest near = big;
  near.set_estimated_tokens(2 * 100 + 1024);
  const size_t asked = keypool_.requests().size();
  leaser->Lease(near, [&r](LeaseResult result) { r = std::move(result); });
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.lease.lease_id(), "lease-1") << "the oldest ready lease";
  EXPECT_LE(keypool_.requests().size(), asked + 1);  // at most a refill
  if (keypool_.requests().size() > asked) {
    EXPECT_TRUE(keypool_.requests().back().refill());
  }
}

TEST_F(PrefetchingKeyLeaserTest, StockZeroPassesEveryCallThrough) {
  auto leaser = Make(/*max_stock=*/0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(LeaseNow(*leaser).status.ok());
  ASSERT_EQ(keypool_.requests().size(), 3u);
  for (const auto& r : keypool_.requests()) EXPECT_EQ(r.prefetch(), 0);
  EXPECT_EQ(keypool_.granted(), 3);
}

}  // namespace
}  // namespace aigw::gateway
