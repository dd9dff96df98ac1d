#include "services/keypool/key_pool.h"

#include <atomic>
#include <algorithm>
#include <map>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"

namespace aigw::keypool {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// 2026-01-01 00:00:00 UTC.
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

ProviderRow Provider(int64_t id, const std::string& code, KeyPolicy policy = KeyPolicy::kStrict) {
  ProviderRow p;
  p.id = id;
  p.code = code;
  p.name = code;
  p.base_url = absl::StrCat("https://", code, ".example/v1");
  p.api_format = code == "anthropic" ? "anthropic" : "openai";
  p.policy = policy;
  return p;
}

struct Limits {
  int64_t rpm = 0;
  int64_t tpm = 0;
  int64_t rpd = 0;
};

KeyRow Key(int64_t id, int64_t provider_id, int priority, Limits limits = {}) {
  KeyRow k;
  k.id = id;
  k.provider_id = provider_id;
  k.key_name = absl::StrCat("key-", id);
  k.secret = absl::StrCat("sk-test-secret-", id, "-abcdefgh");
  k.masked = "sk-t...efgh";
  k.priority = priority;
  k.rate_limit_rpm = limits.rpm;
  k.rate_limit_tpm = limits.tpm;
  k.rate_limit_rpd = limits.rpd;
  return k;
}

class KeyPoolTest : public ::testing::Test {
 protected:
  KeyPoolTest() : clock_(kT0) { Reset(KeyPoolOptions{}); }

  void Reset(KeyPoolOptions options) {
    options_ = options;
    pool_ = std::make_unique<KeyPool>(&clock_, options_);
  }

  void Load(std::vector<KeyRow> keys, std::vector<ProviderRow> providers = {}) {
    if (providers.empty()) providers = {Provider(1, "openai"), Provider(2, "anthropic")};
    snapshot_.providers = std::move(providers);
    snapshot_.keys = std::move(keys);
    pool_->Apply(snapshot_);
  }

  // The key id a lease got, or -1 with the status in `last_status_`.
  int64_t LeaseId(const std::string& provider = "openai", int64_t tokens = 0,
                  std::vector<int64_t> exclude = {}) {
    absl::StatusOr<LeaseGrant> g = pool_->Lease(provider, tokens, exclude, &last_retry_after_);
    last_status_ = g.status();
    if (!g.ok()) return -1;
    last_lease_ = *g;
    return g->key->id;
  }

  absl::Status ReportLast(aigw::v1::Outcome outcome, int64_t total_tokens = 0,
                          int64_t retry_after_ms = 0) {
    UsageReport r;
    r.lease_id = last_lease_.lease_id;
    r.outcome = outcome;
    r.total_tokens = total_tokens;
    r.retry_after_ms = retry_after_ms;
    return pool_->Report(r);
  }

  absl::StatusOr<LeaseGrant> Prefetched(int64_t tokens, std::vector<int64_t> exclude, int count,
                                        std::vector<LeaseGrant>* out, bool refill = false) {
    Prefetch prefetch{count, refill, out};
    return pool_->Lease("openai", tokens, exclude, nullptr, &prefetch);
  }

  KeyStateView State(int64_t key_id) {
    absl::StatusOr<std::vector<KeyStateView>> all = pool_->ListKeyStates("");
    EXPECT_TRUE(all.ok());
    for (const KeyStateView& v : *all) {
      if (v.key_id == key_id) return v;
    }
    ADD_FAILURE() << "no key " << key_id;
    return {};
  }

  ManualClock clock_;
  KeyPoolOptions options_;
  std::unique_ptr<KeyPool> pool_;
  PoolSnapshot snapshot_;
  absl::Status last_status_;
  absl::Duration last_retry_after_;
  LeaseGrant last_lease_;
};

// --- selection order -------------------------------------------------------

struct OrderCase {
  std::string name;
  std::vector<KeyRow> keys;
  std::vector<int64_t> expected;  // key ids of consecutive leases; -1 = exhausted
};

class SelectionOrderTest : public KeyPoolTest,
                           public ::testing::WithParamInterface<OrderCase> {};

TEST_P(SelectionOrderTest, LeasesFollowPriorityThenLeastRecentlyUsed) {
  Load(GetParam().keys);
  std::vector<int64_t> got;
  for (size_t i = 0; i < GetParam().expected.size(); ++i) {
    got.push_back(LeaseId());
    // Leases one millisecond apart, as in real traffic.
    clock_.Advance(absl::Milliseconds(1));
  }
  EXPECT_THAT(got, ElementsAreArray(GetParam().expected));
}

KeyRow UsedAt(KeyRow k, absl::Duration ago) {
  k.last_used_at = kT0 - ago;
  return k;
}
KeyRow Inactive(KeyRow k) {
  k.is_active = false;
  return k;
}
KeyRow WithStatus(KeyRow k, const std::string& status) {
  k.status = status;
  return k;
}
KeyRow Undecryptable(KeyRow k) {
  k.secret.clear();
  k.secret_error = "cannot decrypt";
  return k;
}

INSTANTIATE_TEST_SUITE_P(
    Table, SelectionOrderTest,
    ::testing::Values(
        OrderCase{"EqualKeysRotate", {Key(1, 1, 10), Key(2, 1, 10), Key(3, 1, 10)},
                  {1, 2, 3, 1, 2, 3, 1}},
        OrderCase{"HigherPriorityOnlyWhileItFits",
                  {Key(1, 1, 10, {.rpm = 2}), Key(2, 1, 10, {.rpm = 2}), Key(3, 1, 5)},
                  {1, 2, 1, 2, 3, 3, 3}},
        OrderCase{"LeastRecentlyUsedFirst",
                  {UsedAt(Key(1, 1, 10), absl::Seconds(10)),
                   UsedAt(Key(2, 1, 10), absl::Seconds(30)), Key(3, 1, 10)},
                  {3, 2, 1, 3, 2, 1}},
        OrderCase{"PriorityBeatsRecency",
                  {UsedAt(Key(1, 1, 1), absl::Hours(5)), Key(2, 1, 50)}, {2, 2, 2}},
        OrderCase{"UnhealthyKeysSkipped",
                  {Inactive(Key(1, 1, 99)), WithStatus(Key(2, 1, 98), "disabled"),
                   WithStatus(Key(3, 1, 97), "invalid"), Undecryptable(Key(4, 1, 96)),
                   Key(5, 1, 1), Key(6, 1, 1)},
                  {5, 6, 5, 6}},
        OrderCase{"AllExhausted", {Key(1, 1, 1, {.rpm = 1}), Key(2, 1, 1, {.rpm = 1})},
                  {1, 2, -1, -1}},
        OrderCase{"NoKeys", {Key(1, 2, 1)}, {-1}}),
    [](const ::testing::TestParamInfo<OrderCase>& info) { return info.param.name; });

TEST_F(KeyPoolTest, SelectionAmongAThousandKeysRotatesThroughAll) {
  std::vector<KeyRow> keys;
  for (int i = 1; i <= 1000; ++i) keys.push_back(Key(i, 1, 7));
  Load(keys);
  std::map<int64_t, int> uses;
  for (int i = 0; i < 3000; ++i) ++uses[LeaseId()];
  ASSERT_EQ(uses.size(), 1000u);
  for (const auto& [id, n] : uses) EXPECT_EQ(n, 3) << "key " << id;
}

// --- limits at their exact edges --------------------------------------------

TEST_F(KeyPoolTest, RpmEdgeIsExact) {
  Load({Key(1, 1, 1, {.rpm = 3})});
  EXPECT_EQ(LeaseId(), 1);  // t0
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(LeaseId(), 1);  // t0+10
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(LeaseId(), 1);  // t0+20
  EXPECT_EQ(LeaseId(), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kResourceExhausted);
  // The first lease frees its slot exactly at t0+60.
  EXPECT_EQ(last_retry_after_, absl::Seconds(40));
  clock_.Set(kT0 + absl::Seconds(60) - absl::Nanoseconds(1));
  EXPECT_EQ(LeaseId(), -1);
  EXPECT_EQ(last_retry_after_, absl::Nanoseconds(1));
  clock_.Set(kT0 + absl::Seconds(60));
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), -1);
  EXPECT_EQ(last_retry_after_, absl::Seconds(10));
  clock_.Set(kT0 + absl::Seconds(70));
  EXPECT_EQ(LeaseId(), 1);
}

TEST_F(KeyPoolTest, TpmEdgeIsExactAndReconciledByReports) {
  Load({Key(1, 1, 1, {.tpm = 1000})});
  EXPECT_EQ(LeaseId("openai", 600), 1);
  LeaseGrant first = last_lease_;
  EXPECT_EQ(LeaseId("openai", 400), 1);  // exactly 1000
  EXPECT_EQ(LeaseId("openai", 1), -1);
  EXPECT_EQ(LeaseId("openai", 0), 1);  // no tokens always fit the TPM
  EXPECT_EQ(LeaseId("openai", 1001), -1);
  // More than the limit can never fit: no retry hint.
  EXPECT_EQ(last_retry_after_, absl::InfiniteDuration());

  // The first call really used 300: 300 + 400 = 700 in the window.
  last_lease_ = first;
  ASSERT_TRUE(ReportLast(aigw::v1::SUCCESS, 300).ok());
  EXPECT_EQ(State(1).tokens_current_minute, 700);
  EXPECT_EQ(State(1).tokens_today, 700);
  EXPECT_EQ(LeaseId("openai", 301), -1);
  EXPECT_EQ(LeaseId("openai", 300), 1);
}

TEST_F(KeyPoolTest, RpdEdgeIsExactAndResetsAtMidnight) {
  Load({Key(1, 1, 1, {.rpd = 2})});
  clock_.Set(kT0 + absl::Hours(23));
  EXPECT_EQ(LeaseId(), 1);
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(LeaseId(), 1);
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(LeaseId(), -1);
  EXPECT_EQ(last_retry_after_, absl::Minutes(40));  // until 00:00 UTC
  clock_.Set(kT0 + absl::Hours(24) - absl::Nanoseconds(1));
  EXPECT_EQ(LeaseId(), -1);
  clock_.Set(kT0 + absl::Hours(24));
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(State(1).requests_today, 1);
}

TEST_F(KeyPoolTest, AllLimitsTogetherTheTightestWins) {
  Load({Key(1, 1, 1, {.rpm = 5, .tpm = 100, .rpd = 4})});
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(LeaseId("openai", 20), 1) << i;
    clock_.Advance(absl::Seconds(1));
  }
  EXPECT_EQ(LeaseId("openai", 20), -1);  // RPD 4 reached before RPM 5 and TPM 100
}

TEST_F(KeyPoolTest, WindowSlidesContinuously) {
  Load({Key(1, 1, 1, {.rpm = 2})});
  // Two leases every 30 s can never both find room, one always does.
  std::vector<int64_t> got;
  for (int i = 0; i < 6; ++i) {
    got.push_back(LeaseId());
    got.push_back(LeaseId());
    clock_.Advance(absl::Seconds(30));
  }
  EXPECT_THAT(got, ElementsAreArray<int64_t>({1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1}));
  EXPECT_EQ(State(1).requests_current_minute, 0);
}

TEST_F(KeyPoolTest, DayRollsOverInTheConfiguredZone) {
  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  KeyPoolOptions options;
  options.time_zone = shanghai;
  Reset(options);
  Load({Key(1, 1, 1, {.rpd = 1})});
  // 15:59:59 UTC = 23:59:59 in Shanghai.
  clock_.Set(kT0 + absl::Hours(15) + absl::Minutes(59) + absl::Seconds(59));
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), -1);
  EXPECT_EQ(last_retry_after_, absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));  // midnight in Shanghai, still 2026-01-01 in UTC
  EXPECT_EQ(State(1).requests_today, 0);
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), -1);

  // The same leases with a UTC calendar stay on one day.
  Reset(KeyPoolOptions{});
  Load({Key(1, 1, 1, {.rpd = 1})});
  clock_.Set(kT0 + absl::Hours(15) + absl::Minutes(59) + absl::Seconds(59));
  EXPECT_EQ(LeaseId(), 1);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(LeaseId(), -1);
}

// --- key health ------------------------------------------------------------

TEST_F(KeyPoolTest, RateLimitedKeyCoolsDownForRetryAfterThenReturns) {
  Load({Key(1, 1, 10), Key(2, 1, 1)});
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::RATE_LIMITED, 0, /*retry_after_ms=*/5000).ok());
  EXPECT_EQ(State(1).status, "rate_limited");
  EXPECT_EQ(State(1).cooldown_until, kT0 + absl::Seconds(5));
  EXPECT_EQ(LeaseId(), 2);
  clock_.Set(kT0 + absl::Seconds(5) - absl::Nanoseconds(1));
  EXPECT_EQ(LeaseId(), 2);
  clock_.Set(kT0 + absl::Seconds(5));
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(State(1).status, "normal");
}

TEST_F(KeyPoolTest, RateLimitedWithoutRetryAfterUsesTheDefaultCooldown) {
  KeyPoolOptions options;
  options.default_cooldown = absl::Seconds(42);
  Reset(options);
  Load({Key(1, 1, 1)});
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::RATE_LIMITED).ok());
  EXPECT_EQ(LeaseId(), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(last_retry_after_, absl::Seconds(42));
  clock_.Advance(absl::Seconds(42));
  EXPECT_EQ(LeaseId(), 1);
}

TEST_F(KeyPoolTest, RetryAfterIsCappedByMaxCooldown) {
  KeyPoolOptions options;
  options.max_cooldown = absl::Minutes(10);
  Reset(options);
  Load({Key(1, 1, 1)});
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::RATE_LIMITED, 0, /*retry_after_ms=*/86'400'000).ok());
  EXPECT_EQ(State(1).cooldown_until, kT0 + absl::Minutes(10));
}

TEST_F(KeyPoolTest, AuthFailedKeyIsInvalidUntilTheDatabaseSaysOtherwise) {
  Load({Key(1, 1, 10), Key(2, 1, 1)});
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::AUTH_FAILED).ok());
  EXPECT_EQ(State(1).status, "invalid");
  clock_.Advance(absl::Hours(48));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(LeaseId(), 2);

  // A reload before the write-back has reached the database still reads
  // "normal" there: that is our own stale value, not a re-validation.
  pool_->Apply(snapshot_);
  EXPECT_EQ(LeaseId(), 2);

  // The write-back stores "invalid".
  std::vector<KeyWrite> writes = pool_->CollectWrites();
  bool wrote_invalid = false;
  for (const KeyWrite& w : writes) {
    if (w.key_id == 1 && w.write_status && w.status == "invalid") wrote_invalid = true;
  }
  EXPECT_TRUE(wrote_invalid);
  pool_->AckWrites(writes, true);
  snapshot_.keys[0].status = "invalid";
  pool_->Apply(snapshot_);
  EXPECT_EQ(LeaseId(), 2);

  // An admin re-validates the key (ValidateKey sets it back to normal).
  snapshot_.keys[0].status = "normal";
  pool_->Apply(snapshot_);
  EXPECT_EQ(State(1).status, "normal");
  EXPECT_EQ(LeaseId(), 1);
}

TEST_F(KeyPoolTest, NewSecretBringsAnInvalidKeyBack) {
  Load({Key(1, 1, 1)});
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::AUTH_FAILED).ok());
  EXPECT_EQ(LeaseId(), -1);
  snapshot_.keys[0].secret = "sk-a-brand-new-secret-0000";
  pool_->Apply(snapshot_);
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(last_lease_.key->secret, "sk-a-brand-new-secret-0000");
}

TEST_F(KeyPoolTest, RepeatedServerErrorsOpenAShortBreaker) {
  KeyPoolOptions options;
  options.breaker_failures = 3;
  options.breaker_cooldown = absl::Seconds(30);
  Reset(options);
  Load({Key(1, 1, 10), Key(2, 1, 1)});

  // Two failures then a success: no breaker.
  for (auto outcome : {aigw::v1::SERVER_ERROR, aigw::v1::NETWORK_ERROR, aigw::v1::SUCCESS}) {
    ASSERT_EQ(LeaseId(), 1);
    ASSERT_TRUE(ReportLast(outcome).ok());
  }
  // Three in a row: open.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(LeaseId(), 1) << i;
    ASSERT_TRUE(ReportLast(aigw::v1::SERVER_ERROR).ok());
  }
  EXPECT_EQ(State(1).status, "cooling");
  EXPECT_EQ(State(1).cooldown_until, kT0 + absl::Seconds(30));
  EXPECT_EQ(LeaseId(), 2);
  clock_.Set(kT0 + absl::Seconds(30));
  EXPECT_EQ(State(1).status, "normal");
  // Half-open: one more failure re-opens at once.
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::NETWORK_ERROR).ok());
  EXPECT_EQ(State(1).status, "cooling");
  EXPECT_EQ(LeaseId(), 2);
  // A success after the next cooldown closes it: failures count from zero.
  clock_.Set(kT0 + absl::Seconds(60));
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::SUCCESS).ok());
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(LeaseId(), 1);
    ASSERT_TRUE(ReportLast(aigw::v1::SERVER_ERROR).ok());
  }
  EXPECT_EQ(State(1).status, "normal");
  // The breaker is not persisted as a status.
  for (const KeyWrite& w : pool_->CollectWrites()) EXPECT_FALSE(w.write_status);
}

TEST_F(KeyPoolTest, FailuresOfCallsLeasedBeforeTheBreakerOpenedDoNotReopenIt) {
  KeyPoolOptions options;
  options.breaker_failures = 2;
  Reset(options);
  Load({Key(1, 1, 1, {}), Key(2, 1, 0)});
  std::vector<LeaseGrant> in_flight;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(LeaseId(), 1);
    in_flight.push_back(last_lease_);
  }
  clock_.Advance(absl::Seconds(1));
  for (int i = 0; i < 2; ++i) {
    last_lease_ = in_flight[i];
    ASSERT_TRUE(ReportLast(aigw::v1::SERVER_ERROR).ok());
  }
  EXPECT_EQ(State(1).status, "cooling");
  clock_.Advance(options.breaker_cooldown);
  // The two other calls were already on their way when it opened.
  for (int i = 2; i < 4; ++i) {
    last_lease_ = in_flight[i];
    ASSERT_TRUE(ReportLast(aigw::v1::SERVER_ERROR).ok());
  }
  EXPECT_EQ(State(1).status, "normal");
  EXPECT_EQ(LeaseId(), 1);
}

TEST_F(KeyPoolTest, OnlyARejectedKeyIsInvalidA403LeavesItServingA429CoolsIt) {
  Load({Key(1, 1, 30), Key(2, 1, 20), Key(3, 1, 10)});
  auto report = [&](int64_t key, aigw::v1::Outcome outcome, int http_status, const char* text,
                    int64_t retry_after_ms = 0) {
    std::vector<int64_t> others;
    for (int64_t k : {1, 2, 3}) {
      if (k != key) others.push_back(k);
    }
    ASSERT_EQ(LeaseId("openai", 0, others), key);
    UsageReport r;
    r.lease_id = last_lease_.lease_id;
    r.outcome = outcome;
    r.http_status = http_status;
    r.retry_after_ms = retry_after_ms;
    r.error_message = text;
    ASSERT_TRUE(pool_->Report(r).ok());
  };
  report(1, aigw::v1::AUTH_FAILED, 401, "openai rejected the API key (HTTP 401): Incorrect key");
  report(2, aigw::v1::PERMISSION_DENIED, 403,
         "anthropic refused the request (HTTP 403): permission_error");
  report(3, aigw::v1::RATE_LIMITED, 429, "openai rate limit (HTTP 429)", 2000);

  EXPECT_EQ(State(1).status, "invalid");
  EXPECT_EQ(State(2).status, "normal");
  EXPECT_THAT(State(2).last_error, HasSubstr("permission_error"));
  EXPECT_EQ(State(3).status, "rate_limited");
  EXPECT_EQ(State(3).cooldown_until, kT0 + absl::Seconds(2));
  // The 403'd key keeps serving, today and after the 429's cooldown.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(LeaseId(), 2);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(LeaseId(), 2);
  EXPECT_EQ(LeaseId("openai", 0, {2}), 3);
  EXPECT_EQ(LeaseId("openai", 0, {2, 3}), -1);  // key 1 stays invalid
  // Only the 401 is written back as a status; the 403 writes its last error.
  for (const KeyWrite& w : pool_->CollectWrites()) {
    if (w.key_id == 1) {
      EXPECT_EQ(w.status, "invalid");
    }
    if (w.key_id == 2) {
      EXPECT_EQ(w.status, "normal");
      EXPECT_TRUE(w.write_error);
    }
  }
}

TEST_F(KeyPoolTest, ALastErrorQuotingTheKeyIsScrubbed) {
  KeyRow row = Key(1, 1, 1);
  row.secret = "sk-proj-Q7fZk2LmN9xWv4TbR8sYc1HdE5gJa3Up";
  row.masked = "sk-p...a3Up";
  // An older version stored the key in the last error.
  row.last_error = "Incorrect API key provided: sk-proj-Q7fZk2LmN9xWv4TbR8sYc1HdE5gJa3Up";
  Load({row});
  EXPECT_EQ(State(1).last_error, "Incorrect API key provided: sk-p...a3Up");
  ASSERT_EQ(LeaseId(), 1);
  UsageReport r;
  r.lease_id = last_lease_.lease_id;
  r.outcome = aigw::v1::RATE_LIMITED;
  r.error_message = "Rate limit reached for key sk-proj-Q7fZk2LmN9xW in org-x";
  ASSERT_TRUE(pool_->Report(r).ok());
  EXPECT_EQ(State(1).last_error, "Rate limit reached for key sk-p...a3Up in org-x");
  for (const KeyWrite& w : pool_->CollectWrites()) {
    EXPECT_EQ(w.last_error.find("Q7fZk2Lm"), std::string::npos) << w.last_error;
  }
}

TEST_F(KeyPoolTest, ClientErrorsDoNotHurtTheKey) {
  Load({Key(1, 1, 1)});
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(LeaseId(), 1);
    ASSERT_TRUE(ReportLast(aigw::v1::CLIENT_ERROR).ok());
  }
  EXPECT_EQ(State(1).status, "normal");
}

// --- exclusion, exhaustion, lru policy ---------------------------------------

TEST_F(KeyPoolTest, ExcludedKeysAreNotHandedOut) {
  Load({Key(1, 1, 10), Key(2, 1, 10), Key(3, 1, 1)});
  EXPECT_EQ(LeaseId("openai", 0, {1}), 2);
  EXPECT_EQ(LeaseId("openai", 0, {1, 2}), 3);
  EXPECT_EQ(LeaseId("openai", 0, {2, 3}), 1);
  EXPECT_EQ(LeaseId("openai", 0, {1, 2, 3}), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kResourceExhausted);
  // Excluded keys give no retry hint: waiting would not bring them back.
  EXPECT_EQ(last_retry_after_, absl::InfiniteDuration());
}

TEST_F(KeyPoolTest, ExhaustedErrorHasTheDocumentedTextCodeAndHint) {
  Load({Key(1, 1, 1, {.rpm = 1}), Key(2, 1, 1, {.rpm = 1})});
  ASSERT_EQ(LeaseId(), 1);
  clock_.Advance(absl::Seconds(15));
  ASSERT_EQ(LeaseId(), 2);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(LeaseId(), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(last_status_.message(), "No available API keys for provider openai");
  // Key 1 frees first, at t0+60.
  EXPECT_EQ(last_retry_after_, absl::Seconds(40));
}

TEST_F(KeyPoolTest, RetryHintSkipsExcludedKeysEvenWhenSetAside) {
  Load({Key(1, 1, 1, {.rpm = 1}), Key(2, 1, 1, {.rpm = 1}), Key(3, 1, 1, {.rpd = 1})});
  ASSERT_EQ(LeaseId(), 1);
  clock_.Advance(absl::Seconds(10));
  ASSERT_EQ(LeaseId(), 2);
  ASSERT_EQ(LeaseId(), 3);
  EXPECT_EQ(LeaseId(), -1);  // sets all three aside
  EXPECT_EQ(last_retry_after_, absl::Seconds(50));
  EXPECT_EQ(LeaseId("openai", 0, {1}), -1);
  EXPECT_EQ(last_retry_after_, absl::Seconds(60));
  EXPECT_EQ(LeaseId("openai", 0, {1, 2}), -1);
  EXPECT_EQ(last_retry_after_, absl::Hours(24) - absl::Seconds(10));
  EXPECT_EQ(LeaseId("openai", 0, {1, 2, 3}), -1);
  EXPECT_EQ(last_retry_after_, absl::InfiniteDuration());
}

TEST_F(KeyPoolTest, LruPolicyHandsOutTheLeastRecentlyUsedKeyAnyway) {
  Load({Key(1, 1, 5, {.rpm = 1}), Key(2, 1, 5, {.rpm = 1}),
        WithStatus(Key(3, 1, 1, {.rpm = 1}), "invalid")},
       {Provider(1, "openai", KeyPolicy::kLru)});
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_FALSE(last_lease_.over_limit);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(LeaseId(), 2);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_TRUE(last_lease_.over_limit);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(LeaseId(), 2);
  EXPECT_TRUE(last_lease_.over_limit);
  // Over-limit leases are still counted.
  EXPECT_EQ(State(1).requests_current_minute, 2);
  // Unhealthy keys stay out even under lru.
  EXPECT_EQ(LeaseId("openai", 0, {1, 2}), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kResourceExhausted);
}

// --- bad input and lease bookkeeping -----------------------------------------

TEST_F(KeyPoolTest, BadInputGetsTheDocumentedCodes) {
  snapshot_.providers = {Provider(1, "openai"), Provider(2, "anthropic")};
  snapshot_.providers[1].is_active = false;
  snapshot_.keys = {Key(1, 1, 1), Key(2, 2, 1)};
  pool_->Apply(snapshot_);

  EXPECT_EQ(LeaseId(""), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LeaseId("openai", -1), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LeaseId("nope"), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(last_status_.message(), HasSubstr("nope"));
  EXPECT_EQ(LeaseId("anthropic"), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kNotFound);

  UsageReport r;
  r.outcome = aigw::v1::SUCCESS;
  EXPECT_EQ(pool_->Report(r).code(), absl::StatusCode::kInvalidArgument);
  r.lease_id = "not-a-lease";
  EXPECT_EQ(pool_->Report(r).code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(LeaseId(), 1);
  r.lease_id = last_lease_.lease_id + "0";
  EXPECT_EQ(pool_->Report(r).code(), absl::StatusCode::kNotFound);
  r.lease_id = last_lease_.lease_id;
  r.outcome = aigw::v1::OUTCOME_UNSPECIFIED;
  EXPECT_EQ(pool_->Report(r).code(), absl::StatusCode::kInvalidArgument);
  r.outcome = aigw::v1::NOT_SENT;  // for call events only: there is no lease
  EXPECT_EQ(pool_->Report(r).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pool_->Report(r).message(), HasSubstr("NOT_SENT"));
  r.outcome = aigw::v1::SUCCESS;
  r.total_tokens = -5;
  EXPECT_EQ(pool_->Report(r).code(), absl::StatusCode::kInvalidArgument);
  // The rejected reports did not use the lease up.
  r.total_tokens = 5;
  EXPECT_TRUE(pool_->Report(r).ok());

  EXPECT_EQ(pool_->ListKeyStates("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KeyPoolTest, ASecondReportOfALeaseIsAcceptedAndCountsNothing) {
  Load({Key(1, 1, 1, {.tpm = 1000})});
  ASSERT_EQ(LeaseId("openai", 100), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::SUCCESS, 250).ok());
  EXPECT_EQ(State(1).tokens_today, 250);
  ASSERT_TRUE(ReportLast(aigw::v1::SUCCESS, 250).ok());
  ASSERT_TRUE(ReportLast(aigw::v1::RATE_LIMITED, 999).ok());
  EXPECT_EQ(State(1).tokens_today, 250);
  EXPECT_EQ(State(1).tokens_current_minute, 250);
  EXPECT_EQ(State(1).requests_today, 1);
  EXPECT_EQ(State(1).status, "normal");
}

TEST_F(KeyPoolTest, UnreportedLeasesExpireAndKeepTheirEstimate) {
  KeyPoolOptions options;
  options.lease_timeout = absl::Minutes(5);
  Reset(options);
  Load({Key(1, 1, 1)});
  ASSERT_EQ(LeaseId("openai", 700), 1);
  LeaseGrant unreported = last_lease_;
  ASSERT_EQ(LeaseId("openai", 10), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::SUCCESS, 10).ok());
  EXPECT_EQ(pool_->outstanding_leases(), 1);

  clock_.Advance(absl::Minutes(5) - absl::Seconds(1));
  EXPECT_EQ(pool_->ExpireLeases(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(pool_->ExpireLeases(), 1);
  EXPECT_EQ(pool_->outstanding_leases(), 0);
  EXPECT_EQ(State(1).tokens_today, 710);

  last_lease_ = unreported;
  EXPECT_EQ(ReportLast(aigw::v1::SUCCESS, 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(State(1).tokens_today, 710);
}

TEST_F(KeyPoolTest, ReportsWithoutCountsKeepOrReleaseTheEstimate) {
  Load({Key(1, 1, 1)});
  struct Case {
    aigw::v1::Outcome outcome;
    int64_t expected_tokens;
  };
  const Case cases[] = {{aigw::v1::SUCCESS, 100},      {aigw::v1::NETWORK_ERROR, 100},
                        {aigw::v1::RATE_LIMITED, 0},   {aigw::v1::AUTH_FAILED, 0},
                        {aigw::v1::SERVER_ERROR, 0},   {aigw::v1::CLIENT_ERROR, 0}};
  for (const Case& c : cases) {
    Reset(KeyPoolOptions{});
    Load({Key(1, 1, 1)});
    ASSERT_EQ(LeaseId("openai", 100), 1);
    ASSERT_TRUE(ReportLast(c.outcome).ok());
    EXPECT_EQ(State(1).tokens_today, c.expected_tokens) << aigw::v1::Outcome_Name(c.outcome);
    EXPECT_EQ(State(1).tokens_current_minute, c.expected_tokens);
  }
}

// --- reloads and write-back ---------------------------------------------------

TEST_F(KeyPoolTest, ReloadKeepsLiveStateOfKeysThatStay) {
  Load({Key(1, 1, 1, {.rpm = 2}), Key(2, 1, 1)});
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_EQ(LeaseId(), 2);
  ASSERT_EQ(LeaseId(), 1);
  // Key 2 goes, key 3 arrives, key 1 gets a higher priority.
  snapshot_.keys = {Key(1, 1, 5, {.rpm = 2}), Key(3, 1, 1)};
  EXPECT_EQ(pool_->Apply(snapshot_), 2);
  EXPECT_EQ(State(1).requests_current_minute, 2);
  EXPECT_EQ(State(1).requests_today, 2);
  EXPECT_EQ(LeaseId(), 3);  // key 1 is still at its RPM
  absl::StatusOr<std::vector<KeyStateView>> all = pool_->ListKeyStates("openai");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key_id, 1);  // highest priority first
  EXPECT_EQ((*all)[1].key_id, 3);
}

TEST_F(KeyPoolTest, ReloadKeepsTheRotationOrder) {
  Load({Key(1, 1, 1), Key(2, 1, 1), Key(3, 1, 1)});
  // All at the same instant: only the list order says who is next.
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_EQ(LeaseId(), 2);
  ASSERT_EQ(LeaseId(), 3);
  ASSERT_EQ(LeaseId(), 1);
  pool_->Apply(snapshot_);
  EXPECT_EQ(LeaseId(), 2);
  EXPECT_EQ(LeaseId(), 3);
  EXPECT_EQ(LeaseId(), 1);
}

TEST_F(KeyPoolTest, FreshKeysResumeTodaysCountsFromTheRow) {
  KeyRow today = Key(1, 1, 1, {.rpd = 5});
  today.has_counts_date = true;
  today.counts_date = absl::CivilDay(2026, 1, 1);
  today.requests_count_today = 4;
  today.tokens_count_today = 1234;
  KeyRow yesterday = Key(2, 1, 0, {.rpd = 5});
  yesterday.has_counts_date = true;
  yesterday.counts_date = absl::CivilDay(2025, 12, 31);
  yesterday.requests_count_today = 5;
  Load({today, yesterday});
  EXPECT_EQ(State(1).requests_today, 4);
  EXPECT_EQ(State(1).tokens_today, 1234);
  EXPECT_EQ(State(2).requests_today, 0);
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), 2);  // key 1 has reached its 5 for today
}

TEST_F(KeyPoolTest, CollectWritesReportsChangesOnceAndAgainAfterAFailure) {
  Load({Key(1, 1, 1), Key(2, 1, 0)});
  EXPECT_TRUE(pool_->CollectWrites().empty());
  ASSERT_EQ(LeaseId("openai", 50), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::RATE_LIMITED, 0, 2000).ok());
  std::vector<KeyWrite> writes = pool_->CollectWrites();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].key_id, 1);
  EXPECT_EQ(writes[0].requests_today, 1);
  EXPECT_EQ(writes[0].tokens_today, 0);
  EXPECT_EQ(writes[0].counts_date, absl::CivilDay(2026, 1, 1));
  EXPECT_EQ(writes[0].last_used_at, kT0);
  EXPECT_TRUE(writes[0].write_status);
  EXPECT_EQ(writes[0].status, "rate_limited");
  EXPECT_EQ(writes[0].cooldown_until, kT0 + absl::Seconds(2));
  EXPECT_TRUE(writes[0].write_error);
  EXPECT_TRUE(pool_->CollectWrites().empty());

  pool_->AckWrites(writes, false);
  std::vector<KeyWrite> again = pool_->CollectWrites();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].write_status);
  pool_->AckWrites(again, true);

  // The cooldown's end is written back as normal.
  clock_.Advance(absl::Seconds(2));
  std::vector<KeyWrite> ended = pool_->CollectWrites();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].status, "normal");
  EXPECT_EQ(ended[0].cooldown_until, absl::InfinitePast());
}

// --- keys set aside while blocked ----------------------------------------------

TEST_F(KeyPoolTest, ABlockedKeyComesBackOnTimeAndInItsLruPlace) {
  Load({Key(1, 1, 1, {.rpm = 1}), Key(2, 1, 1), Key(3, 1, 1)});
  std::vector<int64_t> got;
  for (int i = 0; i < 7; ++i) {
    got.push_back(LeaseId());
    clock_.Advance(absl::Milliseconds(1));
  }
  EXPECT_THAT(got, ElementsAreArray<int64_t>({1, 2, 3, 2, 3, 2, 3}));
  // Key 1 was used longest ago: it is next as soon as its slot frees.
  clock_.Set(kT0 + absl::Seconds(60) - absl::Nanoseconds(1));
  EXPECT_EQ(LeaseId(), 2);
  clock_.Set(kT0 + absl::Seconds(60));
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), 3);
  EXPECT_EQ(LeaseId(), 2);
  EXPECT_EQ(LeaseId(), 3);
}

TEST_F(KeyPoolTest, AReloadWhileKeysAreBlockedKeepsThemBlockedUntilTheirTime) {
  Load({Key(1, 1, 5, {.rpd = 1}), Key(2, 1, 1, {.rpm = 1})});
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), 2);
  EXPECT_EQ(LeaseId(), -1);
  pool_->Apply(snapshot_);
  EXPECT_EQ(LeaseId(), -1);
  clock_.Advance(absl::Seconds(60));
  EXPECT_EQ(LeaseId(), 2);
  clock_.Set(kT0 + absl::Hours(24));
  EXPECT_EQ(LeaseId(), 1);
}

// A brute-force model of DESIGN.md "Key selection" (strict policy, UTC days)
// that the pool must agree with lease by lease.
class ModelPool {
 public:
  struct Event {
    absl::Time at;
    int64_t tokens;
  };
  struct ModelKey {
    KeyRow row;
    std::vector<Event> events;  // every lease ever, by lease order
    absl::Time last_used = absl::InfinitePast();
  };

  explicit ModelPool(const std::vector<KeyRow>& rows) {
    for (const KeyRow& r : rows) keys_.push_back({r, {}, r.last_used_at});
  }

  // Returns the key index chosen, or -1.
  int Lease(absl::Time now, int64_t tokens, size_t* event_index) {
    std::vector<int> order;
    for (size_t i = 0; i < keys_.size(); ++i) order.push_back(static_cast<int>(i));
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      const ModelKey& x = keys_[a];
      const ModelKey& y = keys_[b];
      if (x.row.priority != y.row.priority) return x.row.priority > y.row.priority;
      if (x.last_used != y.last_used) return x.last_used < y.last_used;
      return x.row.id < y.row.id;
    });
    const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
    for (int i : order) {
      ModelKey& k = keys_[i];
      int64_t minute_requests = 0, minute_tokens = 0, day_requests = 0;
      for (const Event& e : k.events) {
        if (now < e.at + absl::Seconds(60)) {
          ++minute_requests;
          minute_tokens += e.tokens;
        }
        if (absl::ToCivilDay(e.at, absl::UTCTimeZone()) == today) ++day_requests;
      }
      if (k.row.rate_limit_rpm > 0 && minute_requests + 1 > k.row.rate_limit_rpm) continue;
      if (k.row.rate_limit_tpm > 0 && minute_tokens + tokens > k.row.rate_limit_tpm) continue;
      if (k.row.rate_limit_rpd > 0 && day_requests + 1 > k.row.rate_limit_rpd) continue;
      k.events.push_back({now, tokens});
      k.last_used = now;
      *event_index = k.events.size() - 1;
      return i;
    }
    return -1;
  }

  void Reconcile(int key, size_t event_index, int64_t real) {
    keys_[key].events[event_index].tokens = real;
  }

  int64_t TokensToday(int key, absl::Time now) const {
    int64_t sum = 0;
    const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
    for (const Event& e : keys_[key].events) {
      if (absl::ToCivilDay(e.at, absl::UTCTimeZone()) == today) sum += e.tokens;
    }
    return sum;
  }

  const std::vector<ModelKey>& keys() const { return keys_; }

 private:
  std::vector<ModelKey> keys_;
};

TEST_F(KeyPoolTest, AgreesWithABruteForceModelOverRandomTraffic) {
  std::mt19937_64 rng(20260101);
  std::vector<KeyRow> rows;
  for (int i = 1; i <= 7; ++i) {
    Limits l;
    l.rpm = rng() % 3 == 0 ? 0 : 1 + rng() % 6;
    l.tpm = rng() % 3 == 0 ? 0 : 200 + rng() % 800;
    l.rpd = rng() % 3 == 0 ? 0 : 20 + rng() % 300;
    KeyRow k = Key(i, 1, static_cast<int>(rng() % 3), l);
    if (rng() % 2 == 0) k.last_used_at = kT0 - absl::Seconds(1 + rng() % 1000);
    rows.push_back(k);
  }
  clock_.Set(kT0 + absl::Hours(22));  // cross a midnight on the way
  Load(rows);
  ModelPool model(rows);
  struct Pending {
    std::string lease_id;
    int key;
    size_t event;
    absl::CivilDay day;
  };
  std::vector<Pending> pending;
  int granted = 0;
  int refused = 0;
  for (int step = 0; step < 20000; ++step) {
    // Strictly increasing time: 1 ns to ~20 s.
    const uint64_t r = rng() % 100;
    clock_.Advance(r < 60 ? absl::Nanoseconds(1 + rng() % 1000)
                          : absl::Milliseconds(1 + rng() % (r < 95 ? 2000 : 20000)));
    const absl::Time now = clock_.Now();
    if (!pending.empty() && rng() % 3 == 0) {
      const size_t i = rng() % pending.size();
      const int64_t real = static_cast<int64_t>(rng() % 300);
      UsageReport rep;
      rep.lease_id = pending[i].lease_id;
      rep.outcome = aigw::v1::CLIENT_ERROR;  // releases or corrects, never cools down
      rep.total_tokens = real;
      ASSERT_TRUE(pool_->Report(rep).ok());
      model.Reconcile(pending[i].key, pending[i].event, real);
      pending.erase(pending.begin() + i);
      continue;
    }
    const int64_t tokens = static_cast<int64_t>(rng() % 250);
    size_t event = 0;
    const int want = model.Lease(now, tokens, &event);
    const int64_t got = LeaseId("openai", tokens);
    const int64_t want_id = want < 0 ? -1 : model.keys()[want].row.id;
    if (got != want_id) {
      for (const auto& mk : model.keys()) {
        KeyStateView v = State(mk.row.id);
        std::cerr << "key " << mk.row.id << " prio " << mk.row.priority << " rpm "
                  << mk.row.rate_limit_rpm << " tpm " << mk.row.rate_limit_tpm << " rpd "
                  << mk.row.rate_limit_rpd << " model_last " << absl::FormatTime(mk.last_used)
                  << " pool_last " << absl::FormatTime(v.last_used_at) << " pool_min "
                  << v.requests_current_minute << "/" << v.tokens_current_minute << " today "
                  << v.requests_today << "\n";
      }
    }
    ASSERT_EQ(got, want_id) << "step " << step << " at " << absl::FormatTime(now)
                            << " tokens " << tokens;
    if (got < 0) {
      ++refused;
      continue;
    }
    ++granted;
    pending.push_back({last_lease_.lease_id, want, event, absl::CivilDay()});
  }
  // Both outcomes were exercised, and the counters agree at the end.
  EXPECT_GT(granted, 1000);
  EXPECT_GT(refused, 1000);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(State(rows[i].id).tokens_today,
              model.TokensToday(static_cast<int>(i), clock_.Now()))
        << "key " << rows[i].id;
  }
}

// --- exactness under concurrency ----------------------------------------------

// One key per kind of limit, each small enough for many threads to reach:
// RPM 7, 11 and 13 at three priorities, TPM 1000, RPD 17.
std::vector<KeyRow> SmallLimitKeys() {
  return {Key(1, 1, 3, {.rpm = 7}), Key(2, 1, 2, {.rpm = 11}), Key(3, 1, 1, {.rpm = 13}),
          Key(4, 1, 1, {.tpm = 1000}), Key(5, 1, 0, {.rpd = 17})};
}

TEST_F(KeyPoolTest, ConcurrentLeasesGrantExactlyTheLimitPerKey) {
  Load(SmallLimitKeys());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::map<int64_t, int>> per_thread(kThreads);
  std::atomic<int> exhausted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<LeaseGrant> g = pool_->Lease("openai", 7, {});
        if (g.ok()) {
          ++per_thread[t][g->key->id];
        } else if (g.status().code() == absl::StatusCode::kResourceExhausted) {
          ++exhausted;
        } else {
          ADD_FAILURE() << g.status();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::map<int64_t, int> total;
  for (const auto& m : per_thread) {
    for (const auto& [id, n] : m) total[id] += n;
  }
  EXPECT_EQ(total[1], 7);
  EXPECT_EQ(total[2], 11);
  EXPECT_EQ(total[3], 13);
  EXPECT_EQ(total[4], 1000 / 7);
  EXPECT_EQ(total[5], 17);
  EXPECT_EQ(exhausted.load(), kThreads * kPerThread - (7 + 11 + 13 + 142 + 17));
}

// --- prefetched leases ------------------------------------------------------

TEST_F(KeyPoolTest, ConcurrentPrefetchingLeasesAndReleasesNeverPassALimit) {
  Load(SmallLimitKeys());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::map<int64_t, int>> held(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<LeaseGrant> kept;
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<LeaseGrant> extra;
        Prefetch prefetch{static_cast<int>(rng() % 9), (rng() % 3) == 0, &extra};
        absl::StatusOr<LeaseGrant> g = pool_->Lease("openai", 7, {}, nullptr, &prefetch);
        if (!g.ok()) {
          if (g.status().code() != absl::StatusCode::kResourceExhausted) ADD_FAILURE() << g.status();
          continue;
        }
        kept.push_back(*g);
        for (LeaseGrant& e : extra) kept.push_back(std::move(e));
        // Now and then a gateway gives an unused one back.
        if (rng() % 4 == 0 && !kept.empty()) {
          UsageReport r;
          r.lease_id = kept.back().lease_id;
          r.outcome = aigw::v1::RELEASED;
          ASSERT_TRUE(pool_->Report(r).ok());
          kept.pop_back();
        }
      }
      for (const LeaseGrant& g : kept) ++held[t][g.key->id];
    });
  }
  for (std::thread& t : threads) t.join();
  std::map<int64_t, int> total;
  for (const auto& m : held) {
    for (const auto& [id, n] : m) total[id] += n;
  }
  // What the last releases freed, taken up now.
  for (int64_t id; (id = LeaseId("openai", 7)) != -1;) ++total[id];
  // Never more than a limit, and every freed lease handed out again.
  EXPECT_EQ(total[1], 7);
  EXPECT_EQ(total[2], 11);
  EXPECT_EQ(total[3], 13);
  EXPECT_EQ(total[4], 1000 / 7);
  EXPECT_EQ(total[5], 17);
  EXPECT_EQ(State(1).requests_current_minute, 7);
  EXPECT_EQ(State(5).requests_today, 17);
}


TEST_F(KeyPoolTest, PrefetchGrantsExtraLeasesRotatingOverKeysWithHeadroom) {
  Load({Key(1, 1, 1), Key(2, 1, 1), Key(3, 1, 1)});
  std::vector<LeaseGrant> extra;
  absl::StatusOr<LeaseGrant> first = Prefetched(10, {}, 5, &extra);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(extra.size(), 5u);
  std::vector<int64_t> ids = {first->key->id};
  for (const LeaseGrant& g : extra) {
    EXPECT_FALSE(g.lease_id.empty());
    EXPECT_NE(g.lease_id, first->lease_id);
    ids.push_back(g.key->id);
  }
  EXPECT_THAT(ids, ElementsAreArray({1, 2, 3, 1, 2, 3}));
  // Each one counted as a request with the estimate.
  EXPECT_EQ(State(1).requests_current_minute, 2);
  EXPECT_EQ(State(1).tokens_current_minute, 20);
  EXPECT_EQ(State(1).requests_today, 2);
}

TEST_F(KeyPoolTest, PrefetchStopsAtHalfOfEveryLimit) {
  // RPM 10: after the needed lease, prefetched ones only while the key stays
  // at or under 5 requests in the window.
  Load({Key(1, 1, 1, {.rpm = 10}), Key(2, 1, 1, {.tpm = 1000}), Key(3, 1, 1, {.rpd = 4})});
  std::vector<LeaseGrant> extra;
  ASSERT_TRUE(Prefetched(100, {}, 64, &extra).ok());
  std::map<int64_t, int> per_key;
  for (const LeaseGrant& g : extra) ++per_key[g.key->id];
  EXPECT_EQ(State(1).requests_current_minute, 5);   // 1 needed + 4 prefetched
  EXPECT_EQ(State(2).tokens_current_minute, 500);   // 5 x 100 tokens
  EXPECT_EQ(State(3).requests_today, 2);            // half of RPD 4
  EXPECT_EQ(per_key[1] + per_key[2] + per_key[3], static_cast<int>(extra.size()));
  EXPECT_EQ(extra.size(), 5u + 5u + 2u - 1u);
  // The rest of each limit is still there for leases asked for on need.
  int granted = 0;
  while (LeaseId("openai", 100) != -1) ++granted;
  EXPECT_EQ(granted, 5 + 5 + 2);
}

TEST_F(KeyPoolTest, PrefetchHonoursExclusionAndIsNeverOverALimit) {
  Load({Key(1, 1, 1), Key(2, 1, 1)}, {Provider(1, "openai", KeyPolicy::kLru)});
  std::vector<LeaseGrant> extra;
  ASSERT_TRUE(Prefetched(0, {1}, 3, &extra).ok());
  for (const LeaseGrant& g : extra) EXPECT_EQ(g.key->id, 2);
  EXPECT_EQ(extra.size(), 3u);

  // The lru policy's over-limit lease brings nothing extra.
  Load({Key(1, 1, 1, {.rpm = 1})}, {Provider(1, "openai", KeyPolicy::kLru)});
  ASSERT_EQ(LeaseId(), 1);
  extra.clear();
  absl::StatusOr<LeaseGrant> over = Prefetched(0, {}, 3, &extra);
  ASSERT_TRUE(over.ok());
  EXPECT_TRUE(over->over_limit);
  EXPECT_TRUE(extra.empty());
}

TEST_F(KeyPoolTest, ARefillTakesNoKeyPastHalfOfItsLimits) {
  Load({Key(1, 1, 1, {.rpm = 4})});
  std::vector<LeaseGrant> extra;
  ASSERT_TRUE(Prefetched(0, {}, 5, &extra, /*refill=*/true).ok());
  EXPECT_EQ(extra.size(), 1u);  // 2 of 4 counted
  extra.clear();
  absl::StatusOr<LeaseGrant> more = Prefetched(0, {}, 5, &extra, /*refill=*/true);
  EXPECT_EQ(more.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(extra.empty());
  // A call that needs a key still gets the other half.
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), 1);
  EXPECT_EQ(LeaseId(), -1);
}

TEST_F(KeyPoolTest, ReleasedLeaseGivesItsRequestAndTokensBack) {
  Load({Key(1, 1, 1, {.rpm = 2, .tpm = 0, .rpd = 2})});
  ASSERT_EQ(LeaseId("openai", 40), 1);
  ASSERT_EQ(LeaseId("openai", 40), 1);
  EXPECT_EQ(LeaseId("openai", 40), -1);
  EXPECT_EQ(last_status_.code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(ReportLast(aigw::v1::RELEASED).ok());
  KeyStateView v = State(1);
  EXPECT_EQ(v.requests_current_minute, 1);
  EXPECT_EQ(v.tokens_current_minute, 40);
  EXPECT_EQ(v.requests_today, 1);
  EXPECT_EQ(v.tokens_today, 40);
  EXPECT_EQ(v.status, "normal");
  // The freed request can be leased again at once, and only it.
  EXPECT_EQ(LeaseId("openai", 40), 1);
  EXPECT_EQ(LeaseId("openai", 40), -1);
}

TEST_F(KeyPoolTest, ARepeatedReleaseIsCountedOnce) {
  Load({Key(1, 1, 1)});
  ASSERT_EQ(LeaseId("openai", 10), 1);
  ASSERT_EQ(LeaseId("openai", 10), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::RELEASED).ok());
  ASSERT_TRUE(ReportLast(aigw::v1::RELEASED).ok());
  EXPECT_EQ(State(1).requests_current_minute, 1);
  EXPECT_EQ(State(1).requests_today, 1);
}

TEST_F(KeyPoolTest, ReleaseLeavesACoolingKeyCooling) {
  Load({Key(1, 1, 1), Key(2, 1, 0)});
  ASSERT_EQ(LeaseId(), 1);
  const LeaseGrant unused = last_lease_;
  ASSERT_EQ(LeaseId(), 1);
  ASSERT_TRUE(ReportLast(aigw::v1::RATE_LIMITED, 0, 30'000).ok());
  last_lease_ = unused;
  ASSERT_TRUE(ReportLast(aigw::v1::RELEASED).ok());
  EXPECT_EQ(LeaseId(), 2);
  EXPECT_EQ(State(1).status, "rate_limited");
}

}  // namespace
}  // namespace aigw::keypool
