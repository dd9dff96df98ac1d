#include "tools/fake-upstream/fake_upstream_server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/fake-upstream/completion.h"
#include "tools/fake-upstream/connection.h"
#include "tools/fake-upstream/wire_format.h"

namespace aigw::fake_upstream {
namespace {

constexpr char kJson[] = "application/json";
// A listen backlog large enough that a benchmark opening hundreds of
// connections at once is not throttled by SYN retries (cpp-httplib's is 5).
constexpr int kListenBacklog = 1024;

enum class Endpoint { kChatCompletions, kMessages, kModels };

std::string BearerToken(const httplib::Request& req) {
  std::string auth = req.get_header_value("Authorization");
  if (auth.size() > 7 && absl::StartsWithIgnoreCase(auth, "Bearer ")) {
    return std::string(absl::StripAsciiWhitespace(absl::string_view(auth).substr(7)));
  }
  return "";
}

bool IsPseudoHeader(const std::string& name) {
  // cpp-httplib adds the peer's and its own address as request headers.
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
         name == "LOCAL_PORT";
}

std::string ControlError(absl::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("error");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return buffer.GetString();
}

std::string ModelsJson(const std::vector<std::string>& models) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("models");
  w.StartArray();
  for (const std::string& m : models) w.String(m);
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

// {"models":[...]} or [...] -> the list; {"id": "..."} -> one model.
absl::StatusOr<std::vector<std::string>> ParseModels(absl::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError()) return absl::InvalidArgumentError("invalid JSON");
  const rapidjson::Value* list = &doc;
  if (doc.IsObject() && doc.HasMember("id") && doc["id"].IsString()) {
    return std::vector<std::string>{doc["id"].GetString()};
  }
  if (doc.IsObject() && doc.HasMember("models")) list = &doc["models"];
  if (!list->IsArray()) {
    return absl::InvalidArgumentError(R"(expected {"models":[...]}, [...] or {"id":"..."})");
  }
  std::vector<std::string> models;
  for (const auto& m : list->GetArray()) {
    if (!m.IsString()) return absl::InvalidArgumentError("model ids must be strings");
    models.emplace_back(m.GetString(), m.GetStringLength());
  }
  return models;
}

// A streaming answer in progress. Lives as long as cpp-httplib holds the
// content provider, so its destructor sees how the exchange ended.
class Stream {
 public:
  Stream(std::vector<SseFrame> frames, std::shared_ptr<const Rule> rule,
         std::shared_ptr<RecordedRequest> record, RequestLog* log, const InterruptibleWait* waits)
      : frames_(std::move(frames)),
        rule_(std::move(rule)),
        record_(std::move(record)),
        log_(log),
        waits_(waits) {}

  ~Stream() {
    // Never ran, or was cut short before deciding: the client stopped
    // reading (cpp-httplib failed to write the headers).
    Finish(Outcome::kClientDisconnected);
  }

  // Writes every frame, pacing and cutting them as the rule says.
  bool Run(httplib::DataSink& sink) {
    const absl::Duration chunk_delay = rule_ ? rule_->chunk_delay : absl::ZeroDuration();
    const int64_t drop_after = rule_ ? rule_->drop_after_chunks : -1;
    int64_t events = 0;
    for (const SseFrame& frame : frames_) {
      if (!frame.comment) {
        if (events == drop_after) {
          // Logged before the hang-up: a client that sees it may read the
          // log at once.
          const bool more = Finish(Outcome::kDropped);
          DropCurrentConnection();
          return more;
        }
        if (events > 0 && chunk_delay > absl::ZeroDuration()) {
          WaitResult waited = waits_->Wait(chunk_delay);
          if (waited == WaitResult::kClientGone) return Finish(Outcome::kClientDisconnected);
          if (waited == WaitResult::kStopping) return Finish(Outcome::kServerStopped);
        }
        ++events;
      }
      if (!sink.write(frame.text.data(), frame.text.size())) {
        return Finish(Outcome::kClientDisconnected);
      }
    }
    sink.done();
    Finish(Outcome::kOk);
    return true;
  }

 private:
  // Always false: the value Run returns to abort the stream.
  bool Finish(Outcome outcome) {
    if (!finished_) {
      finished_ = true;
      log_->Finish(*record_, 200, outcome);
    }
    return false;
  }

  const std::vector<SseFrame> frames_;
  const std::shared_ptr<const Rule> rule_;
  const std::shared_ptr<RecordedRequest> record_;
  RequestLog* const log_;
  const InterruptibleWait* const waits_;
  bool finished_ = false;
};

}  // namespace

std::vector<std::string> DefaultModels() {
  return {"gpt-4o",
          "gpt-4o-mini",
          "gpt-3.5-turbo",
          "claude-3-5-sonnet-20241022",
          "claude-3-5-haiku-20241022",
          "deepseek-chat",
          "deepseek-reasoner"};
}

class FakeUpstreamServer::Impl {
 public:
  explicit Impl(ServerOptions options)
      : options_(std::move(options)),
        log_(options_.max_recorded_requests),
        initial_models_(options_.models),
        models_(options_.models) {
    for (const Rule& rule : options_.rules) rules_.Add(rule);
  }

  ~Impl() { Stop(); }

  absl::Status Start() {
    Route();
    const int threads = std::max(1, options_.threads);
    http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_.set_keep_alive_max_count(1000000);
    http_.set_keep_alive_timeout(
        std::max<int64_t>(1, absl::ToInt64Seconds(options_.keep_alive_timeout)));
    http_.set_tcp_nodelay(true);
    // cpp-httplib's default adds SO_REUSEPORT, which lets a second fake on a
    // busy port start and silently take half the traffic.
    http_.set_socket_options([](socket_t sock) {
      int one = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    });
    if (options_.port == 0) {
      port_ = http_.bind_to_any_port(options_.host);
    } else if (http_.bind_to_port(options_.host, options_.port)) {
      port_ = options_.port;
    }
    if (port_ <= 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.host, ":", options_.port));
    }
    ::listen(http_.listen_socket(), kListenBacklog);
    thread_ = std::thread([this] {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      // Inherited by the worker pool created inside listen_after_bind: a
      // write to a vanished client fails with EPIPE instead of killing us.
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      http_.listen_after_bind();
    });
    // stop() is a no-op until the accept loop runs, so wait for it.
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return absl::OkStatus();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    waits_.Interrupt();
    http_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  // Where a client on this machine reaches the server.
  std::string client_host() const {
    const std::string& host = options_.host;
    if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
    if (host == "::") return "[::1]";
    return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]") : host;
  }
  RuleBook& rules() { return rules_; }
  RequestLog& log() { return log_; }

  std::vector<std::string> models() const {
    absl::MutexLock lock(&models_mu_);
    return models_;
  }
  void SetModels(std::vector<std::string> models) {
    absl::MutexLock lock(&models_mu_);
    models_ = std::move(models);
  }

 private:
  void Route() {
    auto provider = [this](Endpoint endpoint) {
      return [this, endpoint](const httplib::Request& req, httplib::Response& res) {
        HandleProvider(endpoint, req, res);
      };
    };
    http_.Post("/v1/chat/completions", provider(Endpoint::kChatCompletions));
    http_.Post("/chat/completions", provider(Endpoint::kChatCompletions));
    http_.Post("/v1/messages", provider(Endpoint::kMessages));
    http_.Get("/v1/models", provider(Endpoint::kModels));
    http_.Get("/models", provider(Endpoint::kModels));
    RouteControl();
  }

  // --- provider endpoints ----------------------------------------------------

  void HandleProvider(Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    const bool anthropic_auth = req.has_header("x-api-key");
    const ApiFormat format =
        endpoint == Endpoint::kMessages || (endpoint == Endpoint::kModels && anthropic_auth)
            ? ApiFormat::kAnthropic
            : ApiFormat::kOpenAi;

    RecordedRequest recorded;
    recorded.time = options_.clock->Now();
    recorded.method = req.method;
    recorded.path = req.path;
    // Each dialect authenticates with its own header only, as the real
    // providers do; the record keeps whichever key was sent.
    std::string anthropic_key = req.get_header_value("x-api-key");
    std::string bearer_key = BearerToken(req);
    const bool authenticated =
        format == ApiFormat::kAnthropic ? !anthropic_key.empty() : !bearer_key.empty();
    recorded.api_key = std::move(anthropic_key.empty() ? bearer_key : anthropic_key);
    for (const auto& [name, value] : req.headers) {
      if (!IsPseudoHeader(name)) recorded.headers.emplace_back(name, value);
    }
    recorded.body = req.body;
    std::shared_ptr<RecordedRequest> record = log_.Begin(std::move(recorded));
    const std::string& api_key = record->api_key;

    std::optional<absl::StatusOr<ChatRequest>> chat;
    if (endpoint != Endpoint::kModels) chat = ParseChatRequest(format, req.body);
    const std::string model = chat && chat->ok() ? (*chat)->model : "";

    std::shared_ptr<const Rule> rule = rules_.Take(api_key, req.path, model);
    if (rule && rule->delay > absl::ZeroDuration()) {
      WaitResult waited = waits_.Wait(rule->delay);
      if (waited != WaitResult::kElapsed) {
        log_.Finish(*record, 0,
                    waited == WaitResult::kClientGone ? Outcome::kClientDisconnected
                                                      : Outcome::kServerStopped);
        DropCurrentConnection();
        return;
      }
    }
    if (rule && rule->drop) {
      // Logged before the hang-up: a client that sees it may read the log
      // at once.
      log_.Finish(*record, 0, Outcome::kDropped);
      DropCurrentConnection();
      return;
    }

    auto fail = [&](int status, absl::string_view message, const Rule* by_rule = nullptr) {
      SendError(format, status, message, by_rule, res);
      log_.Finish(*record, status, Outcome::kError);
    };
    if (!authenticated) {
      if (format == ApiFormat::kAnthropic) return fail(401, "x-api-key header is required");
      return fail(401,
                  "You didn't provide an API key. You need to provide your API key in an "
                  "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
    }
    if (format == ApiFormat::kAnthropic && !req.has_header("anthropic-version")) {
      return fail(400, "anthropic-version: header is required");
    }
    if (rule && rule->status != 0) return fail(rule->status, rule->message, rule.get());

    if (endpoint == Endpoint::kModels) {
      std::vector<std::string> list = models();
      res.set_content(format == ApiFormat::kAnthropic ? AnthropicModelListJson(list)
                                                      : OpenAiModelListJson(list),
                      kJson);
      log_.Finish(*record, 200, Outcome::kOk);
      return;
    }

    if (!chat->ok()) return fail(400, chat->status().message());
    const ChatRequest& request = **chat;
    if (options_.strict_models && !HasModel(request.model)) {
      return fail(404, absl::StrCat("The model `", request.model,
                                    "` does not exist or you do not have access to it."));
    }

    static const UsageOverride kNoOverride;
    Completion completion = MakeCompletion(request, rule ? rule->content : std::nullopt,
                                           rule ? rule->usage : kNoOverride);
    const int64_t n = next_id_.fetch_add(1, std::memory_order_relaxed);
    ResponseMeta meta{format == ApiFormat::kAnthropic ? absl::StrCat("msg_fake", n)
                                                      : absl::StrCat("chatcmpl-fake", n),
                      absl::ToUnixSeconds(options_.clock->Now()), request.model};
    const bool omit_usage = rule && rule->omit_usage;

    if (!request.stream) {
      res.set_content(format == ApiFormat::kAnthropic
                          ? AnthropicMessageJson(meta, completion, omit_usage)
                          : OpenAiCompletionJson(meta, completion, omit_usage),
                      kJson);
      log_.Finish(*record, 200, Outcome::kOk);
      return;
    }

    StreamShape shape{request.include_usage, omit_usage};
    auto stream = std::make_shared<Stream>(format == ApiFormat::kAnthropic
                                               ? AnthropicStreamFrames(meta, completion, shape)
                                               : OpenAiStreamFrames(meta, completion, shape),
                                           std::move(rule), std::move(record), &log_, &waits_);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream; charset=utf-8",
        [stream](size_t, httplib::DataSink& sink) { return stream->Run(sink); });
  }

  void SendError(ApiFormat format, int status, absl::string_view message, const Rule* rule,
                 httplib::Response& res) {
    ErrorDefaults defaults = DefaultError(format, status);
    if (message.empty()) message = defaults.message;
    absl::string_view type = rule && !rule->error_type.empty() ? rule->error_type : defaults.type;
    absl::string_view code = rule && !rule->error_code.empty() ? rule->error_code : defaults.code;
    res.status = status;
    if (rule && rule->retry_after_seconds.has_value()) {
      res.set_header("Retry-After", absl::StrCat(*rule->retry_after_seconds));
    }
    res.set_content(format == ApiFormat::kAnthropic ? AnthropicErrorJson(type, message)
                                                    : OpenAiErrorJson(message, type, code),
                    kJson);
  }

  bool HasModel(absl::string_view model) const {
    absl::MutexLock lock(&models_mu_);
    return std::find(models_.begin(), models_.end(), model) != models_.end();
  }

  // --- control API -----------------------------------------------------------

  void RouteControl() {
    using httplib::Request;
    using httplib::Response;
    http_.Get("/_control/health",
              [](const Request&, Response& res) { res.set_content(R"({"status":"ok"})", kJson); });

    http_.Get("/_control/rules", [this](const Request&, Response& res) {
      res.set_content(RulesToJson(rules_.List()), kJson);
    });
    http_.Post("/_control/rules", [this](const Request& req, Response& res) {
      absl::StatusOr<std::vector<Rule>> rules = ParseRules(req.body);
      if (!rules.ok()) return BadControlRequest(rules.status(), res);
      std::string ids;
      for (Rule& rule : *rules) {
        absl::StrAppend(&ids, ids.empty() ? "" : ",", rules_.Add(std::move(rule)));
      }
      res.set_content(absl::StrCat(R"({"ids":[)", ids, "]}"), kJson);
    });
    http_.Delete("/_control/rules", [this](const Request&, Response& res) {
      rules_.Clear();
      res.set_content("{}", kJson);
    });
    http_.Delete(R"(/_control/rules/(\d+))", [this](const Request& req, Response& res) {
      int64_t id = 0;
      if (!absl::SimpleAtoi(req.matches[1].str(), &id) || !rules_.Remove(id)) {
        res.status = 404;
        res.set_content(ControlError("no such rule"), kJson);
        return;
      }
      res.set_content("{}", kJson);
    });

    http_.Get("/_control/requests", [this](const Request&, Response& res) {
      res.set_content(log_.RequestsJson(), kJson);
    });
    http_.Delete("/_control/requests", [this](const Request&, Response& res) {
      log_.ClearRequests();
      res.set_content("{}", kJson);
    });
    http_.Get("/_control/stats",
              [this](const Request&, Response& res) { res.set_content(log_.StatsJson(), kJson); });
    http_.Delete("/_control/stats", [this](const Request&, Response& res) {
      log_.ResetStats();
      res.set_content("{}", kJson);
    });

    http_.Get("/_control/models", [this](const Request&, Response& res) {
      res.set_content(ModelsJson(models()), kJson);
    });
    http_.Put("/_control/models", [this](const Request& req, Response& res) {
      absl::StatusOr<std::vector<std::string>> list = ParseModels(req.body);
      if (!list.ok()) return BadControlRequest(list.status(), res);
      SetModels(*std::move(list));
      res.set_content(ModelsJson(models()), kJson);
    });
    http_.Post("/_control/models", [this](const Request& req, Response& res) {
      absl::StatusOr<std::vector<std::string>> list = ParseModels(req.body);
      if (!list.ok()) return BadControlRequest(list.status(), res);
      {
        absl::MutexLock lock(&models_mu_);
        for (std::string& m : *list) {
          if (std::find(models_.begin(), models_.end(), m) == models_.end()) {
            models_.push_back(std::move(m));
          }
        }
      }
      res.set_content(ModelsJson(models()), kJson);
    });
    http_.Delete(R"(/_control/models/(.+))", [this](const Request& req, Response& res) {
      const std::string id = req.matches[1].str();
      absl::MutexLock lock(&models_mu_);
      auto it = std::find(models_.begin(), models_.end(), id);
      if (it == models_.end()) {
        res.status = 404;
        res.set_content(ControlError("no such model"), kJson);
        return;
      }
      models_.erase(it);
      res.set_content("{}", kJson);
    });

    http_.Post("/_control/reset", [this](const Request&, Response& res) {
      rules_.Clear();
      for (const Rule& rule : options_.rules) rules_.Add(rule);
      log_.ClearRequests();
      log_.ResetStats();
      SetModels(initial_models_);
      res.set_content("{}", kJson);
    });
  }

  static void BadControlRequest(const absl::Status& status, httplib::Response& res) {
    res.status = 400;
    res.set_content(ControlError(status.message()), kJson);
  }

  const ServerOptions options_;
  ConnectionAwareServer http_;
  InterruptibleWait waits_;
  RuleBook rules_;
  RequestLog log_;
  const std::vector<std::string> initial_models_;
  mutable absl::Mutex models_mu_;
  std::vector<std::string> models_ ABSL_GUARDED_BY(models_mu_);
  std::atomic<int64_t> next_id_{1};
  int port_ = 0;
  std::thread thread_;
};

FakeUpstreamServer::FakeUpstreamServer(ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeUpstreamServer::~FakeUpstreamServer() = default;

absl::Status FakeUpstreamServer::Start() { return impl_->Start(); }
void FakeUpstreamServer::Stop() { impl_->Stop(); }
int FakeUpstreamServer::port() const { return impl_->port(); }
std::string FakeUpstreamServer::base_url() const {
  return absl::StrCat("http://", impl_->client_host(), ":", impl_->port());
}
RuleBook& FakeUpstreamServer::rules() { return impl_->rules(); }
RequestLog& FakeUpstreamServer::requests() { return impl_->log(); }
std::vector<std::string> FakeUpstreamServer::models() const { return impl_->models(); }
void FakeUpstreamServer::SetModels(std::vector<std::string> models) {
  impl_->SetModels(std::move(models));
}

}  // namespace aigw::fake_upstream
