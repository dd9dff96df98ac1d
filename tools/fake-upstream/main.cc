// aigw-fake-upstream: a stand-in for the OpenAI, Anthropic and DeepSeek HTTP
// APIs for tests, the local demo and benchmarks. See README.md.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "libs/common/logging.h"
#include "tools/fake-upstream/fake_upstream_server.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 0,
          "Port to listen on; 0 picks a free one. The bound port is printed "
          "on stdout as 'listening port=N'.");
ABSL_FLAG(std::string, models, "",
          "Comma-separated model ids served by the model lists (default: a built-in list "
          "of OpenAI, Anthropic and DeepSeek models).");
ABSL_FLAG(int, threads, 64,
          "Worker threads; each open connection holds one, so this bounds concurrent calls.");
ABSL_FLAG(std::string, rules_file, "", "JSON file of rules in force from the start.");
ABSL_FLAG(std::string, rules, "", "Rules in force from the start, as inline JSON.");
ABSL_FLAG(int64_t, max_recorded_requests, 10000,
          "How many recent requests GET /_control/requests keeps (0: none).");
ABSL_FLAG(bool, strict_models, false,
          "Answer chat calls for a model not in the list with the provider's 404.");
ABSL_FLAG(int, keep_alive_timeout_s, 5, "Seconds an idle keep-alive connection is kept.");
ABSL_FLAG(std::string, log_level, "info", "trace|debug|info|warn|error");

namespace {

using aigw::fake_upstream::ParseRules;
using aigw::fake_upstream::Rule;
using aigw::fake_upstream::ServerOptions;

absl::StatusOr<std::vector<Rule>> InitialRules() {
  std::vector<Rule> rules;
  if (std::string path = absl::GetFlag(FLAGS_rules_file); !path.empty()) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("--rules_file: cannot read ", path));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<std::vector<Rule>> from_file = ParseRules(text.str());
    if (!from_file.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--rules_file ", path, ": ", from_file.status().message()));
    }
    rules = *std::move(from_file);
  }
  if (std::string inline_rules = absl::GetFlag(FLAGS_rules); !inline_rules.empty()) {
    absl::StatusOr<std::vector<Rule>> parsed = ParseRules(inline_rules);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--rules: ", parsed.status().message()));
    }
    for (Rule& rule : *parsed) rules.push_back(std::move(rule));
  }
  return rules;
}

absl::StatusOr<ServerOptions> OptionsFromFlags() {
  ServerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError("--port must be 0..65535");
  }
  options.threads = absl::GetFlag(FLAGS_threads);
  if (options.threads < 1) return absl::InvalidArgumentError("--threads must be at least 1");
  if (std::string models = absl::GetFlag(FLAGS_models); !models.empty()) {
    options.models.clear();
    for (absl::string_view id : absl::StrSplit(models, ',', absl::SkipWhitespace())) {
      options.models.emplace_back(absl::StripAsciiWhitespace(id));
    }
  }
  absl::StatusOr<std::vector<Rule>> rules = InitialRules();
  if (!rules.ok()) return rules.status();
  options.rules = *std::move(rules);
  const int64_t recorded = absl::GetFlag(FLAGS_max_recorded_requests);
  options.max_recorded_requests = recorded > 0 ? static_cast<size_t>(recorded) : 0;
  options.strict_models = absl::GetFlag(FLAGS_strict_models);
  options.keep_alive_timeout = absl::Seconds(absl::GetFlag(FLAGS_keep_alive_timeout_s));
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so only sigwait below ever takes these.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::SetProgramUsageMessage(
      "A fake OpenAI / Anthropic / DeepSeek HTTP API for tests, demos and benchmarks.");
  absl::ParseCommandLine(argc, argv);
  if (absl::Status logging = aigw::InitLogging("fake-upstream", absl::GetFlag(FLAGS_log_level));
      !logging.ok()) {
    std::fprintf(stderr, "%s\n", std::string(logging.message()).c_str());
    return 1;
  }
  absl::StatusOr<ServerOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "aigw-fake-upstream: %s\n",
                 std::string(options.status().message()).c_str());
    return 1;
  }
  const size_t rule_count = options->rules.size();
  aigw::fake_upstream::FakeUpstreamServer server(*std::move(options));
  if (absl::Status started = server.Start(); !started.ok()) {
    std::fprintf(stderr, "aigw-fake-upstream: %s\n", std::string(started.message()).c_str());
    return 1;
  }
  std::printf("listening port=%d\n", server.port());
  std::fflush(stdout);
  spdlog::info("msg=\"listening\" url={} rules={}", server.base_url(), rule_count);

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  spdlog::info("msg=\"stopping\" signal={}", sig);
  server.Stop();
  return 0;
}
