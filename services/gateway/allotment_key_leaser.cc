#include "services/gateway/allotment_key_leaser.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace aigw::gateway {
namespace {

constexpr absl::Duration kMinute = absl::Seconds(60);

bool NoKeypoolAnswered(const absl::Status& st) {
  return st.code() == absl::StatusCode::kUnavailable ||
         st.code() == absl::StatusCode::kDeadlineExceeded;
}

void Increment(prometheus::Counter* c, double by = 1) {
  if (c != nullptr && by > 0) c->Increment(by);
}

}  // namespace

AllotmentKeyLeaser::AllotmentKeyLeaser(KeyLeaser* inner, AllotKeysFn allot_keys, Clock* clock,
                                       Options options)
    : inner_(inner),
      allot_keys_(std::move(allot_keys)),
      clock_(clock),
      options_(std::move(options)),
      refresher_(options_.refresh_interval > absl::ZeroDuration() ? options_.refresh_interval
                                                                  : absl::InfiniteDuration(),
                 [this] { Refresh(); }) {
  if (options_.refresh_interval > absl::ZeroDuration()) refresher_.Start();
}

AllotmentKeyLeaser::~AllotmentKeyLeaser() { refresher_.Stop(); }

void AllotmentKeyLeaser::Lease(const aigw::v1::LeaseKeyRequest& request,
                               std::function<void(LeaseResult)> done) {
  bool first_sight = false;
  {
    absl::ReaderMutexLock r(&mu_);
    first_sight = !providers_.contains(request.provider_code());
  }
  if (first_sight) {
    absl::MutexLock l(&mu_);
    auto [it, inserted] = providers_.try_emplace(request.provider_code());
    it->second.provider_code = request.provider_code();
    first_sight = inserted;
  }
  // A provider served for the first time gets its allotments at once.
  if (first_sight && options_.refresh_interval > absl::ZeroDuration()) refresher_.RunNow();
  inner_->Lease(request, [this, provider = request.provider_code(),
                          tokens = request.estimated_tokens(),
                          exclude = std::vector<int64_t>(request.exclude_key_ids().begin(),
                                                         request.exclude_key_ids().end()),
                          done = std::move(done)](LeaseResult result) mutable {
    const absl::Time now = clock_->Now();
    if (!NoKeypoolAnswered(result.status)) {
      KeypoolAnswered(now);
      done(std::move(result));
      return;
    }
    NoKeypool(now);
    if (std::optional<aigw::v1::LeaseKeyResponse> lease = FromAllotment(provider, tokens, exclude)) {
      Increment(options_.served);
      LeaseResult served;
      served.lease = *std::move(lease);
      done(std::move(served));
      return;
    }
    Increment(options_.refused);
    result.status = absl::UnavailableError(absl::StrCat(
        result.status.message(), " (no keypool answers, and this gateway's allotment of ",
        provider, " is used up or expired)"));
    done(std::move(result));
  });
}

bool AllotmentKeyLeaser::Fits(Held& h, absl::Time now, int64_t tokens) {
  if (h.shunned || now >= h.deadline) return false;
  while (!h.recent.empty() && h.recent.front().at + kMinute <= now) {
    h.recent_tokens -= h.recent.front().tokens;
    h.recent.pop_front();
  }
  const aigw::v1::KeyAllotment& g = h.grant;
  if (g.requests_per_minute() > 0 &&
      static_cast<int64_t>(h.recent.size()) + 1 > g.requests_per_minute()) {
    return false;
  }
  if (g.tokens_per_minute() > 0 && h.recent_tokens + tokens > g.tokens_per_minute()) return false;
  if (g.requests_per_day() > 0 && h.requests + 1 > g.requests_per_day()) return false;
  return true;
}

std::optional<aigw::v1::LeaseKeyResponse> AllotmentKeyLeaser::FromAllotment(
    const std::string& provider_code, int64_t estimated_tokens,
    const std::vector<int64_t>& exclude) {
  absl::MutexLock l(&mu_);
  auto pit = providers_.find(provider_code);
  if (pit == providers_.end() || pit->second.held.empty()) return std::nullopt;
  ProviderAllotments& p = pit->second;
  const absl::Time now = clock_->Now();
  const size_t n = p.held.size();
  for (size_t i = 0; i < n; ++i) {
    Held& h = p.held[(p.next + i) % n];
    if (std::find(exclude.begin(), exclude.end(), h.grant.key_id()) != exclude.end()) continue;
    if (!Fits(h, now, estimated_tokens)) continue;
    p.next = (p.next + i + 1) % n;
    const uint64_t seq = ++seq_;
    h.recent.push_back(Spend{seq, now, estimated_tokens});
    h.recent_tokens += estimated_tokens;
    ++h.requests;
    h.tokens += estimated_tokens;
    aigw::v1::LeaseKeyResponse lease;
    lease.set_lease_id(absl::StrCat(kLeasePrefix, h.grant.allotment_id(), ":", seq));
    lease.set_key_id(h.grant.key_id());
    lease.set_api_key(h.grant.api_key());
    lease.set_key_name(h.grant.key_name());
    lease.set_base_url(p.provider.base_url());
    lease.set_api_format(p.provider.api_format());
    lease.set_provider_id(p.provider.provider_id());
    issued_[lease.lease_id()] =
        Issued{provider_code, h.grant.allotment_id(), seq, estimated_tokens};
    return lease;
  }
  return std::nullopt;
}

AllotmentKeyLeaser::Held* AllotmentKeyLeaser::Find(const std::string& provider_code,
                                                   const std::string& allotment_id) {
  auto pit = providers_.find(provider_code);
  if (pit == providers_.end()) return nullptr;
  for (Held& h : pit->second.held) {
    if (h.grant.allotment_id() == allotment_id) return &h;
  }
  return nullptr;
}

void AllotmentKeyLeaser::Report(const aigw::v1::ReportUsageRequest& request) {
  if (!absl::StartsWith(request.lease_id(), kLeasePrefix)) {
    inner_->Report(request);
    return;
  }
  absl::MutexLock l(&mu_);
  auto it = issued_.find(request.lease_id());
  if (it == issued_.end()) return;
  const Issued issued = it->second;
  issued_.erase(it);
  // An allotment already settled (sent back used) is the keypool's now.
  Held* h = Find(issued.provider_code, issued.allotment_id);
  if (h == nullptr) return;
  auto spend = std::find_if(h->recent.begin(), h->recent.end(),
                            [&](const Spend& s) { return s.seq == issued.seq; });
  if (request.outcome() == aigw::v1::RELEASED) {
    // Never sent: its request and estimate come back.
    --h->requests;
    h->tokens -= issued.estimate;
    if (spend != h->recent.end()) {
      h->recent_tokens -= spend->tokens;
      h->recent.erase(spend);
    }
    return;
  }
  const int64_t real = request.total_tokens() > 0
                           ? request.total_tokens()
                           : request.prompt_tokens() + request.completion_tokens();
  // Without counts the estimate stands (the call may have been billed).
  if (real > 0) {
    h->tokens += real - issued.estimate;
    if (spend != h->recent.end()) {
      h->recent_tokens += real - spend->tokens;
      spend->tokens = real;
    }
  }
  if (request.outcome() == aigw::v1::RATE_LIMITED || request.outcome() == aigw::v1::AUTH_FAILED) {
    h->shunned = true;
  }
}

void AllotmentKeyLeaser::Refresh() {
  std::vector<std::string> providers;
  AccountWithoutKeypool(clock_->Now());
  {
    absl::MutexLock l(&mu_);
    for (const auto& [code, p] : providers_) providers.push_back(code);
  }
  for (const std::string& code : providers) RefreshOne(code, /*give_back=*/false);
}

void AllotmentKeyLeaser::GiveBack() {
  refresher_.Stop();
  std::vector<std::string> providers;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [code, p] : providers_) {
      if (!p.held.empty()) providers.push_back(code);
    }
  }
  for (const std::string& code : providers) RefreshOne(code, /*give_back=*/true);
}

void AllotmentKeyLeaser::RefreshOne(const std::string& provider_code, bool give_back) {
  aigw::v1::AllotKeysRequest request;
  request.set_provider_code(provider_code);
  request.set_holder(options_.holder);
  request.set_give_back(give_back);
  // Timed from before the request leaves, so a deadline never passes the
  // keypool's use_until.
  const absl::Time sent = clock_->Now();
  {
    absl::MutexLock l(&mu_);
    auto pit = providers_.find(provider_code);
    if (pit == providers_.end()) return;
    std::vector<Held>& held = pit->second.held;
    for (const Held& h : held) {
      aigw::v1::AllotmentUse* u = request.add_held();
      u->set_allotment_id(h.grant.allotment_id());
      u->set_requests(std::max<int64_t>(0, h.requests));
      u->set_tokens(std::max<int64_t>(0, h.tokens));
    }
    // A used allotment goes back to be settled and is never used again,
    // whatever the answer: the keypool may have counted it already.
    held.erase(std::remove_if(held.begin(), held.end(),
                              [give_back](const Held& h) {
                                return give_back || h.requests > 0 || h.tokens > 0;
                              }),
               held.end());
  }
  absl::StatusOr<aigw::v1::AllotKeysResponse> answer = allot_keys_(request);
  if (!answer.ok()) {
    Increment(options_.refresh_failed);
    spdlog::debug("msg=\"allotments not refreshed\" provider={} error=\"{}\"", provider_code,
                  std::string(answer.status().message()));
    return;
  }
  Increment(options_.refreshed);
  absl::MutexLock l(&mu_);
  auto pit = providers_.find(provider_code);
  if (pit == providers_.end()) return;
  ProviderAllotments& p = pit->second;
  std::vector<Held> next;
  next.reserve(answer->allotments_size());
  for (aigw::v1::KeyAllotment& grant : *answer->mutable_allotments()) {
    Held h;
    // An extended one keeps what was spent of it meanwhile (the next
    // refresh settles it).
    if (Held* old = Find(provider_code, grant.allotment_id()); old != nullptr) h = std::move(*old);
    h.deadline = sent + absl::Milliseconds(grant.valid_for_ms());
    h.grant = std::move(grant);
    next.push_back(std::move(h));
  }
  answer->clear_allotments();
  p.provider = *std::move(answer);
  p.held = std::move(next);
  p.next = 0;
}

int AllotmentKeyLeaser::usable(const std::string& provider_code) {
  absl::MutexLock l(&mu_);
  auto pit = providers_.find(provider_code);
  if (pit == providers_.end()) return 0;
  const absl::Time now = clock_->Now();
  int n = 0;
  for (Held& h : pit->second.held) n += Fits(h, now, 0) ? 1 : 0;
  return n;
}

void AllotmentKeyLeaser::NoKeypool(absl::Time now) {
  int64_t none = 0;
  without_since_ns_.compare_exchange_strong(none, absl::ToUnixNanos(now));
}

void AllotmentKeyLeaser::KeypoolAnswered(absl::Time now) {
  // The usual case: a keypool answered the last lease too.
  if (without_since_ns_.load(std::memory_order_relaxed) == 0) return;
  const int64_t since = without_since_ns_.exchange(0);
  if (since != 0 && absl::ToUnixNanos(now) > since) {
    Increment(options_.seconds_without_keypool,
              absl::ToDoubleSeconds(now - absl::FromUnixNanos(since)));
  }
}

void AllotmentKeyLeaser::AccountWithoutKeypool(absl::Time now) {
  int64_t since = without_since_ns_.load();
  const int64_t now_ns = absl::ToUnixNanos(now);
  if (since == 0 || now_ns <= since) return;
  if (without_since_ns_.compare_exchange_strong(since, now_ns)) {
    Increment(options_.seconds_without_keypool,
              absl::ToDoubleSeconds(now - absl::FromUnixNanos(since)));
  }
}

}  // namespace aigw::gateway
