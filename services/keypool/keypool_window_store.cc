#include "services/keypool/keypool_window_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "soci/soci.h"

namespace aigw::keypool {

KeyWindowStore::KeyWindowStore(db::Database* db, Clock* clock, KeyWindowStoreOptions options)
    : db_(db), clock_(clock), options_(options) {}

std::string KeyWindowStore::Encode(const std::vector<RateWindow::Slice>& slices,
                                   absl::Time saved_at) {
  std::string out;
  for (const RateWindow::Slice& s : slices) {
    const int64_t age_ms = std::max<int64_t>(
        0, absl::ToInt64Milliseconds(absl::Floor(saved_at - s.at, absl::Milliseconds(1))));
    absl::StrAppend(&out, out.empty() ? "" : ";", age_ms, ":", s.requests, ":", s.tokens);
  }
  return out;
}

std::vector<RateWindow::Slice> KeyWindowStore::Decode(absl::string_view text, absl::Time base) {
  std::vector<RateWindow::Slice> out;
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(part, ':');
    int64_t age_ms = 0, requests = 0, tokens = 0;
    if (f.size() != 3 || !absl::SimpleAtoi(f[0], &age_ms) || !absl::SimpleAtoi(f[1], &requests) ||
        !absl::SimpleAtoi(f[2], &tokens) || age_ms < 0 || requests < 0 || tokens < 0) {
      continue;
    }
    out.push_back(RateWindow::Slice{base - absl::Milliseconds(age_ms), requests, tokens});
  }
  // Oldest first, whatever order the text had.
  std::sort(out.begin(), out.end(),
            [](const RateWindow::Slice& a, const RateWindow::Slice& b) { return a.at < b.at; });
  return out;
}

absl::Status KeyWindowStore::Save(KeyPool& pool, int64_t fencing) {
  const absl::Time now = clock_->Now();
  struct Row {
    int64_t key_id;
    Saved saved;
  };
  std::vector<Row> rows;
  for (const KeyWindow& w : pool.CollectWindows(options_.granularity)) {
    Row row{w.key_id, {Encode(w.slices, now), 0, 0}};
    for (const RateWindow::Slice& s : w.slices) {
      if (s.at <= now - options_.save_interval) continue;
      row.saved.recent_requests += s.requests;
      row.saved.recent_tokens += s.tokens;
    }
    auto it = saved_.find(w.key_id);
    const bool idle = row.saved.events.empty() && row.saved.recent_requests == 0;
    if (idle && it != saved_.end() && it->second.events.empty()) continue;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return absl::OkStatus();
  const std::string sql = absl::StrCat(
      "INSERT INTO t_ai_keypool_windows (key_id, fencing, saved_at_ms, recent_requests, "
      "recent_tokens, window_events) VALUES (:k, :f, :t, :rr, :rt, :e)",
      db_->dialect().UpsertClause("key_id"), "fencing = ", db_->dialect().Excluded("fencing"),
      ", saved_at_ms = ", db_->dialect().Excluded("saved_at_ms"),
      ", recent_requests = ", db_->dialect().Excluded("recent_requests"),
      ", recent_tokens = ", db_->dialect().Excluded("recent_tokens"),
      ", window_events = ", db_->dialect().Excluded("window_events"));
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    if (fence_) {
      if (absl::Status fenced = fence_(s); !fenced.ok()) return fenced;
    }
    long long f = fencing;
    long long t = absl::ToUnixMillis(now);
    for (const Row& r : rows) {
      long long k = r.key_id;
      long long rr = r.saved.recent_requests;
      long long rt = r.saved.recent_tokens;
      std::string e = r.saved.events;
      s << sql, soci::use(k), soci::use(f), soci::use(t), soci::use(rr), soci::use(rt),
          soci::use(e);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  for (Row& r : rows) saved_[r.key_id] = std::move(r.saved);
  return absl::OkStatus();
}

absl::StatusOr<int> KeyWindowStore::Restore(KeyPool& pool) {
  struct Row {
    long long key_id = 0;
    long long saved_at_ms = 0;
    long long recent_requests = 0;
    long long recent_tokens = 0;
    std::string events;
  };
  std::vector<Row> rows;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    Row r;
    soci::statement q =
        (s.prepare << "SELECT key_id, saved_at_ms, recent_requests, recent_tokens, "
                      "window_events FROM t_ai_keypool_windows",
         soci::into(r.key_id), soci::into(r.saved_at_ms), soci::into(r.recent_requests),
         soci::into(r.recent_tokens), soci::into(r.events));
    q.execute();
    while (q.fetch()) rows.push_back(r);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  const absl::Time now = clock_->Now();
  std::vector<KeyWindow> windows;
  for (const Row& r : rows) {
    // Time since the save by this clock, less what the clocks may disagree
    // by: events are restored no earlier than they happened.
    const absl::Duration since =
        std::max(absl::ZeroDuration(),
                 now - absl::FromUnixMillis(r.saved_at_ms) - options_.clock_skew);
    const absl::Time base = now - since;
    KeyWindow w{r.key_id, {}};
    for (const RateWindow::Slice& s : Decode(r.events, base)) {
      if (s.at + RateWindow::kSpan > now) w.slices.push_back(s);
    }
    // The grants after the save that the saver never wrote: as many as it
    // made just before, at the latest time they could have happened.
    const absl::Time gap_at = std::min(now, base + options_.save_interval);
    if ((r.recent_requests > 0 || r.recent_tokens > 0) && gap_at + RateWindow::kSpan > now) {
      w.slices.push_back(RateWindow::Slice{gap_at, r.recent_requests, r.recent_tokens});
    }
    if (!w.slices.empty()) windows.push_back(std::move(w));
  }
  pool.SeedWindows(windows);
  return static_cast<int>(windows.size());
}

}  // namespace aigw::keypool
