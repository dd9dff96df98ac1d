// The memory floor of the gateway's two big libraries: a gRPC callback server
// whose only handler hands each call to one libcurl multi loop, which POSTs
// to an upstream and finishes the call when the answer arrives. No auth, no
// database, no metrics, no JSON. Held at 10k calls on a slow upstream, its RSS
// is what gRPC + libcurl need for them; the gateway's RSS above it is ours.
//   aigw-library-floor --upstream=http://127.0.0.1:18092/v1/chat/completions
//       [--port=51081] [--minimal_stack] [--buffer=2048] [--max_connects=20000]
// benchmarks/floor/run drives it with aigw-loadgen and samples its RSS.

#include <curl/curl.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(int, port, 51081, "gRPC port (127.0.0.1)");
ABSL_FLAG(std::string, upstream, "http://127.0.0.1:18092/v1/chat/completions",
          "URL every call POSTs to");
ABSL_FLAG(bool, minimal_stack, false, "Set GRPC_ARG_MINIMAL_STACK on the server");
ABSL_FLAG(long, buffer, 2048, "CURLOPT_BUFFERSIZE (libcurl's receive buffer per easy handle)");
ABSL_FLAG(long, max_connects, 20000,
          "CURLMOPT_MAXCONNECTS; above the calls in flight, as the gateway's engine keeps it");

namespace {

using Clock = std::chrono::steady_clock;

// About the size of a short chat request as the gateway sends it upstream.
constexpr char kRequestBody[] =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},)"
    R"({"role":"user","content":"Write one line about rain."}],"max_tokens":64,)"
    R"("temperature":0.7,"top_p":1,"stream":false,"user":"loadgen-floor-benchmark"})";

// Idle easy handles kept for reuse. A real engine caps its pool, so at 10k
// calls in flight the handles beyond this are freed, as they would be there.
constexpr size_t kMaxFreeHandles = 256;

struct PendingCall {
  grpc::ServerUnaryReactor* reactor;
  aigw::v1::ChatCompletion* response;
};

// One upstream request. It owns its easy handle so that the handle, and the
// buffers libcurl hangs off it, are reused with it.
struct Transfer {
  CURL* easy = nullptr;
  std::string body;
  PendingCall call{};
};

size_t AppendBody(char* data, size_t size, size_t n, void* transfer) {
  static_cast<Transfer*>(transfer)->body.append(data, size * n);
  return size * n;
}

// All transfers run on one thread; gRPC threads only queue calls and wake it.
// Not curl_multi_poll(): it and curl_multi_perform() visit every transfer on
// each wake-up, and at 10k transfers that saturates a core at ~2k calls/s.
// epoll + curl_multi_socket_action(), as in the gateway's engine, touch only
// the sockets that are ready.
class CurlLoop {
 public:
  CurlLoop(std::string url, long buffer_size, long max_connects)
      : url_(std::move(url)),
        buffer_size_(buffer_size),
        multi_(curl_multi_init()),
        epoll_(epoll_create1(EPOLL_CLOEXEC)),
        wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "Authorization: Bearer sk-xxxxxxxxxxxxxxxxxxxxxxxx");
    // Never wait for a "100 Continue" (libcurl asks for one on large bodies).
    headers_ = curl_slist_append(headers_, "Expect:");
    // libcurl counts busy connections against this cap too: below the calls
    // in flight, every finished transfer closes a connection (often its own)
    // and the next call connects again (at 10k calls, 4096 halved the
    // throughput). The gateway's engine sets it to the transfers in flight
    // plus its idle allowance; a fixed cap above 10k does the same here.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, max_connects);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlLoop::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlLoop::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    epoll_event ev{.events = EPOLLIN, .data = {.fd = wake_}};
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    // Never joined: the process only ends by a signal.
    std::thread([this] { Run(); }).detach();
  }

  void Submit(PendingCall call) {
    {
      absl::MutexLock lock(&mu_);
      queue_.push_back(call);
    }
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof(one));
  }

 private:
  static int OnSocket(CURL*, curl_socket_t fd, int what, void* self, void* registered) {
    auto* loop = static_cast<CurlLoop*>(self);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(loop->epoll_, EPOLL_CTL_DEL, fd, nullptr);
      return 0;
    }
    epoll_event ev{.events = 0, .data = {.fd = fd}};
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    epoll_ctl(loop->epoll_, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    curl_multi_assign(loop->multi_, fd, loop);  // the next call's `registered`
    return 0;
  }

  static int OnTimer(CURLM*, long timeout_ms, void* self) {
    static_cast<CurlLoop*>(self)->deadline_ =
        timeout_ms < 0 ? Clock::time_point::max()
                       : Clock::now() + std::chrono::milliseconds(timeout_ms);
    return 0;
  }

  void Run() {
    std::vector<PendingCall> batch;
    epoll_event events[256];
    int running = 0;
    Clock::time_point next_report = Clock::now();
    for (;;) {
      // Tells whether the calls in flight really reached the upstream.
      if (Clock::now() >= next_report) {
        std::fprintf(stderr, "transfers running=%d\n", running);
        next_report += std::chrono::seconds(1);
      }
      int wait_ms = 1000;
      if (deadline_ != Clock::time_point::max()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
        wait_ms = std::clamp<int>(left.count(), 0, 1000);
      }
      int n = epoll_wait(epoll_, events, 256, wait_ms);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_) {
          uint64_t count;
          (void)!read(wake_, &count, sizeof(count));
          continue;
        }
        int flags = 0;
        if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi_, fd, flags, &running);
      }
      {
        absl::MutexLock lock(&mu_);
        batch.swap(queue_);
      }
      for (const PendingCall& call : batch) {
        Transfer* t = Acquire();
        t->call = call;
        t->body.clear();
        curl_multi_add_handle(multi_, t->easy);  // sets the timer: started below
      }
      batch.clear();
      if (Clock::now() >= deadline_) {
        deadline_ = Clock::time_point::max();
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
      }
    }
  }

  void Finish(CURL* easy, CURLcode result) {
    Transfer* t = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
    curl_multi_remove_handle(multi_, easy);
    long http = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
    if (result == CURLE_OK && http == 200) {
      t->call.response->set_content(absl::StrCat(t->body.size(), " bytes"));
      t->call.reactor->Finish(grpc::Status::OK);
    } else {
      t->call.reactor->Finish(grpc::Status(
          grpc::StatusCode::UNAVAILABLE, absl::StrCat(curl_easy_strerror(result), " http ", http)));
    }
    if (free_.size() < kMaxFreeHandles) {
      free_.push_back(t);
    } else {
      curl_easy_cleanup(t->easy);
      delete t;
    }
  }

  Transfer* Acquire() {
    if (!free_.empty()) {
      Transfer* t = free_.back();
      free_.pop_back();
      return t;
    }
    // Every option is the same for all calls: set once per handle.
    auto* t = new Transfer;
    CURL* e = t->easy = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, buffer_size_);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, kRequestBody);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(sizeof(kRequestBody) - 1));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &AppendBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    return t;
  }

  const std::string url_;
  const long buffer_size_;
  CURLM* const multi_;
  const int epoll_;
  const int wake_;  // eventfd: calls queued
  curl_slist* headers_ = nullptr;
  absl::Mutex mu_;
  std::vector<PendingCall> queue_ ABSL_GUARDED_BY(mu_);
  // Loop thread only (libcurl calls OnTimer from within the loop's calls):
  Clock::time_point deadline_ = Clock::time_point::max();
  std::vector<Transfer*> free_;
};

class FloorChatService final : public aigw::v1::ChatService::CallbackService {
 public:
  explicit FloorChatService(CurlLoop* loop) : loop_(loop) {}

  grpc::ServerUnaryReactor* CreateChatCompletion(grpc::CallbackServerContext* context,
                                                 const aigw::v1::ChatCompletionRequest* request,
                                                 aigw::v1::ChatCompletion* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    loop_->Submit({reactor, response});
    return reactor;
  }

 private:
  CurlLoop* const loop_;
};

}  // namespace

int main(int argc, char** argv) {
  // As in aigw-gateway, so that both are measured with the same allocator.
  mallopt(M_ARENA_MAX, 2);
  // Also as the gateway: the checks cost CPU, and the benchmark is CPU-bound.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // One socket per call in flight: 10k exceed the usual soft limit of 1024.
  if (rlimit lim; getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  absl::ParseCommandLine(argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  CurlLoop loop(absl::GetFlag(FLAGS_upstream), absl::GetFlag(FLAGS_buffer),
                absl::GetFlag(FLAGS_max_connects));
  FloorChatService service(&loop);
  grpc::ServerBuilder builder;
  if (absl::GetFlag(FLAGS_minimal_stack)) builder.AddChannelArgument(GRPC_ARG_MINIMAL_STACK, 1);
  int port = 0;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port)),
                           grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "aigw-library-floor: cannot listen on port %d\n",
                 absl::GetFlag(FLAGS_port));
    return 1;
  }
  std::fprintf(stderr, "aigw-library-floor: serving on 127.0.0.1:%d\n", port);
  server->Wait();  // until a signal ends the process
}
