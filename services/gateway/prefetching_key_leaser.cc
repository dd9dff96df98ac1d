#include "services/gateway/prefetching_key_leaser.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"

namespace aigw::gateway {
namespace {

// A call above twice the usual estimate plus this asks with its own.
constexpr int64_t kBigCallSlack = 1024;

}  // namespace

PrefetchingKeyLeaser::PrefetchingKeyLeaser(KeyLeaser* inner, Clock* clock, Options options)
    : inner_(inner), clock_(clock), options_([&] {
        options.max_stock = std::clamp(options.max_stock, 0, kMaxStock);
        return options;
      }()),
      sweeper_(options_.sweep_interval, [this] { ReleaseExpired(); }) {
  if (options_.max_stock > 0 && options_.sweep_interval > absl::ZeroDuration()) {
    sweeper_.Start();
  }
}

PrefetchingKeyLeaser::~PrefetchingKeyLeaser() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  sweeper_.Stop();
  ReleaseAll();
  // A refill answering from now on gives its leases straight back.
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return rpcs_running_ == 0; };
  mu_.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(5));
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

void PrefetchingKeyLeaser::TakeExpired(Stock& stock, absl::Time now,
                                       std::vector<std::string>* out) {
  // Ready leases join at the back as they are granted: the oldest is first.
  while (!stock.ready.empty() && stock.ready.front().granted_at + options_.ttl <= now) {
    out->push_back(stock.ready.front().lease.lease_id());
    stock.ready.pop_front();
  }
}

aigw::v1::LeaseKeyRequest PrefetchingKeyLeaser::StockRequest(const Stock& stock,
                                                             int prefetch) const {
  aigw::v1::LeaseKeyRequest request;
  request.set_provider_code(stock.provider_code);
  request.set_model(stock.model);
  request.set_estimated_tokens(
      static_cast<int64_t>(std::llround(std::max(0.0, stock.usual_tokens))));
  request.set_prefetch(std::clamp(prefetch, 0, kMaxStock));
  return request;
}

std::optional<aigw::v1::LeaseKeyRequest> PrefetchingKeyLeaser::PlanRefill(Stock& stock) {
  const int target = Target(stock);
  const int have = static_cast<int>(stock.ready.size());
  if (stopping_ || stock.refill_in_flight || 2 * have > target) return std::nullopt;
  // The answer's own lease is one of them.
  aigw::v1::LeaseKeyRequest refill = StockRequest(stock, target - have - 1);
  refill.set_refill(true);
  stock.refill_in_flight = true;
  ++rpcs_running_;
  return refill;
}

std::optional<aigw::v1::LeaseKeyRequest> PrefetchingKeyLeaser::PlanFetch(Stock& stock) {
  const int waiting = static_cast<int>(stock.waiters.size());
  // The fetches out will serve this many (if the keypool grants them all).
  if (waiting <= stock.asked_in_flight || stock.fetches_in_flight >= kMaxFetches) {
    return std::nullopt;
  }
  // Enough for the calls waiting that the fetches out will not serve, and
  // the stock's target besides.
  const int want = waiting - stock.asked_in_flight + Target(stock) -
                   static_cast<int>(stock.ready.size());
  aigw::v1::LeaseKeyRequest fetch = StockRequest(stock, want - 1);
  ++stock.fetches_in_flight;
  stock.asked_in_flight += 1 + fetch.prefetch();
  ++rpcs_running_;
  return fetch;
}

void PrefetchingKeyLeaser::Lease(const aigw::v1::LeaseKeyRequest& request,
                                 std::function<void(LeaseResult)> done) {
  if (options_.max_stock <= 0) {
    if (options_.from_keypool != nullptr) options_.from_keypool->Increment();
    inner_->Lease(request, std::move(done));
    return;
  }
  std::vector<std::string> expired;
  std::optional<LeaseResult> hit;
  std::optional<aigw::v1::LeaseKeyRequest> refill;
  std::optional<aigw::v1::LeaseKeyRequest> fetch;
  bool ask_alone = false;
  Stock* stock = nullptr;
  {
    absl::MutexLock lock(&mu_);
    stock = &StockFor(request.provider_code());
    stock->provider_code = request.provider_code();
    stock->model = request.model();
    const bool big = NoteEstimate(*stock, request.estimated_tokens());
    const absl::Time now = clock_->Now();
    TakeExpired(*stock, now, &expired);
    if (!big) TakeReady(*stock, request, now, &hit);
    if (hit.has_value()) {
      Track(*stock, hit->lease);
      refill = PlanRefill(*stock);
    } else if (big || request.exclude_key_ids_size() > 0 || stopping_) {
      ask_alone = true;
      ++rpcs_running_;
    } else {
      stock->waiters.push_back(Waiter{std::move(done)});
      fetch = PlanFetch(*stock);
    }
  }
  Release(std::move(expired));
  if (hit.has_value()) {
    if (options_.from_stock != nullptr) options_.from_stock->Increment();
    done(*std::move(hit));
    if (refill.has_value()) SendRefill(stock, *std::move(refill));
    return;
  }
  if (options_.from_keypool != nullptr) options_.from_keypool->Increment();
  if (fetch.has_value()) SendFetch(stock, *std::move(fetch));
  if (ask_alone) LeaseAlone(stock, request, std::move(done));
}

bool PrefetchingKeyLeaser::NoteEstimate(Stock& stock, int64_t estimate) {
  const bool big = stock.usual_tokens >= 0 &&
                   estimate > 2 * static_cast<int64_t>(stock.usual_tokens) + kBigCallSlack;
  stock.usual_tokens = stock.usual_tokens < 0
                           ? static_cast<double>(estimate)
                           : 0.9 * stock.usual_tokens + 0.1 * static_cast<double>(estimate);
  return big;
}

void PrefetchingKeyLeaser::TakeReady(Stock& stock, const aigw::v1::LeaseKeyRequest& request,
                                     absl::Time now, std::optional<LeaseResult>* hit) {
  for (auto it = stock.ready.begin(); it != stock.ready.end(); ++it) {
    if (absl::c_linear_search(request.exclude_key_ids(), it->lease.key_id())) continue;
    if (Shunned(it->lease.key_id(), now)) continue;
    hit->emplace();
    (*hit)->lease = std::move(it->lease);
    stock.ready.erase(it);
    return;
  }
}

void PrefetchingKeyLeaser::LeaseAlone(Stock* stock, const aigw::v1::LeaseKeyRequest& request,
                                      std::function<void(LeaseResult)> done) {
  inner_->Lease(request, [this, stock, done = std::move(done)](LeaseResult result) {
    {
      absl::MutexLock lock(&mu_);
      if (result.status.ok()) Track(*stock, result.lease);
    }
    done(std::move(result));
    absl::MutexLock lock(&mu_);
    --rpcs_running_;
  });
}

void PrefetchingKeyLeaser::Absorb(Stock& stock, aigw::v1::LeaseKeyResponse answer,
                                  std::vector<Handoff>* handoffs,
                                  std::vector<std::string>* unwanted) {
  const absl::Time now = clock_->Now();
  google::protobuf::RepeatedPtrField<aigw::v1::LeaseKeyResponse> extras;
  extras.Swap(answer.mutable_prefetched());
  for (aigw::v1::LeaseKeyResponse& extra : extras) {
    // The provider's fields travel once, on the answer itself.
    extra.set_base_url(answer.base_url());
    extra.set_api_format(answer.api_format());
    extra.set_provider_id(answer.provider_id());
  }
  // Leases of a key this gateway has just seen rate-limited or refused go
  // last: a waiting call takes one only when nothing else came (the keypool
  // granted it on demand, so it is the keypool's word), and none is kept.
  std::vector<aigw::v1::LeaseKeyResponse> shunned;
  auto add = [&](aigw::v1::LeaseKeyResponse lease) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (Shunned(lease.key_id(), now)) {
      shunned.push_back(std::move(lease));
    } else {
      stock.ready.push_back(ReadyLease{std::move(lease), now});
    }
  };
  add(std::move(answer));
  for (aigw::v1::LeaseKeyResponse& extra : extras) add(std::move(extra));
  auto serve = [&](aigw::v1::LeaseKeyResponse lease) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    LeaseResult r;
    r.lease = std::move(lease);
    Track(stock, r.lease);
    handoffs->emplace_back(std::move(stock.waiters.front().done), std::move(r));
    stock.waiters.pop_front();
  };
  while (!stock.waiters.empty() && !stock.ready.empty()) {
    serve(std::move(stock.ready.front().lease));
    stock.ready.pop_front();
  }
  for (aigw::v1::LeaseKeyResponse& lease : shunned) {
    if (stock.waiters.empty()) {
      unwanted->push_back(lease.lease_id());
    } else {
      serve(std::move(lease));
    }
  }
  if (stopping_) {
    for (const ReadyLease& r : stock.ready) unwanted->push_back(r.lease.lease_id());
    stock.ready.clear();
  }
}

void PrefetchingKeyLeaser::SendFetch(Stock* stock, aigw::v1::LeaseKeyRequest request) {
  const int asked = 1 + request.prefetch();
  inner_->Lease(request, [this, stock, asked](LeaseResult result) {
    std::vector<Handoff> handoffs;
    std::vector<std::string> unwanted;
    std::optional<aigw::v1::LeaseKeyRequest> next;
    {
      absl::MutexLock lock(&mu_);
      --stock->fetches_in_flight;
      stock->asked_in_flight -= asked;
      if (result.status.ok()) {
        Absorb(*stock, std::move(result.lease), &handoffs, &unwanted);
        next = PlanFetch(*stock);
      } else if (stock->fetches_in_flight == 0) {
        // No key (or no keypool): every call waiting would hear the same.
        // While other fetches are out they serve or fail the waiters; no new
        // one is planned after a failure, so none chases a failing keypool.
        for (Waiter& w : stock->waiters) handoffs.emplace_back(std::move(w.done), result);
        stock->waiters.clear();
      }
      --rpcs_running_;
    }
    Release(std::move(unwanted));
    for (Handoff& h : handoffs) h.first(std::move(h.second));
    if (next.has_value()) SendFetch(stock, *std::move(next));
  });
}

void PrefetchingKeyLeaser::SendRefill(Stock* stock, aigw::v1::LeaseKeyRequest request) {
  inner_->Lease(request, [this, stock](LeaseResult result) {
    std::vector<std::string> unwanted;
    std::vector<Handoff> handoffs;
    {
      absl::MutexLock lock(&mu_);
      stock->refill_in_flight = false;
      // Exhausted or unreachable: the next call asks on need and sees why.
      if (result.status.ok()) Absorb(*stock, std::move(result.lease), &handoffs, &unwanted);
    }
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
      // the same way, so they go back at once, and so do those a refill
      // under way brings (granted before the keypool heard of it).
      if (request.outcome() == aigw::v1::RATE_LIMITED ||
          request.outcome() == aigw::v1::AUTH_FAILED) {
        const absl::Time now = clock_->Now();
        absl::Time& until = shunned_[key_id];
        until = std::max({until, now + options_.ttl,
                          now + absl::Milliseconds(request.retry_after_ms())});
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

bool PrefetchingKeyLeaser::Shunned(int64_t key_id, absl::Time now) const {
  auto it = shunned_.find(key_id);
  return it != shunned_.end() && now < it->second;
}

void PrefetchingKeyLeaser::ReleaseExpired() {
  std::vector<std::string> expired;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto& [code, stock] : stocks_) TakeExpired(stock, now, &expired);
    absl::erase_if(shunned_, [now](const auto& entry) { return entry.second <= now; });
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
