#include "services/keypool/key_entry.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw::keypool {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01 00:00 UTC
const absl::CivilDay kDay0(2026, 1, 1);
constexpr char kSecret[] = "sk-test-0123456789abcdefghij";

KeyRow Row() {
  KeyRow row;
  row.id = 7;
  row.provider_id = 3;
  row.key_name = "primary";
  row.secret = kSecret;
  row.masked = "sk-t...ghij";
  row.priority = 2;
  return row;
}

// A key taken fresh from `row` on day 0.
struct Key {
  explicit Key(const KeyRow& row = Row()) : entry(row.id) { entry.ApplyRow(row, kDay0, true); }
  KeyEntry entry;
};

UsageReport Report(aigw::v1::Outcome outcome, int http_status = 0, std::string message = "") {
  UsageReport r;
  r.outcome = outcome;
  r.http_status = http_status;
  r.error_message = std::move(message);
  return r;
}

TEST(KeyEntryTest, AFreshKeyTakesItsStateFromTheRow) {
  KeyRow row = Row();
  row.status = "rate_limited";
  row.cooldown_until = kT0 + absl::Seconds(30);
  row.last_used_at = kT0 - absl::Minutes(5);
  row.has_counts_date = true;
  row.counts_date = kDay0;
  row.requests_count_today = 4;
  row.tokens_count_today = 400;
  row.last_error = absl::StrCat("bad key ", kSecret);
  Key k(row);
  const KeyStateView v = k.entry.View(kT0, kDay0);
  EXPECT_EQ(v.key_id, 7);
  EXPECT_EQ(v.provider_id, 3);
  EXPECT_EQ(v.key_name, "primary");
  EXPECT_EQ(v.masked_key, "sk-t...ghij");
  EXPECT_EQ(v.priority, 2);
  EXPECT_EQ(v.status, "rate_limited");
  EXPECT_EQ(v.cooldown_until, kT0 + absl::Seconds(30));
  EXPECT_EQ(v.last_used_at, kT0 - absl::Minutes(5));
  EXPECT_EQ(v.requests_today, 4);
  EXPECT_EQ(v.tokens_today, 400);
  // An error stored by an older version never shows the key again.
  EXPECT_EQ(v.last_error.find(kSecret), std::string::npos) << v.last_error;
  EXPECT_EQ(k.entry.identity()->secret, kSecret);
}

TEST(KeyEntryTest, AFreshKeyStartsTheDayAtZeroWhenItsCountsAreFromAnotherDay) {
  KeyRow row = Row();
  row.has_counts_date = true;
  row.counts_date = kDay0 - 1;
  row.requests_count_today = 9;
  row.tokens_count_today = 900;
  Key k(row);
  EXPECT_EQ(k.entry.View(kT0, kDay0).requests_today, 0);
  EXPECT_EQ(k.entry.View(kT0, kDay0).tokens_today, 0);
}

TEST(KeyEntryTest, AKnownKeyKeepsItsLiveCountersOnReload) {
  Key k;
  k.entry.Record(kT0, kDay0, 100);
  KeyRow row = Row();
  row.has_counts_date = true;
  row.counts_date = kDay0;
  row.requests_count_today = 50;  // stale: the pool's own count is newer
  row.rate_limit_rpm = 10;
  k.entry.ApplyRow(row, kDay0, /*fresh=*/false);
  const KeyStateView v = k.entry.View(kT0, kDay0);
  EXPECT_EQ(v.requests_today, 1);
  EXPECT_EQ(v.tokens_today, 100);
  EXPECT_EQ(v.requests_current_minute, 1);
  EXPECT_EQ(v.rate_limit_rpm, 10);  // configuration is taken
}

TEST(KeyEntryTest, AStatusSomeoneElseWroteWinsOverTheLiveOne) {
  Key k;
  k.entry.ApplyOutcome(Report(aigw::v1::AUTH_FAILED, 401), kT0, kT0, KeyPoolOptions());
  ASSERT_FALSE(k.entry.Healthy(kT0));
  // The pool writes its verdict back; reading that back changes nothing.
  KeyWrite w;
  ASSERT_TRUE(k.entry.TakeWrite(kT0, kDay0, &w));
  EXPECT_EQ(w.status, "invalid");
  k.entry.AckWrite(w, true);
  KeyRow row = Row();
  row.status = "invalid";  // what the pool wrote: not someone else's change
  k.entry.ApplyRow(row, kDay0, false);
  EXPECT_FALSE(k.entry.Healthy(kT0));
  row.status = "normal";  // an admin re-validated the key
  k.entry.ApplyRow(row, kDay0, false);
  EXPECT_TRUE(k.entry.Healthy(kT0));
  EXPECT_FALSE(k.entry.TakeWrite(kT0, kDay0, &w)) << "the admin's status is not written back";
}

TEST(KeyEntryTest, ANewSecretOnAnInvalidKeyMakesItNormal) {
  Key k;
  k.entry.ApplyOutcome(Report(aigw::v1::AUTH_FAILED, 401), kT0, kT0, KeyPoolOptions());
  ASSERT_FALSE(k.entry.Healthy(kT0));
  KeyRow row = Row();
  k.entry.ApplyRow(row, kDay0, false);  // same secret: still invalid
  EXPECT_FALSE(k.entry.Healthy(kT0));
  row.secret = "sk-test-replacement-9876543210";
  k.entry.ApplyRow(row, kDay0, false);
  EXPECT_TRUE(k.entry.Healthy(kT0));
  EXPECT_EQ(k.entry.identity()->secret, "sk-test-replacement-9876543210");
  KeyWrite w;
  ASSERT_TRUE(k.entry.TakeWrite(kT0, kDay0, &w));
  EXPECT_TRUE(w.write_status);
  EXPECT_EQ(w.status, "normal");
}

TEST(KeyEntryTest, AKeyWhoseSecretCannotBeOpenedIsNeverHealthy) {
  KeyRow row = Row();
  row.secret.clear();
  row.secret_error = "sealed under another master key";
  Key k(row);
  EXPECT_FALSE(k.entry.Healthy(kT0));
  EXPECT_EQ(k.entry.View(kT0, kDay0).status, "invalid");
  EXPECT_EQ(k.entry.View(kT0, kDay0).last_error, "sealed under another master key");
  DayCalendar cal;
  EXPECT_EQ(k.entry.BlockedUntil(kT0, cal), absl::InfiniteFuture());
}

TEST(KeyEntryTest, FitsCountsEachLimitAndHeadroomKeepsHalfOfEach) {
  KeyRow row = Row();
  row.rate_limit_rpm = 4;
  row.rate_limit_tpm = 1000;
  row.rate_limit_rpd = 100;
  Key k(row);
  EXPECT_TRUE(k.entry.FitsWithHeadroom(kT0, kDay0, 100));
  k.entry.Record(kT0, kDay0, 100);
  // 2 of 4 requests after the next lease: still half.
  EXPECT_TRUE(k.entry.FitsWithHeadroom(kT0, kDay0, 100));
  k.entry.Record(kT0, kDay0, 100);
  EXPECT_FALSE(k.entry.FitsWithHeadroom(kT0, kDay0, 100));
  EXPECT_TRUE(k.entry.Fits(kT0, kDay0, 100));
  // Tokens: 200 counted, 801 more would pass 1000.
  EXPECT_FALSE(k.entry.Fits(kT0, kDay0, 801));
  EXPECT_TRUE(k.entry.Fits(kT0, kDay0, 800));
  k.entry.Record(kT0, kDay0, 1);
  k.entry.Record(kT0, kDay0, 1);
  EXPECT_FALSE(k.entry.Fits(kT0, kDay0, 0));  // RPM full
  EXPECT_TRUE(k.entry.Fits(kT0 + absl::Seconds(60), kDay0, 0));
}

TEST(KeyEntryTest, ADailyLimitBlocksUntilTheNextDayStarts) {
  KeyRow row = Row();
  row.rate_limit_rpd = 2;
  Key k(row);
  DayCalendar cal;
  k.entry.Record(kT0, kDay0, 0);
  EXPECT_LE(k.entry.BlockedUntil(kT0, cal), kT0);
  k.entry.Record(kT0 + absl::Hours(1), kDay0, 0);
  EXPECT_FALSE(k.entry.Fits(kT0 + absl::Hours(2), kDay0, 0));
  EXPECT_EQ(k.entry.BlockedUntil(kT0 + absl::Hours(2), cal), kT0 + absl::Hours(24));
  EXPECT_EQ(k.entry.EarliestAvailable(kT0 + absl::Hours(2), cal, 0), kT0 + absl::Hours(24));
  EXPECT_TRUE(k.entry.Fits(kT0 + absl::Hours(24), kDay0 + 1, 0));
}

TEST(KeyEntryTest, TheDayRollsForwardOnlyAndTheRollIsWrittenBack) {
  Key k;
  k.entry.Record(kT0, kDay0, 10);
  KeyWrite w;
  ASSERT_TRUE(k.entry.TakeWrite(kT0, kDay0, &w));
  k.entry.RollDay(kDay0 + 1);
  ASSERT_TRUE(k.entry.TakeWrite(kT0 + absl::Hours(24), kDay0 + 1, &w));
  EXPECT_EQ(w.counts_date, kDay0 + 1);
  EXPECT_EQ(w.requests_today, 0);
  // A clock stepping back over midnight does not wipe the later day.
  k.entry.Record(kT0 + absl::Hours(24), kDay0 + 1, 5);
  k.entry.RollDay(kDay0);
  EXPECT_EQ(k.entry.View(kT0 + absl::Hours(24), kDay0 + 1).requests_today, 1);
}

TEST(KeyEntryTest, EarliestAvailableIsNeverForTokensAboveTheTpm) {
  KeyRow row = Row();
  row.rate_limit_tpm = 100;
  Key k(row);
  DayCalendar cal;
  EXPECT_EQ(k.entry.EarliestAvailable(kT0, cal, 101), absl::InfiniteFuture());
  EXPECT_EQ(k.entry.EarliestAvailable(kT0, cal, 100), kT0);
  k.entry.Record(kT0, kDay0, 60);
  EXPECT_EQ(k.entry.EarliestAvailable(kT0 + absl::Seconds(1), cal, 60), kT0 + absl::Seconds(60));
}

TEST(KeyEntryTest, ReconcileAndReleaseCorrectTheCountsOfTheLeaseDayOnly) {
  Key k;
  const uint64_t a = k.entry.Record(kT0, kDay0, 100);
  const uint64_t b = k.entry.Record(kT0, kDay0, 50);
  k.entry.Reconcile(a, kDay0, +20);
  k.entry.Release(b, kDay0, 50);
  KeyStateView v = k.entry.View(kT0, kDay0);
  EXPECT_EQ(v.requests_today, 1);
  EXPECT_EQ(v.tokens_today, 120);
  EXPECT_EQ(v.requests_current_minute, 1);
  EXPECT_EQ(v.tokens_current_minute, 120);
  // A lease of yesterday corrects the window, not today's counts.
  k.entry.RollDay(kDay0 + 1);
  k.entry.Reconcile(a, kDay0, -100);
  v = k.entry.View(kT0, kDay0 + 1);
  EXPECT_EQ(v.tokens_today, 0);
  EXPECT_EQ(v.tokens_current_minute, 20);
}

TEST(KeyEntryTest, RateLimitedCoolsDownForRetryAfterBoundedByTheMaximum) {
  KeyPoolOptions options;
  options.default_cooldown = absl::Seconds(60);
  options.max_cooldown = absl::Seconds(120);
  Key k;
  k.entry.ApplyOutcome(Report(aigw::v1::RATE_LIMITED, 429), kT0, kT0, options);
  EXPECT_FALSE(k.entry.Healthy(kT0 + absl::Seconds(59)));
  EXPECT_TRUE(k.entry.Healthy(kT0 + absl::Seconds(60)));
  UsageReport r = Report(aigw::v1::RATE_LIMITED, 429);
  r.retry_after_ms = 3'600'000;
  k.entry.ApplyOutcome(r, kT0, kT0, options);
  EXPECT_FALSE(k.entry.Healthy(kT0 + absl::Seconds(119)));
  EXPECT_TRUE(k.entry.Healthy(kT0 + absl::Seconds(120)));
  const KeyStateView v = k.entry.View(kT0, kDay0);
  EXPECT_EQ(v.status, "rate_limited");
  EXPECT_EQ(v.last_error, "RATE_LIMITED (HTTP 429)");
}

TEST(KeyEntryTest, AnEndedCooldownIsWrittenBackAsNormal) {
  Key k;
  k.entry.ApplyOutcome(Report(aigw::v1::RATE_LIMITED, 429), kT0, kT0, KeyPoolOptions());
  KeyWrite w;
  ASSERT_TRUE(k.entry.TakeWrite(kT0, kDay0, &w));
  EXPECT_TRUE(w.write_status);
  EXPECT_EQ(w.status, "rate_limited");
  EXPECT_EQ(w.cooldown_until, kT0 + absl::Seconds(60));
  EXPECT_TRUE(w.write_error);
  k.entry.AckWrite(w, true);
  EXPECT_FALSE(k.entry.TakeWrite(kT0 + absl::Seconds(59), kDay0, &w));
  ASSERT_TRUE(k.entry.TakeWrite(kT0 + absl::Seconds(60), kDay0, &w));
  EXPECT_EQ(w.status, "normal");
  EXPECT_EQ(w.cooldown_until, absl::InfinitePast());
}

TEST(KeyEntryTest, AFailedWriteIsTakenAgainNextTime) {
  Key k;
  k.entry.Record(kT0, kDay0, 10);
  k.entry.ApplyOutcome(Report(aigw::v1::AUTH_FAILED, 401), kT0, kT0, KeyPoolOptions());
  KeyWrite w;
  ASSERT_TRUE(k.entry.TakeWrite(kT0, kDay0, &w));
  EXPECT_FALSE(k.entry.TakeWrite(kT0, kDay0, &w));
  k.entry.AckWrite(w, false);
  KeyWrite again;
  ASSERT_TRUE(k.entry.TakeWrite(kT0, kDay0, &again));
  EXPECT_EQ(again.requests_today, 1);
  EXPECT_TRUE(again.write_status);
  EXPECT_EQ(again.status, "invalid");
  EXPECT_TRUE(again.write_error);
}

TEST(KeyEntryTest, AuthFailedMakesTheKeyInvalidButNotADisabledOne) {
  Key k;
  k.entry.ApplyOutcome(Report(aigw::v1::AUTH_FAILED, 401), kT0, kT0, KeyPoolOptions());
  EXPECT_EQ(k.entry.View(kT0, kDay0).status, "invalid");
  KeyRow row = Row();
  row.status = "disabled";
  Key disabled(row);
  disabled.entry.ApplyOutcome(Report(aigw::v1::AUTH_FAILED, 401), kT0, kT0, KeyPoolOptions());
  EXPECT_EQ(disabled.entry.View(kT0, kDay0).status, "disabled");
}

TEST(KeyEntryTest, PermissionDeniedKeepsTheKeyAndItsReason) {
  Key k;
  k.entry.ApplyOutcome(Report(aigw::v1::PERMISSION_DENIED, 403, "model not allowed"), kT0, kT0,
                       KeyPoolOptions());
  EXPECT_TRUE(k.entry.Healthy(kT0));
  const KeyStateView v = k.entry.View(kT0, kDay0);
  EXPECT_EQ(v.status, "normal");
  EXPECT_EQ(v.last_error, "model not allowed");
}

TEST(KeyEntryTest, ReportedErrorsLoseTheKeyAndAreCutBetweenCharacters) {
  Key k;
  std::string long_text = absl::StrCat("upstream said ", kSecret, " ");
  while (long_text.size() < 1100) long_text += "\xc3\xa9";  // é
  k.entry.ApplyOutcome(Report(aigw::v1::PERMISSION_DENIED, 403, long_text), kT0, kT0,
                       KeyPoolOptions());
  const std::string shown = k.entry.View(kT0, kDay0).last_error;
  EXPECT_EQ(shown.find(kSecret), std::string::npos);
  EXPECT_LE(shown.size(), 1000u);
  EXPECT_GT(shown.size(), 900u);
  EXPECT_EQ(shown.substr(shown.size() - 2), "\xc3\xa9");
}

TEST(KeyEntryTest, RepeatedServerErrorsOpenTheBreakerAndOneMoreReopensIt) {
  KeyPoolOptions options;
  options.breaker_failures = 3;
  options.breaker_cooldown = absl::Seconds(30);
  Key k;
  const UsageReport failed = Report(aigw::v1::SERVER_ERROR, 502);
  k.entry.ApplyOutcome(failed, kT0, kT0, options);
  k.entry.ApplyOutcome(failed, kT0, kT0, options);
  EXPECT_TRUE(k.entry.Healthy(kT0));
  k.entry.ApplyOutcome(failed, kT0, kT0, options);
  EXPECT_FALSE(k.entry.Healthy(kT0));
  EXPECT_EQ(k.entry.View(kT0, kDay0).status, "cooling");
  const absl::Time reopened = kT0 + absl::Seconds(30);
  EXPECT_TRUE(k.entry.Healthy(reopened));
  // A call leased before the breaker opened tells nothing about the key.
  k.entry.ApplyOutcome(failed, kT0 - absl::Seconds(1), reopened, options);
  EXPECT_TRUE(k.entry.Healthy(reopened));
  // Half-open: one failure is enough.
  k.entry.ApplyOutcome(failed, reopened, reopened, options);
  EXPECT_FALSE(k.entry.Healthy(reopened));
  // A success after the cooldown closes it: three failures again.
  const absl::Time later = reopened + absl::Seconds(30);
  k.entry.ApplyOutcome(Report(aigw::v1::SUCCESS, 200), later, later, options);
  k.entry.ApplyOutcome(failed, later, later, options);
  EXPECT_TRUE(k.entry.Healthy(later));
}

TEST(KeyEntryTest, ABreakerOfZeroFailuresNeverOpens) {
  KeyPoolOptions options;
  options.breaker_failures = 0;
  Key k;
  for (int i = 0; i < 20; ++i) {
    k.entry.ApplyOutcome(Report(aigw::v1::NETWORK_ERROR), kT0, kT0, options);
  }
  EXPECT_TRUE(k.entry.Healthy(kT0));
  EXPECT_EQ(k.entry.View(kT0, kDay0).last_error, "NETWORK_ERROR");
}

}  // namespace
}  // namespace aigw::keypool
