#ifndef AIGW_TOOLS_FAKE_UPSTREAM_CONNECTION_H_
#define AIGW_TOOLS_FAKE_UPSTREAM_CONNECTION_H_

#include "absl/time/time.h"
#include "httplib.h"

// Socket-level control that cpp-httplib does not offer its handlers: knowing
// the connection's socket, so a handler can hang up without answering and
// can notice a client that went away while it was waiting.
namespace aigw::fake_upstream {

class ConnectionAwareServer : public httplib::Server {
 public:
  int listen_socket() const { return svr_sock_; }

  // The socket of the connection whose request this thread is serving; -1
  // outside a handler or content provider.
  static int CurrentConnection();

 private:
  bool process_and_close_socket(socket_t sock) override;
};

// Closes the current connection at once: whatever httplib writes after this
// fails, and the client sees the connection end without (the rest of) an
// answer.
void DropCurrentConnection();

enum class WaitResult { kElapsed, kClientGone, kStopping };

// Sleeps that end early when the client hangs up or the server stops, so a
// slow answer neither outlives its caller nor holds up shutdown.
class InterruptibleWait {
 public:
  InterruptibleWait();
  ~InterruptibleWait();
  InterruptibleWait(const InterruptibleWait&) = delete;
  InterruptibleWait& operator=(const InterruptibleWait&) = delete;

  // Waits at least `duration`, watching the current connection.
  WaitResult Wait(absl::Duration duration) const;
  // Ends every wait, now and later.
  void Interrupt();

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

}  // namespace aigw::fake_upstream

#endif  // AIGW_TOOLS_FAKE_UPSTREAM_CONNECTION_H_
