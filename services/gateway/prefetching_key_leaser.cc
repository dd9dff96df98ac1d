#include "services/gateway/prefetching_key_leaser.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace aigw::gateway {
namespace {

constexpr int kMaxStock = 64;  // the keypool's most per LeaseKey

// A call above twice the usual estimate plus this asks with its own.
constexpr int64_t kBigCallSlack = 1024;

bool Excluded(const aigw::v1::LeaseKeyRequest& request, int64_t key_id) {
  for (int64_t id : request.exclude_key_ids()) {
    if (id == key_id) return true;
  }
  return false;
}

}  // namespace

PrefetchingKeyLeaser::PrefetchingKeyLeaser(KeyLeaser* inner, Clock* clock, Options options)
    : inner_(inner), clock_(clock), options_([&] {
        options.max_stock = std::clamp(options.max_stock, 0, kMaxStock);
        return options;
      }()) {
  if (options_.max_stock > 0 && options_.sweep_interval > absl::ZeroDuration()) {
    sweeper_ = std::thread([this] { SweepLoop(); });
  }
}

PrefetchingKeyLeaser::~PrefetchingKeyLeaser() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (sweeper_.joinable()) sweeper_.join();
  ReleaseAll();
  // A refill answering from now on gives its leases straight back.
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return rpcs_running_ == 0; };
  mu_.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(5));
}

void PrefetchingKeyLeaser::SweepLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.sweep_interval);
    if (stopping_) break;
    mu_.Unlock();
    ReleaseExpired();
    mu_.Lock();
  }
}

PrefetchingKeyLeaser::Stock& PrefetchingKeyLeaser::StockFor(const std::string& provider_code) {
  return stocks_[provider_code];
}

int PrefetchingKeyLeaser::Target(const Stock& stock) const {
  return std::min(options_.max_stock, std::max(options_.min_stock, 2 * (stock.in_use + 1)));
}

void PrefetchingKeyLeaser::Track(Stock& stock, const aigw::v1::LeaseKeyResponse& lease) {
  ++stock.in_use;
  in_use_[lease.lease_id()] = InUse{&stock, lease.key_id()};
}

void PrefetchingKeyLeaser::Store(Stock& stock, aigw::v1::LeaseKeyResponse& lease) {
  const absl::Time now = clock_->Now();
  for (aigw::v1::LeaseKeyResponse& extra : *lease.mutable_prefetched()) {
    // The provider's fields travel once, on the answer itself.
    extra.set_base_url(lease.base_url());
    extra.set_api_format(lease.api_format());
    extra.set_provider_id(lease.provider_id());
    stock.ready.push_back(ReadyLease{std::move(extra), now});
  }
  lease.clear_prefetched();
}

aigw::v1::LeaseKeyRequest PrefetchingKeyLeaser::PlanRefill(Stock& stock,
                                                           const aigw::v1::LeaseKeyRequest& like) {
  aigw::v1::LeaseKeyRequest refill;
  const int target = Target(stock);
  const int have = static_cast<int>(stock.ready.size());
  if (stopping_ || stock.refill_in_flight || 2 * have > target) return refill;
  refill.set_provider_code(like.provider_code());
  refill.set_model(like.model());
  refill.set_estimated_tokens(static_cast<int64_t>(std::llround(std::max(0.0, stock.usual_tokens))));
  refill.set_refill(true);
  // The answer's own lease is one of them.
  refill.set_prefetch(std::max(0, target - have - 1));
  stock.refill_in_flight = true;
  return refill;
}

void PrefetchingKeyLeaser::Lease(const aigw::v1::LeaseKeyRequest& request,
                                 std::function<void(LeaseResult)> done) {
  if (options_.max_stock <= 0) {
    if (options_.from_keypool != nullptr) options_.from_keypool->Increment();
    inner_->Lease(request, std::move(done));
    return;
  }
  std::vector<std::string> expired;
  LeaseResult hit;
  bool have_hit = false;
  aigw::v1::LeaseKeyRequest refill;
  aigw::v1::LeaseKeyRequest fetch;
  fetch.set_prefetch(-1);
  aigw::v1::LeaseKeyRequest own;  // a retry's call of its own
  bool ask_alone = false;
  Stock* stock = nullptr;
  {
    absl::MutexLock lock(&mu_);
    stock = &StockFor(request.provider_code());
    const int64_t estimate = request.estimated_tokens();
    const bool big = stock->usual_tokens >= 0 &&
                     estimate > 2 * static_cast<int64_t>(stock->usual_tokens) + kBigCallSlack;
    stock->usual_tokens = stock->usual_tokens < 0
                              ? static_cast<double>(estimate)
                              : 0.9 * stock->usual_tokens + 0.1 * static_cast<double>(estimate);
    const absl::Time now = clock_->Now();
    while (!stock->ready.empty() && stock->ready.front().granted_at + options_.ttl <= now) {
      expired.push_back(stock->ready.front().lease.lease_id());
      stock->ready.pop_front();
    }
    for (auto it = stock->ready.begin(); it != stock->ready.end() && !big; ++it) {
      if (Excluded(request, it->lease.key_id())) continue;
      hit.lease = std::move(it->lease);
      stock->ready.erase(it);
      have_hit = true;
      break;
    }
    if (have_hit) {
      Track(*stock, hit.lease);
      refill = PlanRefill(*stock, request);
    } else if (big || request.exclude_key_ids_size() > 0 || stopping_) {
      ask_alone = true;
      own = request;
      ++rpcs_running_;
    } else {
      stock->like = request;
      stock->waiters.push_back(Waiter{std::move(done)});
      fetch = PlanFetch(*stock);
    }
  }
  Release(std::move(expired));
  if (have_hit) {
    if (options_.from_stock != nullptr) options_.from_stock->Increment();
    done(std::move(hit));
    if (refill.refill()) SendRefill(request.provider_code(), refill);
    return;
  }
  if (options_.from_keypool != nullptr) options_.from_keypool->Increment();
  if (fetch.prefetch() >= 0) SendFetch(stock, std::move(fetch));
  if (!ask_alone) return;
  inner_->Lease(own, [this, stock, done = std::move(done)](LeaseResult result) {
    {
      absl::MutexLock lock(&mu_);
      if (result.status.ok()) Track(*stock, result.lease);
    }
    done(std::move(result));
    absl::MutexLock lock(&mu_);
    --rpcs_running_;
  });
}

aigw::v1::LeaseKeyRequest PrefetchingKeyLeaser::PlanFetch(Stock& stock) {
  aigw::v1::LeaseKeyRequest fetch;
  fetch.set_prefetch(-1);
  const int waiting = static_cast<int>(stock.waiters.size());
  // The fetches out will serve this many (if the keypool grants them all).
  if (waiting <= stock.asked_in_flight || stock.fetches_in_flight >= kMaxFetches) return fetch;
  fetch.set_provider_code(stock.like.provider_code());
  fetch.set_model(stock.like.model());
  fetch.set_estimated_tokens(static_cast<int64_t>(std::llround(std::max(0.0, stock.usual_tokens))));
  // Enough for the calls waiting that the fetches out will not serve, and
  // the stock's target besides.
  const int want = waiting - stock.asked_in_flight + Target(stock) -
                   static_cast<int>(stock.ready.size());
  fetch.set_prefetch(std::clamp(want - 1, 0, kMaxStock));
  ++stock.fetches_in_flight;
  stock.asked_in_flight += 1 + fetch.prefetch();
  ++rpcs_running_;
  return fetch;
}

void PrefetchingKeyLeaser::ServeWaiters(Stock& stock, std::vector<Handoff>* out) {
  while (!stock.waiters.empty() && !stock.ready.empty()) {
    LeaseResult r;
    r.lease = std::move(stock.ready.front().lease);
    stock.ready.pop_front();
    Track(stock, r.lease);
    out->emplace_back(std::move(stock.waiters.front().done), std::move(r));
    stock.waiters.pop_front();
  }
}

void PrefetchingKeyLeaser::SendFetch(Stock* stock, aigw::v1::LeaseKeyRequest request) {
  const int asked = 1 + request.prefetch();
  inner_->Lease(request, [this, stock, asked](LeaseResult result) {
    std::vector<Handoff> handoffs;
    std::vector<std::string> unwanted;
    aigw::v1::LeaseKeyRequest next;
    next.set_prefetch(-1);
    {
      absl::MutexLock lock(&mu_);
      --stock->fetches_in_flight;
      stock->asked_in_flight -= asked;
      if (result.status.ok()) {
        Store(*stock, result.lease);
        // The answer's own lease goes to the first waiter like the rest.
        stock->ready.push_front(ReadyLease{std::move(result.lease), clock_->Now()});
        ServeWaiters(*stock, &handoffs);
        if (stopping_) {
          for (const ReadyLease& r : stock->ready) unwanted.push_back(r.lease.lease_id());
          stock->ready.clear();
        }
      } else if (stock->fetches_in_flight == 0) {
        // No key (or no keypool): every call waiting would hear the same.
        for (Waiter& w : stock->waiters) handoffs.emplace_back(std::move(w.done), result);
        stock->waiters.clear();
      }
      // After a failure the fetches still out serve or fail the waiters; a
      // new one now could chase a failing keypool forever.
      if (result.status.ok()) next = PlanFetch(*stock);
      --rpcs_running_;
    }
    Release(std::move(unwanted));
    for (Handoff& h : handoffs) h.first(std::move(h.second));
    if (next.prefetch() >= 0) SendFetch(stock, std::move(next));
  });
}

void PrefetchingKeyLeaser::SendRefill(const std::string& provider_code,
                                      aigw::v1::LeaseKeyRequest request) {
  {
    absl::MutexLock lock(&mu_);
    ++rpcs_running_;
  }
  inner_->Lease(request, [this, provider_code](LeaseResult result) {
    std::vector<std::string> unwanted;
    std::vector<Handoff> handoffs;
    {
      absl::MutexLock lock(&mu_);
      Stock& stock = StockFor(provider_code);
      stock.refill_in_flight = false;
      if (result.status.ok()) {
        if (stopping_) {
          unwanted.push_back(result.lease.lease_id());
          for (const auto& extra : result.lease.prefetched()) unwanted.push_back(extra.lease_id());
        } else {
          Store(stock, result.lease);
          // Nobody asked for the answer's own lease: it is ready too.
          stock.ready.push_back(ReadyLease{std::move(result.lease), clock_->Now()});
          ServeWaiters(stock, &handoffs);
        }
      }
    }
    // Exhausted or unreachable: the next call asks on need and sees why.
    Release(std::move(unwanted));
    for (Handoff& h : handoffs) h.first(std::move(h.second));
    absl::MutexLock lock(&mu_);
    --rpcs_running_;
  });
}

void PrefetchingKeyLeaser::Report(const aigw::v1::ReportUsageRequest& request) {
  std::vector<std::string> stale;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_use_.find(request.lease_id());
    if (it != in_use_.end()) {
      Stock& stock = *it->second.stock;
      const int64_t key_id = it->second.key_id;
      --stock.in_use;
      in_use_.erase(it);
      // The key is cooling down or refused now: its ready leases would fail
      // the same way, so they go back at once.
      if (request.outcome() == aigw::v1::RATE_LIMITED ||
          request.outcome() == aigw::v1::AUTH_FAILED) {
        for (auto r = stock.ready.begin(); r != stock.ready.end();) {
          if (r->lease.key_id() == key_id) {
            stale.push_back(r->lease.lease_id());
            r = stock.ready.erase(r);
          } else {
            ++r;
          }
        }
      }
    }
  }
  inner_->Report(request);
  Release(std::move(stale));
}

void PrefetchingKeyLeaser::ReleaseExpired() {
  std::vector<std::string> expired;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto& [code, stock] : stocks_) {
      while (!stock.ready.empty() && stock.ready.front().granted_at + options_.ttl <= now) {
        expired.push_back(stock.ready.front().lease.lease_id());
        stock.ready.pop_front();
      }
    }
  }
  Release(std::move(expired));
}

void PrefetchingKeyLeaser::ReleaseAll() {
  std::vector<std::string> all;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [code, stock] : stocks_) {
      for (const ReadyLease& r : stock.ready) all.push_back(r.lease.lease_id());
      stock.ready.clear();
    }
  }
  Release(std::move(all));
}

void PrefetchingKeyLeaser::Release(std::vector<std::string> lease_ids) {
  for (std::string& id : lease_ids) {
    aigw::v1::ReportUsageRequest r;
    r.set_lease_id(std::move(id));
    r.set_outcome(aigw::v1::RELEASED);
    inner_->Report(r);
  }
}

int PrefetchingKeyLeaser::ready(const std::string& provider_code) {
  absl::MutexLock lock(&mu_);
  auto it = stocks_.find(provider_code);
  return it == stocks_.end() ? 0 : static_cast<int>(it->second.ready.size());
}

}  // namespace aigw::gateway
