#include "services/usage/usage_store.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "prometheus/registry.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"
#include "tests/usage/usage_test_util.h"

namespace aigw::usage {
namespace {

using ::aigw::testing::TestDatabase;
using namespace ::aigw::usage::testing;  // NOLINT(build/namespaces)

class UsageStoreTest : public UsageDbTest {
 protected:
  void SetUp() override {
    UsageDbTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = NewStore(db());
  }

  std::unique_ptr<UsageStore> NewStore(db::Database& on, UsageStoreOptions options = {}) {
    auto s = UsageStore::Create(&on, options, metrics_.get(), &clock_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }


  RecordResult Record(const v1::RecordCallsRequest& req, UsageStore* store = nullptr) {
    absl::StatusOr<RecordResult> r = (store ? store : store_.get())->RecordCalls(req.events());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RecordResult{-1, -1};
  }

  int64_t LogRows() { return QueryInt("SELECT COUNT(*) FROM t_ai_api_logs"); }

  void ExpectAggregatesMatch(const std::vector<v1::CallEvent>& events) {
    const StatsTable stats = ReadStats(db());
    EXPECT_EQ(stats, RecountStatsFromLogs(db()));
    EXPECT_EQ(stats, ExpectedStats(events));
    const ErrorTable errors = ReadErrorStats(db());
    EXPECT_EQ(errors, RecountErrorsFromLogs(db()));
    EXPECT_EQ(errors, ExpectedErrors(events));
  }

  std::unique_ptr<UsageStore> store_;
};

TEST_P(UsageStoreTest, AggregatesEqualARecountFromTheLogForAMixedWorkload) {
  const std::vector<v1::CallEvent> events = MixedWorkload(7, 1500, 6);
  ASSERT_GT(events.size(), 2000u);
  // Batches of uneven sizes, some of them sent twice (a gateway retrying a
  // batch whose answer it lost).
  size_t pos = 0;
  int accepted = 0, duplicates = 0, round = 0;
  while (pos < events.size()) {
    const size_t size = 1 + (round * 137) % 700;
    v1::RecordCallsRequest batch = Batch(events, pos, pos + size);
    RecordResult r = Record(batch);
    accepted += r.accepted;
    duplicates += r.duplicates;
    if (round % 3 == 1) {
      RecordResult again = Record(batch);
      EXPECT_EQ(again.accepted, 0);
      EXPECT_EQ(again.duplicates, batch.events_size());
      duplicates += again.duplicates;
    }
    pos += size;
    ++round;
  }
  EXPECT_EQ(accepted, static_cast<int>(events.size()));
  EXPECT_EQ(LogRows(), static_cast<int64_t>(events.size()));
  ExpectAggregatesMatch(events);

  // The workload really is mixed: several days, providers, keys, errors and
  // retries all show up in the aggregates.
  const StatsTable stats = ReadStats(db());
  std::set<std::string> days, providers;
  std::set<int64_t> keys;
  int64_t requests = 0, attempts = 0, errors = 0, final_errors = 0;
  for (const auto& [k, f] : stats) {
    days.insert(std::get<0>(k));
    providers.insert(std::get<1>(k));
    keys.insert(std::get<3>(k));
    requests += f.total_requests;
    attempts += f.attempt_count;
    errors += f.attempt_error_count;
    final_errors += f.error_count;
  }
  EXPECT_EQ(days.size(), 6u);
  EXPECT_EQ(providers.size(), 3u);
  EXPECT_EQ(keys.size(), 6u);
  EXPECT_EQ(requests, 1500);  // a client request counts once, however many attempts
  EXPECT_GT(attempts, requests);
  EXPECT_GT(errors, final_errors);
  EXPECT_GT(final_errors, 0);

  EXPECT_EQ(metrics_->events_ingested->Value(), static_cast<double>(events.size()));
  EXPECT_EQ(metrics_->duplicates->Value(), duplicates);
  EXPECT_EQ(metrics_->db_errors_record->Value(), 0);
}

// Every table dumped: what "changes nothing" is checked against.
std::string Dump(db::Database& db) {
  std::string out;
  absl::Status st = db.Run([&](soci::session& s) {
    for (const char* sql :
         {"SELECT COUNT(*), COALESCE(MAX(id),0), COALESCE(SUM(total_tokens),0) FROM t_ai_api_logs",
          "SELECT COUNT(*), COALESCE(SUM(total_requests),0), COALESCE(SUM(attempt_count),0) FROM "
          "t_ai_usage_stats",
          "SELECT COUNT(*), COALESCE(SUM(error_count),0), COALESCE(SUM(id),0) FROM "
          "t_ai_error_stats"}) {
      long long a = 0, b = 0, c = 0;
      s << sql, soci::into(a), soci::into(b), soci::into(c);
      absl::StrAppend(&out, a, "/", b, "/", c, " ");
    }
    std::string updated;
    s << "SELECT CAST(MAX(updated_at) AS CHAR) FROM t_ai_usage_stats", soci::into(updated);
    absl::StrAppend(&out, updated);
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  return out;
}

TEST_P(UsageStoreTest, ADuplicateBatchChangesNothing) {
  const std::vector<v1::CallEvent> events = MixedWorkload(11, 200, 3);
  const v1::RecordCallsRequest batch = Batch(events);
  RecordResult first = Record(batch);
  EXPECT_EQ(first.accepted, batch.events_size());
  EXPECT_EQ(first.duplicates, 0);
  const std::string before = Dump(db());
  const StatsTable stats_before = ReadStats(db());

  clock_.Advance(absl::Minutes(5));  // so a rewritten updated_at would show
  RecordResult second = Record(batch);
  EXPECT_EQ(second.accepted, 0);
  EXPECT_EQ(second.duplicates, batch.events_size());
  EXPECT_EQ(Dump(db()), before);
  EXPECT_EQ(ReadStats(db()), stats_before);
  // Also through a second store (another replica of the service).
  auto other_db = tdb_->Reopen();
  ASSERT_TRUE(other_db.ok());
  auto other = NewStore(**other_db);
  RecordResult third = Record(batch, other.get());
  EXPECT_EQ(third.accepted, 0);
  EXPECT_EQ(Dump(db()), before);
  ExpectAggregatesMatch(events);
}

TEST_P(UsageStoreTest, APartlyRepeatedBatchAddsOnlyTheNewEvents) {
  const std::vector<v1::CallEvent> events = MixedWorkload(12, 300, 4);
  const size_t half = events.size() / 2;
  EXPECT_EQ(Record(Batch(events, 0, half)).accepted, static_cast<int>(half));
  // The second batch overlaps the first by 50 events.
  RecordResult r = Record(Batch(events, half - 50));
  EXPECT_EQ(r.accepted, static_cast<int>(events.size() - half));
  EXPECT_EQ(r.duplicates, 50);
  EXPECT_EQ(LogRows(), static_cast<int64_t>(events.size()));
  ExpectAggregatesMatch(events);
}

TEST_P(UsageStoreTest, AnEventRepeatedWithinOneBatchCountsOnce) {
  EventSpec spec;
  spec.request_id = "r-dup";
  v1::RecordCallsRequest batch;
  *batch.add_events() = MakeEvent(spec);
  *batch.add_events() = MakeEvent(spec);
  spec.attempt = 2;
  spec.created_at += absl::Seconds(1);
  *batch.add_events() = MakeEvent(spec);
  RecordResult r = Record(batch);
  EXPECT_EQ(r.accepted, 2);
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(LogRows(), 2);
}

TEST_P(UsageStoreTest, ARetriedRequestCountsOnceInRequestsAndEveryAttemptInErrors) {
  std::vector<v1::CallEvent> events;
  EventSpec s;
  s.request_id = "r-retry";
  s.outcome = v1::RATE_LIMITED;
  s.error_code = "RATE_LIMITED";
  s.is_final = false;
  s.key_id = 1;
  s.prompt_tokens = s.completion_tokens = s.cost_nanos = 0;
  events.push_back(MakeEvent(s));
  s.attempt = 2;
  s.key_id = 2;
  s.outcome = v1::SERVER_ERROR;
  s.error_code = "HTTP_500";
  events.push_back(MakeEvent(s));
  s.attempt = 3;
  s.key_id = 3;
  s.outcome = v1::SUCCESS;
  s.is_final = true;
  s.prompt_tokens = 100;
  s.completion_tokens = 50;
  s.cost_nanos = 1500;
  events.push_back(MakeEvent(s));
  EXPECT_EQ(Record(Batch(events)).accepted, 3);

  const StatsTable stats = ReadStats(db());
  int64_t requests = 0, successes = 0, errors = 0, attempts = 0, attempt_errors = 0;
  for (const auto& [k, f] : stats) {
    requests += f.total_requests;
    successes += f.success_count;
    errors += f.error_count;
    attempts += f.attempt_count;
    attempt_errors += f.attempt_error_count;
  }
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(successes, 1);
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(attempt_errors, 2);
  const ErrorTable by_code = ReadErrorStats(db());
  const ErrorTable want = {{{"2026-03-10", "openai", 1, "RATE_LIMITED"}, 1},
                           {{"2026-03-10", "openai", 2, "HTTP_500"}, 1}};
  EXPECT_EQ(by_code, want);
}

TEST_P(UsageStoreTest, AFailedEventWithoutACodeIsCountedUnderItsOutcome) {
  EventSpec s;
  s.request_id = "r-nocode";
  s.outcome = v1::NETWORK_ERROR;
  s.error_code = "";
  EXPECT_EQ(Record(Batch({MakeEvent(s)})).accepted, 1);
  const ErrorTable want = {{{"2026-03-10", "openai", 1, "NETWORK_ERROR"}, 1}};
  EXPECT_EQ(ReadErrorStats(db()), want);
}

TEST_P(UsageStoreTest, AnAttemptThatNeverLeftTheGatewayIsAnErrorUnderItsReason) {
  EventSpec s;
  s.request_id = "r-nokey";
  s.key_id = 0;
  s.outcome = v1::NOT_SENT;
  s.error_code = "NO_AVAILABLE_KEYS";
  s.prompt_tokens = 0;
  s.completion_tokens = 0;
  s.cost_nanos = 0;
  EXPECT_EQ(Record(Batch({MakeEvent(s)})).accepted, 1);
  const ErrorTable want = {{{"2026-03-10", "openai", 0, "NO_AVAILABLE_KEYS"}, 1}};
  EXPECT_EQ(ReadErrorStats(db()), want);
}

TEST_P(UsageStoreTest, BadInputIsRefusedWithAClearMessageAndNothingIsWritten) {
  const std::vector<v1::CallEvent> good = MixedWorkload(13, 20, 1);
  struct Case {
    std::string name;
    std::function<void(v1::CallEvent&)> spoil;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no request id", [](v1::CallEvent& e) { e.clear_request_id(); }, "request_id is required"},
      {"long request id", [](v1::CallEvent& e) { e.set_request_id(std::string(65, 'r')); },
       "request_id is longer than 64 characters"},
      {"attempt 0", [](v1::CallEvent& e) { e.set_attempt(0); }, "attempt must be 1 or more"},
      {"no provider", [](v1::CallEvent& e) { e.clear_provider_code(); },
       "provider_code is required"},
      {"no outcome", [](v1::CallEvent& e) { e.set_outcome(v1::OUTCOME_UNSPECIFIED); },
       "outcome is required"},
      {"unknown outcome", [](v1::CallEvent& e) { e.set_outcome(static_cast<v1::Outcome>(42)); },
       "outcome 42 is not a known Outcome"},
      {"negative tokens", [](v1::CallEvent& e) { e.mutable_usage()->set_prompt_tokens(-5); },
       "usage.prompt_tokens must not be negative"},
      {"negative cost", [](v1::CallEvent& e) { e.set_cost_nanos(-1); },
       "cost_nanos must not be negative"},
      // A provider's usage reported wrong: two of these overflow the sums.
      {"absurd tokens",
       [](v1::CallEvent& e) { e.mutable_usage()->set_completion_tokens(int64_t{5} << 60); },
       "usage.completion_tokens is 5764607523034234880, more than any one call reaches"},
      {"absurd cost", [](v1::CallEvent& e) { e.set_cost_nanos(int64_t{5} << 60); },
       "cost_nanos is 5764607523034234880"},
      {"time out of range", [](v1::CallEvent& e) { e.mutable_created_at()->set_seconds(-10); },
       "created_at"},
  };
  for (const Case& c : cases) {
    std::vector<v1::CallEvent> events = good;
    c.spoil(events[7]);
    absl::StatusOr<RecordResult> r = store_->RecordCalls(Batch(events).events());
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "events[7]")) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.message)) << r.status();
  }
  EXPECT_EQ(LogRows(), 0);
  EXPECT_TRUE(ReadStats(db()).empty());
  EXPECT_EQ(metrics_->batches_invalid->Value(), static_cast<double>(cases.size()));

  UsageStoreOptions small;
  small.max_batch_events = 10;
  auto capped = NewStore(db(), small);
  absl::StatusOr<RecordResult> big = capped->RecordCalls(Batch(good, 0, 11).events());
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(big.status().message(),
            "batch has 11 events; at most 10 are accepted per RecordCalls call");
  EXPECT_EQ(LogRows(), 0);
  EXPECT_EQ(Record(Batch(good, 0, 10), capped.get()).accepted, 10);
}

TEST_P(UsageStoreTest, TextIsStoredExactlyWhateverItContains) {
  const std::vector<std::string> texts = {"it's \"quoted\"",
                                          "back\\slash\\",
                                          "\\'; DROP TABLE t_ai_api_logs; --",
                                          "colon :name and :1 and ?",
                                          "line\nbreak\ttab\r",
                                          "日本語 ünïcödé 🚀",
                                          "100% _like_",
                                          "trailing backslash \\"};
  std::vector<v1::CallEvent> events;
  for (size_t i = 0; i < texts.size(); ++i) {
    EventSpec s;
    s.request_id = absl::StrCat("txt-", i);
    s.outcome = v1::CLIENT_ERROR;
    s.error_code = "HTTP_400";
    v1::CallEvent e = MakeEvent(s);
    e.mutable_caller()->set_user_agent(texts[i]);
    e.set_error_message(texts[i]);
    e.mutable_caller()->set_user_id(texts[i]);
    events.push_back(e);
  }
  // Bytes a database cannot hold as text become U+FFFD or go (NUL).
  EventSpec s;
  s.request_id = "txt-bad";
  v1::CallEvent bad = MakeEvent(s);
  bad.mutable_caller()->set_user_agent(
      std::string("a\0b\xff"
                  "c",
                  5));
  events.push_back(bad);
  EXPECT_EQ(Record(Batch(events)).accepted, static_cast<int>(events.size()));

  absl::Status st = db().Run([&](soci::session& s) {
    for (size_t i = 0; i < texts.size(); ++i) {
      std::string ua, msg, user;
      s << "SELECT user_agent, error_message, user_id FROM t_ai_api_logs WHERE request_id = :r",
          soci::use(absl::StrCat("txt-", i)), soci::into(ua), soci::into(msg), soci::into(user);
      EXPECT_EQ(ua, texts[i]);
      EXPECT_EQ(msg, texts[i]);
      EXPECT_EQ(user, texts[i]);
    }
    std::string ua;
    s << "SELECT user_agent FROM t_ai_api_logs WHERE request_id = 'txt-bad'", soci::into(ua);
    EXPECT_EQ(ua,
              "ab\xEF\xBF\xBD"
              "c");
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM t_ai_api_logs"), 9);
}

TEST_P(UsageStoreTest, StatDateIsTheDayInTheConfiguredZone) {
  UsageStoreOptions options;
  options.stats_zone = absl::FixedTimeZone(-5 * 3600);
  auto store = NewStore(db(), options);
  EventSpec s;
  s.request_id = "tz";
  s.created_at = absl::FromCivil(absl::CivilSecond(2026, 3, 10, 3, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(Record(Batch({MakeEvent(s)}), store.get()).accepted, 1);
  const StatsTable stats = ReadStats(db());
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(std::get<0>(stats.begin()->first), "2026-03-09");
}

TEST_P(UsageStoreTest, AMissingCreatedAtIsTheTimeOfRecording) {
  EventSpec s;
  s.request_id = "no-time";
  v1::CallEvent e = MakeEvent(s);
  e.clear_created_at();
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 3, 11, 8, 30, 15), absl::UTCTimeZone()) +
             absl::Microseconds(123456));
  EXPECT_EQ(Record(Batch({e})).accepted, 1);
  absl::Status st = db().Run([&](soci::session& s) {
    std::string t;
    s << (db().backend() == db::Backend::kMySql
              ? "SELECT CAST(created_at AS CHAR) FROM t_ai_api_logs"
              : "SELECT created_at FROM t_ai_api_logs"),
        soci::into(t);
    EXPECT_EQ(t, "2026-03-11 08:30:15.123");
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
}

// The way a MySQL server (no bulk execution) gets its rows: the same
// results, duplicates included.
TEST_P(UsageStoreTest, LiteralMultiRowInsertsGiveTheSameResults) {
  UsageStoreOptions literal;
  literal.mariadb_bulk_insert = false;
  literal.rows_per_statement = 50;
  auto store = NewStore(db(), literal);
  const std::vector<v1::CallEvent> events = MixedWorkload(31, 400, 4);
  const size_t third = events.size() / 3;
  EXPECT_EQ(Record(Batch(events, 0, 2 * third), store.get()).accepted, static_cast<int>(2 * third));
  RecordResult r = Record(Batch(events, third), store.get());
  EXPECT_EQ(r.accepted, static_cast<int>(events.size() - 2 * third));
  EXPECT_EQ(r.duplicates, static_cast<int>(third));
  EXPECT_EQ(LogRows(), static_cast<int64_t>(events.size()));
  ExpectAggregatesMatch(events);
}

// Two replicas (separate pools, separate stores) and several threads each,
// sending overlapping batches at once: every event lands once and the
// aggregates still equal the recount.
TEST_P(UsageStoreTest, ConcurrentWritersWithOverlappingBatchesAgree) {
  const std::vector<v1::CallEvent> events = MixedWorkload(21, 800, 3);
  auto other_db = tdb_->Reopen();
  ASSERT_TRUE(other_db.ok()) << other_db.status();
  auto other = NewStore(**other_db);
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      UsageStore* store = t % 2 == 0 ? store_.get() : other.get();
      // Thread t sends every batch, starting at a different offset, so each
      // event is sent by all four threads at different times.
      const size_t batch = 97;
      const size_t batches = (events.size() + batch - 1) / batch;
      for (size_t k = 0; k < batches; ++k) {
        const size_t b = (k + t * batches / 4) % batches;
        absl::StatusOr<RecordResult> r =
            store->RecordCalls(Batch(events, b * batch, (b + 1) * batch).events());
        ASSERT_TRUE(r.ok()) << r.status();
        accepted += r->accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), static_cast<int>(events.size()));
  EXPECT_EQ(LogRows(), static_cast<int64_t>(events.size()));
  ExpectAggregatesMatch(events);
}

// One large batch (more rows than one MariaDB bulk execution or one
// multi-row statement takes) holding new events, events recorded by earlier
// batches, and events repeated within itself: each event counts once, the
// first time it arrives; sending the batch again changes nothing.
TEST_P(UsageStoreTest, ALargeBatchMixingNewRecordedAndRepeatedEventsCountsEachOnce) {
  const std::vector<v1::CallEvent> events = MixedWorkload(41, 1600, 3);
  ASSERT_GT(events.size(), 2100u);  // rows sent in one transaction
  const size_t recorded = 600;
  EXPECT_EQ(Record(Batch(events, 0, recorded)).accepted, static_cast<int>(recorded));
  // Everything, with every 7th event a second time further on and the
  // already recorded part interleaved with new events.
  v1::RecordCallsRequest big;
  size_t repeats = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    *big.add_events() = events[i];
    if (i % 7 == 3) {
      *big.add_events() = events[i / 2];
      ++repeats;
    }
  }
  ASSERT_GT(big.events_size(), 2000);
  RecordResult r = Record(big);
  EXPECT_EQ(r.accepted, static_cast<int>(events.size() - recorded));
  EXPECT_EQ(r.duplicates, static_cast<int>(recorded + repeats));
  EXPECT_EQ(r.accepted + r.duplicates, big.events_size());
  EXPECT_EQ(LogRows(), static_cast<int64_t>(events.size()));
  ExpectAggregatesMatch(events);

  const std::string before = Dump(db());
  clock_.Advance(absl::Minutes(1));
  RecordResult again = Record(big);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.duplicates, big.events_size());
  EXPECT_EQ(Dump(db()), before);
}

// Many callers on one store, their batches overlapping and merged by group
// commit: each event lands once, and log ids become visible in commit
// order, so a reader that has seen MAX(id) = m never later finds a new row
// with id <= m (what QueryLogs' snapshot paging relies on).
TEST_P(UsageStoreTest, ConcurrentCallersOnOneStoreCommitIdsInOrder) {
  const std::vector<v1::CallEvent> events = MixedWorkload(43, 1500, 2);
  std::atomic<int> accepted{0};
  std::atomic<bool> writing{true};
  std::atomic<int> reader_violations{0};
  std::atomic<int> reader_checks{0};
  std::thread reader([&] {
    while (writing.load()) {
      int64_t snap = 0, below = 0, below_later = 0;
      absl::Status st = db().Run([&](soci::session& s) {
        soci::indicator ind;
        s << "SELECT MAX(id) FROM t_ai_api_logs", soci::into(snap, ind);
        if (ind != soci::i_ok) snap = 0;
        return absl::OkStatus();
      });
      ASSERT_TRUE(st.ok()) << st;
      // Each count in its own transaction (a fresh read view on MySQL).
      const std::string count =
          absl::StrCat("SELECT COUNT(*) FROM t_ai_api_logs WHERE id <= ", snap);
      below = QueryInt(count);
      std::this_thread::yield();
      below_later = QueryInt(count);
      if (below_later != below) ++reader_violations;
      ++reader_checks;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const size_t batch = 113;
      const size_t batches = (events.size() + batch - 1) / batch;
      for (size_t k = 0; k < batches; ++k) {
        // Thread t sends half of the batches, starting at its own offset:
        // every batch goes out three times, at different moments.
        if ((k + t) % 2 != 0) continue;
        const size_t b = (k + t * batches / 6) % batches;
        absl::StatusOr<RecordResult> r =
            store_->RecordCalls(Batch(events, b * batch, (b + 1) * batch).events());
        ASSERT_TRUE(r.ok()) << r.status();
        accepted += r->accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  writing = false;
  reader.join();
  EXPECT_GT(reader_checks.load(), 0);
  EXPECT_EQ(reader_violations.load(), 0);
  EXPECT_EQ(accepted.load(), static_cast<int>(events.size()));
  EXPECT_EQ(LogRows(), static_cast<int64_t>(events.size()));
  ExpectAggregatesMatch(events);
}

// A trigger makes the database refuse the row of one request id, as it
// would a value it cannot store.
void PoisonRequestId(db::Database& db, db::Backend backend, const std::string& request_id) {
  if (backend == db::Backend::kMySql) {
    aigw::testing::Exec(db, absl::StrCat("CREATE TRIGGER poison BEFORE INSERT ON t_ai_api_logs FOR EACH ROW "
                          "BEGIN IF NEW.request_id = '", request_id, "' THEN SIGNAL SQLSTATE "
                          "'45000' SET MESSAGE_TEXT = 'poisoned row'; END IF; END"));
  } else {
    aigw::testing::Exec(db, absl::StrCat("CREATE TRIGGER poison BEFORE INSERT ON t_ai_api_logs WHEN "
                          "NEW.request_id = '", request_id,
                          "' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"));
  }
}

TEST_P(UsageStoreTest, AnEventTheDatabaseRefusesFailsOnlyItsOwnBatchNotItsGroup) {
  const std::vector<v1::CallEvent> events = MixedWorkload(7, 30, 1);
  ASSERT_GE(events.size(), 30u);
  const v1::RecordCallsRequest first = Batch(events, 0, 10);
  v1::RecordCallsRequest poisoned = Batch(events, 10, 20);
  const v1::RecordCallsRequest clean = Batch(events, 20, 30);
  poisoned.mutable_events(3)->set_request_id("poison");
  PoisonRequestId(db(), GetParam(), "poison");

  // Another connection holds the writers back (SQLite's write lock; on MySQL
  // every row and gap of the stats table), so that while the first batch's
  // transaction waits, the other two queue and are written as one group.
  auto other_db = tdb_->Reopen();
  ASSERT_TRUE(other_db.ok()) << other_db.status();
  absl::Notification locked, release;
  std::thread holder([&] {
    absl::Status st = (*other_db)->Run([&](soci::session& s) {
      if (GetParam() == db::Backend::kMySql) {
        long long n = 0;
        s << "START TRANSACTION";
        s << "SELECT COUNT(*) FROM t_ai_usage_stats FOR UPDATE", soci::into(n);
      } else {
        s << "BEGIN IMMEDIATE";
      }
      locked.Notify();
      release.WaitForNotification();
      s << "ROLLBACK";
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
  });
  locked.WaitForNotification();
  absl::StatusOr<RecordResult> first_result, poisoned_result, clean_result;
  std::thread first_caller([&] { first_result = store_->RecordCalls(first.events()); });
  // Each wait is for the other threads to get there (bounded, so that a
  // store that never blocks fails the test instead of hanging it).
  auto wait_until = [](const std::function<bool()>& reached) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!reached() && absl::Now() < give_up) std::this_thread::yield();
    return reached();
  };
  const bool first_writing =
      wait_until([&] { return store_->writing() && store_->queued_batches() == 0; });
  EXPECT_TRUE(first_writing);
  std::thread poisoned_caller([&] { poisoned_result = store_->RecordCalls(poisoned.events()); });
  std::thread clean_caller([&] { clean_result = store_->RecordCalls(clean.events()); });
  EXPECT_TRUE(wait_until([&] { return store_->queued_batches() >= 2; }));
  release.Notify();
  holder.join();
  first_caller.join();
  poisoned_caller.join();
  clean_caller.join();

  ASSERT_TRUE(first_result.ok()) << first_result.status();
  EXPECT_EQ(first_result->accepted, first.events_size());
  ASSERT_TRUE(clean_result.ok()) << clean_result.status();
  EXPECT_EQ(clean_result->accepted, clean.events_size());
  // The poisoned batch alone: refused naming its event; its others went in.
  EXPECT_EQ(poisoned_result.status().code(), absl::StatusCode::kInvalidArgument)
      << poisoned_result.status();
  EXPECT_TRUE(absl::StartsWith(poisoned_result.status().message(), "events[3] "))
      << poisoned_result.status();
  EXPECT_EQ(LogRows(), 29);
  std::vector<v1::CallEvent> written(events.begin(), events.begin() + 30);
  written.erase(written.begin() + 13);
  ExpectAggregatesMatch(written);
}

TEST_P(UsageStoreTest, AnEventTheDatabaseRefusesIsNamedTheRestRecordedAndItIsRefusedAtOnceAgain) {
  const std::vector<v1::CallEvent> events = MixedWorkload(9, 20, 1);
  v1::RecordCallsRequest batch = Batch(events, 0, 20);
  batch.mutable_events(7)->set_request_id("poison");
  PoisonRequestId(db(), GetParam(), "poison");

  absl::StatusOr<RecordResult> r = store_->RecordCalls(batch.events());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "events[7] (request_id 'poison'"))
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "poisoned row")) << r.status();
  std::vector<v1::CallEvent> written(events.begin(), events.begin() + 20);
  written.erase(written.begin() + 7);
  EXPECT_EQ(LogRows(), 19);
  ExpectAggregatesMatch(written);

  // Sent again alone (the gateway checks the event it was told of), it is
  // refused without a write, even though the database is taking it now.
  Exec("DROP TRIGGER poison");
  v1::RecordCallsRequest alone;
  *alone.add_events() = batch.events(7);
  r = store_->RecordCalls(alone.events());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "events[0] (request_id 'poison'"))
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "refused to store it")) << r.status();
  // The rest again: duplicates.
  v1::RecordCallsRequest rest = batch;
  rest.mutable_events()->DeleteSubrange(7, 1);
  EXPECT_EQ(Record(rest).accepted, 0);
  // Ten minutes later it is tried again (an operator fixed the cause).
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(Record(alone).accepted, 1);
  EXPECT_EQ(LogRows(), 20);
}

TEST_P(UsageStoreTest, ADatabaseThatRefusesEveryRowFailsTheBatchAndRecordsNothing) {
  const std::vector<v1::CallEvent> events = MixedWorkload(11, 20, 1);
  if (GetParam() == db::Backend::kMySql) {
    Exec("CREATE TRIGGER poison BEFORE INSERT ON t_ai_api_logs FOR EACH ROW "
         "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refusing every row'");
  } else {
    Exec("CREATE TRIGGER poison BEFORE INSERT ON t_ai_api_logs "
         "BEGIN SELECT RAISE(ABORT, 'refusing every row'); END");
  }
  absl::StatusOr<RecordResult> r = store_->RecordCalls(Batch(events, 0, 20).events());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "refusing every row")) << r.status();
  EXPECT_EQ(LogRows(), 0);
  // Nothing was blamed on an event: once the database takes rows, all go in.
  Exec("DROP TRIGGER poison");
  EXPECT_EQ(Record(Batch(events, 0, 20)).accepted, 20);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageStoreTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::usage
