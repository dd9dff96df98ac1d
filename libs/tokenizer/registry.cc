#include "libs/tokenizer/registry.h"

#include <cstdlib>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

#ifndef AIGW_TOKENIZER_DEFAULT_DATA_DIR
#define AIGW_TOKENIZER_DEFAULT_DATA_DIR "tokenizer-data"
#endif

ABSL_FLAG(std::string, tokenizer_data_dir, "",
          "Directory with o200k_base.tiktoken and cl100k_base.tiktoken "
          "(env AIGW_TOKENIZER_DATA_DIR; default: the build's copy).");

namespace aigw::tokenizer {
namespace {

const EncodingSpec* SpecFor(absl::string_view name) {
  if (name == kO200kBase) return &O200kBaseSpec();
  if (name == kCl100kBase) return &Cl100kBaseSpec();
  return nullptr;
}

struct Registry {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::unique_ptr<const Encoding>> loaded
      ABSL_GUARDED_BY(mu);
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

// `model` is `stem` or `stem` followed by a version/variant suffix.
bool IsFamily(absl::string_view model, absl::string_view stem) {
  if (!absl::StartsWith(model, stem)) return false;
  if (model.size() == stem.size()) return true;
  const char next = model[stem.size()];
  return next == '-' || next == ':' || next == '@';
}

}  // namespace

std::string DataDir() {
  std::string dir = absl::GetFlag(FLAGS_tokenizer_data_dir);
  if (!dir.empty()) return dir;
  const char* env = std::getenv("AIGW_TOKENIZER_DATA_DIR");
  if (env != nullptr && *env != '\0') return env;
  return AIGW_TOKENIZER_DEFAULT_DATA_DIR;
}

absl::StatusOr<const Encoding*> GetEncoding(absl::string_view name) {
  const EncodingSpec* spec = SpecFor(name);
  if (spec == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown encoding \"", name, "\""));
  }
  Registry& registry = TheRegistry();
  absl::MutexLock lock(&registry.mu);
  auto it = registry.loaded.find(spec->name);
  if (it != registry.loaded.end()) return it->second.get();
  // Loading takes ~0.1 s; holding the lock meanwhile keeps concurrent first
  // callers from loading the same file twice.
  const std::string path = absl::StrCat(DataDir(), "/", spec->name, ".tiktoken");
  absl::StatusOr<std::unique_ptr<Encoding>> encoding = Encoding::Load(*spec, path);
  if (!encoding.ok()) {
    return absl::Status(
        encoding.status().code(),
        absl::StrCat("tokenizer data: ", encoding.status().message(),
                     " (run scripts/fetch-tokenizer-data DIR and point "
                     "AIGW_TOKENIZER_DATA_DIR or --tokenizer_data_dir at DIR)"));
  }
  const Encoding* result = encoding->get();
  registry.loaded.emplace(spec->name, std::move(*encoding));
  return result;
}

absl::optional<absl::string_view> EncodingNameForModel(absl::string_view model) {
  std::string m = absl::AsciiStrToLower(absl::StripAsciiWhitespace(model));
  absl::string_view name = m;
  absl::ConsumePrefix(&name, "openai/");
  absl::ConsumePrefix(&name, "ft:");
  // Order matters: "gpt-4o" and "gpt-4.1" before "gpt-4".
  static constexpr absl::string_view kO200k[] = {
      "gpt-5",  "gpt-4.5", "gpt-4.1", "gpt-4o", "chatgpt-4o",
      "o1",     "o3",      "o4",      "gpt-oss",
  };
  static constexpr absl::string_view kCl100k[] = {
      "gpt-4",         "gpt-3.5-turbo",          "gpt-3.5",
      "gpt-35-turbo",  "text-embedding-3-small", "text-embedding-3-large",
      "text-embedding-ada-002", "davinci-002",   "babbage-002",
  };
  for (absl::string_view stem : kO200k) {
    if (IsFamily(name, stem)) return kO200kBase;
  }
  for (absl::string_view stem : kCl100k) {
    if (IsFamily(name, stem)) return kCl100kBase;
  }
  return absl::nullopt;
}

absl::StatusOr<const Encoding*> EncodingForModel(absl::string_view model) {
  absl::optional<absl::string_view> name = EncodingNameForModel(model);
  if (!name.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no tiktoken encoding for model \"", model, "\""));
  }
  return GetEncoding(*name);
}

}  // namespace aigw::tokenizer
