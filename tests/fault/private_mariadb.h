#ifndef AIGW_TESTS_FAULT_PRIVATE_MARIADB_H_
#define AIGW_TESTS_FAULT_PRIVATE_MARIADB_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"

namespace aigw::fault {

// A MariaDB server of the harness's own: a fresh datadir in a temporary
// directory, a free port on 127.0.0.1 and its own socket, so it can be killed
// and started again without touching the shared server on 3306. It holds one
// database `aigw` and a user `aigw` (password `aigw`) that owns it.
class PrivateMariaDb {
 public:
  // Makes the datadir (mariadb-install-db), starts mariadbd and waits until
  // the `aigw` user can connect.
  static absl::StatusOr<std::unique_ptr<PrivateMariaDb>> Start(absl::Duration timeout);
  ~PrivateMariaDb();  // kills the server, removes the directory

  // SIGKILL, and waits for the process to be gone.
  absl::Status Kill();
  // mariadbd again on the same datadir and port (crash recovery included);
  // returns once the `aigw` user can connect.
  absl::Status Restart(absl::Duration timeout);

  bool Running() { return server_ != nullptr && server_->Running(); }

  // mysql://aigw:aigw@127.0.0.1:<port>/aigw
  std::string url() const;
  int port() const { return port_; }
  // The end of the server's error log, for reports.
  std::string LogTail() const;

 private:
  PrivateMariaDb() = default;
  absl::Status Launch(absl::Duration timeout);

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<testing::Subprocess> server_;
};

}  // namespace aigw::fault

#endif  // AIGW_TESTS_FAULT_PRIVATE_MARIADB_H_
