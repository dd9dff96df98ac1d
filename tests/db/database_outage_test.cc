// The database goes away and comes back: the pool heals by itself, answers
// UNAVAILABLE meanwhile (never INTERNAL), reconnects with bounded backoff and
// keeps genuine SQL errors INTERNAL. Over a private mariadbd that these
// tests stop, kill and start (one server for the binary), and SQLite for the
// busy case.

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/db/database.h"
#include "soci/soci.h"
#include "tests/testing/private_mariadb.h"
#include "tests/testing/test_database.h"

namespace aigw::db {
namespace {

using ::aigw::testing::PrivateMariaDb;

class RecordingObserver : public DatabaseObserver {
 public:
  void OnAvailability(bool up, absl::string_view cause) override {
    (up ? ups : downs)++;
    last_up = up;
  }
  void OnError(DbErrorKind kind) override { errors[static_cast<int>(kind)]++; }
  void OnReconnect(bool ok) override { (ok ? reconnects_ok : reconnects_failed)++; }

  int connection_errors() const { return errors[static_cast<int>(DbErrorKind::kConnection)]; }
  int query_errors() const { return errors[static_cast<int>(DbErrorKind::kQuery)]; }

  std::atomic<int> ups{0}, downs{0}, reconnects_ok{0}, reconnects_failed{0};
  std::atomic<int> errors[3] = {0, 0, 0};
  std::atomic<bool> last_up{true};
};

absl::Status Exec(Database& db, const std::string& sql) {
  return db.Run([&](soci::session& s) {
    s << sql;
    return absl::OkStatus();
  });
}

absl::StatusOr<long long> Count(Database& db, const std::string& table) {
  long long n = -1;
  absl::Status st = db.Run([&](soci::session& s) {
    s << "SELECT COUNT(*) FROM " + table, soci::into(n);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return n;
}

// Runs a query on every session of the pool at once (each Run holds its
// session while the next one leases another).
absl::Status OnEverySession(Database& db, int sessions) {
  if (sessions == 0) return absl::OkStatus();
  return db.Run([&](soci::session& s) -> absl::Status {
    int one = 0;
    s << "SELECT 1", soci::into(one);
    if (one != 1) return absl::InternalError("SELECT 1 gave something else");
    return OnEverySession(db, sessions - 1);
  });
}

class DatabaseOutageTest : public ::testing::Test {
 protected:
  static constexpr int kPoolSize = 3;
  static constexpr absl::Duration kInitialBackoff = absl::Milliseconds(100);
  static constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

  void SetUp() override {
    server_ = PrivateMariaDb::Shared();
    ASSERT_NE(server_, nullptr) << "the private MariaDB did not start";
    if (!server_->running()) {
      ASSERT_TRUE(server_->Restart().ok());
    }
    static int n = 0;
    const std::string name = absl::StrCat("outage_", ++n);
    ASSERT_TRUE(server_->CreateDatabase(name).ok());
    absl::StatusOr<DatabaseUrl> url = DatabaseUrl::Parse(server_->Url(name));
    ASSERT_TRUE(url.ok()) << url.status();
    DatabaseOptions options;
    options.pool_size = kPoolSize;
    options.reconnect_initial_backoff = kInitialBackoff;
    options.reconnect_max_backoff = kMaxBackoff;
    options.clock = &clock_;
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(*url, options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    db_->set_observer(&observer_);
    ASSERT_TRUE(Exec(*db_, "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB").ok());
  }

  void TearDown() override {
    if (server_ != nullptr && !server_->running()) {
      EXPECT_TRUE(server_->Restart().ok());
    }
  }

  PrivateMariaDb* server_ = nullptr;
  ManualClock clock_;
  RecordingObserver observer_;
  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseOutageTest, StoppedServerIsUnavailableAndTheSamePoolWorksAfterItIsBack) {
  ASSERT_TRUE(Exec(*db_, "INSERT INTO t VALUES (1)").ok());

  ASSERT_TRUE(server_->Stop().ok());
  // The call that finds the connection gone, then every call after it.
  for (int i = 0; i < 5; ++i) {
    absl::Status st = Exec(*db_, "INSERT INTO t VALUES (2)");
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << i << ": " << st;
    EXPECT_TRUE(absl::StartsWith(st.message(), "database ")) << st;
    EXPECT_FALSE(absl::StrContains(st.message(), "Session is not connected")) << st;
  }
  EXPECT_FALSE(db_->available());
  EXPECT_EQ(observer_.downs, 1);
  EXPECT_FALSE(observer_.last_up);
  EXPECT_GE(observer_.connection_errors(), 5);
  EXPECT_EQ(observer_.query_errors(), 0);
  // Once down, the message says so and when the next attempt is.
  absl::Status down = Exec(*db_, "SELECT 1");
  EXPECT_TRUE(absl::StrContains(down.message(), "database unavailable for")) << down;
  EXPECT_TRUE(absl::StrContains(down.message(), "next attempt in")) << down;

  ASSERT_TRUE(server_->Restart().ok());
  // Back, but the backoff is not over: no attempt yet, still UNAVAILABLE.
  const int attempts = observer_.reconnects_failed + observer_.reconnects_ok;
  EXPECT_EQ(Exec(*db_, "SELECT 1").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(observer_.reconnects_failed + observer_.reconnects_ok, attempts);

  clock_.Advance(kMaxBackoff);
  absl::StatusOr<long long> rows = Count(*db_, "t");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 1);
  EXPECT_TRUE(db_->available());
  EXPECT_TRUE(observer_.last_up);
  EXPECT_EQ(observer_.ups, 1);
  // Every session of the pool works again, with no reopening of the pool.
  EXPECT_TRUE(OnEverySession(*db_, kPoolSize).ok());
  EXPECT_TRUE(Exec(*db_, "INSERT INTO t VALUES (2)").ok());
  EXPECT_EQ(*Count(*db_, "t"), 2);
}

TEST_F(DatabaseOutageTest, ReconnectBackoffDoublesUpToItsBoundOneAttemptAtATime) {
  ASSERT_TRUE(server_->Stop().ok());
  EXPECT_EQ(Exec(*db_, "SELECT 1").code(), absl::StatusCode::kUnavailable);
  ASSERT_FALSE(db_->available());
  int failed = observer_.reconnects_failed;
  ASSERT_EQ(failed, 1);  // tried once at once, then down

  // Each wait is the backoff shortened by at most 20%: before 75% of it no
  // call attempts a reconnect, after all of it the next call does.
  absl::Duration backoff = kInitialBackoff;
  for (int round = 0; round < 7; ++round) {
    clock_.Advance(backoff * 0.75);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(Exec(*db_, "SELECT 1").code(), absl::StatusCode::kUnavailable);
    }
    EXPECT_EQ(observer_.reconnects_failed, failed) << "round " << round;
    clock_.Advance(backoff * 0.25);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(Exec(*db_, "SELECT 1").code(), absl::StatusCode::kUnavailable);
    }
    EXPECT_EQ(observer_.reconnects_failed, failed + 1) << "round " << round;
    failed = observer_.reconnects_failed;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  EXPECT_EQ(backoff, kMaxBackoff);
  EXPECT_EQ(observer_.reconnects_ok, 0);
  EXPECT_EQ(observer_.downs, 1);
}

TEST_F(DatabaseOutageTest, QuickRestartCostsOnlyTheCallThatFoundItAndNeverMarksTheDatabaseDown) {
  ASSERT_TRUE(OnEverySession(*db_, kPoolSize).ok());
  ASSERT_TRUE(server_->Stop().ok());
  ASSERT_TRUE(server_->Restart().ok());

  // The first call finds its connection dead: UNAVAILABLE, and the session
  // is opened again at once. The other sessions are checked before their
  // next use, so no further call fails.
  absl::Status first = Exec(*db_, "SELECT 1");
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_TRUE(absl::StrContains(first.message(), "connection lost")) << first;
  EXPECT_TRUE(OnEverySession(*db_, kPoolSize).ok());
  EXPECT_TRUE(Exec(*db_, "INSERT INTO t VALUES (7)").ok());
  EXPECT_TRUE(db_->available());
  EXPECT_EQ(observer_.downs, 0);
  EXPECT_EQ(observer_.reconnects_failed, 0);
  EXPECT_EQ(observer_.reconnects_ok, kPoolSize);
}

TEST_F(DatabaseOutageTest, KilledServerKeepsCommittedRowsAndThePoolHeals) {
  ASSERT_TRUE(db_->InTransaction([](soci::session& s) {
                   for (int i = 1; i <= 50; ++i) s << "INSERT INTO t VALUES (" << i << ")";
                   return absl::OkStatus();
                 })
                  .ok());
  ASSERT_TRUE(server_->Kill().ok());
  absl::Status st = db_->InTransaction([](soci::session& s) {
    s << "INSERT INTO t VALUES (51)";
    return absl::OkStatus();
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;

  ASSERT_TRUE(server_->Restart().ok());  // with InnoDB crash recovery
  clock_.Advance(kMaxBackoff);
  absl::StatusOr<long long> rows = Count(*db_, "t");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 50);
  EXPECT_TRUE(OnEverySession(*db_, kPoolSize).ok());
}

TEST_F(DatabaseOutageTest, GenuineSqlErrorsStayInternalAndLeaveTheConnectionAlone) {
  absl::Status st = Exec(*db_, "SELECT * FROM no_such_table");
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "no_such_table")) << st;
  st = Exec(*db_, "INSERT INTO t VALUES (1), (1)");
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << st;
  EXPECT_TRUE(db_->available());
  EXPECT_EQ(observer_.query_errors(), 2);
  EXPECT_EQ(observer_.connection_errors(), 0);
  EXPECT_EQ(observer_.reconnects_ok + observer_.reconnects_failed, 0);
  EXPECT_TRUE(Exec(*db_, "INSERT INTO t VALUES (1)").ok());
}

TEST_F(DatabaseOutageTest, PingFindsTheOutageAndTheRecoveryWithoutOtherCalls) {
  EXPECT_TRUE(db_->Ping().ok());
  ASSERT_TRUE(server_->Stop().ok());
  EXPECT_EQ(db_->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(db_->available());
  ASSERT_TRUE(server_->Restart().ok());
  clock_.Advance(kMaxBackoff);
  EXPECT_TRUE(db_->Ping().ok());
  EXPECT_TRUE(db_->available());
  EXPECT_TRUE(observer_.last_up);
}

// The fixture's promise to tests that kill the server: a SIGKILL at any
// moment, even the first one on a new data directory, keeps what was
// committed. (A server's first InnoDB files are not on disk until a
// checkpoint; Start() makes sure they are.)
TEST(PrivateMariaDbTest, KillRightAfterStartKeepsCommittedRows) {
  absl::StatusOr<std::unique_ptr<PrivateMariaDb>> server = PrivateMariaDb::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->CreateDatabase("fresh").ok());
  absl::StatusOr<DatabaseUrl> url = DatabaseUrl::Parse((*server)->Url("fresh"));
  ASSERT_TRUE(url.ok());
  {
    auto db = Database::Open(*url, 1);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(Exec(**db, "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB").ok());
    ASSERT_TRUE(Exec(**db, "INSERT INTO t VALUES (1), (2), (3)").ok());
  }
  ASSERT_TRUE((*server)->Kill().ok());
  EXPECT_FALSE((*server)->running());
  absl::Status restarted = (*server)->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  auto db = Database::Open(*url, 1);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<long long> rows = Count(**db, "t");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, 3);
}

// SQLite: a writer that waits out the busy timeout gets UNAVAILABLE (retry),
// but a lock is no outage: nothing is marked down or reopened.
TEST(SqliteBusyTest, LockHeldTooLongIsUnavailableButNotAnOutage) {
  auto tdb = testing::TestDatabase::Create(Backend::kSqlite, /*migrate=*/false);
  ASSERT_TRUE(tdb.ok()) << tdb.status();
  absl::StatusOr<DatabaseUrl> url = DatabaseUrl::Parse((*tdb)->url());
  ASSERT_TRUE(url.ok());
  // The shortest busy timeout SQLite's soci backend takes (seconds).
  url->connect_string = absl::StrReplaceAll(url->connect_string, {{"timeout=30", "timeout=1"}});
  auto holder = Database::Open(*url, 1);
  auto writer = Database::Open(*url, 1);
  ASSERT_TRUE(holder.ok() && writer.ok());
  RecordingObserver observer;
  (*writer)->set_observer(&observer);
  ASSERT_TRUE(Exec(**writer, "CREATE TABLE t (id INTEGER PRIMARY KEY)").ok());

  absl::Status busy;
  ASSERT_TRUE((*holder)
                  ->InTransaction([&](soci::session& s) {
                    s << "INSERT INTO t VALUES (1)";
                    busy = Exec(**writer, "INSERT INTO t VALUES (2)");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_TRUE(absl::StrContains(busy.message(), "database busy")) << busy;
  EXPECT_TRUE((*writer)->available());
  EXPECT_EQ(observer.errors[static_cast<int>(DbErrorKind::kBusy)], 1);
  EXPECT_EQ(observer.downs, 0);
  EXPECT_EQ(observer.reconnects_ok + observer.reconnects_failed, 0);
  EXPECT_TRUE(Exec(**writer, "INSERT INTO t VALUES (2)").ok());
  EXPECT_EQ(*Count(**writer, "t"), 2);
}

}  // namespace
}  // namespace aigw::db
