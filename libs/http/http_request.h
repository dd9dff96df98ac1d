#ifndef AIGW_LIBS_HTTP_HTTP_REQUEST_H_
#define AIGW_LIBS_HTTP_HTTP_REQUEST_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace aigw::http {

// One HTTP call: what the provider adapters build and the engine sends.
struct HttpRequest {
  std::string method = "POST";
  std::string url;
  // (name, value) pairs; the engine sends each as "name: value".
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Whole transfer; zero = none.
  absl::Duration timeout = absl::ZeroDuration();
  absl::Duration connect_timeout = absl::Seconds(10);
  // A stream that sends nothing for this long is cut; zero = none.
  absl::Duration idle_timeout = absl::ZeroDuration();
};

}  // namespace aigw::http

#endif  // AIGW_LIBS_HTTP_HTTP_REQUEST_H_
