#include "services/keypool/day_calendar.h"

namespace aigw::keypool {

void DayCalendar::Refresh(absl::Time now) {
  if (now >= start_ && now < end_) return;
  day_ = absl::ToCivilDay(now, tz_);
  // FromCivil resolves a day that starts inside a DST gap to the instant the
  // day actually begins, so the bounds stay exact in zones with DST.
  start_ = absl::FromCivil(day_, tz_);
  end_ = absl::FromCivil(day_ + 1, tz_);
}

absl::CivilDay DayCalendar::Today(absl::Time now) {
  Refresh(now);
  return day_;
}

absl::Time DayCalendar::NextDayStart(absl::Time now) {
  Refresh(now);
  return end_;
}

}  // namespace aigw::keypool
