// Usage service benchmark (not part of ctest).
//
// 1. Ingestion: call events sent over gRPC in RecordCalls batches by
//    concurrent clients to an in-process UsageService on 127.0.0.1, on a
//    fresh database. Prints events/s and batch latency, then the same
//    batches again (all duplicates).
// 2. Queries: the log is bulk-loaded (multi-row INSERTs, rows in time order
//    over --days days, stats rows to match) up to each of --log_rows, and at
//    each size GetDashboard, GetUsage, GetTrend and QueryLogs are timed over
//    gRPC.
//
//   usage_bench --backend=sqlite|mysql [--mysql_url=mysql://aigw:aigw@127.0.0.1:3306/mysql]
//               [--mode=ingest,queries] [--ingest_events=300000] [--batch=500] [--clients=4]
//               [--log_rows=1000000,10000000] [--days=90] [--reps=30] [--keep]
//               [--drop_log_indexes=idx_logs_user_created,...]
//
// Ingestion also prints this process's CPU time per event (clients, gRPC and
// the service, not a MySQL server): on a machine shared with other work the
// wall-clock rate swings by a third from run to run, the CPU cost much less.
// --drop_log_indexes shows what each index of the log costs the writer.
//
// A fresh database is created (SQLite: a file under --sqlite_dir; MySQL: a
// database aigw_bench_<pid> on the server of --mysql_url) and removed at the
// end unless --keep.
//
// Targets (issue): >= 50k events/s ingested; GetDashboard < 100 ms at 10M
// log rows (aggregates come from the stats table, so its cost follows the
// number of stats rows, not log rows).

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/common/clock.h"
#include "libs/common/proto_time.h"
#include "libs/db/database.h"
#include "libs/db/migrations.h"
#include "services/usage/call_log_row.h"
#include "services/usage/log_columns.h"
#include "services/usage/log_retention.h"
#include "services/usage/sql_literal.h"
#include "services/usage/stats_accumulator.h"
#include "services/usage/usage_queries.h"
#include "services/usage/usage_service.h"
#include "services/usage/usage_store.h"
#include "services/usage/usage_time.h"
#include "soci/soci.h"

ABSL_FLAG(std::string, backend, "sqlite", "sqlite | mysql");
ABSL_FLAG(std::string, mysql_url, "mysql://aigw:aigw@127.0.0.1:3306/mysql",
          "MySQL/MariaDB server (a user that may CREATE and DROP databases)");
ABSL_FLAG(std::string, sqlite_dir, "/tmp", "Where the SQLite benchmark file goes");
ABSL_FLAG(std::string, mode, "ingest,queries", "ingest, queries or both");
ABSL_FLAG(int, ingest_events, 300000, "Events sent in the ingestion run");
ABSL_FLAG(int, batch, 500, "Events per RecordCalls batch");
ABSL_FLAG(int, clients, 4, "Concurrent gRPC clients (one channel each)");
ABSL_FLAG(std::string, request_ids, "time",
          "time: request ids as the gateway makes them (creation time first, then random); "
          "random: UUID-like ids, as a client that supplies its own might send");
ABSL_FLAG(std::string, log_rows, "1000000,10000000", "Log sizes the queries are timed at");
ABSL_FLAG(int, days, 90, "Days the bulk-loaded log spans (ending now)");
ABSL_FLAG(int, reps, 30, "Timed calls per query");
ABSL_FLAG(bool, keep, false, "Keep the benchmark database");
ABSL_FLAG(std::string, existing_db_url, "",
          "queries: time the queries on this already loaded database (e.g. one kept with "
          "--keep) instead of creating and loading one");
ABSL_FLAG(std::string, drop_log_indexes, "",
          "Comma-separated indexes of t_ai_api_logs to drop first (to see what each costs "
          "the writer)");
ABSL_FLAG(bool, mysql_unpartitioned, false,
          "Remove the log's partitioning first (to compare the insert cost)");

namespace aigw::usage {
namespace {

const char* const kProviders[] = {"openai", "anthropic", "deepseek"};
const char* const kModels[3][3] = {
    {"gpt-4o", "gpt-4o-mini", "gpt-3.5-turbo"},
    {"claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022", "claude-3-opus-20240229"},
    {"deepseek-chat", "deepseek-reasoner", "deepseek-coder"}};
const char* const kErrorCodes[] = {"RATE_LIMITED", "HTTP_500", "HTTP_503", "TIMEOUT", "HTTP_400"};
const v1::Outcome kErrorOutcomes[] = {v1::RATE_LIMITED, v1::SERVER_ERROR, v1::SERVER_ERROR,
                                      v1::NETWORK_ERROR, v1::CLIENT_ERROR};

struct Fresh {
  std::unique_ptr<db::Database> db;
  std::function<void()> drop;
};

absl::StatusOr<Fresh> CreateDatabase() {
  Fresh f;
  std::string url;
  if (absl::GetFlag(FLAGS_backend) == "mysql") {
    const std::string admin_url = absl::GetFlag(FLAGS_mysql_url);
    const std::string name = absl::StrCat("aigw_bench_", getpid());
    auto admin = db::DatabaseUrl::Parse(admin_url);
    if (!admin.ok()) return admin.status();
    auto admin_db = db::Database::Open(*admin, 1);
    if (!admin_db.ok()) return admin_db.status();
    absl::Status st = (*admin_db)->Run([&](soci::session& s) {
      s << absl::StrCat("CREATE DATABASE ", name, " CHARACTER SET utf8mb4");
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    url = absl::StrCat(admin_url.substr(0, admin_url.rfind('/') + 1), name);
    f.drop = [admin_url, name] {
      auto a = db::DatabaseUrl::Parse(admin_url);
      auto d = db::Database::Open(*a, 1);
      if (d.ok()) {
        (void)(*d)->Run([&](soci::session& s) {
          s << "DROP DATABASE IF EXISTS " + name;
          return absl::OkStatus();
        });
      }
    };
  } else {
    const std::string dir = absl::StrCat(absl::GetFlag(FLAGS_sqlite_dir), "/aigw_bench_", getpid());
    url = absl::StrCat("sqlite3://", dir, "/aigw.db");
    f.drop = [dir] { std::filesystem::remove_all(dir); };
  }
  auto parsed = db::DatabaseUrl::Parse(url);
  if (!parsed.ok()) return parsed.status();
  auto opened = db::Database::Open(*parsed, 8);
  if (!opened.ok()) return opened.status();
  f.db = std::move(*opened);
  auto applied = db::ApplyMigrations(*f.db);
  if (!applied.ok()) return applied.status();
  std::printf("database: %s\n", parsed->display.c_str());
  for (absl::string_view index :
       absl::StrSplit(absl::GetFlag(FLAGS_drop_log_indexes), ',', absl::SkipEmpty())) {
    const bool my = parsed->backend == db::Backend::kMySql;
    absl::Status st = f.db->Run([&](soci::session& s) {
      s << (my ? absl::StrCat("ALTER TABLE t_ai_api_logs DROP INDEX ", index)
               : absl::StrCat("DROP INDEX ", index));
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    std::printf("dropped index %s\n", std::string(index).c_str());
  }
  if (parsed->backend == db::Backend::kMySql && absl::GetFlag(FLAGS_mysql_unpartitioned)) {
    absl::Status st = f.db->Run([](soci::session& s) {
      s << "ALTER TABLE t_ai_api_logs REMOVE PARTITIONING";
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    std::printf("log table not partitioned\n");
  }
  return f;
}

struct Server {
  std::unique_ptr<UsageServiceImpl> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

Server StartServer(db::Database* db, Clock* clock) {
  Server s;
  UsageStoreOptions so;
  so.max_batch_events = std::max(5000, absl::GetFlag(FLAGS_batch));
  auto store = UsageStore::Create(db, so, nullptr, clock);
  auto queries = UsageQueries::Create(db, {}, nullptr, clock);
  if (!store.ok() || !queries.ok()) {
    std::fprintf(stderr, "cannot create the service: %s %s\n",
                 std::string(store.status().message()).c_str(),
                 std::string(queries.status().message()).c_str());
    std::exit(1);
  }
  s.service = std::make_unique<UsageServiceImpl>(*std::move(store), *std::move(queries),
                                                 UsageServiceOptions{});
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &s.port);
  b.SetMaxReceiveMessageSize(64 << 20);
  b.RegisterService(s.service.get());
  s.server = b.BuildAndStart();
  return s;
}

std::unique_ptr<v1::UsageService::Stub> NewStub(int port, int index) {
  grpc::ChannelArguments args;
  args.SetInt("aigw.bench.channel", index);  // its own connection
  args.SetMaxSendMessageSize(64 << 20);
  return v1::UsageService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

// Gateway-like events as a live stream: request ids as --request_ids says,
// created_at rising with the stream (a few seconds of jitter, as from
// several gateways), 1-3 attempts, ~8% failures, 1000 users, 12 keys.
std::vector<v1::RecordCallsRequest> IngestBatches(int events, int batch, absl::Time now,
                                                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  const bool time_ordered_ids = absl::GetFlag(FLAGS_request_ids) != "random";
  const absl::Time start = now - absl::Milliseconds(events);  // ~1000 events/s of history
  std::vector<v1::RecordCallsRequest> out;
  v1::RecordCallsRequest cur;
  int made = 0;
  while (made < events) {
    const int attempts = rng() % 10 < 8 ? 1 : 2 + static_cast<int>(rng() % 2);
    const int p = static_cast<int>(rng() % 3);
    const absl::Time t =
        start + absl::Milliseconds(made) - absl::Milliseconds(static_cast<int64_t>(rng() % 5000));
    // The gateway's format (completion_call.cc NewRequestId): Unix ms, then
    // random bits.
    const std::string rid =
        time_ordered_ids
            ? absl::StrFormat("req_%012x%016x", absl::ToUnixMillis(t), rng())
            : absl::StrFormat("%016x%016x", rng(), rng());
    for (int a = 1; a <= attempts && made < events; ++a, ++made) {
      v1::CallEvent* e = cur.add_events();
      e->set_request_id(rid);
      e->set_attempt(a);
      e->set_provider_code(kProviders[p]);
      e->set_provider_id(p + 1);
      e->set_key_id(1 + p * 4 + static_cast<int64_t>(rng() % 4));
      e->set_model(kModels[p][rng() % 3]);
      e->mutable_caller()->set_user_id(absl::StrCat("user-", rng() % 1000));
      e->mutable_caller()->set_ip_address("10.1.2.3");
      e->mutable_caller()->set_user_agent("openai-python/1.30.1");
      const bool fail = a < attempts || rng() % 100 < 3;
      if (fail) {
        const int k = static_cast<int>(rng() % 5);
        e->set_outcome(kErrorOutcomes[k]);
        e->set_error_code(kErrorCodes[k]);
        e->set_error_message("upstream said no");
        e->set_http_status(500);
      } else {
        e->set_outcome(v1::SUCCESS);
        e->set_http_status(200);
        e->mutable_usage()->set_prompt_tokens(100 + rng() % 2000);
        e->mutable_usage()->set_completion_tokens(rng() % 800);
        e->mutable_usage()->set_total_tokens(e->usage().prompt_tokens() +
                                             e->usage().completion_tokens());
        e->set_cost_nanos(static_cast<int64_t>(rng() % 10000000));
      }
      e->set_latency_ms(100 + rng() % 3000);
      e->set_is_final(a == attempts);
      ToProtoTimestamp(t + absl::Seconds(a), e->mutable_created_at());
      if (cur.events_size() == batch) {
        out.push_back(std::move(cur));
        cur.Clear();
      }
    }
  }
  if (cur.events_size() > 0) out.push_back(std::move(cur));
  return out;
}

void SendAll(const std::vector<v1::RecordCallsRequest>& batches, int port, int clients,
             const char* label) {
  std::vector<std::unique_ptr<v1::UsageService::Stub>> stubs;
  for (int i = 0; i < clients; ++i) stubs.push_back(NewStub(port, i));
  std::atomic<size_t> next{0};
  std::atomic<int64_t> accepted{0}, duplicates{0};
  std::vector<std::vector<double>> lat(clients);
  // CPU time of this process (clients, gRPC, the service; not a MySQL
  // server): steady where wall time swings with other load on the machine.
  auto cpu_seconds = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  const double cpu_start = cpu_seconds();
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      while (true) {
        const size_t i = next.fetch_add(1);
        if (i >= batches.size()) return;
        grpc::ClientContext ctx;
        v1::RecordCallsResponse resp;
        const absl::Time t0 = absl::Now();
        grpc::Status st = stubs[c]->RecordCalls(&ctx, batches[i], &resp);
        lat[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!st.ok()) {
          std::fprintf(stderr, "RecordCalls failed: %s\n", st.error_message().c_str());
          std::exit(1);
        }
        accepted += resp.accepted();
        duplicates += resp.duplicates();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = cpu_seconds() - cpu_start;
  std::vector<double> all;
  int64_t events = 0;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  for (const auto& b : batches) events += b.events_size();
  std::printf(
      "%-22s %9lld events in %6.2f s = %8.0f events/s  (accepted %lld, duplicates %lld; "
      "batch p50 %.1f ms, p99 %.1f ms; process CPU %.1f us/event)\n",
      label, static_cast<long long>(events), secs, events / secs,
      static_cast<long long>(accepted.load()), static_cast<long long>(duplicates.load()),
      Percentile(all, 0.5), Percentile(all, 0.99), cpu * 1e6 / static_cast<double>(events));
}

void RunIngest() {
  // Into a fresh database, or (--existing_db_url) one already holding a
  // large log, to see the steady-state cost of inserting into big indexes.
  std::unique_ptr<db::Database> existing;
  absl::StatusOr<Fresh> fresh = Fresh{};
  db::Database* db = nullptr;
  if (!absl::GetFlag(FLAGS_existing_db_url).empty()) {
    auto url = db::DatabaseUrl::Parse(absl::GetFlag(FLAGS_existing_db_url));
    auto opened = url.ok() ? db::Database::Open(*url, 8)
                           : absl::StatusOr<std::unique_ptr<db::Database>>(url.status());
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", std::string(opened.status().message()).c_str());
      std::exit(1);
    }
    existing = std::move(*opened);
    db = existing.get();
    std::printf("existing database %s\n", url->display.c_str());
  } else {
    fresh = CreateDatabase();
    if (!fresh.ok()) {
      std::fprintf(stderr, "%s\n", std::string(fresh.status().message()).c_str());
      std::exit(1);
    }
    db = fresh->db.get();
  }
  ManualClock clock(absl::Now());
  Server server = StartServer(db, &clock);
  const int batch = absl::GetFlag(FLAGS_batch);
  const int clients = absl::GetFlag(FLAGS_clients);
  // A seed of its own per run, so that runs on an existing database are new.
  auto batches = IngestBatches(absl::GetFlag(FLAGS_ingest_events), batch, clock.Now(),
                               static_cast<uint64_t>(absl::ToUnixNanos(clock.Now())));
  std::printf("ingest: %zu batches of %d events, %d clients\n", batches.size(), batch, clients);
  // Warm up the connections and the database with a separate small run.
  SendAll(IngestBatches(2 * batch, batch, clock.Now() - absl::Hours(72),
                        static_cast<uint64_t>(absl::ToUnixNanos(clock.Now())) + 1),
          server.port, 1, "warm-up");
  SendAll(batches, server.port, clients, "new events");
  SendAll(batches, server.port, clients, "same again (dups)");
  server.server->Shutdown();
  if (existing == nullptr && !absl::GetFlag(FLAGS_keep)) fresh->drop();
}

// Appends bulk log rows (and their stats) in time order over [from, to).
class BulkLoader {
 public:
  BulkLoader(db::Database* db, SqlQuoter quoter) : db_(db), quoter_(quoter) {}

  void Load(int64_t rows, absl::Time from, absl::Time to) {
    std::mt19937_64 rng(1000 + loaded_);
    const absl::Duration step = (to - from) / static_cast<double>(rows);
    const int per_statement = 1000;
    const int statements_per_tx = 20;
    StatsAccumulator acc;
    const absl::Time start = absl::Now();
    int64_t done = 0;
    while (done < rows) {
      std::vector<std::string> stmts;
      for (int k = 0; k < statements_per_tx && done < rows; ++k) {
        std::string sql = absl::StrCat(db_->dialect().InsertIgnore(), " INTO t_ai_api_logs (",
                                       LogInsertColumns(), ") VALUES ");
        for (int i = 0; i < per_statement && done < rows; ++i, ++done) {
          LogRow r = Row(rng, from + step * static_cast<double>(done));
          acc.Add(r);
          if (i > 0) sql.push_back(',');
          AppendLogValues(r, quoter_, &sql);
        }
        stmts.push_back(std::move(sql));
      }
      absl::Status st = db_->InTransaction([&](soci::session& s) {
        for (const auto& sql : stmts) s << sql;
        return absl::OkStatus();
      });
      if (!st.ok()) {
        std::fprintf(stderr, "bulk load: %s\n", std::string(st.message()).c_str());
        std::exit(1);
      }
      if (done % 1000000 == 0) {
        std::printf("  loaded %lld rows (%.0f rows/s)\n", static_cast<long long>(loaded_ + done),
                    done / absl::ToDoubleSeconds(absl::Now() - start));
        std::fflush(stdout);
      }
    }
    absl::Status st = db_->InTransaction([&](soci::session& s) {
      for (const auto& sql :
           acc.UpsertStatements(db_->dialect(), quoter_, FormatDbTime(absl::Now()), 500)) {
        s << sql;
      }
      return absl::OkStatus();
    });
    if (!st.ok()) {
      std::fprintf(stderr, "stats: %s\n", std::string(st.message()).c_str());
      std::exit(1);
    }
    loaded_ += rows;
    std::printf("  bulk load: %lld rows in %.0f s\n", static_cast<long long>(rows),
                absl::ToDoubleSeconds(absl::Now() - start));
  }

 private:
  LogRow Row(std::mt19937_64& rng, absl::Time t) {
    LogRow r;
    r.request_id = absl::StrFormat("bulk-%013d", loaded_ + seq_++);
    r.attempt = 1;
    const int p = static_cast<int>(rng() % 3);
    r.provider_id = p + 1;
    r.provider_code = kProviders[p];
    r.key_id = 1 + p * 4 + static_cast<int64_t>(rng() % 4);
    r.model = kModels[p][rng() % 3];
    r.user_id = absl::StrCat("user-", rng() % 1000);
    r.ip_address = "10.1.2.3";
    r.user_agent = "openai-python/1.30.1";
    r.success = rng() % 100 >= 8;
    if (!r.success) {
      r.error_code = kErrorCodes[rng() % 5];
      r.error_message = "upstream said no";
      r.http_status = 500;
    } else {
      r.http_status = 200;
      r.prompt_tokens = 100 + rng() % 2000;
      r.completion_tokens = rng() % 800;
      r.total_tokens = r.prompt_tokens + r.completion_tokens;
      r.cost_nanos = static_cast<int64_t>(rng() % 10000000);
    }
    r.latency_ms = 100 + rng() % 3000;
    r.is_final = true;
    r.created_at = TruncateToMillis(t);
    r.stat_date = absl::ToCivilDay(r.created_at, absl::UTCTimeZone());
    return r;
  }

  db::Database* db_;
  SqlQuoter quoter_;
  int64_t loaded_ = 0;
  int64_t seq_ = 0;
};

// The first call is reported on its own: QueryLogs counts its total there
// (later calls with the same filters reuse the count).
template <typename Fn>
void Time(const char* label, int reps, Fn fn) {
  const absl::Time first_start = absl::Now();
  fn();
  const double first = absl::ToDoubleMilliseconds(absl::Now() - first_start);
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const absl::Time t0 = absl::Now();
    fn();
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  std::printf("  %-38s first %8.2f ms   p50 %8.2f ms   p95 %8.2f ms   max %8.2f ms\n", label, first,
              Percentile(ms, 0.5), Percentile(ms, 0.95), *std::max_element(ms.begin(), ms.end()));
  std::fflush(stdout);
}

void Check(const grpc::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, st.error_message().c_str());
    std::exit(1);
  }
}

void TimeQueries(db::Database* db, v1::UsageService::Stub* stub, absl::Time now, int64_t have,
                 int reps) {
  long long stats_rows = 0;
  (void)db->Run([&](soci::session& s) {
    if (db->backend() == db::Backend::kMySql) s << "ANALYZE TABLE t_ai_api_logs, t_ai_usage_stats";
    s << "SELECT COUNT(*) FROM t_ai_usage_stats", soci::into(stats_rows);
    return absl::OkStatus();
  });
  std::printf("%lld log rows, %lld stats rows, %d reps per query (over gRPC)\n",
              static_cast<long long>(have), stats_rows, reps);
  auto call = [&](auto method, const auto& req, auto* resp, const char* what) {
    grpc::ClientContext ctx;
    Check((stub->*method)(&ctx, req, resp), what);
  };
  for (int d : {7, 30, 90}) {
    v1::GetDashboardRequest req;
    req.set_days(d);
    v1::GetDashboardResponse resp;
    Time(absl::StrCat("GetDashboard days=", d).c_str(), reps,
         [&] { call(&v1::UsageService::Stub::GetDashboard, req, &resp, "GetDashboard"); });
  }
  const char* names[] = {"", "day", "provider", "model", "key"};
  for (int g = 1; g <= 4; ++g) {
    v1::GetUsageRequest req;
    req.set_start_date(FormatDate(absl::ToCivilDay(now, absl::UTCTimeZone()) - 29));
    req.set_end_date(FormatDate(absl::ToCivilDay(now, absl::UTCTimeZone())));
    req.set_group_by(static_cast<v1::GetUsageRequest::GroupBy>(g));
    v1::GetUsageResponse resp;
    Time(absl::StrCat("GetUsage 30 days by ", names[g]).c_str(), reps,
         [&] { call(&v1::UsageService::Stub::GetUsage, req, &resp, "GetUsage"); });
  }
  {
    v1::GetTrendRequest req;
    req.set_days(30);
    v1::GetTrendResponse resp;
    Time("GetTrend days=30", reps,
         [&] { call(&v1::UsageService::Stub::GetTrend, req, &resp, "GetTrend"); });
  }
  {
    v1::QueryLogsRequest req;
    req.set_page_size(50);
    v1::QueryLogsResponse resp;
    Time("QueryLogs page 1 (no filter)", std::min(reps, 5),
         [&] { call(&v1::UsageService::Stub::QueryLogs, req, &resp, "QueryLogs"); });
    req.set_page(200);
    Time("QueryLogs page 200 (no filter)", std::min(reps, 5),
         [&] { call(&v1::UsageService::Stub::QueryLogs, req, &resp, "QueryLogs"); });
    req.set_page(1);
    req.set_status("error");
    req.set_provider_code("anthropic");
    Time("QueryLogs page 1 (error, anthropic)", std::min(reps, 5),
         [&] { call(&v1::UsageService::Stub::QueryLogs, req, &resp, "QueryLogs"); });
    req.Clear();
    req.set_page_size(50);
    ToProtoTimestamp(now - absl::Hours(1), req.mutable_start_time());
    ToProtoTimestamp(now, req.mutable_end_time());
    Time("QueryLogs page 1 (last hour)", reps,
         [&] { call(&v1::UsageService::Stub::QueryLogs, req, &resp, "QueryLogs"); });
  }
}

// Times the queries on a database loaded earlier (--keep), without loading.
void RunQueriesOnExisting(const std::string& url_text) {
  auto url = db::DatabaseUrl::Parse(url_text);
  if (!url.ok()) {
    std::fprintf(stderr, "%s\n", std::string(url.status().message()).c_str());
    std::exit(1);
  }
  auto opened = db::Database::Open(*url, 8);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", std::string(opened.status().message()).c_str());
    std::exit(1);
  }
  db::Database* db = opened->get();
  long long rows = 0;
  std::string newest;
  (void)db->Run([&](soci::session& s) {
    s << "SELECT COUNT(*) FROM t_ai_api_logs", soci::into(rows);
    s << (db->backend() == db::Backend::kMySql
              ? "SELECT CAST(MAX(created_at) AS CHAR) FROM t_ai_api_logs"
              : "SELECT MAX(created_at) FROM t_ai_api_logs"),
        soci::into(newest);
    return absl::OkStatus();
  });
  absl::StatusOr<absl::Time> end = ParseDbTime(newest);
  // "Now" is the end of the loaded range, as when it was loaded.
  ManualClock clock(end.ok() ? *end : absl::Now());
  Server server = StartServer(db, &clock);
  auto stub = NewStub(server.port, 0);
  std::printf("existing database %s\n", url->display.c_str());
  TimeQueries(db, stub.get(), clock.Now(), rows, absl::GetFlag(FLAGS_reps));
  server.server->Shutdown();
}

void RunQueries() {
  if (!absl::GetFlag(FLAGS_existing_db_url).empty()) {
    RunQueriesOnExisting(absl::GetFlag(FLAGS_existing_db_url));
    return;
  }
  auto fresh = CreateDatabase();
  if (!fresh.ok()) {
    std::fprintf(stderr, "%s\n", std::string(fresh.status().message()).c_str());
    std::exit(1);
  }
  db::Database* db = fresh->db.get();
  const int days = absl::GetFlag(FLAGS_days);
  const absl::Time now = absl::Now();
  const absl::Time from = now - absl::Hours(24) * days;
  ManualClock clock(now);
  if (db->backend() == db::Backend::kMySql) {
    // Monthly partitions over the whole range, as retention keeps them.
    ManualClock at_start(from);
    RetentionOptions ro;
    ro.retention_days = 0;
    ro.partition_months_ahead = days / 28 + 2;
    auto r = LogRetention(db, ro, nullptr, &at_start).RunOnce();
    if (!r.ok()) {
      std::fprintf(stderr, "partitions: %s\n", std::string(r.status().message()).c_str());
      std::exit(1);
    }
    std::printf("partitions created: %d\n", r->created_partitions);
  }
  auto quoter = SqlQuoter::ForDatabase(*db);
  BulkLoader loader(db, *quoter);
  Server server = StartServer(db, &clock);
  auto stub = NewStub(server.port, 0);
  const int reps = absl::GetFlag(FLAGS_reps);
  int64_t have = 0;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_log_rows), ',')) {
    int64_t target = 0;
    if (!absl::SimpleAtoi(part, &target) || target <= have) continue;
    std::printf("loading the log up to %lld rows over %d days\n", static_cast<long long>(target),
                days);
    loader.Load(target - have, from, now);
    have = target;
    TimeQueries(db, stub.get(), now, have, reps);
  }
  server.server->Shutdown();
  if (!absl::GetFlag(FLAGS_keep)) fresh->drop();
}

}  // namespace
}  // namespace aigw::usage

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  std::printf("usage_bench backend=%s cores=%u\n", absl::GetFlag(FLAGS_backend).c_str(),
              std::thread::hardware_concurrency());
  if (mode.find("ingest") != std::string::npos) aigw::usage::RunIngest();
  if (mode.find("queries") != std::string::npos) aigw::usage::RunQueries();
  return 0;
}
