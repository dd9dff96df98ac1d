#ifndef AIGW_TOOLS_FAKE_UPSTREAM_RULES_H_
#define AIGW_TOOLS_FAKE_UPSTREAM_RULES_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/fake-upstream/completion.h"

namespace aigw::fake_upstream {

// How the fake misbehaves for the requests a rule matches. JSON form and
// semantics are in README.md.
struct Rule {
  int64_t id = 0;  // assigned by RuleBook::Add

  // Match; an empty field matches anything.
  std::string api_key;
  std::string path;
  std::string model;
  // > 0: only the next `times` matching requests; 0: every one.
  int64_t times = 0;

  // Answer with this HTTP status and a provider-format error body (0: answer
  // normally). Empty message/type/code take the provider's defaults.
  int status = 0;
  std::string message;
  std::string error_type;
  std::string error_code;
  std::optional<int64_t> retry_after_seconds;

  absl::Duration delay = absl::ZeroDuration();
  absl::Duration chunk_delay = absl::ZeroDuration();
  // Close the connection without any response.
  bool drop = false;
  // In a stream, close the connection after this many events (-1: never).
  int64_t drop_after_chunks = -1;

  UsageOverride usage;
  bool omit_usage = false;
  std::optional<std::string> content;
};

// A rule object, or an array of them (also {"rules": [...]}).
absl::StatusOr<std::vector<Rule>> ParseRules(absl::string_view json);
std::string RulesToJson(const std::vector<Rule>& rules);

// The rules in force. Thread-safe; costs one atomic load per request while
// empty, so a benchmark run without rules pays nothing for them.
class RuleBook {
 public:
  // Returns the rule's id.
  int64_t Add(Rule rule);
  bool Remove(int64_t id);
  void Clear();
  // Current rules, oldest first, with `times` showing the uses left.
  std::vector<Rule> List() const;

  // The newest rule that matches, using up one of its `times`; null when
  // none matches.
  std::shared_ptr<const Rule> Take(absl::string_view api_key, absl::string_view path,
                                   absl::string_view model);

 private:
  struct Entry {
    std::shared_ptr<const Rule> rule;
    int64_t remaining = 0;  // meaningful when rule->times > 0
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::atomic<size_t> size_{0};
};

}  // namespace aigw::fake_upstream

#endif  // AIGW_TOOLS_FAKE_UPSTREAM_RULES_H_
