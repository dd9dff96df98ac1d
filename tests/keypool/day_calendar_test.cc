#include "services/keypool/day_calendar.h"

#include "gtest/gtest.h"

namespace aigw::keypool {
namespace {

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), absl::UTCTimeZone());
}

TEST(DayCalendarTest, UtcDaysTurnAtMidnightToTheNanosecond) {
  DayCalendar cal;
  const absl::Time midnight = Utc(2026, 3, 1);
  EXPECT_EQ(cal.Today(midnight - absl::Nanoseconds(1)), absl::CivilDay(2026, 2, 28));
  EXPECT_EQ(cal.Today(midnight), absl::CivilDay(2026, 3, 1));
  EXPECT_EQ(cal.NextDayStart(midnight - absl::Nanoseconds(1)), midnight);
  EXPECT_EQ(cal.NextDayStart(midnight), Utc(2026, 3, 2));
}

TEST(DayCalendarTest, AnEarlierInstantAfterALaterOneStillGetsItsOwnDay) {
  // The day's bounds are remembered: asking about another day must not
  // answer from them.
  DayCalendar cal;
  EXPECT_EQ(cal.Today(Utc(2026, 5, 10, 12)), absl::CivilDay(2026, 5, 10));
  EXPECT_EQ(cal.Today(Utc(2026, 5, 9, 23, 59)), absl::CivilDay(2026, 5, 9));
  EXPECT_EQ(cal.Today(Utc(2026, 5, 10, 0)), absl::CivilDay(2026, 5, 10));
  EXPECT_EQ(cal.NextDayStart(Utc(2026, 5, 11, 1)), Utc(2026, 5, 12));
}

TEST(DayCalendarTest, DaysTurnAtLocalMidnightInTheConfiguredZone) {
  absl::TimeZone new_york;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &new_york));
  DayCalendar cal(new_york);
  EXPECT_EQ(cal.zone(), new_york);
  // 03:00 UTC on 2026-01-15 is 22:00 of the 14th in New York (UTC-5).
  EXPECT_EQ(cal.Today(Utc(2026, 1, 15, 3)), absl::CivilDay(2026, 1, 14));
  EXPECT_EQ(cal.NextDayStart(Utc(2026, 1, 15, 3)), Utc(2026, 1, 15, 5));
  EXPECT_EQ(cal.Today(Utc(2026, 1, 15, 5)), absl::CivilDay(2026, 1, 15));
}

TEST(DayCalendarTest, ADayThatBeginsInADstGapStartsWhenItReallyBegins) {
  // São Paulo's clocks went from 00:00 to 01:00 on 2018-11-04: that day
  // began at 01:00 local (-02), 03:00 UTC, and lasted 23 hours.
  absl::TimeZone sao_paulo;
  ASSERT_TRUE(absl::LoadTimeZone("America/Sao_Paulo", &sao_paulo));
  DayCalendar cal(sao_paulo);
  const absl::Time start = Utc(2018, 11, 4, 3);
  EXPECT_EQ(cal.NextDayStart(Utc(2018, 11, 3, 15)), start);
  EXPECT_EQ(cal.Today(start - absl::Nanoseconds(1)), absl::CivilDay(2018, 11, 3));
  EXPECT_EQ(cal.Today(start), absl::CivilDay(2018, 11, 4));
  EXPECT_EQ(cal.NextDayStart(start) - start, absl::Hours(23));
}

}  // namespace
}  // namespace aigw::keypool
