#include "services/keypool/lease_registry.h"

#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aigw::keypool {

LeaseRegistry::LeaseRegistry() {
  // A per-process prefix makes a restarted keypool refuse the previous
  // process's lease ids instead of mistaking them for its own.
  std::random_device rd;
  const uint64_t instance = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  prefix_ = absl::StrCat(absl::Hex(instance & 0xffffffffffffULL, absl::kZeroPad12), "-");
}

std::string LeaseRegistry::Issue(const LeaseRecord& record) {
  const uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed) + 1;
  Shard& shard = shards_[seq % kShards];
  {
    absl::MutexLock l(&shard.mu);
    shard.live.emplace(seq, record);
  }
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  return absl::StrCat(prefix_, absl::Hex(seq));
}

bool LeaseRegistry::ParseSequence(absl::string_view lease_id, uint64_t* seq) const {
  if (!absl::ConsumePrefix(&lease_id, prefix_)) return false;
  if (lease_id.empty() || lease_id.size() > 16) return false;
  for (char c : lease_id) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleHexAtoi(lease_id, seq) && *seq > 0;
}

LeaseRegistry::Claim LeaseRegistry::ClaimForReport(absl::string_view lease_id, LeaseRecord* out) {
  uint64_t seq = 0;
  if (!ParseSequence(lease_id, &seq)) return Claim::kUnknown;
  if (seq > next_seq_.load(std::memory_order_relaxed)) return Claim::kUnknown;
  Shard& shard = shards_[seq % kShards];
  absl::MutexLock l(&shard.mu);
  auto it = shard.live.find(seq);
  if (it != shard.live.end()) {
    *out = it->second;
    shard.live.erase(it);
    outstanding_.fetch_sub(1, std::memory_order_relaxed);
    return Claim::kClaimed;
  }
  if (seq <= watermark_.load(std::memory_order_acquire)) return Claim::kUnknown;
  if (shard.expired.contains(seq)) return Claim::kUnknown;
  return Claim::kAlreadyReported;
}

int64_t LeaseRegistry::Expire(absl::Time now, absl::Duration timeout) {
  const absl::Time cutoff = now - timeout;
  uint64_t watermark = watermark_.load(std::memory_order_relaxed);
  {
    absl::MutexLock l(&checkpoints_mu_);
    checkpoints_.emplace_back(next_seq_.load(std::memory_order_relaxed), now);
    while (!checkpoints_.empty() && checkpoints_.front().second <= cutoff) {
      watermark = std::max(watermark, checkpoints_.front().first);
      checkpoints_.pop_front();
    }
  }
  watermark_.store(watermark, std::memory_order_release);
  int64_t expired = 0;
  for (Shard& shard : shards_) {
    absl::MutexLock l(&shard.mu);
    std::vector<uint64_t> gone;
    for (const auto& [seq, rec] : shard.live) {
      if (rec.leased_at <= cutoff) gone.push_back(seq);
    }
    for (uint64_t seq : gone) {
      shard.live.erase(seq);
      if (seq > watermark) shard.expired.insert(seq);
    }
    expired += static_cast<int64_t>(gone.size());
    absl::erase_if(shard.expired, [&](uint64_t seq) { return seq <= watermark; });
  }
  outstanding_.fetch_sub(expired, std::memory_order_relaxed);
  return expired;
}

}  // namespace aigw::keypool
