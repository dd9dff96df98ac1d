// Dates and stored times of the usage tables.

#include "services/usage/usage_time.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw::usage {
namespace {

TEST(ParseDateTest, TakesOnlyRealDaysOfTheFormYYYYMMDD) {
  absl::StatusOr<absl::CivilDay> d = ParseDate("2026-02-28", "start_date");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, absl::CivilDay(2026, 2, 28));
  for (const char* bad : {"2026-02-29", "2026-2-28", "26-02-28", "2026/02/28", "2026-02-28 ",
                          "+2026-02-28", "", "20260228", "2026-13-01"}) {
    absl::StatusOr<absl::CivilDay> r = ParseDate(bad, "start_date");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(),
              absl::StrCat("start_date '", bad, "' is not a date of the form YYYY-MM-DD"));
  }
}

TEST(DbTimeTest, MillisecondsInUtcTruncatedAndParsedBack) {
  const absl::Time t =
      absl::FromCivil(absl::CivilSecond(2026, 3, 10, 23, 59, 59), absl::UTCTimeZone()) +
      absl::Nanoseconds(999999999);
  EXPECT_EQ(FormatDbTime(t), "2026-03-10 23:59:59.999");
  absl::StatusOr<absl::Time> back = ParseDbTime("2026-03-10 23:59:59.999");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, TruncateToMillis(t));
  EXPECT_TRUE(ParseDbTime("2026-03-10 23:59:59").ok());
  EXPECT_TRUE(ParseDbTime("2026-03-10T23:59:59.5").ok());
  EXPECT_FALSE(ParseDbTime("yesterday").ok());
  EXPECT_EQ(FormatDbTime(absl::UnixEpoch()), "1970-01-01 00:00:00.000");
}

TEST(TruncateToMillisTest, CutsTowardThePastAlsoBeforeTheEpoch) {
  EXPECT_EQ(TruncateToMillis(absl::FromUnixMicros(1999)), absl::FromUnixMillis(1));
  EXPECT_EQ(TruncateToMillis(absl::FromUnixMicros(-1)), absl::FromUnixMillis(-1));
  EXPECT_EQ(TruncateToMillis(absl::FromUnixMillis(5)), absl::FromUnixMillis(5));
}

TEST(TimestampInRangeTest, TakesTheYears1970To9999AndValidNanos) {
  google::protobuf::Timestamp ts;
  EXPECT_TRUE(TimestampInRange(ts));
  ts.set_seconds(253402300799);  // 9999-12-31 23:59:59
  ts.set_nanos(999999999);
  EXPECT_TRUE(TimestampInRange(ts));
  ts.set_seconds(253402300800);
  EXPECT_FALSE(TimestampInRange(ts));
  ts.set_seconds(-1);
  EXPECT_FALSE(TimestampInRange(ts));
  ts.set_seconds(0);
  ts.set_nanos(1000000000);
  EXPECT_FALSE(TimestampInRange(ts));
  ts.set_nanos(-1);
  EXPECT_FALSE(TimestampInRange(ts));
}

TEST(ParseDbTimeTest, NamesTheUnreadableText) {
  absl::StatusOr<absl::Time> t = ParseDbTime("not a time");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(t.status().message(), "unreadable time 'not a time' in the database");
}

}  // namespace
}  // namespace aigw::usage
