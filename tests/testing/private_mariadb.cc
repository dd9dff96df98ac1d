#include "tests/testing/private_mariadb.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/env_flags.h"
#include "libs/db/database.h"
#include "soci/soci.h"

namespace aigw::testing {
namespace {

absl::StatusOr<std::unique_ptr<db::Database>> Connect(const std::string& url) {
  absl::StatusOr<db::DatabaseUrl> parsed = db::DatabaseUrl::Parse(url);
  if (!parsed.ok()) return parsed.status();
  return db::Database::Open(*parsed, 1);
}

// The last `n` bytes of `text`, for error messages.
std::string Tail(const std::string& text, size_t n = 2000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrivateMariaDb>> PrivateMariaDb::Start(Options options) {
  std::unique_ptr<PrivateMariaDb> m(new PrivateMariaDb());
  m->options_ = std::move(options);
  char tmpl[] = "/tmp/aigw_mariadb_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  m->dir_ = tmpl;
  m->data_dir_ = m->dir_ + "/data";
  m->socket_ = m->dir_ + "/mariadbd.sock";
  std::error_code ec;
  std::filesystem::create_directories(m->data_dir_, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", m->data_dir_, ": ", ec.message()));
  m->port_ = PickFreePort();
  // A new datadir's InnoDB system tablespace is only in the buffer pool and
  // the redo log until a checkpoint, and crash recovery cannot start from a
  // zeroed ibdata1 header: one clean shutdown writes it, so that a Kill()
  // at any later moment is recovered.
  if (absl::Status st = m->Launch(); !st.ok()) return st;
  if (absl::Status st = m->Stop(); !st.ok()) return st;
  if (absl::Status st = m->Launch(); !st.ok()) return st;
  return m;
}

PrivateMariaDb* PrivateMariaDb::Shared() {
  static PrivateMariaDb* const shared = []() -> PrivateMariaDb* {
    absl::StatusOr<std::unique_ptr<PrivateMariaDb>> started = Start();
    if (!started.ok()) {
      std::fprintf(stderr, "private MariaDB did not start: %s\n",
                   std::string(started.status().message()).c_str());
      return nullptr;
    }
    // Killed and removed at exit; the server also dies with this process.
    static std::unique_ptr<PrivateMariaDb> owner = std::move(*started);
    return owner.get();
  }();
  return shared;
}

PrivateMariaDb::~PrivateMariaDb() {
  process_.reset();  // SIGKILL if still running
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

absl::Status PrivateMariaDb::Launch() {
  std::vector<std::string> argv = {
      GetEnvOr("AIGW_TEST_MARIADBD", "/usr/sbin/mariadbd"),
      // First: read no my.cnf, so the machine's settings do not leak in.
      "--no-defaults",
      "--datadir=" + data_dir_,
      "--socket=" + socket_,
      absl::StrCat("--port=", port_),
      "--bind-address=127.0.0.1",
      "--pid-file=" + dir_ + "/mariadbd.pid",
      "--log-error=" + dir_ + "/error.log",
      "--skip-grant-tables",
      "--skip-name-resolve",
      "--skip-log-bin",
      "--innodb-buffer-pool-size=32M",
      "--innodb-log-file-size=8M",
  };
  // mariadbd refuses to run as root unless told to.
  if (geteuid() == 0) argv.push_back("--user=root");
  for (const std::string& a : options_.extra_args) argv.push_back(a);
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(argv);
  if (!p.ok()) return p.status();
  process_ = std::move(*p);

  const absl::Time deadline = absl::Now() + options_.timeout;
  std::string last = "no answer yet";
  while (absl::Now() < deadline) {
    if (!process_->Running()) {
      return absl::InternalError(absl::StrCat("mariadbd exited while starting; its log:\n",
                                              Tail(ErrorLog() + process_->Stderr())));
    }
    absl::StatusOr<std::unique_ptr<db::Database>> probe = Connect(Url("information_schema"));
    if (probe.ok()) return absl::OkStatus();
    last = std::string(probe.status().message());
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("mariadbd on port ", port_, " did not take ",
                                                  "connections in time (", last, "); its log:\n",
                                                  Tail(ErrorLog())));
}

std::string PrivateMariaDb::ErrorLog() const {
  std::ifstream in(dir_ + "/error.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PrivateMariaDb::Url(const std::string& database) const {
  return absl::StrCat("mysql://root@127.0.0.1:", port_, "/", database);
}

absl::Status PrivateMariaDb::CreateDatabase(const std::string& name) {
  absl::StatusOr<std::unique_ptr<db::Database>> admin = Connect(Url("information_schema"));
  if (!admin.ok()) return admin.status();
  return (*admin)->Run([&](soci::session& s) {
    s << absl::StrCat("CREATE DATABASE IF NOT EXISTS `", name, "` CHARACTER SET utf8mb4");
    return absl::OkStatus();
  });
}

absl::Status PrivateMariaDb::Stop() {
  if (!running()) return absl::OkStatus();
  process_->Signal(SIGTERM);
  absl::StatusOr<int> code = process_->Wait(options_.timeout);
  if (!code.ok()) return code.status();
  return absl::OkStatus();
}

absl::Status PrivateMariaDb::Kill() {
  if (!running()) return absl::OkStatus();
  process_->Signal(SIGKILL);
  absl::StatusOr<int> code = process_->Wait(options_.timeout);
  if (!code.ok()) return code.status();
  return absl::OkStatus();
}

absl::Status PrivateMariaDb::Restart() {
  if (running()) return absl::FailedPreconditionError("the private MariaDB is still running");
  return Launch();
}

bool PrivateMariaDb::running() { return process_ != nullptr && process_->Running(); }

}  // namespace aigw::testing
