#ifndef AIGW_LIBS_HTTP_HTTP_ENGINE_H_
#define AIGW_LIBS_HTTP_HTTP_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/http/http_request.h"

namespace aigw::http {

// What a transfer reports as it goes. Every callback runs on the engine's
// loop thread and must not block.
struct HttpCallbacks {
  // The status line and the headers have arrived. `retry_after` is the
  // Retry-After header's value (empty when absent).
  std::function<void(int status, absl::string_view retry_after)> on_headers;
  // A piece of the body. Without it the body is collected and handed to
  // on_done.
  std::function<void(absl::string_view chunk)> on_data;
  // The transfer ended. `transport` is OK when an HTTP response was received
  // whole (whatever its status); otherwise it says what failed:
  // kUnavailable (connect/DNS/reset), kDeadlineExceeded (timeout),
  // kCancelled (Cancel), kResourceExhausted (the answer went over a limit
  // of Options: body or headers), kInvalidArgument (a URL whose scheme is
  // not http or https). `body` is empty when on_data took the body.
  std::function<void(absl::Status transport, int status, std::string body)> on_done;
};

// An event loop over one libcurl multi handle (epoll + curl's socket API):
// any number of transfers in flight on one thread, connections kept alive and
// reused per host, nothing blocked per transfer. Also runs timers and posted
// tasks on that thread, so callers can schedule retries without a thread of
// their own.
//
// Upstreams are not trusted: only http and https URLs are fetched, redirects
// are never followed (a 3xx reaches on_done as it is), and what the engine
// holds of an answer is bounded (Options::max_body_bytes, max_header_bytes).
class HttpEngine {
 public:
  struct Options {
    // Keep-alive connections kept for reuse beyond the transfers in flight.
    int max_idle_connections = 4096;
    // Per host; 0 = no limit.
    int max_host_connections = 0;
    // libcurl's receive buffer (CURLOPT_BUFFERSIZE), held by every transfer
    // in flight: at 10k slow calls libcurl's 16 KiB default is 160 MB. A
    // smaller one only means more, smaller on_data pieces. 0 = libcurl's
    // default; libcurl clamps to [1 KiB, 512 KiB].
    int receive_buffer_bytes = 0;
    // libcurl's send buffer for a request body it cannot send with the
    // headers (HTTP/2 sends every body through it), held by each transfer in
    // flight: 64 KiB by default. libcurl clamps to [16 KiB, 2 MiB]; 0 =
    // libcurl's default.
    int upload_buffer_bytes = 16 * 1024;
    // While at most `busy_poll_max_transfers` transfers are in flight, the
    // loop polls its sockets without sleeping for up to this long before it
    // waits: an answer due in microseconds is then read without the cost of
    // waking a sleeping thread (tens of microseconds on a virtual machine).
    // Zero turns it off. A loaded loop never polls idle.
    absl::Duration busy_poll = absl::ZeroDuration();
    int busy_poll_max_transfers = 4;
    // With no transfer in flight, the loop polls this long after its last
    // piece of work before it sleeps: the next call handed to it in that
    // window finds it awake. Costs up to this much CPU per wake-up of an
    // idle loop; zero turns it off.
    absl::Duration idle_poll = absl::ZeroDuration();
    std::string user_agent = "aigw/0.1";
    // CA certificates (PEM) to trust for https instead of the system's
    // bundle: a private CA, a TLS-inspecting proxy. Empty: the system's.
    std::string ca_file;
    // Streams one HTTP/2 connection carries at once (also libcurl's
    // CURLMOPT_MAX_CONCURRENT_STREAMS). Transfers to an HTTPS host beyond
    // this many per ready connection wait for the next connection instead of
    // each opening one (Http2Admission).
    int http2_streams_per_connection = 100;
    // A body the engine collects (every body without on_data, and the error
    // bodies of calls with it) may be this long; a longer one, or a
    // Content-Length announcing one, ends the transfer with
    // kResourceExhausted. Bodies handed to on_data are the caller's to
    // bound. 0 = no limit.
    int64_t max_body_bytes = 8 << 20;
    // The status line and headers of an answer (libcurl alone stops at
    // 300 KiB). 0 = libcurl's limit only.
    int64_t max_header_bytes = 64 << 10;
  };
  using TransferId = uint64_t;

  static absl::StatusOr<std::unique_ptr<HttpEngine>> Create(const Options& options);
  virtual ~HttpEngine() = default;

  // Starts a transfer; thread-safe. Callbacks run on the loop thread.
  virtual TransferId Start(HttpRequest request, HttpCallbacks callbacks) = 0;
  // Aborts a transfer; its on_done runs with kCancelled unless it already
  // finished. Thread-safe; a finished or unknown id is ignored.
  virtual void Cancel(TransferId id) = 0;
  // Runs `fn` on the loop thread after `delay`. Thread-safe.
  virtual void RunAfter(absl::Duration delay, std::function<void()> fn) = 0;
  // Runs `fn` on the loop thread soon. Thread-safe.
  void Post(std::function<void()> fn) { RunAfter(absl::ZeroDuration(), std::move(fn)); }
  // Transfers in flight.
  virtual int64_t ActiveTransfers() const = 0;
  // Finishes what is in flight (each on_done runs), then stops the loop.
  virtual void Shutdown() = 0;
};

}  // namespace aigw::http

#endif  // AIGW_LIBS_HTTP_HTTP_ENGINE_H_
