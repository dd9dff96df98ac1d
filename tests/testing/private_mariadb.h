#ifndef AIGW_TESTS_TESTING_PRIVATE_MARIADB_H_
#define AIGW_TESTS_TESTING_PRIVATE_MARIADB_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"

namespace aigw::testing {

// A MariaDB server of the test's own, for tests that stop, kill or restart
// the database. The shared server on 127.0.0.1:3306 is never to be stopped;
// this one is.
//
// What it is: `mariadbd` (Debian's /usr/sbin/mariadbd, or $AIGW_TEST_MARIADBD)
// on an empty data directory in a new temporary directory, listening on
// 127.0.0.1 at a free port (PickFreePort) and on its own Unix socket, with
// its own pid file and error log. It runs with --skip-grant-tables, so any
// user name and password are accepted (Url() uses "root" and none) and no
// mariadb-install-db is needed: Start() costs ~0.7 s (a first start, a clean
// shutdown that puts the new InnoDB files on disk, a second start), not ~3 s.
// InnoDB keeps its defaults for durability (a committed transaction survives
// Kill(), at any moment), with a small buffer pool and redo log.
//
// Its life: Start() makes the data directory and starts the server; Stop()
// shuts it down cleanly (SIGTERM); Kill() ends it at once (SIGKILL, a crash:
// InnoDB recovers at the next start); Restart() starts it again on the same
// port, socket and data, so clients' URLs stay valid. The destructor kills a
// running server and removes the temporary directory. The server also dies
// with the thread that started it (see Subprocess), so a crashed test leaves
// nothing behind.
//
// Startup cost is paid once per test binary with Shared(); register such a
// binary with add_test (one process) rather than gtest_discover_tests (one
// process, hence one server, per test).
//
// Not thread-safe: one test thread drives it.
class PrivateMariaDb {
 public:
  struct Options {
    // Added to the server's command line (e.g. "--max-connections=50").
    std::vector<std::string> extra_args;
    // How long a start or a clean stop may take.
    absl::Duration timeout = absl::Seconds(30);
  };

  static absl::StatusOr<std::unique_ptr<PrivateMariaDb>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<PrivateMariaDb>> Start() { return Start(Options()); }
  // One server for the whole test binary, started on first use and killed
  // when the process exits. A test that stops or kills it must Restart() it
  // before it ends. Null when it could not start (the error is logged).
  static PrivateMariaDb* Shared();
  ~PrivateMariaDb();

  int port() const { return port_; }
  const std::string& socket_path() const { return socket_; }
  const std::string& data_dir() const { return data_dir_; }
  // The server's error log (startup, shutdown and crash recovery messages).
  std::string ErrorLog() const;

  // mysql://root@127.0.0.1:<port>/<database>, as services take --db_url.
  std::string Url(const std::string& database) const;
  // Creates the database (utf8mb4) if it does not exist.
  absl::Status CreateDatabase(const std::string& name);

  // SIGTERM and wait for the server to exit (a clean shutdown).
  absl::Status Stop();
  // SIGKILL and wait for the process to be gone.
  absl::Status Kill();
  // Starts the stopped or killed server again and waits until it takes
  // connections. FailedPrecondition while it is still running.
  absl::Status Restart();
  bool running();

 private:
  PrivateMariaDb() = default;
  absl::Status Launch();

  Options options_;
  std::string dir_;
  std::string data_dir_;
  std::string socket_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_PRIVATE_MARIADB_H_
