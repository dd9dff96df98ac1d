#ifndef AIGW_SERVICES_KEYPOOL_KEYPOOL_WINDOW_STORE_H_
#define AIGW_SERVICES_KEYPOOL_KEYPOOL_WINDOW_STORE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"
#include "services/keypool/key_pool.h"

namespace aigw::keypool {

struct KeyWindowStoreOptions {
  // Events within this much of one another are saved as one slice, at the
  // newest one's time (so restored, they leave the window no earlier).
  absl::Duration granularity = absl::Seconds(1);
  // How often the windows are saved (the write-back interval): the grants a
  // replica that dies makes after its last save are unknown to its
  // successor, which assumes as many again as it made in this much time
  // before the save.
  absl::Duration save_interval = absl::Seconds(1);
  // How far the replicas' clocks may disagree: a saved event is restored
  // this much later than the saving replica's clock says (never earlier).
  absl::Duration clock_skew = absl::Seconds(1);
};

// Saved state of the keys' sliding windows (t_ai_keypool_windows), so that
// the replica that takes over (or a restart after SIGKILL) starts with each
// key's current minute of requests and tokens instead of an empty window
// that would grant up to a minute's RPM/TPM twice. The day's counts,
// cooldowns and invalid marks travel in t_ai_api_keys (KeyStore); leases
// outstanding travel as the estimates already counted in the windows.
//
// What the successor cannot know, it counts against the limit:
//   - a saved event is placed at (now - its age at the save - the time since
//     the save + clock_skew): it leaves the window no earlier than it did;
//   - the grants after the last save (at most one save_interval plus the
//     takeover) are assumed to be as many as the saver made in the
//     save_interval before saving, placed at `now`.
// Not thread-safe: the write-back thread calls Save; Restore runs before
// the pool grants.
class KeyWindowStore {
 public:
  // `db` and `clock` are not owned.
  KeyWindowStore(db::Database* db, Clock* clock, KeyWindowStoreOptions options = {});

  // Runs first in the save transaction (LeaderElection::Fence).
  using WriteFence = std::function<absl::Status(soci::session&)>;
  void set_write_fence(WriteFence fence) { fence_ = std::move(fence); }

  // Writes the windows of `pool` that changed since the last save, stamped
  // with `fencing`, in one transaction.
  absl::Status Save(KeyPool& pool, int64_t fencing);

  // Reads the saved windows and counts them into `pool` (freshly loaded,
  // not granting yet). Returns how many keys got events.
  absl::StatusOr<int> Restore(KeyPool& pool);

  // A window as one line: "age_ms:requests:tokens;..." (oldest first), ages
  // relative to `saved_at`, rounded down.
  static std::string Encode(const std::vector<RateWindow::Slice>& slices, absl::Time saved_at);
  // The inverse, placing each slice at `base` - its age; malformed parts
  // are skipped.
  static std::vector<RateWindow::Slice> Decode(absl::string_view text, absl::Time base);

 private:
  struct Saved {
    std::string events;
    int64_t recent_requests = 0;
    int64_t recent_tokens = 0;
  };

  db::Database* const db_;
  Clock* const clock_;
  const KeyWindowStoreOptions options_;
  WriteFence fence_;
  // What the last successful save wrote per key (idle keys are not
  // rewritten every second).
  absl::flat_hash_map<int64_t, Saved> saved_;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_KEYPOOL_WINDOW_STORE_H_
