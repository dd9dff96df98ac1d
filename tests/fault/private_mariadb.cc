#include "tests/fault/private_mariadb.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/db/database.h"

namespace aigw::fault {
namespace {

// Debian puts the server in /usr/sbin, which a non-root PATH often lacks.
std::string FindProgram(const std::string& name) {
  std::vector<std::string> dirs = {"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"};
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');) dirs.push_back(dir);
  }
  for (const std::string& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  return all.size() <= bytes ? all : all.substr(all.size() - bytes);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrivateMariaDb>> PrivateMariaDb::Start(absl::Duration timeout) {
  const std::string install_db = FindProgram("mariadb-install-db");
  if (install_db.empty() || FindProgram("mariadbd").empty()) {
    return absl::FailedPreconditionError(
        "mariadbd / mariadb-install-db not found: install mariadb-server (scripts/setup does)");
  }
  std::unique_ptr<PrivateMariaDb> db(new PrivateMariaDb());
  char tmpl[] = "/tmp/aigw_fault_mariadb_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  db->dir_ = tmpl;
  std::vector<std::string> install = {install_db,
                                      "--no-defaults",
                                      "--datadir=" + db->dir_ + "/data",
                                      "--auth-root-authentication-method=normal",
                                      "--skip-test-db",
                                      "--skip-name-resolve"};
  if (geteuid() == 0) install.push_back("--user=root");
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> installer =
      testing::Subprocess::Start(install);
  if (!installer.ok()) return installer.status();
  absl::StatusOr<int> installed = (*installer)->Wait(absl::Seconds(60));
  if (!installed.ok() || *installed != 0) {
    return absl::InternalError(absl::StrCat("mariadb-install-db failed: ", (*installer)->Stderr(),
                                            (*installer)->Stdout()));
  }
  // Run at every start; each statement on one line, as --init-file wants.
  std::ofstream(db->dir_ + "/init.sql")
      << "CREATE DATABASE IF NOT EXISTS aigw CHARACTER SET utf8mb4;\n"
         "CREATE USER IF NOT EXISTS 'aigw'@'127.0.0.1' IDENTIFIED BY 'aigw';\n"
         "GRANT ALL PRIVILEGES ON aigw.* TO 'aigw'@'127.0.0.1';\n";
  db->port_ = testing::PickFreePort();
  if (absl::Status st = db->Launch(timeout); !st.ok()) return st;
  return db;
}

absl::Status PrivateMariaDb::Launch(absl::Duration timeout) {
  std::vector<std::string> argv = {FindProgram("mariadbd"),
                                   "--no-defaults",
                                   "--datadir=" + dir_ + "/data",
                                   absl::StrCat("--port=", port_),
                                   "--bind-address=127.0.0.1",
                                   "--socket=" + dir_ + "/mysqld.sock",
                                   "--pid-file=" + dir_ + "/mysqld.pid",
                                   "--log-error=" + dir_ + "/error.log",
                                   "--init-file=" + dir_ + "/init.sql",
                                   "--skip-name-resolve",
                                   "--innodb-buffer-pool-size=64M",
                                   "--max-connections=200"};
  if (geteuid() == 0) argv.push_back("--user=root");
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> server = testing::Subprocess::Start(argv);
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  absl::StatusOr<db::DatabaseUrl> parsed = db::DatabaseUrl::Parse(url());
  if (!parsed.ok()) return parsed.status();
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::UnavailableError("not tried");
  while (absl::Now() < deadline) {
    if (!server_->Running()) {
      return absl::InternalError(absl::StrCat("mariadbd exited: ", LogTail()));
    }
    absl::StatusOr<std::unique_ptr<db::Database>> probe = db::Database::Open(*parsed, 1);
    if (probe.ok()) return absl::OkStatus();
    last = probe.status();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("private mariadbd on port ", port_, " not ready: ", last.message()));
}

PrivateMariaDb::~PrivateMariaDb() {
  server_.reset();  // SIGKILL
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

absl::Status PrivateMariaDb::Kill() {
  if (server_ == nullptr) return absl::FailedPreconditionError("mariadbd is not running");
  server_->Signal(SIGKILL);
  absl::StatusOr<int> code = server_->Wait(absl::Seconds(30));
  if (!code.ok()) return code.status();
  server_.reset();
  return absl::OkStatus();
}

absl::Status PrivateMariaDb::Restart(absl::Duration timeout) {
  if (server_ != nullptr) return absl::FailedPreconditionError("mariadbd is still running");
  return Launch(timeout);
}

std::string PrivateMariaDb::url() const {
  return absl::StrCat("mysql://aigw:aigw@127.0.0.1:", port_, "/aigw");
}

std::string PrivateMariaDb::LogTail() const { return Tail(dir_ + "/error.log", 2000); }

}  // namespace aigw::fault
