#include "services/keypool/key_pool.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace aigw::keypool {
namespace {

// The `provider` label of leases for providers that do not exist: a fixed
// value, so bad input cannot grow the number of series.
constexpr absl::string_view kUnknownProvider = "unknown";

bool Contains(absl::Span<const int64_t> ids, int64_t id) {
  for (int64_t x : ids) {
    if (x == id) return true;
  }
  return false;
}

}  // namespace

KeyPool::KeyPool(Clock* clock, KeyPoolOptions options, KeyPoolMetrics* metrics)
    : clock_(clock), options_(options), metrics_(metrics) {}

void KeyPool::CountLease(absl::string_view provider, absl::string_view result) {
  if (metrics_ != nullptr) metrics_->Leases(provider, result).Increment();
}

template <typename FitsFn>
KeyEntry* KeyPool::Select(ProviderState& p, absl::Time now, absl::Span<const int64_t> exclude,
                          FitsFn fits) {
  for (PriorityGroup& g : p.groups) {
    for (KeyEntry* e = g.head, *next = nullptr; e != nullptr; e = next) {
      next = e->lru_next;
      if (Contains(exclude, e->id())) continue;
      if (e->Healthy(now) && fits(e)) return e;
      const absl::Time until = e->BlockedUntil(now, p.calendar);
      if (until > now) Park(p, e, until);
    }
  }
  return nullptr;
}

absl::StatusOr<KeyPool::ProviderState*> KeyPool::ActiveProvider(absl::string_view code) {
  auto it = providers_.find(code);
  if (it == providers_.end()) {
    CountLease(kUnknownProvider, "not_found");
    return absl::NotFoundError(absl::StrCat("unknown provider ", code));
  }
  if (!it->second->is_active) {
    CountLease(code, "not_found");
    return absl::NotFoundError(absl::StrCat("provider ", code, " is disabled"));
  }
  return it->second.get();
}

absl::Status KeyPool::CheckLeaseArgs(absl::string_view provider_code, int64_t estimated_tokens) {
  if (provider_code.empty()) {
    CountLease(kUnknownProvider, "invalid_argument");
    return absl::InvalidArgumentError("provider_code is required");
  }
  if (estimated_tokens < 0) {
    CountLease(kUnknownProvider, "invalid_argument");
    return absl::InvalidArgumentError(
        absl::StrCat("estimated_tokens must not be negative (got ", estimated_tokens, ")"));
  }
  return absl::OkStatus();
}

KeyEntry* KeyPool::LeastRecentlyUsedHealthy(ProviderState& p, absl::Time now,
                                            absl::Span<const int64_t> exclude) {
  KeyEntry* chosen = nullptr;
  for (const std::unique_ptr<KeyEntry>& up : p.keys) {
    KeyEntry* e = up.get();
    if (!e->Healthy(now) || Contains(exclude, e->id())) continue;
    if (chosen == nullptr || e->last_used_at() < chosen->last_used_at() ||
        (e->last_used_at() == chosen->last_used_at() && e->priority() > chosen->priority())) {
      chosen = e;
    }
  }
  return chosen;
}

void KeyPool::LeaseMore(ProviderState& p, absl::Time now, const LeaseRecord& first,
                        absl::Span<const int64_t> exclude, const Prefetch& prefetch,
                        std::vector<LeaseRecord>* records) {
  const int count = std::min(prefetch.count, Prefetch::kMaxCount);
  records->reserve(count);
  prefetch.out->reserve(prefetch.out->size() + count);
  for (int i = 0; i < count; ++i) {
    KeyEntry* e = Select(p, now, exclude, [&](KeyEntry* k) {
      return k->FitsWithHeadroom(now, first.day, first.estimated_tokens);
    });
    if (e == nullptr) break;
    LeaseRecord r = first;
    r.key_id = e->id();
    r.window_handle = e->Record(now, first.day, first.estimated_tokens);
    MoveToTail(p, e);
    records->push_back(r);
    LeaseGrant g;
    g.key = e->identity();
    g.provider = p.info;
    prefetch.out->push_back(std::move(g));
  }
}

absl::StatusOr<LeaseGrant> KeyPool::Lease(absl::string_view provider_code,
                                          int64_t estimated_tokens,
                                          absl::Span<const int64_t> exclude_key_ids,
                                          absl::Duration* retry_after,
                                          const Prefetch* prefetch) {
  const bool refill = prefetch != nullptr && prefetch->refill;
  const auto started = std::chrono::steady_clock::now();
  if (retry_after != nullptr) *retry_after = absl::InfiniteDuration();
  if (absl::Status st = CheckLeaseArgs(provider_code, estimated_tokens); !st.ok()) return st;

  LeaseRecord record;
  LeaseGrant grant;
  std::vector<LeaseRecord> extra_records;
  prometheus::Counter* counter = nullptr;
  {
    absl::ReaderMutexLock l(&mu_);
    absl::StatusOr<ProviderState*> found = ActiveProvider(provider_code);
    if (!found.ok()) return found.status();
    ProviderState& p = **found;
    absl::MutexLock pl(&p.mu);
    const absl::Time now = clock_->Now();
    const absl::CivilDay today = p.calendar.Today(now);
    UnparkDue(p, now);
    KeyEntry* chosen = Select(p, now, exclude_key_ids, [&](KeyEntry* e) {
      return refill ? e->FitsWithHeadroom(now, today, estimated_tokens)
                    : e->Fits(now, today, estimated_tokens);
    });
    if (chosen == nullptr && p.policy == KeyPolicy::kLru && !refill) {
      // Past every limit: the least recently used healthy key of any
      // priority (the higher priority at a tie), parked ones included.
      chosen = LeastRecentlyUsedHealthy(p, now, exclude_key_ids);
      grant.over_limit = chosen != nullptr;
    }
    if (chosen == nullptr) {
      if (retry_after != nullptr) {
        *retry_after = RetryAfter(p, now, estimated_tokens, exclude_key_ids);
      }
      if (p.leases_exhausted != nullptr && !refill) p.leases_exhausted->Increment();
      return absl::ResourceExhaustedError(
          absl::StrCat("No available API keys for provider ", provider_code));
    }
    record.window_handle = chosen->Record(now, today, estimated_tokens);
    // A parked key handed out past its limits stays parked.
    if (!chosen->parked) MoveToTail(p, chosen);
    record.key_id = chosen->id();
    record.estimated_tokens = estimated_tokens;
    record.day = today;
    record.leased_at = now;
    grant.key = chosen->identity();
    grant.provider = p.info;
    counter = grant.over_limit ? p.leases_over_limit : p.leases_ok;
    if (prefetch != nullptr && prefetch->count > 0 && prefetch->out != nullptr &&
        !grant.over_limit) {
      LeaseMore(p, now, record, exclude_key_ids, *prefetch, &extra_records);
    }
  }
  grant.lease_id = leases_.Issue(record);
  if (counter != nullptr) counter->Increment();
  if (!extra_records.empty()) IssuePrefetched(extra_records, counter, prefetch->out);
  if (metrics_ != nullptr) {
    metrics_->ObserveLeaseSeconds(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return grant;
}

void KeyPool::IssuePrefetched(const std::vector<LeaseRecord>& records,
                              prometheus::Counter* counter, std::vector<LeaseGrant>* out) {
  const size_t first = out->size() - records.size();
  for (size_t i = 0; i < records.size(); ++i) {
    (*out)[first + i].lease_id = leases_.Issue(records[i]);
  }
  if (counter != nullptr) counter->Increment(static_cast<double>(records.size()));
}

absl::Duration KeyPool::RetryAfter(ProviderState& p, absl::Time now, int64_t tokens,
                                   absl::Span<const int64_t> exclude) {
  absl::Time earliest = absl::InfiniteFuture();
  for (const PriorityGroup& g : p.groups) {
    for (KeyEntry* e = g.head; e != nullptr; e = e->lru_next) {
      if (Contains(exclude, e->id())) continue;
      earliest = std::min(earliest, e->EarliestAvailable(now, p.calendar, tokens));
    }
  }
  // A parked key is free no earlier than its parking time, and usually just
  // then; using that keeps an exhausted lease from re-examining every key.
  // The hint may come a little early, never late.
  for (const ProviderState::Parking& park : p.parked) {
    if (!park.key->parked || park.key->park_generation != park.generation) continue;
    if (Contains(exclude, park.key->id())) continue;
    earliest = std::min(earliest, park.until);
  }
  if (earliest == absl::InfiniteFuture()) return absl::InfiniteDuration();
  return std::max(earliest - now, absl::ZeroDuration());
}

absl::Status KeyPool::Report(const UsageReport& report) {
  if (report.lease_id.empty()) return absl::InvalidArgumentError("lease_id is required");
  if (report.outcome == aigw::v1::OUTCOME_UNSPECIFIED ||
      !aigw::v1::Outcome_IsValid(report.outcome)) {
    return absl::InvalidArgumentError("outcome is required");
  }
  if (report.outcome == aigw::v1::NOT_SENT) {
    return absl::InvalidArgumentError(
        "outcome NOT_SENT is for call events that never reached a provider; a leased key's "
        "attempt reports how it ended (RELEASED if it was not used)");
  }
  if (report.prompt_tokens < 0 || report.completion_tokens < 0 || report.total_tokens < 0) {
    return absl::InvalidArgumentError("token counts must not be negative");
  }
  if (report.retry_after_ms < 0) {
    return absl::InvalidArgumentError("retry_after_ms must not be negative");
  }
  LeaseRecord rec;
  switch (leases_.ClaimForReport(report.lease_id, &rec)) {
    case LeaseRegistry::Claim::kUnknown:
      return absl::NotFoundError(absl::StrCat("unknown or expired lease ", report.lease_id));
    case LeaseRegistry::Claim::kAlreadyReported:
      return absl::OkStatus();
    case LeaseRegistry::Claim::kClaimed:
      break;
  }
  const int64_t real = report.total_tokens > 0
                           ? report.total_tokens
                           : report.prompt_tokens + report.completion_tokens;
  const bool maybe_billed =
      report.outcome == aigw::v1::SUCCESS || report.outcome == aigw::v1::NETWORK_ERROR;
  const int64_t delta = (real == 0 && maybe_billed) ? 0 : real - rec.estimated_tokens;

  absl::ReaderMutexLock l(&mu_);
  auto it = keys_.find(rec.key_id);
  // The key left the pool since the lease: nothing to account any more.
  if (it == keys_.end()) return absl::OkStatus();
  ProviderState& p = *it->second.provider;
  {
    absl::MutexLock pl(&p.mu);
    const absl::Time now = clock_->Now();
    if (report.outcome == aigw::v1::RELEASED) {
      it->second.entry->Release(rec.window_handle, rec.day, rec.estimated_tokens);
      Wake(p, it->second.entry);
    } else {
      it->second.entry->Reconcile(rec.window_handle, rec.day, delta);
      // Fewer tokens than estimated may end a TPM overshoot early.
      if (delta < 0) Wake(p, it->second.entry);
      it->second.entry->ApplyOutcome(report, rec.leased_at, now, options_);
    }
  }
  if (metrics_ != nullptr) {
    prometheus::Counter* c = p.reports[static_cast<size_t>(report.outcome) % p.reports.size()];
    if (c != nullptr) c->Increment();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KeyStateView>> KeyPool::ListKeyStates(
    absl::string_view provider_code) {
  absl::ReaderMutexLock l(&mu_);
  std::vector<ProviderState*> providers;
  if (!provider_code.empty()) {
    auto it = providers_.find(provider_code);
    if (it == providers_.end()) {
      return absl::NotFoundError(absl::StrCat("unknown provider ", provider_code));
    }
    providers.push_back(it->second.get());
  } else {
    for (auto& [code, p] : providers_) providers.push_back(p.get());
    std::sort(providers.begin(), providers.end(),
              [](const ProviderState* a, const ProviderState* b) {
                return a->info->code < b->info->code;
              });
  }
  std::vector<KeyStateView> out;
  for (ProviderState* p : providers) {
    absl::MutexLock pl(&p->mu);
    const absl::Time now = clock_->Now();
    const absl::CivilDay today = p->calendar.Today(now);
    const size_t first = out.size();
    for (const std::unique_ptr<KeyEntry>& e : p->keys) {
      out.push_back(e->View(now, today));
      out.back().provider_code = p->info->code;
    }
    std::sort(out.begin() + first, out.end(), [](const KeyStateView& a, const KeyStateView& b) {
      if (a.priority != b.priority) return a.priority > b.priority;
      return a.key_id < b.key_id;
    });
  }
  return out;
}

std::vector<KeyWrite> KeyPool::CollectWrites() {
  std::vector<KeyWrite> out;
  absl::ReaderMutexLock l(&mu_);
  for (auto& [code, p] : providers_) {
    absl::MutexLock pl(&p->mu);
    const absl::Time now = clock_->Now();
    const absl::CivilDay today = p->calendar.Today(now);
    for (const std::unique_ptr<KeyEntry>& e : p->keys) {
      KeyWrite w;
      if (e->TakeWrite(now, today, &w)) out.push_back(std::move(w));
    }
  }
  return out;
}

void KeyPool::AckWrites(const std::vector<KeyWrite>& writes, bool ok) {
  absl::ReaderMutexLock l(&mu_);
  for (const KeyWrite& w : writes) {
    auto it = keys_.find(w.key_id);
    if (it == keys_.end()) continue;
    absl::MutexLock pl(&it->second.provider->mu);
    it->second.entry->AckWrite(w, ok);
  }
}

std::vector<KeyWindow> KeyPool::CollectWindows(absl::Duration granularity) {
  std::vector<KeyWindow> out;
  absl::ReaderMutexLock l(&mu_);
  for (auto& [code, p] : providers_) {
    absl::MutexLock pl(&p->mu);
    const absl::Time now = clock_->Now();
    for (const std::unique_ptr<KeyEntry>& e : p->keys) {
      out.push_back(KeyWindow{e->id(), e->WindowSlices(now, granularity)});
    }
  }
  return out;
}

void KeyPool::SeedWindows(const std::vector<KeyWindow>& windows) {
  absl::ReaderMutexLock l(&mu_);
  for (const KeyWindow& w : windows) {
    auto it = keys_.find(w.key_id);
    if (it == keys_.end()) continue;
    absl::MutexLock pl(&it->second.provider->mu);
    it->second.entry->SeedWindow(w.slices);
  }
}

int64_t KeyPool::ExpireLeases() {
  const int64_t expired = leases_.Expire(clock_->Now(), options_.lease_timeout);
  if (metrics_ != nullptr) {
    metrics_->AddExpiredLeases(expired);
    metrics_->SetOutstandingLeases(leases_.outstanding());
  }
  return expired;
}

void KeyPool::Unlink(ProviderState& p, KeyEntry* e) {
  PriorityGroup& g = p.groups[e->lru_group];
  if (e->lru_prev != nullptr) {
    e->lru_prev->lru_next = e->lru_next;
  } else {
    g.head = e->lru_next;
  }
  if (e->lru_next != nullptr) {
    e->lru_next->lru_prev = e->lru_prev;
  } else {
    g.tail = e->lru_prev;
  }
  e->lru_prev = e->lru_next = nullptr;
}

void KeyPool::MoveToTail(ProviderState& p, KeyEntry* e) {
  PriorityGroup& g = p.groups[e->lru_group];
  if (g.tail == e) return;
  Unlink(p, e);
  e->lru_prev = g.tail;
  g.tail->lru_next = e;
  g.tail = e;
}

namespace {
template <typename Parking>
bool LaterFirst(const Parking& a, const Parking& b) {
  return a.until > b.until;
}
}  // namespace

void KeyPool::Park(ProviderState& p, KeyEntry* e, absl::Time until) {
  Unlink(p, e);
  e->parked = true;
  ++e->park_generation;
  p.parked.push_back({until, e, e->park_generation});
  std::push_heap(p.parked.begin(), p.parked.end(), LaterFirst<ProviderState::Parking>);
}

void KeyPool::Wake(ProviderState& p, KeyEntry* e) {
  if (!e->parked) return;
  e->parked = false;
  // Back into its list at its place by last use (after keys used at the
  // same instant); parked keys were usually used long ago, so near the head.
  PriorityGroup& g = p.groups[e->lru_group];
  KeyEntry* at = g.head;
  while (at != nullptr && at->last_used_at() <= e->last_used_at()) at = at->lru_next;
  e->lru_next = at;
  e->lru_prev = at != nullptr ? at->lru_prev : g.tail;
  if (e->lru_prev != nullptr) {
    e->lru_prev->lru_next = e;
  } else {
    g.head = e;
  }
  if (at != nullptr) {
    at->lru_prev = e;
  } else {
    g.tail = e;
  }
}

void KeyPool::UnparkDue(ProviderState& p, absl::Time now) {
  while (!p.parked.empty() && p.parked.front().until <= now) {
    std::pop_heap(p.parked.begin(), p.parked.end(), LaterFirst<ProviderState::Parking>);
    const ProviderState::Parking due = p.parked.back();
    p.parked.pop_back();
    if (due.key->park_generation == due.generation) Wake(p, due.key);
  }
}

void KeyPool::BuildGroups(ProviderState& p, const absl::flat_hash_map<int64_t, int64_t>& rank) {
  std::vector<KeyEntry*> order;
  order.reserve(p.keys.size());
  for (const std::unique_ptr<KeyEntry>& e : p.keys) order.push_back(e.get());
  auto rank_of = [&](const KeyEntry* e) {
    auto it = rank.find(e->id());
    return it == rank.end() ? int64_t{-1} : it->second;
  };
  // Within a priority: least recently used first; keys new to the process
  // before known ones at a tie; then the previous order, then the id.
  std::sort(order.begin(), order.end(), [&](const KeyEntry* a, const KeyEntry* b) {
    if (a->priority() != b->priority()) return a->priority() > b->priority();
    if (a->last_used_at() != b->last_used_at()) return a->last_used_at() < b->last_used_at();
    const int64_t ra = rank_of(a);
    const int64_t rb = rank_of(b);
    if (ra != rb) return ra < rb;
    return a->id() < b->id();
  });
  p.groups.clear();
  p.parked.clear();
  for (KeyEntry* e : order) {
    e->parked = false;
    if (p.groups.empty() || p.groups.back().priority != e->priority()) {
      p.groups.push_back(PriorityGroup{e->priority(), nullptr, nullptr});
    }
    PriorityGroup& g = p.groups.back();
    e->lru_group = static_cast<int>(p.groups.size()) - 1;
    e->lru_prev = g.tail;
    e->lru_next = nullptr;
    if (g.tail != nullptr) {
      g.tail->lru_next = e;
    } else {
      g.head = e;
    }
    g.tail = e;
  }
}

std::unique_ptr<KeyPool::ProviderState> KeyPool::NewProviderState(const ProviderRow& row) {
  auto p = std::make_unique<ProviderState>();
  auto info = std::make_shared<ProviderInfo>();
  info->id = row.id;
  info->code = row.code;
  info->base_url = row.base_url;
  info->api_format = row.api_format;
  p->info = std::move(info);
  p->is_active = row.is_active;
  p->policy = row.policy;
  {
    absl::MutexLock pl(&p->mu);
    p->calendar = DayCalendar(options_.time_zone);
  }
  if (metrics_ == nullptr) return p;
  p->leases_ok = &metrics_->Leases(row.code, "ok");
  p->leases_over_limit = &metrics_->Leases(row.code, "over_limit");
  p->leases_exhausted = &metrics_->Leases(row.code, "exhausted");
  for (size_t i = 0; i < p->reports.size(); ++i) {
    const auto outcome = static_cast<aigw::v1::Outcome>(i);
    // NOT_SENT is refused in reports: no series for it.
    if (outcome == aigw::v1::OUTCOME_UNSPECIFIED || outcome == aigw::v1::NOT_SENT ||
        !aigw::v1::Outcome_IsValid(outcome)) {
      continue;
    }
    p->reports[i] = &metrics_->Reports(row.code, aigw::v1::Outcome_Name(outcome));
  }
  return p;
}

void KeyPool::TakeKeysOut(absl::flat_hash_map<int64_t, std::unique_ptr<KeyEntry>>* old,
                          absl::flat_hash_map<int64_t, int64_t>* rank) {
  for (auto& [code, p] : providers_) {
    absl::MutexLock pl(&p->mu);
    int64_t r = 0;
    for (const PriorityGroup& g : p->groups) {
      for (KeyEntry* e = g.head; e != nullptr; e = e->lru_next) (*rank)[e->id()] = r++;
    }
    for (const std::unique_ptr<KeyEntry>& e : p->keys) {
      if (e->parked) (*rank)[e->id()] = r++;
    }
    for (std::unique_ptr<KeyEntry>& e : p->keys) old->emplace(e->id(), std::move(e));
  }
  providers_.clear();
  keys_.clear();
}

int KeyPool::Apply(const PoolSnapshot& snapshot) {
  const absl::Time now = clock_->Now();
  absl::WriterMutexLock l(&mu_);
  // Take every key out of the old providers, remembering its LRU position.
  absl::flat_hash_map<int64_t, std::unique_ptr<KeyEntry>> old;
  absl::flat_hash_map<int64_t, int64_t> rank;
  TakeKeysOut(&old, &rank);

  absl::flat_hash_map<int64_t, ProviderState*> by_id;
  for (const ProviderRow& row : snapshot.providers) {
    std::unique_ptr<ProviderState> p = NewProviderState(row);
    by_id[row.id] = p.get();
    providers_[row.code] = std::move(p);
  }

  int count = 0;
  for (const KeyRow& row : snapshot.keys) {
    auto pit = by_id.find(row.provider_id);
    if (pit == by_id.end()) continue;  // a key of a provider that does not exist
    ProviderState& p = *pit->second;
    absl::MutexLock pl(&p.mu);
    std::unique_ptr<KeyEntry> entry;
    bool fresh = false;
    if (auto oit = old.find(row.id); oit != old.end()) {
      entry = std::move(oit->second);
      old.erase(oit);
    } else {
      entry = std::make_unique<KeyEntry>(row.id);
      fresh = true;
    }
    entry->ApplyRow(row, p.calendar.Today(now), fresh);
    keys_[row.id] = KeyRef{&p, entry.get()};
    p.keys.push_back(std::move(entry));
    ++count;
  }
  for (auto& [code, p] : providers_) {
    absl::MutexLock pl(&p->mu);
    BuildGroups(*p, rank);
  }
  // Keys new to the pool hold back what allotments of them hold.
  if (!allotments_.empty()) RecountHeldBack(now);
  if (metrics_ != nullptr) metrics_->SetKeysLoaded(count);
  return count;
}

}  // namespace aigw::keypool
