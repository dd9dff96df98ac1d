// Runs the real local cluster (the four service binaries over SQLite, the
// fake upstream standing in for OpenAI, Anthropic and DeepSeek), drives chat
// completions through the gateway, and checks what deploy/ relies on:
//   - `promtool check metrics` passes on every service's /metrics;
//   - every aigw_* metric the Grafana dashboard and the alert rules name is
//     exported by some service;
//   - a real Prometheus server scraping the cluster sees the completions,
//     evaluates every alert rule without error, and answers every dashboard
//     query with data.

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "aigw/v1/admin.grpc.pb.h"
#include "aigw/v1/chat.grpc.pb.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/jwt.h"
#include "rapidjson/document.h"
#include "soci/soci.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_database.h"

namespace aigw {
namespace {

using ::aigw::testing::Subprocess;

constexpr char kJwtSecret[] = "deploy-test-secret-0123456789abcdef0123456789";
constexpr char kMasterKey[] = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
// The fake upstream fails gpt-4-turbo once (one retry) and deepseek-reasoner
// always (retries, then the fallback).
constexpr char kFakeRules[] =
    R"([{"model":"gpt-4-turbo","status":500,"times":1},{"model":"deepseek-reasoner","status":503}])";
// Completions of Traffic() that end OK.
constexpr int kOkCompletions = 9;

std::string SourcePath(const std::string& rel) { return absl::StrCat(AIGW_SOURCE_DIR, "/", rel); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WaitFor(absl::Duration timeout, const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// "... grpc_port=N metrics_port=M" from a service's start-up log line.
bool ServingPorts(const std::string& log, int* grpc_port, int* metrics_port) {
  std::smatch m;
  static const std::regex kServing(R"(msg="serving".*grpc_port=(\d+) metrics_port=(\d+))");
  if (!std::regex_search(log, m, kServing)) return false;
  *grpc_port = std::stoi(m[1]);
  *metrics_port = std::stoi(m[2]);
  return true;
}

// Runs a shell command; its exit code and combined output.
int RunShell(const std::string& command, std::string* output) {
  FILE* p = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The program's path from $PATH (Subprocess execs a path), or "".
std::string FindInPath(const std::string& program) {
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "", ':')) {
    const std::string candidate = absl::StrCat(dir, "/", program);
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// The sample names of a Prometheus text exposition ("foo_bucket", not "foo").
std::set<std::string> SampleNames(const std::string& exposition) {
  std::set<std::string> names;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(std::string(line.substr(0, line.find_first_of("{ "))));
  }
  return names;
}

// Every aigw_* metric name in a text (PromQL, JSON, YAML). Recording rules
// would be named aigw:..., so they are not picked up.
std::set<std::string> AigwNames(const std::string& text) {
  std::set<std::string> names;
  static const std::regex kName(R"(\baigw_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName); it != std::sregex_iterator();
       ++it) {
    names.insert(it->str());
  }
  return names;
}

struct Service {
  std::string name;
  std::string binary;
  std::unique_ptr<Subprocess> proc;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string target() const { return absl::StrCat("127.0.0.1:", grpc_port); }
};

// The local cluster, shared by the tests of one process.
class Cluster {
 public:
  absl::Status Start() {
    absl::StatusOr<std::unique_ptr<testing::TestDatabase>> db =
        testing::TestDatabase::Create(db::Backend::kSqlite);
    if (!db.ok()) return db.status();
    db_ = *std::move(db);
    char dir_template[] = "/tmp/aigw-deploy-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) return absl::InternalError("mkdtemp");
    dir_ = dir_template;

    absl::StatusOr<std::unique_ptr<Subprocess>> fake = Subprocess::Start(
        {AIGW_FAKE_UPSTREAM_BIN, "--port=0", absl::StrCat("--rules=", kFakeRules)});
    if (!fake.ok()) return fake.status();
    fake_ = *std::move(fake);
    int fake_port = 0;
    if (!WaitFor(absl::Seconds(10), [&] {
          std::smatch m;
          const std::string out = fake_->Stdout();
          static const std::regex kPort(R"(listening port=(\d+))");
          if (!std::regex_search(out, m, kPort)) return false;
          fake_port = std::stoi(m[1]);
          return true;
        })) {
      return absl::DeadlineExceededError(absl::StrCat("fake upstream: ", fake_->Stderr()));
    }
    // As scripts/up --fake-upstream does: the seeded providers call the fake.
    // soci binds by reference until the statement runs: named strings.
    const std::string openai_url = absl::StrCat("http://127.0.0.1:", fake_port, "/v1");
    const std::string other_url = absl::StrCat("http://127.0.0.1:", fake_port);
    absl::Status st = db_->db().Run([&](soci::session& s) {
      s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code = 'openai'",
          soci::use(openai_url);
      s << "UPDATE t_ai_providers SET base_url = :u WHERE provider_code IN ('anthropic', "
           "'deepseek')",
          soci::use(other_url);
      return absl::OkStatus();
    });
    if (!st.ok()) return st;

    std::map<std::string, std::string> env = {{"AIGW_DB_URL", db_->url()},
                                              {"AIGW_JWT_SECRET", kJwtSecret},
                                              {"AIGW_MASTER_KEY", kMasterKey},
                                              {"AIGW_GRPC_ADDR", "127.0.0.1:0"},
                                              {"AIGW_METRICS_ADDR", "127.0.0.1:0"}};
    auto keypool_env = env;
    keypool_env["OPENAI_API_KEY"] = "sk-fake-openai-000000000001";
    keypool_env["ANTHROPIC_API_KEY"] = "sk-ant-fake-000000000001";
    keypool_env["DEEPSEEK_API_KEY"] = "sk-fake-deepseek-00000001";
    if (absl::Status s = StartService("keypool", AIGW_KEYPOOL_BIN, keypool_env); !s.ok()) return s;
    if (absl::Status s = StartService("usage", AIGW_USAGE_BIN, env); !s.ok()) return s;
    auto gateway_env = env;
    gateway_env["AIGW_KEYPOOL_ADDR"] = services_["keypool"].target();
    gateway_env["AIGW_USAGE_ADDR"] = services_["usage"].target();
    gateway_env["AIGW_SPOOL_DIR"] = dir_ + "/spool";
    gateway_env["AIGW_RETRY_MAX_ATTEMPTS"] = "2";
    gateway_env["AIGW_RETRY_INITIAL_BACKOFF"] = "10ms";
    gateway_env["AIGW_RETRY_MAX_BACKOFF"] = "50ms";
    if (absl::Status s = StartService("gateway", AIGW_GATEWAY_BIN, gateway_env); !s.ok()) return s;
    auto admin_env = env;
    admin_env["AIGW_KEYPOOL_ADDR"] = services_["keypool"].target();
    return StartService("admin", AIGW_ADMIN_BIN, admin_env);
  }

  ~Cluster() {
    for (auto& [name, s] : services_) {
      if (s.proc) s.proc->Signal(SIGTERM);
    }
    for (auto& [name, s] : services_) {
      if (s.proc) (void)s.proc->Wait(absl::Seconds(30));
    }
    if (!dir_.empty()) std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }

  const Service& service(const std::string& name) { return services_.at(name); }
  std::vector<std::string> names() const { return {"gateway", "keypool", "usage", "admin"}; }
  const std::string& dir() const { return dir_; }

  std::string Logs() const {
    std::string all;
    for (const auto& [name, s] : services_) {
      absl::StrAppend(&all, "--- ", name, " stderr:\n", s.proc ? s.proc->Stderr() : "", "\n");
    }
    return all;
  }

 private:
  absl::Status StartService(const std::string& name, const std::string& binary,
                            const std::map<std::string, std::string>& env) {
    Service s{name, binary};
    absl::StatusOr<std::unique_ptr<Subprocess>> proc = Subprocess::Start({binary}, env);
    if (!proc.ok()) return proc.status();
    s.proc = *std::move(proc);
    if (!WaitFor(absl::Seconds(20),
                 [&] { return ServingPorts(s.proc->Stderr(), &s.grpc_port, &s.metrics_port); })) {
      return absl::DeadlineExceededError(
          absl::StrCat(name, " did not start serving:\n", s.proc->Stderr()));
    }
    absl::Status serving = testing::WaitForServing(s.target(), absl::Seconds(10));
    services_[name] = std::move(s);
    return serving;
  }

  std::unique_ptr<testing::TestDatabase> db_;
  std::string dir_;
  std::unique_ptr<Subprocess> fake_;
  std::map<std::string, Service> services_;
};

std::string Bearer(const std::string& role) {
  auth::Claims c;
  c.subject = "deploy-test";
  c.role = role;
  c.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  c.expires_at = c.issued_at + absl::Hours(1);
  return absl::StrCat("Bearer ", *auth::MintJwt(kJwtSecret, c));
}

void WithDeadline(grpc::ClientContext* ctx, const std::string& authorization) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!authorization.empty()) ctx->AddMetadata("authorization", authorization);
}

v1::ChatCompletionRequest Chat(const std::string& provider, const std::string& model) {
  v1::ChatCompletionRequest r;
  r.set_provider_code(provider);
  r.set_model(model);
  auto* m = r.add_messages();
  m->set_role("user");
  m->set_content("Write a chorus about rain");
  r.mutable_caller()->set_user_id("deploy-test");
  return r;
}

class DeployClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new Cluster();
    absl::Status st = cluster_->Start();
    if (!st.ok()) {
      start_error_ = new std::string(absl::StrCat(st.ToString(), "\n", cluster_->Logs()));
      return;
    }
    Traffic();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << "the cluster did not start: " << *start_error_;
  }

  // A few completions of every kind the dashboard shows, one refused call,
  // and one management call per service.
  static void Traffic() {
    auto channel = grpc::CreateChannel(cluster_->service("gateway").target(),
                                       grpc::InsecureChannelCredentials());
    auto chat = v1::ChatService::NewStub(channel);
    const std::string app = Bearer("app");
    int ok = 0;
    auto unary = [&](const v1::ChatCompletionRequest& r, const std::string& auth,
                     v1::ChatCompletion* out = nullptr) {
      grpc::ClientContext ctx;
      WithDeadline(&ctx, auth);
      v1::ChatCompletion resp;
      grpc::Status st = chat->CreateChatCompletion(&ctx, r, &resp);
      if (st.ok()) ++ok;
      if (out != nullptr) *out = resp;
      return st;
    };
    auto stream = [&](const v1::ChatCompletionRequest& r) {
      grpc::ClientContext ctx;
      WithDeadline(&ctx, app);
      auto reader = chat->StreamChatCompletion(&ctx, r);
      v1::ChatCompletionChunk chunk;
      int chunks = 0;
      while (reader->Read(&chunk)) ++chunks;
      grpc::Status st = reader->Finish();
      if (st.ok()) ++ok;
      EXPECT_GT(chunks, 0);
      return st;
    };
    auto expect_ok = [](const grpc::Status& st) {
      EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
    };
    for (int i = 0; i < 3; ++i) expect_ok(unary(Chat("openai", ""), app));
    for (int i = 0; i < 2; ++i) expect_ok(stream(Chat("anthropic", "")));
    expect_ok(stream(Chat("openai", "")));
    expect_ok(unary(Chat("deepseek", "deepseek-chat"), app));
    // The fake fails gpt-4-turbo once: one retry.
    v1::ChatCompletion retried;
    grpc::Status st = unary(Chat("openai", "gpt-4-turbo"), app, &retried);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(retried.attempts(), 2);
    // deepseek-reasoner always fails: the fallback answers.
    v1::ChatCompletionRequest fb = Chat("deepseek", "deepseek-reasoner");
    auto* target = fb.add_fallbacks();
    target->set_provider_code("openai");
    target->set_model("gpt-4o-mini");
    v1::ChatCompletion fallen;
    st = unary(fb, app, &fallen);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(fallen.provider_code(), "openai");
    // Bad input, and a call without a token.
    v1::ChatCompletionRequest empty = Chat("openai", "");
    empty.clear_messages();
    EXPECT_EQ(unary(empty, app).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(unary(Chat("openai", ""), "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(ok, kOkCompletions);

    const std::string admin = Bearer("admin");
    {
      auto stub = v1::AdminService::NewStub(grpc::CreateChannel(
          cluster_->service("admin").target(), grpc::InsecureChannelCredentials()));
      grpc::ClientContext ctx;
      WithDeadline(&ctx, admin);
      v1::ListProvidersResponse resp;
      st = stub->ListProviders(&ctx, v1::ListProvidersRequest(), &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    {
      auto stub = v1::KeyPool::NewStub(grpc::CreateChannel(cluster_->service("keypool").target(),
                                                           grpc::InsecureChannelCredentials()));
      grpc::ClientContext ctx;
      WithDeadline(&ctx, admin);
      v1::ListKeyStatesResponse resp;
      st = stub->ListKeyStates(&ctx, v1::ListKeyStatesRequest(), &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
    }

    // Call events reach usage in batches; key gauges follow every second.
    const bool delivered = WaitFor(absl::Seconds(20), [] {
      absl::StatusOr<std::string> m =
          testing::HttpGet(cluster_->service("usage").metrics_port, "/metrics");
      std::smatch match;
      static const std::regex kIngested(R"(\naigw_usage_events_ingested_total (\d+))");
      return m.ok() && std::regex_search(*m, match, kIngested) &&
             std::stoi(match[1]) >= kOkCompletions;
    });
    EXPECT_TRUE(delivered) << "call events did not reach usage\n" << cluster_->Logs();
    {
      auto stub = v1::UsageService::NewStub(grpc::CreateChannel(
          cluster_->service("usage").target(), grpc::InsecureChannelCredentials()));
      grpc::ClientContext ctx;
      WithDeadline(&ctx, admin);
      v1::GetDashboardRequest req;
      req.set_days(1);
      v1::GetDashboardResponse resp;
      st = stub->GetDashboard(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
    }
    EXPECT_TRUE(WaitFor(absl::Seconds(10), [] {
      absl::StatusOr<std::string> m =
          testing::HttpGet(cluster_->service("keypool").metrics_port, "/metrics");
      return m.ok() && absl::StrContains(*m, "aigw_keypool_key_state{");
    })) << "the keypool exported no key state";
  }

  static std::string Metrics(const std::string& service) {
    absl::StatusOr<std::string> m =
        testing::HttpGet(cluster_->service(service).metrics_port, "/metrics");
    EXPECT_TRUE(m.ok()) << service << ": " << m.status();
    return m.ok() ? *m : "";
  }

  static Cluster* cluster_;
  static std::string* start_error_;
};

Cluster* DeployClusterTest::cluster_ = nullptr;
std::string* DeployClusterTest::start_error_ = nullptr;

TEST_F(DeployClusterTest, EveryServicePassesPromtoolCheckMetrics) {
  for (const std::string& name : cluster_->names()) {
    const std::string file = absl::StrCat(cluster_->dir(), "/", name, ".metrics");
    const std::string exposition = Metrics(name);
    // promtool passes empty input: make sure this is the service's.
    ASSERT_TRUE(absl::StrContains(exposition, "aigw_build_info{")) << name << ":\n" << exposition;
    std::ofstream(file) << exposition;
    std::string output;
    const int code = RunShell(absl::StrCat("promtool check metrics < '", file, "'"), &output);
    EXPECT_EQ(code, 0) << "promtool check metrics on aigw-" << name
                       << " (is promtool installed? apt-get install prometheus):\n"
                       << output;
  }
}

TEST_F(DeployClusterTest, DashboardAndAlertRulesUseOnlyExportedMetrics) {
  std::set<std::string> exported;
  for (const std::string& name : cluster_->names()) {
    const std::set<std::string> names = SampleNames(Metrics(name));
    EXPECT_TRUE(names.count("aigw_build_info")) << name;
    exported.insert(names.begin(), names.end());
  }
  const std::vector<std::string> files = {"deploy/grafana/aigw-dashboard.json",
                                          "deploy/prometheus/aigw-rules.yaml",
                                          "deploy/k8s/monitoring/prometheusrule.yaml"};
  for (const std::string& file : files) {
    const std::set<std::string> used = AigwNames(ReadFile(SourcePath(file)));
    EXPECT_GE(used.size(), 5u) << file << " names too few metrics to be the real file";
    for (const std::string& name : used) {
      EXPECT_TRUE(exported.count(name)) << file << " uses " << name
                                        << ", which no service exports";
    }
  }
}

// A Prometheus server on this machine scraping the four services.
class PrometheusServer {
 public:
  absl::Status Start(Cluster& cluster) {
    port_ = testing::PickFreePort();
    const std::string config = absl::StrCat(cluster.dir(), "/prometheus.yml");
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "rule_files:\n  - " << SourcePath("deploy/prometheus/aigw-rules.yaml") << "\n"
        << "scrape_configs:\n";
    // Job names as the ServiceMonitor gives them (the Services' names).
    for (const std::string& name : cluster.names()) {
      out << "  - job_name: aigw-" << name << "\n    honor_labels: true\n"
          << "    static_configs:\n      - targets: ['127.0.0.1:"
          << cluster.service(name).metrics_port << "']\n";
    }
    out.close();
    const std::string binary = FindInPath("prometheus");
    if (binary.empty()) {
      return absl::NotFoundError("prometheus is not installed (apt-get install prometheus)");
    }
    absl::StatusOr<std::unique_ptr<Subprocess>> proc = Subprocess::Start(
        {binary, "--config.file=" + config,
         "--storage.tsdb.path=" + cluster.dir() + "/prometheus-data",
         absl::StrCat("--web.listen-address=127.0.0.1:", port_), "--log.level=warn"});
    if (!proc.ok()) return proc.status();
    proc_ = *std::move(proc);
    if (!WaitFor(absl::Seconds(30), [&] { return testing::HttpGet(port_, "/-/ready").ok(); })) {
      return absl::DeadlineExceededError(
          absl::StrCat("prometheus did not become ready (is it installed? apt-get install "
                       "prometheus):\n",
                       proc_->Stderr()));
    }
    return absl::OkStatus();
  }
  ~PrometheusServer() {
    if (proc_) {
      proc_->Signal(SIGTERM);
      (void)proc_->Wait(absl::Seconds(20));
    }
  }

  // GET /api/v1/<path>; the parsed answer, which must have status success.
  absl::StatusOr<rapidjson::Document> Api(const std::string& path) {
    absl::StatusOr<std::string> body = testing::HttpGet(port_, "/api/v1/" + path);
    if (!body.ok()) return body.status();
    rapidjson::Document d;
    d.Parse(body->c_str());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("status")) {
      return absl::InternalError("unparsable answer: " + *body);
    }
    if (std::string(d["status"].GetString()) != "success") {
      return absl::InvalidArgumentError(*body);
    }
    return d;
  }

  // The vector an instant query returns.
  absl::StatusOr<rapidjson::Document> Query(const std::string& promql) {
    return Api("query?query=" + UrlEncode(promql));
  }

  std::string Stderr() const { return proc_ ? proc_->Stderr() : ""; }

 private:
  int port_ = 0;
  std::unique_ptr<Subprocess> proc_;
};

size_t ResultSize(const rapidjson::Document& d) { return d["data"]["result"].Size(); }

// The single value of a one-series instant vector, or NaN.
double Scalar(const rapidjson::Document& d) {
  const auto& r = d["data"]["result"];
  if (r.Size() != 1) return std::nan("");
  double v = std::nan("");
  (void)absl::SimpleAtod(r[0]["value"][1].GetString(), &v);
  return v;
}

// The queries of the dashboard, with its variables set as Grafana would for
// "All" and a short time range.
std::vector<std::pair<std::string, std::string>> DashboardQueries() {
  rapidjson::Document d;
  const std::string text = ReadFile(SourcePath("deploy/grafana/aigw-dashboard.json"));
  d.Parse(text.c_str());
  std::vector<std::pair<std::string, std::string>> out;
  if (d.HasParseError()) return out;
  auto fill = [](std::string expr) {
    return absl::StrReplaceAll(expr, {{"$__rate_interval", "1m"},
                                      {"$__range", "5m"},
                                      {"${provider}", ".*"},
                                      {"$provider", ".*"},
                                      {"${model}", ".*"},
                                      {"$model", ".*"}});
  };
  std::function<void(const rapidjson::Value&)> walk = [&](const rapidjson::Value& panels) {
    for (const auto& p : panels.GetArray()) {
      if (p.HasMember("panels")) walk(p["panels"]);
      if (!p.HasMember("targets")) continue;
      for (const auto& t : p["targets"].GetArray()) {
        out.emplace_back(absl::StrCat(p["title"].GetString(), " / ", t["refId"].GetString()),
                         fill(t["expr"].GetString()));
      }
    }
  };
  walk(d["panels"]);
  // Variables: label_values(<selector>, <label>).
  for (const auto& v : d["templating"]["list"].GetArray()) {
    if (!v.HasMember("definition")) continue;
    std::string def = v["definition"].GetString();
    static const std::regex kLabelValues(R"(^label_values\((.*),\s*([a-z_]+)\)$)");
    std::smatch m;
    if (std::regex_match(def, m, kLabelValues)) {
      out.emplace_back(absl::StrCat("variable ", v["name"].GetString()),
                       fill(absl::StrCat("count by (", m[2].str(), ") (", m[1].str(), ")")));
    } else {
      out.emplace_back(absl::StrCat("variable ", v["name"].GetString()), def);
    }
  }
  return out;
}

TEST_F(DeployClusterTest, PrometheusScrapesTheClusterAndAnswersRulesAndDashboard) {
  PrometheusServer prom;
  absl::Status st = prom.Start(*cluster_);
  ASSERT_TRUE(st.ok()) << st;

  // The completions above, as Prometheus sees them.
  double ok = 0;
  EXPECT_TRUE(WaitFor(absl::Seconds(20), [&] {
    absl::StatusOr<rapidjson::Document> d =
        prom.Query(R"(sum(aigw_gateway_requests_total{code="OK"}))");
    ok = d.ok() ? Scalar(*d) : 0;
    return ok == kOkCompletions;
  })) << "aigw_gateway_requests_total{code=\"OK\"} summed to " << ok << "\n"
      << prom.Stderr();
  absl::StatusOr<rapidjson::Document> d =
      prom.Query(R"(sum(aigw_gateway_fallbacks_total{from="deepseek",to="openai"}))");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(Scalar(*d), 1);
  d = prom.Query(R"(sum(aigw_gateway_retries_total{provider="openai"}))");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(Scalar(*d), 1);
  d = prom.Query(R"(sum(aigw_gateway_tokens_total{kind="completion"}))");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_GT(Scalar(*d), 0);

  // Every dashboard query parses and, once rate windows hold two scrapes,
  // has data.
  const auto queries = DashboardQueries();
  ASSERT_GT(queries.size(), 30u);
  for (const auto& [where, expr] : queries) {
    size_t series = 0;
    std::string error;
    WaitFor(absl::Seconds(15), [&] {
      absl::StatusOr<rapidjson::Document> r = prom.Query(expr);
      if (!r.ok()) {
        error = std::string(r.status().message());
        return true;
      }
      series = ResultSize(*r);
      return series > 0;
    });
    EXPECT_TRUE(error.empty()) << where << ": " << expr << "\n" << error;
    EXPECT_GT(series, 0u) << where << " has no data: " << expr;
  }

  // Every alert rule has been evaluated without error, and a healthy
  // cluster has no alert pending or firing.
  std::vector<std::string> problems;
  size_t rules = 0;
  EXPECT_TRUE(WaitFor(absl::Seconds(15), [&] {
    absl::StatusOr<rapidjson::Document> r = prom.Api("rules");
    if (!r.ok()) return false;
    problems.clear();
    rules = 0;
    for (const auto& g : (*r)["data"]["groups"].GetArray()) {
      for (const auto& rule : g["rules"].GetArray()) {
        ++rules;
        const std::string name = rule["name"].GetString();
        if (absl::StartsWith(rule["lastEvaluation"].GetString(), "0001-")) {
          problems.push_back(name + " not evaluated yet");
        } else if (std::string(rule["health"].GetString()) != "ok") {
          problems.push_back(absl::StrCat(name, ": ", rule["lastError"].GetString()));
        }
        if (rule.HasMember("state") && std::string(rule["state"].GetString()) != "inactive") {
          problems.push_back(absl::StrCat(name, " is ", rule["state"].GetString()));
        }
      }
    }
    return problems.empty();
  })) << absl::StrJoin(problems, "\n");
  EXPECT_GE(rules, 10u);
}

}  // namespace
}  // namespace aigw
