#include "tests/usage/usage_test_util.h"

#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "libs/db/dialect.h"
#include "soci/soci.h"

namespace aigw::usage::testing {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t s = absl::ToUnixSeconds(t);
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

absl::Time GetTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string UtcDate(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

StatsTable ReadFigures(db::Database& db, const std::string& sql) {
  StatsTable out;
  absl::Status st = db.Run([&](soci::session& s) {
    std::string date, provider, model;
    long long key_id = 0;
    Figures f;
    long long v[15];
    soci::statement stmt(s);
    stmt.alloc();
    stmt.exchange(soci::into(date));
    stmt.exchange(soci::into(provider));
    stmt.exchange(soci::into(model));
    stmt.exchange(soci::into(key_id));
    for (long long& x : v) stmt.exchange(soci::into(x));
    stmt.prepare(sql);
    stmt.define_and_bind();
    stmt.execute();
    while (stmt.fetch()) {
      Figures& g = out[{date, provider, model, key_id}];
      g = Figures{v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6], v[7],
                  v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

ErrorTable ReadErrors(db::Database& db, const std::string& sql) {
  ErrorTable out;
  absl::Status st = db.Run([&](soci::session& s) {
    std::string date, provider, code;
    long long key_id = 0, count = 0;
    soci::statement stmt = (s.prepare << sql, soci::into(date), soci::into(provider),
                            soci::into(key_id), soci::into(code), soci::into(count));
    stmt.execute();
    while (stmt.fetch()) out[{date, provider, key_id, code}] = count;
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

std::string LogDay(db::Database& db) {
  return db.backend() == db::Backend::kMySql ? "CAST(DATE(created_at) AS CHAR)"
                                             : "substr(created_at, 1, 10)";
}

}  // namespace

absl::Time TestNow() { return absl::FromUnixSeconds(1773144000); }  // 2026-03-10 12:00 UTC

v1::CallEvent MakeEvent(const EventSpec& spec) {
  v1::CallEvent e;
  e.set_request_id(spec.request_id);
  e.set_attempt(spec.attempt);
  e.set_provider_code(spec.provider);
  e.set_provider_id(spec.provider == "openai" ? 1 : spec.provider == "anthropic" ? 2 : 3);
  e.set_key_id(spec.key_id);
  e.set_model(spec.model);
  e.mutable_caller()->set_user_id(spec.user_id);
  e.mutable_caller()->set_ip_address("10.0.0.1");
  e.mutable_caller()->set_user_agent("test-agent/1.0");
  e.set_outcome(spec.outcome);
  if (spec.outcome != v1::SUCCESS) {
    e.set_error_code(spec.error_code);
    e.set_error_message("failed: " + spec.error_code);
    e.set_http_status(spec.outcome == v1::RATE_LIMITED   ? 429
                      : spec.outcome == v1::SERVER_ERROR ? 500
                      : spec.outcome == v1::CLIENT_ERROR ? 400
                      : spec.outcome == v1::AUTH_FAILED  ? 401
                                                         : 0);
  } else {
    e.set_http_status(200);
  }
  e.mutable_usage()->set_prompt_tokens(spec.prompt_tokens);
  e.mutable_usage()->set_completion_tokens(spec.completion_tokens);
  e.mutable_usage()->set_total_tokens(spec.prompt_tokens + spec.completion_tokens);
  e.set_cost_nanos(spec.cost_nanos);
  e.set_latency_ms(spec.latency_ms);
  e.set_is_final(spec.is_final);
  SetTime(spec.created_at, e.mutable_created_at());
  return e;
}

std::vector<v1::CallEvent> MixedWorkload(uint32_t seed, int requests, int days) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  struct Provider {
    const char* code;
    std::vector<const char*> models;
    std::vector<int64_t> keys;
  };
  const std::vector<Provider> providers = {
      {"openai", {"gpt-4o", "gpt-4o-mini"}, {1, 2, 3}},
      {"anthropic", {"claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022"}, {4, 5}},
      {"deepseek", {"deepseek-chat", "deepseek-reasoner", ""}, {6}}};
  const std::vector<std::pair<v1::Outcome, const char*>> failures = {
      {v1::RATE_LIMITED, "RATE_LIMITED"},
      {v1::SERVER_ERROR, "HTTP_500"},
      {v1::SERVER_ERROR, "HTTP_503"},
      {v1::NETWORK_ERROR, "TIMEOUT"},
      {v1::CLIENT_ERROR, "HTTP_400"},
      {v1::AUTH_FAILED, ""},  // code from outcome
      {v1::NETWORK_ERROR, ""}};
  const absl::Time first_day = absl::FromCivil(
      absl::ToCivilDay(TestNow(), absl::UTCTimeZone()) - (days - 1), absl::UTCTimeZone());
  std::vector<v1::CallEvent> out;
  for (int r = 0; r < requests; ++r) {
    // Some requests start a few seconds before midnight, so their retries
    // fall on the next day.
    absl::Time t = first_day + absl::Hours(24) * pick(days);
    t += (r % 17 == 0) ? absl::Hours(24) - absl::Seconds(1 + pick(3))
                       : absl::Milliseconds(rng() % (24 * 3600 * 1000LL - 60000));
    if (t > TestNow()) t = TestNow() - absl::Milliseconds(pick(100000));
    const int attempts = 1 + (pick(10) < 6 ? 0 : pick(4));
    const bool final_fails = pick(10) == 0;
    int p = pick(static_cast<int>(providers.size()));
    for (int a = 1; a <= attempts; ++a) {
      if (a > 1 && pick(4) == 0) p = pick(static_cast<int>(providers.size()));  // fallback
      const Provider& prov = providers[p];
      EventSpec s;
      s.request_id = absl::StrFormat("req-%u-%06d", seed, r);
      s.attempt = a;
      s.provider = prov.code;
      s.key_id = prov.keys[pick(static_cast<int>(prov.keys.size()))];
      s.model = prov.models[pick(static_cast<int>(prov.models.size()))];
      s.is_final = a == attempts;
      s.created_at = t;
      s.user_id = absl::StrCat("user-", pick(5));
      s.latency_ms = 50 + pick(3000);
      const bool fails = a < attempts || final_fails;
      if (fails) {
        const auto& [outcome, code] = failures[pick(static_cast<int>(failures.size()))];
        s.outcome = outcome;
        s.error_code = code;
        s.prompt_tokens = pick(3) == 0 ? 10 + pick(50) : 0;  // a failed stream may have used some
        s.completion_tokens = 0;
        s.cost_nanos = s.prompt_tokens * 2500;
      } else {
        s.prompt_tokens = 10 + pick(2000);
        s.completion_tokens = pick(800);
        s.cost_nanos = s.prompt_tokens * 2500 + s.completion_tokens * 10000 + pick(1000);
      }
      v1::CallEvent e = MakeEvent(s);
      // Every attempt of a request sends its images; a successful answer may
      // call tools (from the request number, not the generator, so that the
      // rest of the workload stays as it was).
      if (r % 5 == 0) e.set_images(1 + r % 3);
      if (!fails && r % 7 == 0) e.set_tool_calls(1 + r % 2);
      if (!fails && pick(3) == 0) {
        e.mutable_usage()->set_cached_prompt_tokens(s.prompt_tokens / 2);
        e.mutable_usage()->set_reasoning_tokens(s.completion_tokens / 3);
        e.mutable_usage()->set_cache_creation_tokens(pick(20));
      }
      out.push_back(std::move(e));
      t += absl::Milliseconds(s.latency_ms + 1000 + pick(4000));
    }
  }
  return out;
}

void PrintTo(const Figures& f, std::ostream* os) {
  *os << absl::StrFormat(
      "{req=%d ok=%d err=%d att=%d att_err=%d p=%d c=%d t=%d cached=%d cw=%d r=%d cost=%d lat=%d "
      "tools=%d img=%d}",
      f.total_requests, f.success_count, f.error_count, f.attempt_count, f.attempt_error_count,
      f.prompt_tokens, f.completion_tokens, f.total_tokens, f.cached_prompt_tokens,
      f.cache_creation_tokens, f.reasoning_tokens, f.cost_nanos, f.latency_ms, f.tool_calls,
      f.images);
}

StatsTable ReadStats(db::Database& db) {
  const bool my = db.backend() == db::Backend::kMySql;
  return ReadFigures(db,
                     absl::StrCat("SELECT ", my ? "CAST(stat_date AS CHAR)" : "stat_date",
                                  ", provider_code, model, key_id, total_requests, success_count, "
                                  "error_count, attempt_count, attempt_error_count, prompt_tokens, "
                                  "completion_tokens, total_tokens, cached_prompt_tokens, "
                                  "cache_creation_tokens, reasoning_tokens, ",
                                  db.dialect().DecimalToNanos("total_cost"),
                                  ", total_latency_ms, tool_calls, images FROM t_ai_usage_stats"));
}

ErrorTable ReadErrorStats(db::Database& db) {
  const bool my = db.backend() == db::Backend::kMySql;
  return ReadErrors(db, absl::StrCat("SELECT ", my ? "CAST(stat_date AS CHAR)" : "stat_date",
                                     ", provider_code, key_id, error_code, error_count FROM "
                                     "t_ai_error_stats"));
}

StatsTable RecountStatsFromLogs(db::Database& db) {
  const std::string day = LogDay(db);
  return ReadFigures(
      db,
      absl::StrCat("SELECT ", day,
                   ", provider_code, model, key_id, "
                   "SUM(CASE WHEN is_final = 1 THEN 1 ELSE 0 END), "
                   "SUM(CASE WHEN is_final = 1 AND status = 'success' THEN 1 ELSE 0 END), "
                   "SUM(CASE WHEN is_final = 1 AND status = 'error' THEN 1 ELSE 0 END), COUNT(*), "
                   "SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), SUM(prompt_tokens), "
                   "SUM(completion_tokens), SUM(total_tokens), SUM(cached_prompt_tokens), "
                   "SUM(cache_creation_tokens), SUM(reasoning_tokens), ",
                   db.dialect().DecimalToNanos("SUM(cost)"),
                   ", SUM(latency_ms), SUM(tool_calls), "
                   "SUM(CASE WHEN is_final = 1 THEN images ELSE 0 END) FROM t_ai_api_logs GROUP BY ",
                   day,
                   ", provider_code, model, key_id"));
}

ErrorTable RecountErrorsFromLogs(db::Database& db) {
  const std::string day = LogDay(db);
  return ReadErrors(db, absl::StrCat("SELECT ", day,
                                     ", provider_code, key_id, error_code, COUNT(*) FROM "
                                     "t_ai_api_logs WHERE status = 'error' GROUP BY ",
                                     day, ", provider_code, key_id, error_code"));
}

StatsTable ExpectedStats(const std::vector<v1::CallEvent>& events) {
  StatsTable out;
  std::set<std::pair<std::string, int>> seen;
  for (const v1::CallEvent& e : events) {
    if (!seen.insert({e.request_id(), e.attempt()}).second) continue;
    Figures& f = out[{UtcDate(GetTime(e.created_at())), e.provider_code(), e.model(), e.key_id()}];
    const bool ok = e.outcome() == v1::SUCCESS;
    if (e.is_final()) {
      f.total_requests++;
      (ok ? f.success_count : f.error_count)++;
    }
    f.attempt_count++;
    if (!ok) f.attempt_error_count++;
    f.prompt_tokens += e.usage().prompt_tokens();
    f.completion_tokens += e.usage().completion_tokens();
    f.total_tokens += e.usage().total_tokens();
    f.cached_prompt_tokens += e.usage().cached_prompt_tokens();
    f.cache_creation_tokens += e.usage().cache_creation_tokens();
    f.reasoning_tokens += e.usage().reasoning_tokens();
    f.cost_nanos += e.cost_nanos();
    f.latency_ms += e.latency_ms();
    f.tool_calls += e.tool_calls();
    if (e.is_final()) f.images += e.images();
  }
  return out;
}

ErrorTable ExpectedErrors(const std::vector<v1::CallEvent>& events) {
  ErrorTable out;
  std::set<std::pair<std::string, int>> seen;
  for (const v1::CallEvent& e : events) {
    if (!seen.insert({e.request_id(), e.attempt()}).second) continue;
    if (e.outcome() == v1::SUCCESS) continue;
    const std::string code =
        e.error_code().empty() ? v1::Outcome_Name(e.outcome()) : e.error_code();
    out[{UtcDate(GetTime(e.created_at())), e.provider_code(), e.key_id(), code}]++;
  }
  return out;
}

v1::RecordCallsRequest Batch(const std::vector<v1::CallEvent>& events, size_t begin, size_t end) {
  v1::RecordCallsRequest req;
  end = std::min(end, events.size());
  for (size_t i = begin; i < end; ++i) *req.add_events() = events[i];
  return req;
}

}  // namespace aigw::usage::testing
