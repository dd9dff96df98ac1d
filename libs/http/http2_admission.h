#ifndef AIGW_LIBS_HTTP_HTTP2_ADMISSION_H_
#define AIGW_LIBS_HTTP_HTTP2_ADMISSION_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace aigw::http {

// Decides when a transfer to an HTTPS host may start, so that a burst larger
// than one HTTP/2 connection's streams opens connections one at a time.
//
// libcurl 7.88 waits (CURLOPT_PIPEWAIT) for a host's first connection to say
// whether it multiplexes, but once a connection is full it opens a new one
// for every further transfer instead of waiting for the one being set up: a
// burst of 10k calls to a provider taking 100 streams per connection opened
// thousands of TLS connections where a hundred do. Here a host gets as many
// transfers as its ready connections take, plus one "opener" that sets up the
// next connection; the rest wait until it is ready (its first request goes
// out) or capacity frees. A host seen answering over HTTP/1.x is not held
// back at all. Not thread-safe: the HTTP loop's thread only.
class Http2Admission {
 public:
  using Id = uint64_t;

  explicit Http2Admission(int streams_per_connection) : streams_(streams_per_connection) {}

  // A transfer to `host` wants to start. True: it may now (it counts as in
  // flight). False: it waits, in arrival order, until TakeStartable hands it
  // out.
  bool Arrive(const std::string& host, Id id);
  // The transfer's request is about to go out; `new_connection` when the
  // transfer opened the connection (socket `socket`) it goes out on.
  void Sent(Id id, bool new_connection, int socket);
  // A connection closed.
  void Closed(int socket);
  // An admitted transfer ended, however; `http_version` is libcurl's
  // CURLINFO_HTTP_VERSION (0 when no answer came).
  void Finished(Id id, long http_version);
  // A waiting transfer gave up before it started. True if it was waiting.
  bool Withdraw(Id id);
  // Waiting transfers that may start now, oldest first per host; they now
  // count as in flight.
  std::vector<Id> TakeStartable();

  int64_t waiting() const { return waiting_count_; }

 private:
  struct Host {
    int64_t in_flight = 0;
    absl::flat_hash_set<int> ready;  // sockets of connections that carried a request
    Id opener = 0;                   // setting up the next connection; 0: none
    bool http1 = false;
    std::deque<Id> waiting;
  };

  // Admits one more transfer to `h` if it may start; sets it as the opener
  // when it is the one to open the next connection.
  bool TryAdmit(Host& h, Id id);

  const int streams_;
  absl::flat_hash_map<std::string, Host> hosts_;
  absl::flat_hash_map<Id, std::string> host_of_;  // admitted and waiting
  absl::flat_hash_map<int, std::string> host_of_socket_;
  absl::flat_hash_set<std::string> changed_;  // hosts that may start waiting ones
  int64_t waiting_count_ = 0;
};

}  // namespace aigw::http

#endif  // AIGW_LIBS_HTTP_HTTP2_ADMISSION_H_
