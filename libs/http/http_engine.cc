#include "libs/http/http_engine.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <queue>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/byte_size.h"
#include "libs/http/http2_admission.h"

namespace aigw::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Transfer {
  HttpEngine::TransferId id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpRequest request;
  HttpCallbacks callbacks;
  std::string body;
  std::string retry_after;
  int status = 0;
  bool headers_done = false;
  // The engine's limits (Options), copied for libcurl's static callbacks.
  int64_t max_body_bytes = 0;
  int64_t max_header_bytes = 0;
  int64_t header_bytes = 0;
  // Why a callback stopped the transfer (libcurl itself only says it was
  // stopped): the transfer's status instead of libcurl's.
  absl::Status stopped;
  char error[CURL_ERROR_SIZE] = {0};
  // Set for transfers to HTTPS hosts, which go through the admission.
  Http2Admission* admission = nullptr;
  // The socket this transfer last opened: its new connection's, once the
  // request goes out on one (libcurl has no socket to tell before that).
  int opened_socket = -1;
};

// "host:port" of an https URL, lower-cased; empty for anything else.
std::string HttpsHost(absl::string_view url) {
  constexpr absl::string_view kScheme = "https://";
  if (!absl::StartsWithIgnoreCase(url, kScheme)) return "";
  absl::string_view rest = url.substr(kScheme.size());
  return absl::AsciiStrToLower(rest.substr(0, rest.find_first_of("/?#")));
}

struct Timer {
  SteadyClock::time_point due;
  uint64_t seq;
  std::function<void()> fn;
  bool operator>(const Timer& o) const { return due != o.due ? due > o.due : seq > o.seq; }
};

absl::Status BodyTooLarge(int64_t limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat("response body over the ", ByteSizeText(limit), " limit"));
}

absl::Status TransportStatus(const Transfer& t, CURLcode code) {
  if (!t.stopped.ok()) return t.stopped;
  const std::string what =
      absl::StrCat(curl_easy_strerror(code), t.error[0] ? ": " : "", t.error);
  switch (code) {
    case CURLE_OK:
      return absl::OkStatus();
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(what);
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::CancelledError(what);
    case CURLE_FILESIZE_EXCEEDED:  // the Content-Length said so
      return BodyTooLarge(t.max_body_bytes);
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::InvalidArgumentError(absl::StrCat(what, " (http and https only)"));
    default:
      return absl::UnavailableError(what);
  }
}

class CurlHttpEngine final : public HttpEngine {
 public:
  explicit CurlHttpEngine(const Options& options) : options_(options) {}

  ~CurlHttpEngine() override {
    Shutdown();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    for (CURL* e : idle_easy_) curl_easy_cleanup(e);
    if (epfd_ >= 0) close(epfd_);
    if (evfd_ >= 0) close(evfd_);
  }

  absl::Status Init() {
    static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (global != CURLE_OK) return absl::InternalError("curl_global_init failed");
    multi_ = curl_multi_init();
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (multi_ == nullptr || epfd_ < 0 || evfd_ < 0) {
      return absl::InternalError("cannot create the HTTP event loop");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = evfd_;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlHttpEngine::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlHttpEngine::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS,
                      static_cast<long>(options_.http2_streams_per_connection));
    if (options_.max_host_connections > 0) {
      curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                        static_cast<long>(options_.max_host_connections));
    }
    loop_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  TransferId Start(HttpRequest request, HttpCallbacks callbacks) override {
    auto t = std::make_unique<Transfer>();
    t->id = next_id_.fetch_add(1, std::memory_order_relaxed);
    t->request = std::move(request);
    t->callbacks = std::move(callbacks);
    const TransferId id = t->id;
    active_.fetch_add(1, std::memory_order_relaxed);
    {
      absl::MutexLock lock(&mu_);
      starts_.push_back(std::move(t));
    }
    Wake();
    return id;
  }

  void Cancel(TransferId id) override {
    {
      absl::MutexLock lock(&mu_);
      cancels_.push_back(id);
    }
    Wake();
  }

  void RunAfter(absl::Duration delay, std::function<void()> fn) override {
    {
      absl::MutexLock lock(&mu_);
      new_timers_.push_back(
          Timer{SteadyClock::now() + absl::ToChronoNanoseconds(delay), 0, std::move(fn)});
    }
    Wake();
  }

  int64_t ActiveTransfers() const override { return active_.load(std::memory_order_relaxed); }

  void Shutdown() override {
    if (!loop_.joinable()) return;
    stopping_.store(true);
    Wake();
    loop_.join();
  }

 private:
  void Wake() {
    // On the loop itself the queue is read before the loop waits again; a
    // write to the eventfd would only cost two syscalls and a turn.
    if (std::this_thread::get_id() == loop_.get_id()) {
      queued_on_loop_ = true;
      return;
    }
    uint64_t one = 1;
    ssize_t ignored = write(evfd_, &one, sizeof(one));
    (void)ignored;
  }

  static int OnSocket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* self = static_cast<CurlHttpEngine*>(userp);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epfd_, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = s;
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    if (socketp == nullptr) {
      epoll_ctl(self->epfd_, EPOLL_CTL_ADD, s, &ev);
      curl_multi_assign(self->multi_, s, self);
    } else {
      epoll_ctl(self->epfd_, EPOLL_CTL_MOD, s, &ev);
    }
    return 0;
  }

  static int OnTimer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<CurlHttpEngine*>(userp);
    if (timeout_ms < 0) {
      self->curl_due_.reset();
    } else {
      self->curl_due_ = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return 0;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    absl::string_view line(data, size * n);
    t->header_bytes += static_cast<int64_t>(line.size());
    if (t->max_header_bytes > 0 && t->header_bytes > t->max_header_bytes) {
      t->stopped = absl::ResourceExhaustedError(
          absl::StrCat("response headers over the ", ByteSizeText(t->max_header_bytes), " limit"));
      return 0;  // libcurl ends the transfer
    }
    if (line == "\r\n" || line == "\n") {
      long code = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
      // 1xx interim responses are followed by the real one.
      if (code >= 200 && !t->headers_done) {
        t->headers_done = true;
        t->status = static_cast<int>(code);
        if (t->callbacks.on_headers) t->callbacks.on_headers(t->status, t->retry_after);
      }
      return size * n;
    }
    constexpr absl::string_view kRetryAfter = "retry-after:";
    if (line.size() > kRetryAfter.size() &&
        absl::EqualsIgnoreCase(line.substr(0, kRetryAfter.size()), kRetryAfter)) {
      t->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(kRetryAfter.size())));
    }
    return size * n;
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    if (t->callbacks.on_data && t->status >= 200 && t->status < 300) {
      t->callbacks.on_data(absl::string_view(data, size * n));
      return size * n;
    }
    if (t->max_body_bytes > 0 &&
        static_cast<int64_t>(t->body.size() + size * n) > t->max_body_bytes) {
      t->stopped = BodyTooLarge(t->max_body_bytes);
      std::string().swap(t->body);  // of no use to anyone now
      return 0;                     // libcurl ends the transfer
    }
    t->body.append(data, size * n);
    return size * n;
  }

  CURL* TakeEasy() {
    if (!idle_easy_.empty()) {
      CURL* e = idle_easy_.back();
      idle_easy_.pop_back();
      curl_easy_reset(e);
      return e;
    }
    return curl_easy_init();
  }

  void Begin(std::unique_ptr<Transfer> owned) {
    Transfer* t = owned.get();
    CURL* e = TakeEasy();
    t->easy = e;
    SetLimitsAndCallbacks(e, t);
    SetConnectionOptions(e, t);
    SetRequest(e, t);
    transfers_.emplace(t->id, std::move(owned));
    // libcurl closes a finished transfer's connection whenever its cache
    // holds more than MAXCONNECTS connections, busy ones included: a fixed
    // cap below the calls in flight turns every finished call into a new
    // connection (and TLS handshake) for the next. So the cap follows the
    // load, and only idle connections beyond it are bounded.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                      static_cast<long>(transfers_.size()) + options_.max_idle_connections);
    curl_multi_add_handle(multi_, e);
  }

  // The URL and what may be reached through it, the engine's bounds on the
  // answer, and the callbacks that read it into `t`.
  void SetLimitsAndCallbacks(CURL* e, Transfer* t) {
    curl_easy_setopt(e, CURLOPT_URL, t->request.url.c_str());
    // A provider's base_url is an operator's setting, not a licence to read
    // files or talk other protocols; and a redirect is answered as it is
    // (the caller reports it), never followed to wherever it points.
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    t->max_body_bytes = options_.max_body_bytes;
    t->max_header_bytes = options_.max_header_bytes;
    if (options_.max_body_bytes > 0 && !t->callbacks.on_data) {
      // A Content-Length over the limit is refused before any of the body.
      curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(options_.max_body_bytes));
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlHttpEngine::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlHttpEngine::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  }

  // HTTP version, connection sharing, TCP and TLS settings and buffers.
  void SetConnectionOptions(CURL* e, Transfer* t) {
    curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    if (t->admission != nullptr) {
      // A burst of calls to one provider waits for the first connection's
      // ALPN answer and shares it when it speaks HTTP/2, instead of opening
      // (and TLS-handshaking) one connection per call. Not for plain HTTP:
      // there curl learns the version only from the first response, and
      // the burst would wait for it.
      curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
      // The admission learns when connections are ready and when they close.
      curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &CurlHttpEngine::OnOpenSocket);
      curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
      curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &CurlHttpEngine::OnPrereq);
      curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
      curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &CurlHttpEngine::OnCloseSocket);
      curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, t->admission);
    }
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (options_.upload_buffer_bytes > 0) {
      curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, static_cast<long>(options_.upload_buffer_bytes));
    }
    if (options_.receive_buffer_bytes > 0) {
      curl_easy_setopt(e, CURLOPT_BUFFERSIZE, static_cast<long>(options_.receive_buffer_bytes));
    }
  }

  // The request's method, body, headers and timeouts.
  void SetRequest(CURL* e, Transfer* t) {
    const HttpRequest& r = t->request;
    if (r.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (r.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    for (const auto& [name, value] : r.headers) {
      t->headers = curl_slist_append(t->headers, absl::StrCat(name, ": ", value).c_str());
    }
    // No "Expect: 100-continue" round trip before a body.
    t->headers = curl_slist_append(t->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (r.timeout > absl::ZeroDuration()) {
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(r.timeout)));
    }
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(r.connect_timeout)));
    if (r.idle_timeout > absl::ZeroDuration()) {
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                       std::max(1L, static_cast<long>(absl::ToInt64Seconds(r.idle_timeout))));
    }
  }

  void Finish(Transfer* t, absl::Status transport) {
    if (t->admission != nullptr) {
      long version = 0;
      curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version);
      t->admission->Finished(t->id, version);
    }
    curl_multi_remove_handle(multi_, t->easy);
    std::unique_ptr<Transfer> owned = std::move(transfers_[t->id]);
    transfers_.erase(t->id);
    curl_slist_free_all(t->headers);
    t->headers = nullptr;
    if (idle_easy_.size() < 256) {
      idle_easy_.push_back(t->easy);
    } else {
      curl_easy_cleanup(t->easy);
    }
    t->easy = nullptr;
    Deliver(std::move(owned), std::move(transport));
  }

  // The transfer is over (or never started): its caller hears how it went.
  void Deliver(std::unique_ptr<Transfer> owned, absl::Status transport) {
    active_.fetch_sub(1, std::memory_order_relaxed);
    if (owned->callbacks.on_done) {
      owned->callbacks.on_done(std::move(transport), owned->status, std::move(owned->body));
    }
  }

  void DrainCompleted() {
    int pending = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &pending)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      if (t == nullptr) continue;
      absl::Status transport = TransportStatus(*t, msg->data.result);
      if (transport.ok() && !t->headers_done) {
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        t->status = static_cast<int>(status);
      }
      Finish(t, std::move(transport));
    }
  }

  // Moves work queued by other threads onto the loop. Returns true if any.
  bool TakeQueued() {
    std::vector<std::unique_ptr<Transfer>> starts;
    std::vector<TransferId> cancels;
    std::vector<Timer> timers;
    {
      absl::MutexLock lock(&mu_);
      starts.swap(starts_);
      cancels.swap(cancels_);
      timers.swap(new_timers_);
    }
    for (auto& t : starts) Admit(std::move(t));
    for (TransferId id : cancels) {
      if (auto held = held_.find(id); held != held_.end()) {
        admission_.Withdraw(id);
        std::unique_ptr<Transfer> owned = std::move(held->second);
        held_.erase(held);
        Deliver(std::move(owned), absl::CancelledError("cancelled"));
        continue;
      }
      auto it = transfers_.find(id);
      if (it != transfers_.end()) Finish(it->second.get(), absl::CancelledError("cancelled"));
    }
    for (Timer& t : timers) {
      t.seq = timer_seq_++;
      timers_.push(std::move(t));
    }
    return !starts.empty() || !cancels.empty() || !timers.empty();
  }

  void Admit(std::unique_ptr<Transfer> t) {
    const std::string host = HttpsHost(t->request.url);
    if (host.empty()) return Begin(std::move(t));
    t->admission = &admission_;
    if (admission_.Arrive(host, t->id)) return Begin(std::move(t));
    const TransferId id = t->id;
    held_.emplace(id, std::move(t));
  }

  // Starts the held transfers the admission lets go.
  void StartReleased() {
    if (held_.empty()) return;
    for (TransferId id : admission_.TakeStartable()) {
      auto it = held_.find(id);
      if (it == held_.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      held_.erase(it);
      Begin(std::move(t));
    }
  }

  // CURLOPT_PREREQFUNCTION: the request is about to go out on a connection.
  static int OnPrereq(void* clientp, char*, char*, int, int) {
    auto* t = static_cast<Transfer*>(clientp);
    long new_connections = 0;
    curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &new_connections);
    t->admission->Sent(t->id, new_connections > 0, t->opened_socket);
    return CURL_PREREQFUNC_OK;
  }

  // CURLOPT_OPENSOCKETFUNCTION: libcurl's own socket(), noting the socket.
  static curl_socket_t OnOpenSocket(void* clientp, curlsocktype, curl_sockaddr* address) {
    const int fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    static_cast<Transfer*>(clientp)->opened_socket = fd;
    return fd < 0 ? CURL_SOCKET_BAD : fd;
  }

  // CURLOPT_CLOSESOCKETFUNCTION: libcurl closes a connection's socket.
  static int OnCloseSocket(void* clientp, curl_socket_t socket) {
    static_cast<Http2Admission*>(clientp)->Closed(static_cast<int>(socket));
    return close(socket);
  }

  void RunDueTimers() {
    const auto now = SteadyClock::now();
    while (!timers_.empty() && timers_.top().due <= now) {
      std::function<void()> fn = std::move(const_cast<Timer&>(timers_.top()).fn);
      timers_.pop();
      fn();
    }
  }

  int WaitMillis() {
    const auto now = SteadyClock::now();
    std::optional<SteadyClock::time_point> next = curl_due_;
    if (!timers_.empty() && (!next || timers_.top().due < *next)) next = timers_.top().due;
    if (!next) return 1000;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count();
    // Round up so a 0.4 ms timer does not spin at 0 ms.
    if (*next > now && ms == 0) ms = 1;
    return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
  }

  // How long the loop polls before sleeping: while a few transfers are in
  // flight (their answers may be microseconds away) and when none is (the
  // next call may be).
  absl::Duration PollWindow() const {
    if (transfers_.empty()) return options_.idle_poll;
    if (transfers_.size() <= static_cast<size_t>(options_.busy_poll_max_transfers)) {
      return options_.busy_poll;
    }
    return absl::ZeroDuration();
  }

  void Loop() {
    epoll_event events[256];
    int running = 0;
    for (;;) {
      TakeQueued();
      RunDueTimers();
      if (curl_due_ && *curl_due_ <= SteadyClock::now()) {
        curl_due_.reset();
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
        DrainCompleted();
      }
      if (stopping_.load() && transfers_.empty() && held_.empty() && timers_.empty()) {
        absl::MutexLock lock(&mu_);
        if (starts_.empty() && new_timers_.empty()) break;
        continue;
      }
      int n = 0;
      if (queued_on_loop_) {
        n = epoll_wait(epfd_, events, 256, 0);
      } else if (const absl::Duration poll = PollWindow(); poll > absl::ZeroDuration()) {
        const auto until = SteadyClock::now() + absl::ToChronoNanoseconds(poll);
        while ((n = epoll_wait(epfd_, events, 256, 0)) == 0 && SteadyClock::now() < until) {
        }
        if (n == 0) n = epoll_wait(epfd_, events, 256, WaitMillis());
      } else {
        n = epoll_wait(epfd_, events, 256, WaitMillis());
      }
      queued_on_loop_ = false;
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == evfd_) {
          uint64_t v;
          ssize_t ignored = read(evfd_, &v, sizeof(v));
          (void)ignored;
          continue;
        }
        int flags = 0;
        if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi_, fd, flags, &running);
      }
      DrainCompleted();
      StartReleased();
    }
  }

  const Options options_;
  CURLM* multi_ = nullptr;
  int epfd_ = -1;
  int evfd_ = -1;
  std::thread loop_;
  std::atomic<bool> stopping_{false};
  // Loop thread only.
  Http2Admission admission_{options_.http2_streams_per_connection};
  absl::flat_hash_map<TransferId, std::unique_ptr<Transfer>> held_;
  std::atomic<int64_t> active_{0};
  std::atomic<TransferId> next_id_{1};

  absl::Mutex mu_;
  std::vector<std::unique_ptr<Transfer>> starts_ ABSL_GUARDED_BY(mu_);
  std::vector<TransferId> cancels_ ABSL_GUARDED_BY(mu_);
  std::vector<Timer> new_timers_ ABSL_GUARDED_BY(mu_);

  // Loop thread only.
  absl::flat_hash_map<TransferId, std::unique_ptr<Transfer>> transfers_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  uint64_t timer_seq_ = 0;
  std::optional<SteadyClock::time_point> curl_due_;
  std::vector<CURL*> idle_easy_;
  // Work was queued from the loop thread since the loop last took the queue.
  bool queued_on_loop_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpEngine>> HttpEngine::Create(const Options& options) {
  auto engine = std::make_unique<CurlHttpEngine>(options);
  absl::Status st = engine->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<HttpEngine>(std::move(engine));
}

}  // namespace aigw::http
