#ifndef AIGW_LIBS_DB_DATABASE_H_
#define AIGW_LIBS_DB_DATABASE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/db/database_url.h"
#include "libs/db/dialect.h"

namespace soci {
class connection_pool;
class session;
}  // namespace soci

namespace aigw::db {

// Why a database call failed, as callers' metrics count it.
enum class DbErrorKind {
  // The server is unreachable or the connection was lost (UNAVAILABLE).
  kConnection,
  // A lock held by another writer outlasted the wait: SQLite's "database is
  // locked", MySQL's lock wait timeout or deadlock (UNAVAILABLE; the
  // database is fine, nothing reconnects).
  kBusy,
  // Anything else: the statement itself failed (INTERNAL).
  kQuery,
};
// "connection", "busy", "query".
absl::string_view DbErrorKindName(DbErrorKind kind);

// Told what happens to the pool's connections, for metrics, readiness and
// logs. Called from the thread that saw it, never while the pool's state is
// locked (availability reports are serialised with one another).
class DatabaseObserver {
 public:
  virtual ~DatabaseObserver() = default;
  // The database became reachable again (`up`) or unreachable; `cause` is
  // the error that showed it. Always the current state: two changes seen by
  // two threads are reported in an order that ends on the true one.
  virtual void OnAvailability(bool up, absl::string_view cause) = 0;
  // A call failed.
  virtual void OnError(DbErrorKind kind) = 0;
  // A lost session was opened again (`ok`), or the attempt failed.
  virtual void OnReconnect(bool ok) = 0;
};

struct DatabaseOptions {
  // Sessions (connections) in the pool. SQLite in memory always has one.
  int pool_size = 4;
  // MySQL: after a failed reconnect the next attempt waits this long, twice
  // as long after each further failure, up to `reconnect_max_backoff`
  // (each wait shortened by up to 20% at random, so many processes do not
  // knock in step). One attempt at a time per pool; calls that find the
  // database down meanwhile fail at once with UNAVAILABLE. A short bound
  // costs little (one connection attempt per pool per bound) and brings a
  // service back within it once the server is.
  absl::Duration reconnect_initial_backoff = absl::Milliseconds(100);
  absl::Duration reconnect_max_backoff = absl::Seconds(2);
  // MySQL: a session unused this long is pinged before it is used (servers
  // close idle connections after wait_timeout).
  absl::Duration idle_check_after = absl::Seconds(60);
  // Decides when the next reconnect may be tried; tests move it by hand.
  Clock* clock = Clock::Real();
};

// A pool of soci sessions on one database. Thread-safe. soci throws; this
// class is where those exceptions become absl::Status, so no caller sees one.
//
// Outages heal by themselves (MySQL): a session whose connection is lost
// (client errors 2002/2003/2006/2013..., "Session is not connected", a
// failed ping) is marked lost and opened again before its next use, with
// bounded backoff while the server stays away. After one session saw a loss
// every other one is pinged before its next use, so a server restart costs
// only the calls that were running at that moment. Errors of a lost or
// unreachable database are UNAVAILABLE with a message saying so; genuine SQL
// errors stay INTERNAL.
class Database {
 public:
  // Opens every session (SQLite in WAL mode with a busy timeout). The error
  // is one line naming the database and the cause.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const DatabaseUrl& url,
                                                        DatabaseOptions options);
  static absl::StatusOr<std::unique_ptr<Database>> Open(const DatabaseUrl& url, int pool_size = 4);
  ~Database();

  Backend backend() const { return url_.backend; }
  const Dialect& dialect() const { return *dialect_; }
  const DatabaseUrl& url() const { return url_; }

  // Runs `fn` on a pooled session. soci errors become kUnavailable (lost or
  // unreachable database, lock wait outlasted) or kInternal, with the
  // message on one line. A status `fn` returns passes through, except an
  // INTERNAL/UNKNOWN one on a session whose connection turns out lost: that
  // becomes UNAVAILABLE.
  absl::Status Run(const std::function<absl::Status(soci::session&)>& fn);
  // The same inside one transaction: committed when `fn` returns OK, rolled
  // back otherwise.
  absl::Status InTransaction(const std::function<absl::Status(soci::session&)>& fn);

  // A trivial query, to learn whether the database answers (and to reconnect
  // a lost session when the backoff allows). Waits at most `lease_wait` for
  // a free session; when every session is busy the database is taken to be
  // working and OK is returned.
  absl::Status Ping(absl::Duration lease_wait = absl::Seconds(1));

  // False from a failed reconnect until a session works again.
  bool available() const { return available_.load(std::memory_order_acquire); }

  // Set before the pool is shared between threads; not owned; may be null.
  void set_observer(DatabaseObserver* observer) { observer_ = observer; }

 private:
  struct Session;
  Database(DatabaseUrl url, DatabaseOptions options);

  absl::Status RunOn(size_t pos, const std::function<absl::Status(soci::session&)>& fn);
  // Opens (or reopens) the connection of `s` and prepares the session.
  void Connect(soci::session& s, bool reopen);
  // Before a call: pings a session that may have lost its connection and
  // reconnects a lost one. Not OK (UNAVAILABLE) when it stays lost.
  absl::Status MakeUsable(soci::session& s, Session& state);
  absl::Status Reconnect(soci::session& s, Session& state);
  // Records an error of kind `kind` seen on a session; returns the status
  // the caller answers.
  absl::Status Failed(soci::session& s, Session& state, DbErrorKind kind,
                      absl::string_view message);
  void MarkDown(absl::string_view cause);
  void MarkUp();
  void NotifyAvailability(absl::string_view cause);
  std::string DownMessage(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  DatabaseUrl url_;
  DatabaseOptions options_;
  std::unique_ptr<soci::connection_pool> pool_;
  std::unique_ptr<Dialect> dialect_;
  // By pool position; each is touched only by the holder of that session.
  std::vector<Session> sessions_;
  DatabaseObserver* observer_ = nullptr;

  // Bumped whenever a session finds its connection lost: sessions that have
  // not been checked since are pinged before their next use.
  std::atomic<uint64_t> loss_generation_{0};
  std::atomic<bool> available_{true};
  absl::Mutex mu_;
  // While down: when the next reconnect may be tried, and the wait after it.
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_);
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  absl::Time down_since_ ABSL_GUARDED_BY(mu_);
  std::string last_cause_ ABSL_GUARDED_BY(mu_);
  absl::BitGen jitter_ ABSL_GUARDED_BY(mu_);
  // Serialises availability reports so the last one is the current state.
  absl::Mutex notify_mu_;
};

// soci's error text flattened to one line.
std::string OneLine(absl::string_view text);

}  // namespace aigw::db

#endif  // AIGW_LIBS_DB_DATABASE_H_
