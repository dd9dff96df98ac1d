#include "libs/http/http2_admission.h"

#include <curl/curl.h>

#include <algorithm>

namespace aigw::http {

bool Http2Admission::TryAdmit(Host& h, Id id) {
  // The opener holds no stream on the ready connections yet.
  const int64_t on_ready = h.in_flight - (h.opener != 0 ? 1 : 0);
  const int64_t room = static_cast<int64_t>(streams_) * static_cast<int64_t>(h.ready.size());
  if (!h.http1 && on_ready >= room) {
    if (h.opener != 0) return false;
    h.opener = id;
  }
  ++h.in_flight;
  return true;
}

bool Http2Admission::Arrive(const std::string& host, Id id) {
  Host& h = hosts_[host];
  host_of_[id] = host;
  // Behind others already waiting: arrival order holds.
  if (h.waiting.empty() && TryAdmit(h, id)) return true;
  h.waiting.push_back(id);
  ++waiting_count_;
  return false;
}

void Http2Admission::Sent(Id id, bool new_connection, int socket) {
  auto it = host_of_.find(id);
  if (it == host_of_.end()) return;
  Host& h = hosts_[it->second];
  if (new_connection && socket >= 0) {
    h.ready.insert(socket);
    host_of_socket_[socket] = it->second;
  }
  // Ready, or it found room on a connection after all: either way the next
  // connection is someone else's to open.
  if (h.opener == id) h.opener = 0;
  changed_.insert(it->second);
}

void Http2Admission::Closed(int socket) {
  auto it = host_of_socket_.find(socket);
  if (it == host_of_socket_.end()) return;
  auto h = hosts_.find(it->second);
  if (h != hosts_.end()) {
    h->second.ready.erase(socket);
    // With no connection left the next transfer may open one.
    changed_.insert(it->second);
  }
  host_of_socket_.erase(it);
}

void Http2Admission::Finished(Id id, long http_version) {
  auto it = host_of_.find(id);
  if (it == host_of_.end()) return;
  Host& h = hosts_[it->second];
  h.in_flight = std::max<int64_t>(0, h.in_flight - 1);
  if (h.opener == id) h.opener = 0;
  // CURL_HTTP_VERSION_1_0 and _1_1: one request per connection, nothing to share.
  if (http_version == CURL_HTTP_VERSION_1_0 || http_version == CURL_HTTP_VERSION_1_1) {
    h.http1 = true;
  }
  changed_.insert(it->second);
  host_of_.erase(it);
}

bool Http2Admission::Withdraw(Id id) {
  auto it = host_of_.find(id);
  if (it == host_of_.end()) return false;
  Host& h = hosts_[it->second];
  auto w = std::find(h.waiting.begin(), h.waiting.end(), id);
  if (w == h.waiting.end()) return false;
  h.waiting.erase(w);
  --waiting_count_;
  host_of_.erase(it);
  return true;
}

std::vector<Http2Admission::Id> Http2Admission::TakeStartable() {
  std::vector<Id> startable;
  for (const std::string& host : changed_) {
    Host& h = hosts_[host];
    while (!h.waiting.empty() && TryAdmit(h, h.waiting.front())) {
      startable.push_back(h.waiting.front());
      h.waiting.pop_front();
      --waiting_count_;
    }
  }
  changed_.clear();
  return startable;
}

}  // namespace aigw::http
