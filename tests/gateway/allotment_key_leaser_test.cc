#include "services/gateway/allotment_key_leaser.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace aigw::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

// The leaser behind: answers every lease with `status` (a lease of key 99
// when OK) and records the reports it gets.
class FakeInner : public KeyLeaser {
 public:
  void Lease(const aigw::v1::LeaseKeyRequest&, std::function<void(LeaseResult)> done) override {
    LeaseResult r;
    r.status = status;
    if (status.ok()) {
      r.lease.set_lease_id("kp-1");
      r.lease.set_key_id(99);
    }
    done(std::move(r));
  }
  void Report(const aigw::v1::ReportUsageRequest& request) override {
    reports.push_back(request.lease_id());
  }
  absl::Status status;
  std::vector<std::string> reports;
};

aigw::v1::KeyAllotment Grant(const std::string& id, int64_t key_id, int64_t rpm, int64_t tpm,
                             int64_t rpd, int64_t valid_for_ms = 600'000) {
  aigw::v1::KeyAllotment a;
  a.set_allotment_id(id);
  a.set_key_id(key_id);
  a.set_api_key(absl::StrCat("sk-key-", key_id));
  a.set_key_name(absl::StrCat("key-", key_id));
  a.set_requests_per_minute(rpm);
  a.set_tokens_per_minute(tpm);
  a.set_requests_per_day(rpd);
  a.set_valid_for_ms(valid_for_ms);
  return a;
}

class AllotmentKeyLeaserTest : public ::testing::Test {
 protected:
  AllotmentKeyLeaserTest() : clock_(kT0) {
    auto& family = prometheus::BuildCounter().Name("t").Help("t").Register(registry_);
    AllotmentKeyLeaser::Options options;
    options.holder = "gw-test";
    options.refresh_interval = absl::ZeroDuration();
    options.served = &family.Add({{"c", "served"}});
    options.refused = &family.Add({{"c", "refused"}});
    options.refreshed = &family.Add({{"c", "refreshed"}});
    options.refresh_failed = &family.Add({{"c", "refresh_failed"}});
    options.seconds_without_keypool = &family.Add({{"c", "seconds"}});
    counters_ = options;
    leaser_ = std::make_unique<AllotmentKeyLeaser>(
        &inner_,
        [this](const aigw::v1::AllotKeysRequest& request)
            -> absl::StatusOr<aigw::v1::AllotKeysResponse> {
          asked_.push_back(request);
          if (!answer_.ok()) return answer_.status();
          return *answer_;
        },
        &clock_, options);
  }

  // The keypool's answer to the next AllotKeys.
  void Answer(std::vector<aigw::v1::KeyAllotment> allotments) {
    aigw::v1::AllotKeysResponse r;
    r.set_base_url("http://upstream/v1");
    r.set_api_format("openai");
    r.set_provider_id(1);
    for (auto& a : allotments) *r.add_allotments() = a;
    answer_ = r;
  }

  LeaseResult Lease(int64_t tokens = 0, std::vector<int64_t> exclude = {}) {
    aigw::v1::LeaseKeyRequest request;
    request.set_provider_code("openai");
    request.set_estimated_tokens(tokens);
    for (int64_t k : exclude) request.add_exclude_key_ids(k);
    LeaseResult out;
    leaser_->Lease(request, [&](LeaseResult r) { out = std::move(r); });
    return out;
  }

  // Leases served now, up to `max`.
  int Served(int max, int64_t tokens = 0) {
    int n = 0;
    while (n < max && Lease(tokens).status.ok()) ++n;
    return n;
  }

  void Report(const std::string& lease_id, aigw::v1::Outcome outcome, int64_t total = 0) {
    aigw::v1::ReportUsageRequest r;
    r.set_lease_id(lease_id);
    r.set_outcome(outcome);
    r.set_total_tokens(total);
    leaser_->Report(r);
  }

  ManualClock clock_;
  prometheus::Registry registry_;
  AllotmentKeyLeaser::Options counters_;
  FakeInner inner_;
  absl::StatusOr<aigw::v1::AllotKeysResponse> answer_ = absl::UnavailableError("no keypool");
  std::vector<aigw::v1::AllotKeysRequest> asked_;
  std::unique_ptr<AllotmentKeyLeaser> leaser_;
};

TEST_F(AllotmentKeyLeaserTest, WhileAKeypoolAnswersItServesEveryLease) {
  ASSERT_TRUE(Lease().status.ok());  // the provider is now known
  Answer({Grant("a1", 1, 3, 0, 0)});
  leaser_->Refresh();
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_EQ(asked_[0].provider_code(), "openai");
  EXPECT_EQ(asked_[0].holder(), "gw-test");
  EXPECT_EQ(leaser_->usable("openai"), 1);
  for (int i = 0; i < 10; ++i) {
    LeaseResult r = Lease();
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.lease.key_id(), 99);
  }
  inner_.status = absl::ResourceExhaustedError("No available API keys for provider openai");
  EXPECT_EQ(Lease().status.code(), absl::StatusCode::kResourceExhausted)
      << "a keypool that answers decides, allotment or not";
  Report("kp-1", aigw::v1::SUCCESS);
  EXPECT_EQ(inner_.reports, std::vector<std::string>{"kp-1"});
  EXPECT_EQ(counters_.served->Value(), 0);
}

TEST_F(AllotmentKeyLeaserTest, WithoutAKeypoolLeasesComeFromTheAllotmentUpToItsMinuteShare) {
  Lease();
  Answer({Grant("a1", 1, 3, 0, 0), Grant("a2", 2, 2, 0, 0)});
  leaser_->Refresh();
  inner_.status = absl::UnavailableError("keypool down");
  LeaseResult first = Lease();
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_THAT(first.lease.lease_id(), StartsWith("allot:a1:"));
  EXPECT_EQ(first.lease.api_key(), "sk-key-1");
  EXPECT_EQ(first.lease.key_name(), "key-1");
  EXPECT_EQ(first.lease.base_url(), "http://upstream/v1");
  EXPECT_EQ(first.lease.api_format(), "openai");
  EXPECT_EQ(first.lease.provider_id(), 1);
  EXPECT_EQ(Lease().lease.key_id(), 2) << "round robin over the allotted keys";
  EXPECT_EQ(Served(100), 3);
  LeaseResult refused = Lease();
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status.message(), HasSubstr("keypool down"));
  EXPECT_THAT(refused.status.message(), HasSubstr("allotment of openai is used up or expired"));
  EXPECT_EQ(counters_.served->Value(), 5);
  EXPECT_EQ(counters_.refused->Value(), 2);  // Served's last try, and this one
  // Sliding: a minute after the first ones, as many again.
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(Served(100), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Served(100), 5);
  // DEADLINE_EXCEEDED is no answer either.
  clock_.Advance(absl::Seconds(60));
  inner_.status = absl::DeadlineExceededError("keypool too slow");
  EXPECT_TRUE(Lease().status.ok());
}

TEST_F(AllotmentKeyLeaserTest, TheDayShareAndTheTokenShareHold) {
  Lease();
  Answer({Grant("a1", 1, 0, 1000, 4, 600'000)});
  leaser_->Refresh();
  inner_.status = absl::UnavailableError("keypool down");
  LeaseResult a = Lease(400);
  LeaseResult b = Lease(400);
  ASSERT_TRUE(a.status.ok() && b.status.ok());
  EXPECT_FALSE(Lease(400).status.ok()) << "800 + 400 tokens > 1000 a minute";
  // The real count replaces the estimate.
  Report(a.lease.lease_id(), aigw::v1::SUCCESS, 100);
  EXPECT_TRUE(Lease(400).status.ok());
  EXPECT_TRUE(Lease(100).status.ok());
  // 4 requests in all: the day's share is spent whatever the minute says.
  clock_.Advance(absl::Minutes(2));
  EXPECT_FALSE(Lease(1).status.ok());
  EXPECT_TRUE(inner_.reports.empty()) << "allotment leases are never reported to the keypool";
}

TEST_F(AllotmentKeyLeaserTest, NoUseAfterTheDeadlineCountedFromBeforeTheAsk) {
  Lease();
  Answer({Grant("a1", 1, 0, 0, 0, 30'000)});
  leaser_->Refresh();
  inner_.status = absl::UnavailableError("keypool down");
  clock_.Advance(absl::Seconds(30) - absl::Milliseconds(1));
  EXPECT_TRUE(Lease().status.ok()) << "unlimited key: any number until the deadline";
  EXPECT_TRUE(Lease().status.ok());
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_FALSE(Lease().status.ok());
}

TEST_F(AllotmentKeyLeaserTest, RefreshExtendsUnusedAndSettlesUsedOnesWhichAreNeverUsedAgain) {
  Lease();
  Answer({Grant("a1", 1, 5, 0, 0, 30'000), Grant("a2", 2, 5, 0, 0, 30'000)});
  leaser_->Refresh();
  inner_.status = absl::UnavailableError("keypool down");
  LeaseResult used = Lease(10);
  ASSERT_EQ(used.lease.key_id(), 1);
  Report(used.lease.lease_id(), aigw::v1::SUCCESS, 25);

  // The next refresh fails: the used allotment is gone anyway, the unused
  // one stays until its deadline.
  clock_.Advance(absl::Seconds(10));
  answer_ = absl::UnavailableError("no keypool");
  leaser_->Refresh();
  ASSERT_EQ(asked_.size(), 2u);
  ASSERT_EQ(asked_[1].held_size(), 2);
  EXPECT_EQ(asked_[1].held(0).allotment_id(), "a1");
  EXPECT_EQ(asked_[1].held(0).requests(), 1);
  EXPECT_EQ(asked_[1].held(0).tokens(), 25);
  EXPECT_EQ(asked_[1].held(1).requests(), 0);
  EXPECT_EQ(counters_.refresh_failed->Value(), 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Lease().lease.key_id(), 2);
  EXPECT_FALSE(Lease().status.ok());

  // a2 was used meanwhile: the next refresh settles it too; the keypool
  // grants a fresh one of key 1.
  Answer({Grant("a3", 1, 5, 0, 0, 30'000)});
  leaser_->Refresh();
  ASSERT_EQ(asked_[2].held_size(), 1);
  EXPECT_EQ(asked_[2].held(0).allotment_id(), "a2");
  EXPECT_EQ(asked_[2].held(0).requests(), 5);
  EXPECT_EQ(Lease(0, {1}).status.code(), absl::StatusCode::kUnavailable)
      << "an excluded key is not served";
  EXPECT_EQ(Served(100), 5);

  // An unused allotment extended keeps its id and gets a later deadline.
  Lease();
  clock_.Advance(absl::Minutes(2));
  Answer({Grant("a4", 1, 5, 0, 0, 30'000)});
  leaser_->Refresh();  // a3 used: settled; a4 fresh
  Answer({Grant("a4", 1, 5, 0, 0, 30'000)});
  clock_.Advance(absl::Seconds(20));
  leaser_->Refresh();
  EXPECT_EQ(asked_.back().held(0).allotment_id(), "a4");
  EXPECT_EQ(asked_.back().held(0).requests(), 0);
  clock_.Advance(absl::Seconds(20));
  EXPECT_EQ(leaser_->usable("openai"), 1) << "40 s after the first grant, 20 s after the extension";
}

TEST_F(AllotmentKeyLeaserTest, AKeyRateLimitedOrRefusedIsNotUsedAgainAndReleasedLeasesComeBack) {
  Lease();
  Answer({Grant("a1", 1, 2, 0, 0), Grant("a2", 2, 2, 0, 0)});
  leaser_->Refresh();
  inner_.status = absl::UnavailableError("keypool down");
  LeaseResult a = Lease();
  ASSERT_EQ(a.lease.key_id(), 1);
  Report(a.lease.lease_id(), aigw::v1::RATE_LIMITED);
  LeaseResult b = Lease();
  ASSERT_EQ(b.lease.key_id(), 2);
  Report(b.lease.lease_id(), aigw::v1::RELEASED);
  EXPECT_EQ(Served(100), 2) << "key 2 twice (its released lease came back); key 1 shunned";
  EXPECT_TRUE(inner_.reports.empty());
}

TEST_F(AllotmentKeyLeaserTest, TimeWithoutAKeypoolIsCounted) {
  Lease();
  inner_.status = absl::UnavailableError("keypool down");
  Lease();
  clock_.Advance(absl::Seconds(2));
  leaser_->Refresh();
  EXPECT_DOUBLE_EQ(counters_.seconds_without_keypool->Value(), 2);
  clock_.Advance(absl::Milliseconds(500));
  inner_.status = absl::OkStatus();
  Lease();
  EXPECT_DOUBLE_EQ(counters_.seconds_without_keypool->Value(), 2.5);
  clock_.Advance(absl::Seconds(5));
  Lease();
  leaser_->Refresh();
  EXPECT_DOUBLE_EQ(counters_.seconds_without_keypool->Value(), 2.5);
}

TEST_F(AllotmentKeyLeaserTest, GiveBackReturnsEveryAllotment) {
  Lease();
  Answer({Grant("a1", 1, 2, 0, 0), Grant("a2", 2, 2, 0, 0)});
  leaser_->Refresh();
  Answer({});
  leaser_->GiveBack();
  ASSERT_EQ(asked_.size(), 2u);
  EXPECT_TRUE(asked_[1].give_back());
  EXPECT_EQ(asked_[1].held_size(), 2);
  inner_.status = absl::UnavailableError("keypool down");
  EXPECT_FALSE(Lease().status.ok());
}

}  // namespace
}  // namespace aigw::gateway
