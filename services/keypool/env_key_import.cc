#include "services/keypool/env_key_import.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "libs/common/env_flags.h"
#include "libs/crypto/stored_api_key.h"
#include "soci/soci.h"

namespace aigw::keypool {

absl::StatusOr<int> ImportProviderKeysFromEnv(db::Database& db, const crypto::SecretBox& box) {
  struct EnvKey {
    const char* provider;
    const char* env;
  };
  constexpr EnvKey kEnvKeys[] = {{"openai", "OPENAI_API_KEY"},
                                 {"anthropic", "ANTHROPIC_API_KEY"},
                                 {"deepseek", "DEEPSEEK_API_KEY"}};
  int added = 0;
  for (const EnvKey& k : kEnvKeys) {
    const std::string secret = GetEnvOr(k.env, "");
    if (secret.empty()) continue;
    absl::StatusOr<crypto::StoredApiKey> stored = crypto::SealApiKey(box, secret);
    if (!stored.ok()) return stored.status();
    const std::string provider = k.provider;
    const std::string name = absl::StrCat(k.env, " (imported)");
    absl::Status st = db.InTransaction([&](soci::session& s) {
      long long provider_id = 0;
      soci::indicator ind;
      s << "SELECT id FROM t_ai_providers WHERE provider_code = :c", soci::use(provider),
          soci::into(provider_id, ind);
      if (!s.got_data() || ind != soci::i_ok) return absl::OkStatus();
      long long existing = 0;
      s << "SELECT COUNT(*) FROM t_ai_api_keys WHERE provider_id = :p", soci::use(provider_id),
          soci::into(existing);
      if (existing > 0) return absl::OkStatus();
      s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, api_key_hint, priority) "
           "VALUES (:p, :n, :k, :h, 100)",
          soci::use(provider_id), soci::use(name), soci::use(stored->api_key),
          soci::use(stored->hint);
      ++added;
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
  }
  return added;
}

}  // namespace aigw::keypool
