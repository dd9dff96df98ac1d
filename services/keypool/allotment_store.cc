#include "services/keypool/allotment_store.h"

#include <string>

#include "soci/soci.h"

namespace aigw::keypool {
namespace {

long long Ms(absl::Time t) { return absl::ToUnixMillis(t); }

}  // namespace

absl::Status AllotmentStore::Commit(const AllotmentPlan& plan, int64_t fencing, absl::Time now) {
  return db_->InTransaction([&](soci::session& s) -> absl::Status {
    if (fence_) {
      if (absl::Status fenced = fence_(s); !fenced.ok()) return fenced;
    }
    long long f = fencing;
    for (const AllotmentGrant& g : plan.granted) {
      const Allotment& a = g.allotment;
      std::string id = a.id;
      std::string holder = a.holder;
      long long key_id = a.key_id, requests = a.requests, tokens = a.tokens,
                day_requests = a.day_requests, use_until = Ms(a.use_until),
                counted_until = Ms(a.counted_until), day_end = Ms(a.day_end);
      s << "INSERT INTO t_ai_keypool_allotments (id, holder, key_id, requests, tokens, "
           "day_requests, use_until_ms, counted_until_ms, day_end_ms, fencing) VALUES "
           "(:id, :h, :k, :r, :t, :d, :u, :c, :e, :f)",
          soci::use(id), soci::use(holder), soci::use(key_id), soci::use(requests),
          soci::use(tokens), soci::use(day_requests), soci::use(use_until),
          soci::use(counted_until), soci::use(day_end), soci::use(f);
    }
    for (const AllotmentGrant& g : plan.extended) {
      std::string id = g.allotment.id;
      long long use_until = Ms(g.allotment.use_until),
                counted_until = Ms(g.allotment.counted_until), day_end = Ms(g.allotment.day_end);
      s << "UPDATE t_ai_keypool_allotments SET use_until_ms = :u, counted_until_ms = :c, "
           "day_end_ms = :e, fencing = :f WHERE id = :id",
          soci::use(use_until), soci::use(counted_until), soci::use(day_end), soci::use(f),
          soci::use(id);
    }
    for (const Allotment& a : plan.settled) {
      std::string id = a.id;
      s << "DELETE FROM t_ai_keypool_allotments WHERE id = :id", soci::use(id);
    }
    // Lapsed (allotment.h): past use_until, past counted_until unless it
    // held no minute share, past day_end unless it held no day share.
    long long t = Ms(now);
    s << "DELETE FROM t_ai_keypool_allotments WHERE use_until_ms <= :t1 AND "
         "(counted_until_ms <= :t2 OR (requests = 0 AND tokens = 0)) AND "
         "(day_end_ms <= :t3 OR day_requests = 0)",
        soci::use(t), soci::use(t), soci::use(t);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Allotment>> AllotmentStore::Load(absl::Time now) {
  std::vector<Allotment> out;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    std::string id, holder;
    long long key_id = 0, requests = 0, tokens = 0, day_requests = 0, use_until = 0,
              counted_until = 0, day_end = 0;
    soci::statement q =
        (s.prepare << "SELECT id, holder, key_id, requests, tokens, day_requests, use_until_ms, "
                      "counted_until_ms, day_end_ms FROM t_ai_keypool_allotments",
         soci::into(id), soci::into(holder), soci::into(key_id), soci::into(requests),
         soci::into(tokens), soci::into(day_requests), soci::into(use_until),
         soci::into(counted_until), soci::into(day_end));
    q.execute();
    while (q.fetch()) {
      Allotment a;
      a.id = id;
      a.holder = holder;
      a.key_id = key_id;
      a.requests = requests;
      a.tokens = tokens;
      a.day_requests = day_requests;
      a.use_until = absl::FromUnixMillis(use_until);
      a.counted_until = absl::FromUnixMillis(counted_until);
      a.day_end = absl::FromUnixMillis(day_end);
      if (!Lapsed(a, now)) out.push_back(std::move(a));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace aigw::keypool
