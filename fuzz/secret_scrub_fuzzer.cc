// crypto::ScrubSecret, which takes an API key out of a provider's error text
// before the text goes anywhere, on an arbitrary key and text.
//
// Input: the key, a NUL byte, the text. For a key shaped like one (letters,
// digits, '-' and '_') no run of kMinSecretPiece bytes of it (the whole key
// when shorter) is left in the result, wherever the text put it; a text
// without such a run comes back unchanged; scrubbing twice changes nothing
// more.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/nul_split.h"
#include "libs/crypto/secret_scrub.h"

namespace {

// True when `text` holds a run of the secret that ScrubSecret must remove.
bool HoldsPiece(absl::string_view text, absl::string_view secret) {
  const size_t piece = std::min(aigw::crypto::kMinSecretPiece, secret.size());
  for (size_t i = 0; i + piece <= secret.size(); ++i) {
    if (absl::StrContains(text, secret.substr(i, piece))) return true;
  }
  return false;
}

bool KeyShaped(absl::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = aigw::fuzz::SplitAtFirstNul(data, size);
  if (!parts.has_value()) return -1;
  const auto [secret, text] = *parts;

  const std::string scrubbed = aigw::crypto::ScrubSecret(text, secret);
  if (secret.empty() || !HoldsPiece(text, secret)) {
    if (scrubbed != text) abort();  // nothing to take out: untouched
    return 0;
  }
  if (KeyShaped(secret) && HoldsPiece(scrubbed, secret)) {
    fprintf(stderr, "key left in: %s\n", scrubbed.c_str());
    abort();
  }
  if (KeyShaped(secret) && aigw::crypto::ScrubSecret(scrubbed, secret) != scrubbed) abort();
  return 0;
}
