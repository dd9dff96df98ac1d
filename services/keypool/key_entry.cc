#include "services/keypool/key_entry.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "libs/common/utf8.h"
#include "libs/crypto/secret_scrub.h"
#include "libs/providers/outcome.h"

namespace aigw::keypool {
namespace {

constexpr size_t kMaxErrorLength = 1000;

}  // namespace

void KeyEntry::ApplyRow(const KeyRow& row, absl::CivilDay today, bool fresh) {
  const bool secret_ok = row.secret_error.empty();
  const bool secret_changed =
      !fresh && secret_ok && identity_ != nullptr && row.secret != identity_->secret;
  if (identity_ == nullptr || identity_->provider_id != row.provider_id ||
      identity_->key_name != row.key_name || identity_->secret != row.secret ||
      identity_->masked != row.masked) {
    auto identity = std::make_shared<KeyIdentity>();
    identity->id = id_;
    identity->provider_id = row.provider_id;
    identity->key_name = row.key_name;
    identity->secret = row.secret;
    identity->masked = row.masked;
    identity_ = std::move(identity);
  }
  secret_error_ = row.secret_error;
  priority_ = row.priority;
  rpm_ = std::max<int64_t>(0, row.rate_limit_rpm);
  tpm_ = std::max<int64_t>(0, row.rate_limit_tpm);
  rpd_ = std::max<int64_t>(0, row.rate_limit_rpd);
  is_active_ = row.is_active;
  // A strict key never holds more than RPM events, so it stays exact.
  window_.set_exact_capacity(
      std::max<size_t>(RateWindow::kDefaultExactCapacity, static_cast<size_t>(rpm_)));

  if (fresh) {
    status_ = ParseKeyStatus(row.status);
    db_status_seen_ = row.status;
    cooldown_until_ =
        status_ == KeyStatus::kRateLimited ? row.cooldown_until : absl::InfinitePast();
    last_used_at_ = row.last_used_at;
    // An error stored by an older version may still quote the key.
    last_error_ = crypto::ScrubSecret(row.last_error, row.secret);
    day_ = today;
    if (row.has_counts_date && row.counts_date == today) {
      requests_today_ = std::max<int64_t>(0, row.requests_count_today);
      tokens_today_ = std::max<int64_t>(0, row.tokens_count_today);
    } else {
      requests_today_ = 0;
      tokens_today_ = 0;
    }
    return;
  }
  if (row.status != db_status_seen_) {
    // Someone else wrote the status: their decision wins over ours.
    status_ = ParseKeyStatus(row.status);
    db_status_seen_ = row.status;
    status_dirty_ = false;
    cooldown_until_ =
        status_ == KeyStatus::kRateLimited ? row.cooldown_until : absl::InfinitePast();
    if (status_ == KeyStatus::kNormal) CloseBreaker();
  } else if (secret_changed && status_ == KeyStatus::kInvalid) {
    status_ = KeyStatus::kNormal;
    status_dirty_ = true;
    CloseBreaker();
  }
}

void KeyEntry::CloseBreaker() {
  failures_ = 0;
  half_open_ = false;
  breaker_until_ = absl::InfinitePast();
}

void KeyEntry::RollDay(absl::CivilDay today) {
  // Forward only: a wall clock stepping back over midnight must not wipe
  // the later day's counts.
  if (today <= day_) return;
  day_ = today;
  requests_today_ = 0;
  tokens_today_ = 0;
  counters_dirty_ = true;
}

bool KeyEntry::Fits(absl::Time now, absl::CivilDay today, int64_t tokens) {
  window_.Expire(now);
  RollDay(today);
  const int64_t rpm = rpm_left();
  const int64_t tpm = tpm_left();
  const int64_t rpd = rpd_left();
  if (rpm > 0 && window_.requests() + 1 > rpm) return false;
  if (tpm > 0 && window_.tokens() + tokens > tpm) return false;
  if (rpd > 0 && requests_today_ + 1 > rpd) return false;
  return true;
}

bool KeyEntry::FitsWithHeadroom(absl::Time now, absl::CivilDay today, int64_t tokens) {
  if (!Fits(now, today, tokens)) return false;
  // After this lease, at most half of each limit is used (held back
  // counting as used).
  if (rpm_ > 0 && 2 * (window_.requests() + held_back_.requests + 1) > rpm_) return false;
  if (tpm_ > 0 && 2 * (window_.tokens() + held_back_.tokens + tokens) > tpm_) return false;
  if (rpd_ > 0 && 2 * (requests_today_ + held_back_.day_requests + 1) > rpd_) return false;
  return true;
}

KeyBudget KeyEntry::Budget(absl::Time now, absl::CivilDay today) {
  window_.Expire(now);
  RollDay(today);
  KeyBudget b;
  b.rpm = rpm_;
  b.tpm = tpm_;
  b.rpd = rpd_;
  b.window_requests = window_.requests();
  b.window_tokens = window_.tokens();
  b.requests_today = requests_today_;
  b.held = held_back_;
  return b;
}

void KeyEntry::CountAllotted(absl::Time now, absl::CivilDay today, int64_t requests,
                             int64_t tokens) {
  if (requests <= 0 && tokens <= 0) return;
  RollDay(today);
  window_.Expire(now);
  window_.Seed(now, std::max<int64_t>(0, requests), std::max<int64_t>(0, tokens));
  requests_today_ += std::max<int64_t>(0, requests);
  tokens_today_ += std::max<int64_t>(0, tokens);
  last_used_at_ = std::max(last_used_at_, now);
  counters_dirty_ = true;
}

uint64_t KeyEntry::Record(absl::Time now, absl::CivilDay today, int64_t tokens) {
  RollDay(today);
  const uint64_t handle = window_.Add(now, tokens);
  ++requests_today_;
  tokens_today_ += tokens;
  last_used_at_ = now;
  counters_dirty_ = true;
  return handle;
}

absl::Time KeyEntry::BlockedUntil(absl::Time now, DayCalendar& calendar) {
  if (!is_active_ || !secret_error_.empty() || status_ == KeyStatus::kInvalid ||
      status_ == KeyStatus::kDisabled) {
    return absl::InfiniteFuture();
  }
  window_.Expire(now);
  RollDay(calendar.Today(now));
  absl::Time at = std::max(cooldown_until_, breaker_until_);
  // Limits less what allotments hold back: a key blocked by those alone is
  // woken when they change (KeyPool's allotment bookkeeping).
  const int64_t rpm = rpm_left();
  const int64_t tpm = tpm_left();
  const int64_t rpd = rpd_left();
  if (rpm > 0 && window_.requests() >= rpm) {
    at = std::max(at, window_.EarliestFit(now, rpm, 0, 0));
  }
  if (tpm > 0 && window_.tokens() > tpm) {
    at = std::max(at, window_.EarliestFit(now, 0, tpm, 0));
  }
  if (rpd > 0 && requests_today_ >= rpd) at = std::max(at, calendar.NextDayStart(now));
  return at;
}

absl::Time KeyEntry::EarliestAvailable(absl::Time now, DayCalendar& calendar, int64_t tokens) {
  if (!is_active_ || !secret_error_.empty() || status_ == KeyStatus::kInvalid ||
      status_ == KeyStatus::kDisabled) {
    return absl::InfiniteFuture();
  }
  window_.Expire(now);
  RollDay(calendar.Today(now));
  absl::Time at = std::max({now, cooldown_until_, breaker_until_});
  const absl::Time window_fit = window_.EarliestFit(now, rpm_left(), tpm_left(), tokens);
  if (window_fit == absl::InfiniteFuture()) return window_fit;
  at = std::max(at, window_fit);
  const int64_t rpd = rpd_left();
  if (rpd > 0 && requests_today_ + 1 > rpd) at = std::max(at, calendar.NextDayStart(now));
  return at;
}

void KeyEntry::Reconcile(uint64_t window_handle, absl::CivilDay lease_day, int64_t delta) {
  if (delta == 0) return;
  window_.Adjust(window_handle, delta);
  if (lease_day == day_) {
    tokens_today_ = std::max<int64_t>(0, tokens_today_ + delta);
    counters_dirty_ = true;
  }
}

void KeyEntry::Release(uint64_t window_handle, absl::CivilDay lease_day, int64_t tokens) {
  window_.Remove(window_handle, tokens);
  if (lease_day == day_) {
    requests_today_ = std::max<int64_t>(0, requests_today_ - 1);
    tokens_today_ = std::max<int64_t>(0, tokens_today_ - tokens);
    counters_dirty_ = true;
  }
}

void KeyEntry::SetError(const UsageReport& report, absl::Time now) {
  // The gateway scrubs what it reports; a reporter that did not must still
  // not put the key into ListKeyStates or the database.
  std::string text = crypto::ScrubSecret(report.error_message, identity_->secret);
  if (text.empty()) {
    text = report.http_status > 0
               ? absl::StrCat(aigw::v1::Outcome_Name(report.outcome), " (HTTP ",
                              report.http_status, ")")
               : aigw::v1::Outcome_Name(report.outcome);
  }
  // Cut between characters: the text goes out in ListKeyStates (a proto3
  // string must be UTF-8) and into a utf8mb4 column.
  text = CleanUtf8(text, std::numeric_limits<size_t>::max(), kMaxErrorLength);
  last_error_ = std::move(text);
  last_error_at_ = now;
  error_dirty_ = true;
}

void KeyEntry::ApplyOutcome(const UsageReport& report, absl::Time leased_at, absl::Time now,
                            const KeyPoolOptions& options) {
  // What the outcome says about the key is providers::KeyVerdictFor's, the
  // rules the gateway's retries count on.
  switch (providers::KeyVerdictFor(report.outcome)) {
    case providers::KeyVerdict::kWorks:
      // The provider answered with this key: it works.
      failures_ = 0;
      if (now >= breaker_until_) half_open_ = false;
      return;
    case providers::KeyVerdict::kRateLimited: {
      absl::Duration cooldown = options.default_cooldown;
      if (report.retry_after_ms > 0) {
        cooldown = std::min(absl::Milliseconds(report.retry_after_ms), options.max_cooldown);
      }
      cooldown_until_ = std::max(cooldown_until_, now + cooldown);
      if (status_ == KeyStatus::kNormal || status_ == KeyStatus::kRateLimited) {
        status_ = KeyStatus::kRateLimited;
        status_dirty_ = true;
      }
      SetError(report, now);
      return;
    }
    case providers::KeyVerdict::kRejected:
      if (status_ != KeyStatus::kDisabled) {
        status_ = KeyStatus::kInvalid;
        status_dirty_ = true;
      }
      SetError(report, now);
      return;
    case providers::KeyVerdict::kRefusedRequest:
      // A 403 refuses one request (a model the key may not use, a region),
      // not the key: it keeps serving everything else. Only the reason is
      // kept, for ListKeyStates and the database.
      SetError(report, now);
      return;
    case providers::KeyVerdict::kFailing: {
      SetError(report, now);
      // Calls leased before the breaker last opened were already in flight
      // when it opened; they tell nothing about the key since.
      if (options.breaker_failures <= 0 || leased_at < breaker_opened_at_) return;
      ++failures_;
      const int threshold = half_open_ ? 1 : options.breaker_failures;
      if (failures_ >= threshold) {
        breaker_until_ = now + options.breaker_cooldown;
        breaker_opened_at_ = now;
        half_open_ = true;
        failures_ = 0;
      }
      return;
    }
    case providers::KeyVerdict::kNothing:
      return;
  }
}

KeyStateView KeyEntry::View(absl::Time now, absl::CivilDay today) {
  window_.Expire(now);
  RollDay(today);
  KeyStateView v;
  v.key_id = id_;
  v.provider_id = identity_->provider_id;
  v.key_name = identity_->key_name;
  v.masked_key = identity_->masked;
  if (!secret_error_.empty() || status_ == KeyStatus::kInvalid) {
    v.status = "invalid";
  } else if (status_ == KeyStatus::kDisabled) {
    v.status = "disabled";
  } else if (now < cooldown_until_) {
    v.status = "rate_limited";
  } else if (now < breaker_until_) {
    v.status = "cooling";
  } else {
    v.status = "normal";
  }
  v.priority = priority_;
  v.is_active = is_active_;
  v.requests_current_minute = window_.requests();
  v.tokens_current_minute = window_.tokens();
  v.requests_today = requests_today_;
  v.tokens_today = tokens_today_;
  v.rate_limit_rpm = rpm_;
  v.rate_limit_tpm = tpm_;
  v.rate_limit_rpd = rpd_;
  const absl::Time cooldown = std::max(cooldown_until_, breaker_until_);
  if (cooldown > now) v.cooldown_until = cooldown;
  v.last_used_at = last_used_at_;
  v.last_error = secret_error_.empty() ? last_error_ : secret_error_;
  return v;
}

std::vector<RateWindow::Slice> KeyEntry::WindowSlices(absl::Time now,
                                                      absl::Duration granularity) {
  window_.Expire(now);
  return window_.Slices(granularity);
}

void KeyEntry::SeedWindow(const std::vector<RateWindow::Slice>& slices) {
  for (const RateWindow::Slice& s : slices) window_.Seed(s.at, s.requests, s.tokens);
}

bool KeyEntry::TakeWrite(absl::Time now, absl::CivilDay today, KeyWrite* out) {
  RollDay(today);
  if (status_ == KeyStatus::kRateLimited && now >= cooldown_until_) {
    status_ = KeyStatus::kNormal;
    cooldown_until_ = absl::InfinitePast();
    status_dirty_ = true;
  }
  if (!counters_dirty_ && !status_dirty_ && !error_dirty_) return false;
  out->key_id = id_;
  out->requests_today = requests_today_;
  out->tokens_today = tokens_today_;
  out->counts_date = day_;
  out->last_used_at = last_used_at_;
  out->write_status = status_dirty_;
  out->status = std::string(KeyStatusName(status_));
  out->cooldown_until =
      status_ == KeyStatus::kRateLimited ? cooldown_until_ : absl::InfinitePast();
  out->write_error = error_dirty_;
  out->last_error = last_error_;
  out->last_error_at = last_error_at_;
  counters_dirty_ = status_dirty_ = error_dirty_ = false;
  return true;
}

void KeyEntry::AckWrite(const KeyWrite& write, bool ok) {
  if (ok) {
    if (write.write_status) db_status_seen_ = write.status;
    return;
  }
  counters_dirty_ = true;
  if (write.write_status) status_dirty_ = true;
  if (write.write_error) error_dirty_ = true;
}

}  // namespace aigw::keypool
