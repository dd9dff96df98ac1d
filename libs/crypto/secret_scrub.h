#ifndef AIGW_LIBS_CRYPTO_SECRET_SCRUB_H_
#define AIGW_LIBS_CRYPTO_SECRET_SCRUB_H_

// Provider error text is untrusted, and providers quote the API key back in
// it (OpenAI did for years: "Incorrect API key provided: sk-proj-..."). Every
// text that leaves a provider call (a caller's status, the call log, the
// keypool's last error, an admin's answer, a log line) goes through
// ScrubSecret first. It lives beside MaskApiKey, whose mask it puts in the
// key's place, and every service links it.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace aigw::crypto {

// Pieces of a secret shorter than this are left in a text: they say too
// little to matter, and shorter ones would hit ordinary words.
inline constexpr size_t kMinSecretPiece = 8;

// `text` with `secret` taken out: every run of at least kMinSecretPiece bytes
// that also occurs in the secret (the whole secret when it is shorter) is
// replaced, together with the key-like word around it (letters, digits,
// "-_*" and inner dots: so that a partly starred echo such as
// "sk-proj-****************wxyz" goes whole), by MaskApiKey(secret). A text
// without such a run comes back unchanged. Linear in the text's length.
std::string ScrubSecret(absl::string_view text, absl::string_view secret);

}  // namespace aigw::crypto

#endif  // AIGW_LIBS_CRYPTO_SECRET_SCRUB_H_
