#ifndef AIGW_SERVICES_KEYPOOL_DAY_CALENDAR_H_
#define AIGW_SERVICES_KEYPOOL_DAY_CALENDAR_H_

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace aigw::keypool {

// Which calendar day an instant falls on in the configured zone, the unit of
// the RPD limit and of the daily counters. Remembers the current day's bounds
// so the common case is two comparisons instead of a zone lookup.
//
// Not thread-safe: each provider keeps its own, under its mutex.
class DayCalendar {
 public:
  explicit DayCalendar(absl::TimeZone tz = absl::UTCTimeZone()) : tz_(tz) {}

  absl::CivilDay Today(absl::Time now);
  // When the day after Today(now) begins.
  absl::Time NextDayStart(absl::Time now);

  absl::TimeZone zone() const { return tz_; }

 private:
  void Refresh(absl::Time now);

  absl::TimeZone tz_;
  absl::CivilDay day_;
  absl::Time start_ = absl::InfiniteFuture();
  absl::Time end_ = absl::InfinitePast();
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_DAY_CALENDAR_H_
