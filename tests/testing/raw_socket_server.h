#ifndef AIGW_TESTS_TESTING_RAW_SOCKET_SERVER_H_
#define AIGW_TESTS_TESTING_RAW_SOCKET_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace aigw::testing {

// One accepted connection, as its handler sees it. Every call blocks; all of
// them return (false / an error) once the peer is gone or the server stops.
class RawConnection {
 public:
  explicit RawConnection(int fd) : fd_(fd) {}

  // Reads one HTTP/1.x request: the head and a Content-Length body. The
  // whole request as received; an error when the peer closed first.
  absl::StatusOr<std::string> ReadRequest();
  // Writes all of `bytes`. False once the peer is gone.
  bool Write(absl::string_view bytes);
  // Writes `block` again and again until the peer goes away or `max_bytes`
  // are out (a guard for the test's own memory when the client under test
  // keeps reading); returns the bytes written.
  int64_t WriteRepeatedly(absl::string_view block, int64_t max_bytes);
  // Blocks until the peer closes the connection (or the server stops).
  void WaitForClose();

 private:
  const int fd_;
  std::string buffered_;  // read past the last request
};

// A TCP server on 127.0.0.1 that speaks whatever its handler writes: for
// tests of a client against an upstream that misbehaves at the byte level
// (a body or a header that never ends, a redirect, a stream that trickles
// forever). Each accepted connection runs the handler on a thread of its
// own; the connection closes when the handler returns.
class RawSocketServer {
 public:
  using Handler = std::function<void(RawConnection& connection)>;

  // Listens on an ephemeral port of 127.0.0.1.
  static absl::StatusOr<std::unique_ptr<RawSocketServer>> Start(Handler handler);
  // Stops: the listener and every open connection are shut down (blocked
  // handlers return), and their threads joined.
  ~RawSocketServer();

  int port() const { return port_; }
  // "http://127.0.0.1:<port>"
  std::string base_url() const;
  // Connections accepted so far.
  int connections() const { return connections_.load(); }
  // Connections whose handler has returned.
  int finished() const { return finished_.load(); }

 private:
  RawSocketServer(int listen_fd, int port, Handler handler);
  void AcceptLoop();

  const int listen_fd_;
  const int port_;
  const Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> finished_{0};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> handlers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_RAW_SOCKET_SERVER_H_
