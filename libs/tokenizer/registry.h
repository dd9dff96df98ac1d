#ifndef AIGW_LIBS_TOKENIZER_REGISTRY_H_
#define AIGW_LIBS_TOKENIZER_REGISTRY_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "libs/tokenizer/encoding.h"

// Directory holding o200k_base.tiktoken and cl100k_base.tiktoken.
ABSL_DECLARE_FLAG(std::string, tokenizer_data_dir);

namespace aigw::tokenizer {

inline constexpr absl::string_view kO200kBase = "o200k_base";
inline constexpr absl::string_view kCl100kBase = "cl100k_base";

// Where the rank files are read from: --tokenizer_data_dir when set, else
// $AIGW_TOKENIZER_DATA_DIR when set, else the directory the build wrote them
// to (scripts/fetch-tokenizer-data, run by CMake).
std::string DataDir();

// The process-wide encoding `name` (o200k_base | cl100k_base), loaded from
// DataDir() on first use and kept for the life of the process. A failed load
// is retried on the next call.
absl::StatusOr<const Encoding*> GetEncoding(absl::string_view name);

// The tiktoken encoding OpenAI uses for `model`, following tiktoken's
// encoding_for_model (exact names and prefixes): gpt-4o*, chatgpt-4o*,
// gpt-4.1*, gpt-4.5*, gpt-5*, o1*, o3*, o4*, gpt-oss* -> o200k_base (gpt-oss
// uses o200k_harmony, which encodes ordinary text exactly like o200k_base);
// gpt-4*, gpt-3.5*, gpt-35-turbo*, text-embedding-3-*,
// text-embedding-ada-002, davinci-002, babbage-002 -> cl100k_base.
// "ft:" fine-tunes map like their base model; a leading "openai/" is
// ignored; case is ignored. nullopt for models with no tiktoken encoding we
// ship (other vendors, and OpenAI's retired r50k/p50k models).
absl::optional<absl::string_view> EncodingNameForModel(absl::string_view model);

// GetEncoding(EncodingNameForModel(model)); NotFound for other models.
absl::StatusOr<const Encoding*> EncodingForModel(absl::string_view model);

}  // namespace aigw::tokenizer

#endif  // AIGW_LIBS_TOKENIZER_REGISTRY_H_
