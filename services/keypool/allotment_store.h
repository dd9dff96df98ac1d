#ifndef AIGW_SERVICES_KEYPOOL_ALLOTMENT_STORE_H_
#define AIGW_SERVICES_KEYPOOL_ALLOTMENT_STORE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/db/database.h"
#include "services/keypool/allotment.h"
#include "services/keypool/key_pool.h"

namespace aigw::keypool {

// The gateways' allotments in t_ai_keypool_allotments (allotment.h). Every
// AllotKeys is stored before it is answered, so a gateway never holds an
// allotment its keypool's successor does not know of: the successor
// (KeyPool::ReplaceAllotments after Load) holds back exactly what they hold.
// Thread-safe (each call is its own transaction).
class AllotmentStore {
 public:
  // `db` is not owned.
  explicit AllotmentStore(db::Database* db) : db_(db) {}

  // Runs first in every write transaction (LeaderElection::Fence), so a
  // deposed keypool cannot grant.
  using WriteFence = std::function<absl::Status(soci::session&)>;
  void set_write_fence(WriteFence fence) { fence_ = std::move(fence); }

  // In one transaction: the plan's new grants inserted (stamped with
  // `fencing`), its extensions' times updated, its settled allotments
  // deleted, and rows that hold nothing back at `now` any more pruned.
  absl::Status Commit(const AllotmentPlan& plan, int64_t fencing, absl::Time now);

  // The stored allotments that still hold something back at `now`.
  absl::StatusOr<std::vector<Allotment>> Load(absl::Time now);

 private:
  db::Database* const db_;
  WriteFence fence_;
};

}  // namespace aigw::keypool

#endif  // AIGW_SERVICES_KEYPOOL_ALLOTMENT_STORE_H_
