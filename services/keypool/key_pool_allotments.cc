// KeyPool's allotments (allotment.h): planning an AllotKeys, confirming or
// undoing it, taking a predecessor's over, and holding back what they hold.

#include <algorithm>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "services/keypool/key_pool.h"

namespace aigw::keypool {

void KeyPool::SetAllotmentTimes(ProviderState& p, absl::Time now, Allotment* a) {
  const AllotmentPolicy& policy = options_.allotment;
  a->use_until = now + policy.use_for;
  a->counted_until = a->use_until + RateWindow::kSpan + policy.slack;
  // A request made before use_until counts on use_until's day at the
  // latest (by this calendar; the clocks' slack may put it a moment into
  // the next day, which counts it one day more, never less).
  a->day_end = p.calendar.NextDayStart(a->use_until + policy.slack);
}

std::optional<Allotment> KeyPool::CutAllotment(ProviderState& p, KeyEntry* e,
                                               absl::string_view holder, absl::Time now) {
  if (options_.allotment.share <= 0) return std::nullopt;  // allotments off
  const std::optional<HeldBack> share =
      ShareOf(e->Budget(now, p.calendar.Today(now)), options_.allotment);
  if (!share.has_value()) return std::nullopt;
  Allotment a;
  a.holder = std::string(holder);
  a.key_id = e->id();
  a.requests = share->requests;
  a.tokens = share->tokens;
  a.day_requests = share->day_requests;
  SetAllotmentTimes(p, now, &a);
  return a;
}

bool KeyPool::MayExtend(KeyEntry* e, const Allotment& a, absl::Time now) {
  if (!e->Healthy(now)) return false;
  // The share must still be one the policy allows (limits may have been
  // lowered since): at most the per-gateway share of each limit.
  KeyBudget budget;
  budget.rpm = e->rpm();
  budget.tpm = e->tpm();
  budget.rpd = e->rpd();
  AllotmentPolicy cap = options_.allotment;
  cap.max_share = cap.share;
  const std::optional<HeldBack> most = ShareOf(budget, cap);
  if (!most.has_value()) return false;
  const auto within = [](int64_t limit, int64_t have, int64_t allowed) {
    return limit == 0 ? have == 0 : have >= 1 && have <= allowed;
  };
  return within(budget.rpm, a.requests, most->requests) &&
         within(budget.tpm, a.tokens, most->tokens) &&
         within(budget.rpd, a.day_requests, most->day_requests);
}

absl::StatusOr<AllotmentPlan> KeyPool::PlanAllotments(absl::string_view provider_code,
                                                      absl::string_view holder,
                                                      absl::Span<const AllotmentUse> held,
                                                      bool give_back) {
  if (provider_code.empty()) return absl::InvalidArgumentError("provider_code is required");
  if (holder.empty()) {
    return absl::InvalidArgumentError("holder is required (the gateway's name, e.g. its pod)");
  }
  for (const AllotmentUse& u : held) {
    if (u.requests < 0 || u.tokens < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("allotment ", u.id, ": requests and tokens spent must not be negative"));
    }
  }
  absl::WriterMutexLock l(&mu_);
  auto pit = providers_.find(provider_code);
  if (pit == providers_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown provider ", provider_code));
  }
  ProviderState& p = *pit->second;
  if (!p.is_active) return absl::NotFoundError(absl::StrCat("provider ", provider_code, " is disabled"));
  if (allotment_id_prefix_.empty()) {
    std::random_device rd;
    const uint64_t instance = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    allotment_id_prefix_ =
        absl::StrCat("a", absl::Hex(instance & 0xffffffffffffULL, absl::kZeroPad12), "-");
  }
  AllotmentPlan plan;
  plan.provider = p.info;
  absl::MutexLock pl(&p.mu);
  const absl::Time now = clock_->Now();
  // Keys the holder already has an allotment of (kept or settled): no new
  // one this time.
  absl::flat_hash_set<int64_t> covered;
  for (const AllotmentUse& u : held) {
    auto it = allotments_.find(u.id);
    if (it == allotments_.end() || it->second.holder != holder) continue;
    const Allotment& a = it->second;
    auto kit = keys_.find(a.key_id);
    if (kit == keys_.end() || kit->second.provider != &p || !covered.insert(a.key_id).second) {
      continue;
    }
    KeyEntry* e = kit->second.entry;
    if (give_back || u.requests > 0 || u.tokens > 0) {
      plan.settled.push_back(a);
      plan.settled_use.push_back(u);
    } else if (now < a.use_until && MayExtend(e, a, now)) {
      AllotmentGrant g{a, e->identity()};
      SetAllotmentTimes(p, now, &g.allotment);
      plan.extended.push_back(std::move(g));
    }
  }
  for (const std::unique_ptr<KeyEntry>& up : p.keys) {
    if (give_back) break;
    KeyEntry* e = up.get();
    if (covered.contains(e->id()) || !e->Healthy(now)) continue;
    std::optional<Allotment> a = CutAllotment(p, e, holder, now);
    if (!a.has_value()) continue;
    a->id = absl::StrCat(allotment_id_prefix_, absl::Hex(++allotment_seq_));
    HeldBack h = e->held_back();
    h += HeldBackAt(*a, now);
    e->set_held_back(h);
    allotments_[a->id] = *a;
    plan.granted.push_back(AllotmentGrant{*std::move(a), e->identity()});
  }
  if (!plan.granted.empty()) {
    int64_t next = next_allotment_change_ns_.load(std::memory_order_relaxed);
    for (const AllotmentGrant& g : plan.granted) {
      next = std::min(next, absl::ToUnixNanos(NextChange(g.allotment, now)));
    }
    next_allotment_change_ns_.store(next, std::memory_order_relaxed);
  }
  return plan;
}

void KeyPool::ConfirmAllotments(const AllotmentPlan& plan) {
  if (plan.extended.empty() && plan.settled.empty()) return;
  absl::WriterMutexLock l(&mu_);
  const absl::Time now = clock_->Now();
  for (const AllotmentGrant& g : plan.extended) {
    auto it = allotments_.find(g.allotment.id);
    if (it != allotments_.end()) it->second = g.allotment;
  }
  for (size_t i = 0; i < plan.settled.size(); ++i) {
    const Allotment& a = plan.settled[i];
    if (allotments_.erase(a.id) == 0) continue;
    auto kit = keys_.find(a.key_id);
    if (kit == keys_.end()) continue;
    absl::MutexLock pl(&kit->second.provider->mu);
    kit->second.entry->CountAllotted(now, kit->second.provider->calendar.Today(now),
                                     plan.settled_use[i].requests, plan.settled_use[i].tokens);
  }
  RecountHeldBack(now);
}

void KeyPool::UndoAllotments(const AllotmentPlan& plan) {
  if (plan.granted.empty()) return;
  absl::WriterMutexLock l(&mu_);
  for (const AllotmentGrant& g : plan.granted) allotments_.erase(g.allotment.id);
  RecountHeldBack(clock_->Now());
}

void KeyPool::ReplaceAllotments(const std::vector<Allotment>& allotments) {
  absl::WriterMutexLock l(&mu_);
  const absl::Time now = clock_->Now();
  allotments_.clear();
  for (const Allotment& a : allotments) {
    if (!Lapsed(a, now)) allotments_[a.id] = a;
  }
  RecountHeldBack(now);
}

int64_t KeyPool::SweepAllotments() {
  const absl::Time now = clock_->Now();
  if (absl::ToUnixNanos(now) < next_allotment_change_ns_.load(std::memory_order_relaxed)) {
    absl::ReaderMutexLock l(&mu_);
    return static_cast<int64_t>(allotments_.size());
  }
  absl::WriterMutexLock l(&mu_);
  absl::erase_if(allotments_, [now](const auto& kv) { return Lapsed(kv.second, now); });
  RecountHeldBack(now);
  return static_cast<int64_t>(allotments_.size());
}

std::vector<Allotment> KeyPool::Allotments() {
  absl::ReaderMutexLock l(&mu_);
  std::vector<Allotment> out;
  out.reserve(allotments_.size());
  for (const auto& [id, a] : allotments_) out.push_back(a);
  std::sort(out.begin(), out.end(),
            [](const Allotment& a, const Allotment& b) { return a.id < b.id; });
  return out;
}

void KeyPool::RecountHeldBack(absl::Time now) {
  absl::flat_hash_map<int64_t, HeldBack> held;
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, a] : allotments_) {
    held[a.key_id] += HeldBackAt(a, now);
    const absl::Time change = NextChange(a, now);
    if (change != absl::InfiniteFuture()) next = std::min(next, absl::ToUnixNanos(change));
  }
  next_allotment_change_ns_.store(next, std::memory_order_relaxed);
  for (auto& [code, p] : providers_) {
    absl::MutexLock pl(&p->mu);
    for (const std::unique_ptr<KeyEntry>& e : p->keys) {
      auto it = held.find(e->id());
      const HeldBack now_held = it == held.end() ? HeldBack{} : it->second;
      const HeldBack& was = e->held_back();
      const bool less = now_held.requests < was.requests || now_held.tokens < was.tokens ||
                        now_held.day_requests < was.day_requests;
      e->set_held_back(now_held);
      // A key parked on what was held back may be free now.
      if (less) Wake(*p, e.get());
    }
  }
}

}  // namespace aigw::keypool
