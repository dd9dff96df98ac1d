#include "services/admin/api_key_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "libs/crypto/secret_scrub.h"
#include "libs/crypto/stored_api_key.h"
#include "services/admin/admin_db.h"
#include "services/admin/input_checks.h"
#include "services/admin/provider_store.h"
#include "soci/soci.h"

namespace aigw::admin {

struct KeyRow {
  long long id = 0, provider_id = 0, rpm = 0, tpm = 0, rpd = 0, requests = 0, tokens = 0;
  int priority = 0, is_active = 1;
  std::string provider_code, base_url, api_format, key_name, stored, hint, status, counts_date,
      last_used, last_error, created, updated, cooldown;
  soci::indicator format_ind = soci::i_ok, hint_ind = soci::i_ok, status_ind = soci::i_ok,
                  date_ind = soci::i_ok, used_ind = soci::i_ok, error_ind = soci::i_ok,
                  created_ind = soci::i_ok, updated_ind = soci::i_ok, cooldown_ind = soci::i_ok;

  void Bind(soci::statement& st) {
    BindInto(st, soci::into(id), soci::into(provider_id), soci::into(provider_code),
             soci::into(base_url), soci::into(api_format, format_ind), soci::into(key_name),
             soci::into(stored), soci::into(hint, hint_ind), soci::into(priority), soci::into(rpm),
             soci::into(tpm), soci::into(rpd), soci::into(is_active),
             soci::into(status, status_ind), soci::into(requests), soci::into(tokens),
             soci::into(counts_date, date_ind), soci::into(last_used, used_ind),
             soci::into(last_error, error_ind), soci::into(created, created_ind),
             soci::into(updated, updated_ind), soci::into(cooldown, cooldown_ind));
  }

  std::string Status() const {
    return status_ind == soci::i_ok && !status.empty() ? status : "normal";
  }
};

namespace {

constexpr char kSelect[] =
    "SELECT k.id, k.provider_id, p.provider_code, p.base_url, p.api_format, k.key_name, "
    "k.api_key, k.api_key_hint, k.priority, k.rate_limit_rpm, k.rate_limit_tpm, "
    "k.rate_limit_rpd, k.is_active, k.status, k.requests_count_today, k.tokens_count_today, "
    "k.counts_date, k.last_used_at, k.last_error, k.created_at, k.updated_at, "
    "k.cooldown_until "
    "FROM t_ai_api_keys k JOIN t_ai_providers p ON p.id = k.provider_id ";

std::vector<KeyRow> Query(soci::session& s, const std::string& where, long long value,
                          bool bind_value) {
  KeyRow row;
  soci::statement st(s);
  row.Bind(st);
  if (bind_value) st.exchange(soci::use(value));
  st.alloc();
  st.prepare(absl::StrCat(kSelect, where));
  st.define_and_bind();
  st.execute(false);
  std::vector<KeyRow> out;
  while (st.fetch()) out.push_back(row);
  return out;
}

absl::Status KeyNotFound(int64_t id) {
  return absl::NotFoundError(absl::StrCat("API key ", id, " does not exist"));
}

// Key `id` with its provider.
absl::StatusOr<KeyRow> ReadKey(db::Database& db, int64_t id) {
  if (id <= 0) return absl::InvalidArgumentError("id is required");
  std::vector<KeyRow> rows;
  absl::Status st = db.Run([&](soci::session& s) {
    rows = Query(s, "WHERE k.id = :id", id, true);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (rows.empty()) return KeyNotFound(id);
  return rows.front();
}

// The row's secret in plaintext; empty when it does not decrypt.
std::string Plain(const KeyRow& row, const crypto::SecretBox& box) {
  return crypto::OpenStoredApiKey(box, row.stored).value_or("");
}

// What an operator sees instead of the secret, whatever the row holds.
std::string Masked(const KeyRow& row, const crypto::SecretBox& box) {
  if (row.hint_ind == soci::i_ok && !row.hint.empty()) return row.hint;
  const std::string plain = Plain(row, box);
  return crypto::MaskApiKey(plain);
}

// ALREADY_EXISTS when a key of the provider other than `except_id` holds
// `secret`: the same secret twice would have its limits counted twice over.
absl::Status CheckSecretIsNew(soci::session& s, const crypto::SecretBox& box,
                              long long provider_id, absl::string_view provider_code,
                              absl::string_view secret, long long except_id) {
  for (const KeyRow& other : Query(s, "WHERE k.provider_id = :p", provider_id, true)) {
    if (other.id != except_id && Plain(other, box) == secret) {
      return absl::AlreadyExistsError(absl::StrCat("provider ", provider_code,
                                                   " already has this API key (key ", other.id,
                                                   ")"));
    }
  }
  return absl::OkStatus();
}

// The fields an update names, checked as a create checks them.
absl::Status CheckUpdate(const v1::UpdateKeyRequest& r) {
  if (r.has_key_name()) {
    if (absl::Status st = CheckName("key_name", r.key_name(), 128); !st.ok()) return st;
  }
  if (r.has_api_key()) {
    if (absl::Status st = CheckSecret(r.api_key()); !st.ok()) return st;
  }
  for (auto [field, given, value] :
       {std::tuple{"rate_limit_rpm", r.has_rate_limit_rpm(), r.rate_limit_rpm()},
        std::tuple{"rate_limit_tpm", r.has_rate_limit_tpm(), r.rate_limit_tpm()},
        std::tuple{"rate_limit_rpd", r.has_rate_limit_rpd(), r.rate_limit_rpd()}}) {
    if (!given) continue;
    if (absl::Status st = CheckLimit(field, value); !st.ok()) return st;
  }
  if (r.has_status()) {
    if (absl::Status st = CheckSettableKeyStatus(r.status()); !st.ok()) return st;
  }
  return absl::OkStatus();
}

// Writes what an update names over what `cur` holds.
void WriteUpdate(soci::session& s, const KeyRow& cur, const v1::UpdateKeyRequest& r,
                 const std::string& now) {
  const std::string name =
      r.has_key_name() ? std::string(absl::StripAsciiWhitespace(r.key_name())) : cur.key_name;
  const int priority = r.has_priority() ? r.priority() : cur.priority;
  const long long rpm = r.has_rate_limit_rpm() ? r.rate_limit_rpm() : cur.rpm;
  const long long tpm = r.has_rate_limit_tpm() ? r.rate_limit_tpm() : cur.tpm;
  const long long rpd = r.has_rate_limit_rpd() ? r.rate_limit_rpd() : cur.rpd;
  const int active = r.has_is_active() ? (r.is_active() ? 1 : 0) : cur.is_active;
  const std::string status = r.has_status() ? r.status() : cur.Status();
  s << "UPDATE t_ai_api_keys SET key_name = :n, priority = :pr, rate_limit_rpm = :rpm, "
       "rate_limit_tpm = :tpm, rate_limit_rpd = :rpd, is_active = :a, status = :s, "
       "updated_at = :t WHERE id = :id",
      soci::use(name), soci::use(priority), soci::use(rpm), soci::use(tpm), soci::use(rpd),
      soci::use(active), soci::use(status), soci::use(now), soci::use(cur.id);
}

// A new secret for key `id`: its troubles were the old secret's, so the
// status is normal (unless the update sets one) and the last error and
// cooldown go.
void WriteNewSecret(soci::session& s, long long id, const crypto::StoredApiKey& sealed,
                    const v1::UpdateKeyRequest& r) {
  const std::string status = r.has_status() ? r.status() : "normal";
  s << "UPDATE t_ai_api_keys SET api_key = :k, api_key_hint = :h, status = :s, "
       "last_error = NULL, last_error_at = NULL, cooldown_until = NULL WHERE id = :id",
      soci::use(sealed.api_key), soci::use(sealed.hint), soci::use(status), soci::use(id);
}

}  // namespace

absl::StatusOr<KeyForCall> ApiKeyStore::Open(const KeyRow& row) const {
  KeyForCall k;
  k.key_id = row.id;
  k.provider_id = row.provider_id;
  k.provider_code = row.provider_code;
  k.base_url = row.base_url;
  k.api_format = row.format_ind == soci::i_ok && !row.api_format.empty() ? row.api_format : "openai";
  k.status = row.Status();
  absl::StatusOr<std::string> plain = crypto::OpenStoredApiKey(*box_, row.stored);
  if (!plain.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "API key ", row.id, " does not decrypt with this master key: ", plain.status().message()));
  }
  k.secret = *std::move(plain);
  k.masked = crypto::MaskApiKey(k.secret);
  return k;
}

namespace {

v1::ApiKey ToProto(const KeyRow& row, const crypto::SecretBox& box, absl::string_view today) {
  v1::ApiKey k;
  k.set_id(row.id);
  k.set_provider_id(row.provider_id);
  k.set_provider_code(row.provider_code);
  k.set_key_name(row.key_name);
  k.set_api_key(Masked(row, box));
  k.set_priority(row.priority);
  k.set_rate_limit_rpm(row.rpm);
  k.set_rate_limit_tpm(row.tpm);
  k.set_rate_limit_rpd(row.rpd);
  k.set_is_active(row.is_active != 0);
  k.set_status(row.Status());
  // The keypool writes the counters with the day they belong to; a day
  // without traffic leaves yesterday's numbers behind.
  const bool counts_today =
      row.date_ind == soci::i_ok && absl::string_view(row.counts_date).substr(0, 10) == today;
  k.set_requests_count_today(counts_today ? row.requests : 0);
  k.set_tokens_count_today(counts_today ? row.tokens : 0);
  if (row.used_ind == soci::i_ok) SetTimestamp(row.last_used, k.mutable_last_used_at());
  if (row.error_ind == soci::i_ok && !row.last_error.empty()) {
    // Written by an older version, it may still quote the key.
    k.set_last_error(crypto::ScrubSecret(row.last_error, Plain(row, box)));
  }
  if (row.created_ind == soci::i_ok) SetTimestamp(row.created, k.mutable_created_at());
  if (row.updated_ind == soci::i_ok) SetTimestamp(row.updated, k.mutable_updated_at());
  return k;
}

}  // namespace

absl::StatusOr<std::vector<v1::ApiKey>> ApiKeyStore::List(int64_t provider_id) {
  if (provider_id < 0) return absl::InvalidArgumentError("provider_id must not be negative");
  const std::string today =
      absl::FormatCivilTime(absl::ToCivilDay(clock_->Now(), time_zone_));
  std::vector<v1::ApiKey> out;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    if (provider_id > 0) {
      absl::StatusOr<v1::Provider> p = ReadProvider(s, provider_id);
      if (!p.ok()) return p.status();
    }
    std::vector<KeyRow> rows =
        Query(s, absl::StrCat(provider_id > 0 ? "WHERE k.provider_id = :p " : "",
                              "ORDER BY k.priority DESC, k.id"),
              provider_id, provider_id > 0);
    for (const KeyRow& r : rows) out.push_back(ToProto(r, *box_, today));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<v1::ApiKey> ApiKeyStore::Get(int64_t id) {
  const std::string today =
      absl::FormatCivilTime(absl::ToCivilDay(clock_->Now(), time_zone_));
  absl::StatusOr<KeyRow> row = ReadKey(*db_, id);
  if (!row.ok()) return row.status();
  return ToProto(*row, *box_, today);
}

absl::StatusOr<v1::ApiKey> ApiKeyStore::Create(const v1::CreateKeyRequest& r) {
  if (r.provider_id() <= 0) return absl::InvalidArgumentError("provider_id is required");
  if (absl::Status st = CheckName("key_name", r.key_name(), 128); !st.ok()) return st;
  if (absl::Status st = CheckSecret(r.api_key()); !st.ok()) return st;
  if (absl::Status st = CheckLimit("rate_limit_rpm", r.rate_limit_rpm()); !st.ok()) return st;
  if (absl::Status st = CheckLimit("rate_limit_tpm", r.rate_limit_tpm()); !st.ok()) return st;
  if (absl::Status st = CheckLimit("rate_limit_rpd", r.rate_limit_rpd()); !st.ok()) return st;
  absl::StatusOr<crypto::StoredApiKey> sealed = crypto::SealApiKey(*box_, r.api_key());
  if (!sealed.ok()) return sealed.status();
  std::string name(absl::StripAsciiWhitespace(r.key_name()));
  long long provider_id = r.provider_id(), rpm = r.rate_limit_rpm(), tpm = r.rate_limit_tpm(),
            rpd = r.rate_limit_rpd();
  int priority = r.priority();
  int active = r.has_is_active() ? (r.is_active() ? 1 : 0) : 1;
  std::string now = FormatDbTime(clock_->Now());
  long long id = 0;
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    absl::StatusOr<v1::Provider> p = ReadProvider(s, provider_id);
    if (!p.ok()) return p.status();
    if (absl::Status st = CheckSecretIsNew(s, *box_, provider_id, p->provider_code(),
                                           r.api_key(), /*except_id=*/0);
        !st.ok()) {
      return st;
    }
    s << "INSERT INTO t_ai_api_keys (provider_id, key_name, api_key, api_key_hint, priority, "
         "rate_limit_rpm, rate_limit_tpm, rate_limit_rpd, is_active, status, created_at, "
         "updated_at) VALUES (:p, :n, :k, :h, :pr, :rpm, :tpm, :rpd, :a, 'normal', :t1, :t2)",
        soci::use(provider_id), soci::use(name), soci::use(sealed->api_key), soci::use(sealed->hint),
        soci::use(priority), soci::use(rpm), soci::use(tpm), soci::use(rpd), soci::use(active),
        soci::use(now), soci::use(now);
    if (!s.get_last_insert_id("t_ai_api_keys", id)) {
      return absl::InternalError("database: no id for the new API key");
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return Get(id);
}

absl::StatusOr<v1::ApiKey> ApiKeyStore::Update(const v1::UpdateKeyRequest& r) {
  if (r.id() <= 0) return absl::InvalidArgumentError("id is required");
  if (absl::Status st = CheckUpdate(r); !st.ok()) return st;
  crypto::StoredApiKey sealed;
  if (r.has_api_key()) {
    absl::StatusOr<crypto::StoredApiKey> s = crypto::SealApiKey(*box_, r.api_key());
    if (!s.ok()) return s.status();
    sealed = *std::move(s);
  }
  const std::string now = FormatDbTime(clock_->Now());
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    std::vector<KeyRow> rows = Query(s, "WHERE k.id = :id", r.id(), true);
    if (rows.empty()) return KeyNotFound(r.id());
    const KeyRow& cur = rows.front();
    if (r.has_api_key()) {
      absl::Status free =
          CheckSecretIsNew(s, *box_, cur.provider_id, cur.provider_code, r.api_key(), cur.id);
      if (!free.ok()) return free;
    }
    WriteUpdate(s, cur, r, now);
    if (r.has_api_key()) {
      WriteNewSecret(s, cur.id, sealed, r);
    } else if (r.has_status() && r.status() == "normal") {
      // Setting a key back to normal by hand ends what made it abnormal.
      long long id = cur.id;
      s << "UPDATE t_ai_api_keys SET cooldown_until = NULL WHERE id = :id", soci::use(id);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return Get(r.id());
}

absl::Status ApiKeyStore::Delete(int64_t id) {
  if (id <= 0) return absl::InvalidArgumentError("id is required");
  return db_->Run([&](soci::session& s) -> absl::Status {
    long long key = id;
    soci::statement del = (s.prepare << "DELETE FROM t_ai_api_keys WHERE id = :id", soci::use(key));
    del.execute(true);
    if (del.get_affected_rows() == 0) return KeyNotFound(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<KeyForCall> ApiKeyStore::LoadForCall(int64_t id) {
  absl::StatusOr<KeyRow> row = ReadKey(*db_, id);
  if (!row.ok()) return row.status();
  return Open(*row);
}

absl::StatusOr<std::vector<KeyForCall>> ApiKeyStore::HealthyForProvider(int64_t provider_id) {
  std::vector<KeyRow> rows;
  absl::Status st = db_->Run([&](soci::session& s) {
    rows = Query(s,
                 "WHERE k.provider_id = :p AND k.is_active = 1 "
                 "AND k.status NOT IN ('invalid', 'disabled') ORDER BY k.priority DESC, k.id",
                 provider_id, true);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  const absl::Time now = clock_->Now();
  std::vector<KeyForCall> healthy;
  absl::Time first_back = absl::InfiniteFuture();
  int cooling = 0;
  for (const KeyRow& row : rows) {
    absl::Time until;
    if (row.Status() == "rate_limited" && row.cooldown_ind == soci::i_ok &&
        ParseDbTime(row.cooldown, &until) && until > now) {
      ++cooling;
      first_back = std::min(first_back, until);
      continue;
    }
    absl::StatusOr<KeyForCall> k = Open(row);
    if (k.ok()) healthy.push_back(*std::move(k));
  }
  if (!healthy.empty()) return healthy;
  if (cooling > 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "every usable API key of provider ", provider_id, " is cooling down after a rate limit (",
        cooling, " keys); the first is back at ", absl::FormatTime(first_back, absl::UTCTimeZone()),
        ": try again then"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("provider ", provider_id,
                   " has no usable API key (active, not invalid or disabled) to call it with"));
}

absl::StatusOr<bool> ApiKeyStore::RecordValidation(int64_t id, bool valid, bool rejected,
                                                   absl::string_view message) {
  const std::string now = FormatDbTime(clock_->Now());
  bool changed = false;
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    long long key = id;
    std::vector<KeyRow> rows = Query(s, "WHERE k.id = :id", key, true);
    if (rows.empty()) return KeyNotFound(id);
    const std::string status = rows.front().Status();
    if (valid && status == "invalid") {
      s << "UPDATE t_ai_api_keys SET status = 'normal', last_error = NULL, last_error_at = NULL, "
           "updated_at = :t WHERE id = :id",
          soci::use(now), soci::use(key);
      changed = true;
    } else if (rejected && (status == "normal" || status == "rate_limited")) {
      std::string error(message);
      s << "UPDATE t_ai_api_keys SET status = 'invalid', last_error = :e, last_error_at = :t1, "
           "updated_at = :t2 WHERE id = :id",
          soci::use(error), soci::use(now), soci::use(now), soci::use(key);
      changed = true;
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return changed;
}

}  // namespace aigw::admin
