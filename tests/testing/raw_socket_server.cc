#include "tests/testing/raw_socket_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace aigw::testing {
namespace {

// The Content-Length of a request head; 0 when it has none.
size_t ContentLength(absl::string_view head) {
  for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
    constexpr absl::string_view kName = "content-length:";
    if (line.size() <= kName.size() || !absl::StartsWithIgnoreCase(line, kName)) continue;
    size_t n = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(kName.size())), &n)) return n;
  }
  return 0;
}

}  // namespace

absl::StatusOr<std::string> RawConnection::ReadRequest() {
  char buf[16384];
  size_t head_end = std::string::npos;
  size_t want = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = buffered_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        head_end += 4;
        want = head_end + ContentLength(absl::string_view(buffered_).substr(0, head_end));
      }
    }
    if (head_end != std::string::npos && buffered_.size() >= want) {
      std::string request = buffered_.substr(0, want);
      buffered_.erase(0, want);
      return request;
    }
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return absl::UnavailableError("the peer closed before a whole request");
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

bool RawConnection::Write(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int64_t RawConnection::WriteRepeatedly(absl::string_view block, int64_t max_bytes) {
  int64_t written = 0;
  while (written < max_bytes && Write(block)) written += static_cast<int64_t>(block.size());
  return written;
}

void RawConnection::WaitForClose() {
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

absl::StatusOr<std::unique_ptr<RawSocketServer>> RawSocketServer::Start(Handler handler) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot listen on 127.0.0.1");
  }
  return std::unique_ptr<RawSocketServer>(
      new RawSocketServer(fd, ntohs(addr.sin_port), std::move(handler)));
}

RawSocketServer::RawSocketServer(int listen_fd, int port, Handler handler)
    : listen_fd_(listen_fd), port_(port), handler_(std::move(handler)) {
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

RawSocketServer::~RawSocketServer() {
  stopping_.store(true);
  shutdown(listen_fd_, SHUT_RDWR);  // accept() returns
  acceptor_.join();
  close(listen_fd_);
  std::vector<std::thread> handlers;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // blocked reads and writes return
    handlers.swap(handlers_);
  }
  for (std::thread& t : handlers) t.join();
}

std::string RawSocketServer::base_url() const { return absl::StrCat("http://127.0.0.1:", port_); }

void RawSocketServer::AcceptLoop() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    absl::MutexLock lock(&mu_);
    if (stopping_.load()) {
      close(fd);
      return;
    }
    connections_.fetch_add(1);
    open_fds_.push_back(fd);
    handlers_.emplace_back([this, fd] {
      RawConnection connection(fd);
      handler_(connection);
      {
        absl::MutexLock lock(&mu_);
        open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
        close(fd);
      }
      finished_.fetch_add(1);
    });
  }
}

}  // namespace aigw::testing
