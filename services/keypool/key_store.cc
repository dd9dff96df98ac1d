#include "services/keypool/key_store.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "libs/crypto/stored_api_key.h"
#include "soci/soci.h"
#include "spdlog/spdlog.h"

namespace aigw::keypool {

bool ParseDbDate(absl::string_view text, absl::CivilDay* out) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() > 10) text = text.substr(0, 10);
  return absl::ParseCivilTime(text, out);
}

namespace {

struct RawKey {
  KeyRow row;
  std::string stored;  // api_key as stored
  bool had_hint = false;
};

// A change Load makes to a key's row: a plaintext key sealed in place, or a
// missing hint filled in.
struct RowFix {
  int64_t id = 0;
  std::string expect;            // the stored value read; guards a concurrent edit
  crypto::StoredApiKey columns;  // api_key empty: only the hint changes
};

// Reads an optional text column into `out`; false when NULL.
bool Present(soci::indicator ind) { return ind == soci::i_ok; }

std::vector<ProviderRow> ReadProviders(soci::session& s) {
  std::vector<ProviderRow> providers;
  long long id = 0;
  std::string code, name, base_url, api_format, policy;
  soci::indicator base_ind, format_ind, policy_ind;
  int active = 1;
  soci::statement q =
      (s.prepare << "SELECT id, provider_code, provider_name, base_url, api_format, "
                    "is_active, key_policy FROM t_ai_providers ORDER BY id",
       soci::into(id), soci::into(code), soci::into(name), soci::into(base_url, base_ind),
       soci::into(api_format, format_ind), soci::into(active), soci::into(policy, policy_ind));
  q.execute();
  while (q.fetch()) {
    ProviderRow p;
    p.id = id;
    p.code = code;
    p.name = name;
    p.base_url = Present(base_ind) ? base_url : "";
    p.api_format = Present(format_ind) && !api_format.empty() ? api_format : "openai";
    p.is_active = active != 0;
    p.policy = ParseKeyPolicy(Present(policy_ind) ? policy : "");
    providers.push_back(std::move(p));
  }
  return providers;
}

// The keys as stored: secrets not opened yet.
std::vector<RawKey> ReadKeys(soci::session& s) {
  std::vector<RawKey> raw;
  long long id = 0, provider_id = 0, rpm = 0, tpm = 0, rpd = 0, req = 0, tok = 0;
  int priority = 0, active = 1;
  std::string name, api_key, hint, status, counts_date, last_used, last_error, cooldown;
  soci::indicator hint_ind, status_ind, date_ind, used_ind, error_ind, cooldown_ind;
  soci::statement q =
      (s.prepare << "SELECT id, provider_id, key_name, api_key, api_key_hint, priority, "
                    "rate_limit_rpm, rate_limit_tpm, rate_limit_rpd, is_active, status, "
                    "requests_count_today, tokens_count_today, counts_date, last_used_at, "
                    "last_error, cooldown_until FROM t_ai_api_keys ORDER BY id",
       soci::into(id), soci::into(provider_id), soci::into(name), soci::into(api_key),
       soci::into(hint, hint_ind), soci::into(priority), soci::into(rpm), soci::into(tpm),
       soci::into(rpd), soci::into(active), soci::into(status, status_ind), soci::into(req),
       soci::into(tok), soci::into(counts_date, date_ind), soci::into(last_used, used_ind),
       soci::into(last_error, error_ind), soci::into(cooldown, cooldown_ind));
  q.execute();
  while (q.fetch()) {
    RawKey k;
    k.stored = api_key;
    k.had_hint = Present(hint_ind) && !hint.empty();
    KeyRow& r = k.row;
    r.id = id;
    r.provider_id = provider_id;
    r.key_name = name;
    r.masked = k.had_hint ? hint : "";
    r.priority = priority;
    r.rate_limit_rpm = rpm;
    r.rate_limit_tpm = tpm;
    r.rate_limit_rpd = rpd;
    r.is_active = active != 0;
    r.status = Present(status_ind) ? status : "normal";
    r.requests_count_today = req;
    r.tokens_count_today = tok;
    r.has_counts_date = Present(date_ind) && ParseDbDate(counts_date, &r.counts_date);
    if (!Present(used_ind) || !ParseDbTime(last_used, &r.last_used_at)) {
      r.last_used_at = absl::InfinitePast();
    }
    if (!Present(cooldown_ind) || !ParseDbTime(cooldown, &r.cooldown_until)) {
      r.cooldown_until = absl::InfinitePast();
    }
    r.last_error = Present(error_ind) ? last_error : "";
    raw.push_back(std::move(k));
  }
  return raw;
}

// Opens each key's secret (or sets its secret_error) and returns the fixes
// its row needs. FAILED_PRECONDITION when keys are sealed and not one of
// them opens: the master key is wrong, and nothing may be sealed under it.
absl::StatusOr<std::vector<RowFix>> OpenKeys(const crypto::SecretBox& box,
                                             std::vector<RawKey>& raw) {
  int encrypted = 0;
  int failed = 0;
  std::string first_error;
  std::vector<RowFix> fixes;
  for (RawKey& k : raw) {
    KeyRow& r = k.row;
    const bool sealed = crypto::SecretBox::IsEncrypted(k.stored);
    encrypted += sealed ? 1 : 0;
    absl::StatusOr<std::string> plain = crypto::OpenStoredApiKey(box, k.stored);
    if (!plain.ok()) {
      ++failed;
      r.secret_error = std::string(plain.status().message());
      if (first_error.empty()) first_error = r.secret_error;
      continue;
    }
    r.secret = *std::move(plain);
    if (!sealed && r.secret.empty()) {
      r.secret_error = "the stored API key is empty";
      continue;
    }
    // A plaintext key is sealed (SealPlaintextRows), and its hint made anew.
    if (k.had_hint && sealed) continue;
    r.masked = crypto::MaskApiKey(r.secret);
    fixes.push_back(RowFix{r.id, k.stored, {"", r.masked}});
  }
  if (encrypted > 0 && failed == encrypted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the master key (AIGW_MASTER_KEY) decrypts none of the ", encrypted,
        " encrypted API keys in t_ai_api_keys: it is not the key they were encrypted with (",
        first_error, ")"));
  }
  return fixes;
}

// Seals the keys of the `fixes` whose rows hold them in plaintext.
absl::Status SealPlaintextRows(const crypto::SecretBox& box, std::vector<RowFix>& fixes) {
  for (RowFix& f : fixes) {
    if (crypto::SecretBox::IsEncrypted(f.expect)) continue;
    absl::StatusOr<crypto::StoredApiKey> sealed =
        crypto::SealApiKey(box, absl::StripAsciiWhitespace(f.expect));
    if (!sealed.ok()) return sealed.status();
    f.columns = *std::move(sealed);
  }
  return absl::OkStatus();
}

// Writes the fixes in one transaction; a row edited since it was read is
// left as it is. Returns how many plaintext keys were sealed.
absl::StatusOr<int> WriteFixes(db::Database& db, const std::vector<RowFix>& fixes) {
  int sealed_now = 0;
  absl::Status st = db.InTransaction([&](soci::session& s) -> absl::Status {
    sealed_now = 0;
    for (const RowFix& f : fixes) {
      long long id = f.id;
      std::string hint = f.columns.hint;
      if (f.columns.api_key.empty()) {
        s << "UPDATE t_ai_api_keys SET api_key_hint = :h WHERE id = :id", soci::use(hint),
            soci::use(id);
        continue;
      }
      std::string sealed = f.columns.api_key;
      std::string expect = f.expect;
      soci::statement u =
          (s.prepare << "UPDATE t_ai_api_keys SET api_key = :k, api_key_hint = :h "
                        "WHERE id = :id AND api_key = :old",
           soci::use(sealed), soci::use(hint), soci::use(id), soci::use(expect));
      u.execute(true);
      sealed_now += u.get_affected_rows() > 0 ? 1 : 0;
    }
    return absl::OkStatus();
  });
  if (!st.ok()) {
    return absl::Status(st.code(),
                        absl::StrCat("encrypting plaintext API keys in place: ", st.message()));
  }
  return sealed_now;
}

}  // namespace

absl::StatusOr<PoolSnapshot> KeyStore::Load() {
  PoolSnapshot snap;
  std::vector<RawKey> raw;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    snap.providers = ReadProviders(s);
    raw = ReadKeys(s);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  // Open first: a wrong master key must stop us before we seal plaintext
  // rows under it.
  absl::StatusOr<std::vector<RowFix>> fixes = OpenKeys(*box_, raw);
  if (!fixes.ok()) return fixes.status();
  if (absl::Status sealed = SealPlaintextRows(*box_, *fixes); !sealed.ok()) return sealed;
  if (!fixes->empty()) {
    absl::StatusOr<int> sealed_now = WriteFixes(*db_, *fixes);
    if (!sealed_now.ok()) return sealed_now.status();
    if (*sealed_now > 0) {
      spdlog::info("msg=\"encrypted plaintext API keys in place\" count={}", *sealed_now);
    }
  }
  for (RawKey& k : raw) {
    if (!k.row.secret_error.empty()) {
      spdlog::error("msg=\"API key cannot be used\" key_id={} key_name=\"{}\" error=\"{}\"",
                    k.row.id, k.row.key_name, k.row.secret_error);
    }
    snap.keys.push_back(std::move(k.row));
  }
  return snap;
}

absl::Status KeyStore::Write(const std::vector<KeyWrite>& writes) {
  if (writes.empty()) return absl::OkStatus();
  return db_->InTransaction([&](soci::session& s) -> absl::Status {
    if (fence_) {
      if (absl::Status fenced = fence_(s); !fenced.ok()) return fenced;
    }
    for (const KeyWrite& w : writes) {
      long long id = w.key_id;
      long long req = w.requests_today;
      long long tok = w.tokens_today;
      std::string date = absl::FormatCivilTime(w.counts_date);
      std::string used;
      soci::indicator used_ind = soci::i_null;
      if (w.last_used_at != absl::InfinitePast()) {
        used = FormatDbTime(w.last_used_at);
        used_ind = soci::i_ok;
      }
      std::string sql =
          "UPDATE t_ai_api_keys SET requests_count_today = :req, tokens_count_today = :tok, "
          "counts_date = :d, last_used_at = :u";
      if (w.write_status) absl::StrAppend(&sql, ", status = :st, cooldown_until = :cd");
      if (w.write_error) absl::StrAppend(&sql, ", last_error = :le, last_error_at = :lea");
      absl::StrAppend(&sql, " WHERE id = :id");
      std::string status = w.status;
      std::string cooldown;
      soci::indicator cooldown_ind = soci::i_null;
      if (w.cooldown_until != absl::InfinitePast()) {
        cooldown = FormatDbTime(w.cooldown_until);
        cooldown_ind = soci::i_ok;
      }
      std::string error = w.last_error;
      std::string error_at;
      soci::indicator error_at_ind = soci::i_null;
      if (w.last_error_at != absl::InfinitePast()) {
        error_at = FormatDbTime(w.last_error_at);
        error_at_ind = soci::i_ok;
      }
      // Placeholders bind by position, in the order they appear in `sql`.
      soci::statement u(s);
      u.exchange(soci::use(req));
      u.exchange(soci::use(tok));
      u.exchange(soci::use(date));
      u.exchange(soci::use(used, used_ind));
      if (w.write_status) {
        u.exchange(soci::use(status));
        u.exchange(soci::use(cooldown, cooldown_ind));
      }
      if (w.write_error) {
        u.exchange(soci::use(error));
        u.exchange(soci::use(error_at, error_at_ind));
      }
      u.exchange(soci::use(id));
      u.alloc();
      u.prepare(sql);
      u.define_and_bind();
      u.execute(true);
    }
    return absl::OkStatus();
  });
}

}  // namespace aigw::keypool
