#include "tools/fake-upstream/connection.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

// httplib::Server::process_and_close_socket is a private virtual: a subclass
// may override it but not name the base version. This binds to the base
// definition by its symbol (Itanium ABI: `this` is the first argument), the
// only way to learn a connection's socket without scanning every descriptor
// on each request.
extern bool HttplibServerProcessAndCloseSocket(httplib::Server* self, int sock) __asm__(
    "_ZN7httplib6Server24process_and_close_socketEi");

namespace aigw::fake_upstream {
namespace {

thread_local int t_connection = -1;

}  // namespace

int ConnectionAwareServer::CurrentConnection() { return t_connection; }

bool ConnectionAwareServer::process_and_close_socket(socket_t sock) {
  // SSE events are small writes; Nagle plus delayed ACKs would hold each one
  // back by tens of milliseconds.
  int one = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  t_connection = sock;
  bool ok = HttplibServerProcessAndCloseSocket(this, sock);
  t_connection = -1;
  return ok;
}

void DropCurrentConnection() {
  if (t_connection >= 0) shutdown(t_connection, SHUT_RDWR);
}

InterruptibleWait::InterruptibleWait() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
}

InterruptibleWait::~InterruptibleWait() {
  if (read_fd_ >= 0) close(read_fd_);
  if (write_fd_ >= 0) close(write_fd_);
}

void InterruptibleWait::Interrupt() {
  // Never read, so the pipe stays readable and every later wait ends too.
  char byte = 1;
  [[maybe_unused]] ssize_t n = write(write_fd_, &byte, 1);
}

WaitResult InterruptibleWait::Wait(absl::Duration duration) const {
  using SteadyClock = std::chrono::steady_clock;
  const auto deadline = SteadyClock::now() + absl::ToChronoNanoseconds(duration);
  pollfd fds[2] = {{read_fd_, POLLIN, 0}, {t_connection, POLLRDHUP, 0}};
  nfds_t count = t_connection >= 0 ? 2 : 1;
  for (;;) {
    const auto left = deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) return WaitResult::kElapsed;
    // Round up: the wait must never be shorter than asked.
    const int timeout_ms =
        static_cast<int>(std::ceil(std::chrono::duration<double, std::milli>(left).count()));
    int ready = poll(fds, count, timeout_ms);
    if (ready <= 0) continue;  // timeout (re-checked above) or EINTR
    if (fds[0].revents != 0) return WaitResult::kStopping;
    if (count == 2 && fds[1].revents != 0) {
      if ((fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return WaitResult::kClientGone;
      // Bytes from a client that pipelines: not a hang-up, so stop watching.
      count = 1;
    }
  }
}

}  // namespace aigw::fake_upstream
