#include "services/keypool/lease_registry.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace aigw::keypool {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

LeaseRecord Record(int64_t key_id, absl::Time at) {
  LeaseRecord r;
  r.key_id = key_id;
  r.leased_at = at;
  return r;
}

TEST(LeaseRegistryTest, ClaimOnceThenIdempotentThenUnknownAfterTheTimeout) {
  LeaseRegistry reg;
  const std::string id = reg.Issue(Record(7, kT0));
  EXPECT_EQ(reg.outstanding(), 1);
  LeaseRecord out;
  ASSERT_EQ(reg.ClaimForReport(id, &out), LeaseRegistry::Claim::kClaimed);
  EXPECT_EQ(out.key_id, 7);
  EXPECT_EQ(reg.outstanding(), 0);
  EXPECT_EQ(reg.ClaimForReport(id, &out), LeaseRegistry::Claim::kAlreadyReported);
  const absl::Duration timeout = absl::Minutes(1);
  reg.Expire(kT0 + absl::Seconds(1), timeout);  // checkpoint after the lease
  EXPECT_EQ(reg.ClaimForReport(id, &out), LeaseRegistry::Claim::kAlreadyReported);
  reg.Expire(kT0 + absl::Seconds(61), timeout);
  EXPECT_EQ(reg.ClaimForReport(id, &out), LeaseRegistry::Claim::kUnknown);
}

TEST(LeaseRegistryTest, ForeignAndMalformedIdsAreUnknown) {
  LeaseRegistry a;
  LeaseRegistry b;
  const std::string id = a.Issue(Record(1, kT0));
  LeaseRecord out;
  EXPECT_EQ(b.ClaimForReport(id, &out), LeaseRegistry::Claim::kUnknown);
  for (const std::string& bad :
       std::vector<std::string>{"", "-", "x", id + "g", id + "00000000000000000000"}) {
    EXPECT_EQ(a.ClaimForReport(bad, &out), LeaseRegistry::Claim::kUnknown) << bad;
  }
  EXPECT_EQ(a.ClaimForReport(id, &out), LeaseRegistry::Claim::kClaimed);
}

TEST(LeaseRegistryTest, ExpiredUnreportedLeaseIsUnknown) {
  LeaseRegistry reg;
  const std::string old_id = reg.Issue(Record(1, kT0));
  const std::string new_id = reg.Issue(Record(2, kT0 + absl::Seconds(30)));
  EXPECT_EQ(reg.Expire(kT0 + absl::Seconds(60), absl::Seconds(60)), 1);
  EXPECT_EQ(reg.outstanding(), 1);
  LeaseRecord out;
  EXPECT_EQ(reg.ClaimForReport(old_id, &out), LeaseRegistry::Claim::kUnknown);
  EXPECT_EQ(reg.ClaimForReport(new_id, &out), LeaseRegistry::Claim::kClaimed);
  EXPECT_EQ(out.key_id, 2);
}

TEST(LeaseRegistryTest, ConcurrentIssueAndClaimLoseNothing) {
  LeaseRegistry reg;
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) ids[t].push_back(reg.Issue(Record(t, kT0)));
    });
  }
  for (auto& th : threads) th.join();
  threads.clear();
  std::set<std::string> unique;
  for (const auto& v : ids) unique.insert(v.begin(), v.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kEach));
  std::atomic<int> claimed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      LeaseRecord out;
      for (const std::string& id : ids[t]) {
        if (reg.ClaimForReport(id, &out) == LeaseRegistry::Claim::kClaimed) ++claimed;
        // The same lease reported again from another "client".
        if (reg.ClaimForReport(id, &out) == LeaseRegistry::Claim::kClaimed) ++claimed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(claimed.load(), kThreads * kEach);
  EXPECT_EQ(reg.outstanding(), 0);
}

}  // namespace
}  // namespace aigw::keypool
