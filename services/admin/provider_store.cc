#include "services/admin/provider_store.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/admin/admin_db.h"
#include "services/admin/input_checks.h"
#include "soci/soci.h"

namespace aigw::admin {
namespace {

constexpr char kSelect[] =
    "SELECT p.id, p.provider_code, p.provider_name, p.base_url, p.api_format, p.is_active, "
    "p.sort_order, p.description, p.key_policy, p.created_at, p.updated_at, "
    "(SELECT COUNT(*) FROM t_ai_models m WHERE m.provider_id = p.id), "
    "(SELECT COUNT(*) FROM t_ai_api_keys k WHERE k.provider_id = p.id AND k.is_active = 1 "
    "AND k.status NOT IN ('invalid', 'disabled')) "
    "FROM t_ai_providers p ";

// One row of kSelect; bound once per statement.
struct Row {
  long long id = 0;
  std::string code, name, base_url, api_format, description, key_policy, created, updated;
  int is_active = 1, sort_order = 0;
  long long models = 0, keys = 0;
  soci::indicator format_ind = soci::i_ok, desc_ind = soci::i_ok, policy_ind = soci::i_ok,
                  created_ind = soci::i_ok, updated_ind = soci::i_ok;

  void Bind(soci::statement& st) {
    BindInto(st, soci::into(id), soci::into(code), soci::into(name), soci::into(base_url),
             soci::into(api_format, format_ind), soci::into(is_active), soci::into(sort_order),
             soci::into(description, desc_ind), soci::into(key_policy, policy_ind),
             soci::into(created, created_ind), soci::into(updated, updated_ind), soci::into(models),
             soci::into(keys));
  }

  v1::Provider ToProto() const {
    v1::Provider p;
    p.set_id(id);
    p.set_provider_code(code);
    p.set_provider_name(name);
    p.set_base_url(base_url);
    p.set_api_format(format_ind == soci::i_ok && !api_format.empty() ? api_format : "openai");
    p.set_is_active(is_active != 0);
    p.set_sort_order(sort_order);
    if (desc_ind == soci::i_ok) p.set_description(description);
    p.set_key_policy(policy_ind == soci::i_ok && !key_policy.empty() ? key_policy : "strict");
    p.set_models_count(static_cast<int32_t>(models));
    p.set_active_keys_count(static_cast<int32_t>(keys));
    if (created_ind == soci::i_ok) SetTimestamp(created, p.mutable_created_at());
    if (updated_ind == soci::i_ok) SetTimestamp(updated, p.mutable_updated_at());
    return p;
  }
};

// Runs kSelect + `where` with at most one bound value and collects the rows.
template <typename T>
std::vector<v1::Provider> Query(soci::session& s, const std::string& where, const T* value) {
  Row row;
  soci::statement st(s);
  row.Bind(st);
  T copy{};
  if (value != nullptr) {
    copy = *value;
    st.exchange(soci::use(copy));
  }
  st.alloc();
  st.prepare(absl::StrCat(kSelect, where));
  st.define_and_bind();
  st.execute(false);
  std::vector<v1::Provider> out;
  while (st.fetch()) out.push_back(row.ToProto());
  return out;
}

absl::Status NotFound(int64_t id) {
  return absl::NotFoundError(absl::StrCat("provider ", id, " does not exist"));
}

absl::Status CodeTaken(absl::string_view code) {
  return absl::AlreadyExistsError(absl::StrCat("provider_code '", code, "' is already taken"));
}

}  // namespace

absl::StatusOr<v1::Provider> ReadProvider(soci::session& s, int64_t id) {
  long long key = id;
  std::vector<v1::Provider> rows = Query(s, "WHERE p.id = :id", &key);
  if (rows.empty()) return NotFound(id);
  return rows.front();
}

absl::StatusOr<std::vector<v1::Provider>> ProviderStore::List(bool active_only) {
  std::vector<v1::Provider> out;
  absl::Status st = db_->Run([&](soci::session& s) {
    out = Query<int>(s,
                     absl::StrCat(active_only ? "WHERE p.is_active = 1 " : "",
                                  "ORDER BY p.sort_order, p.id"),
                     nullptr);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<v1::Provider> ProviderStore::Get(int64_t id) {
  if (id <= 0) return absl::InvalidArgumentError("id is required");
  absl::StatusOr<v1::Provider> out = absl::InternalError("unreachable");
  absl::Status st = db_->Run([&](soci::session& s) {
    out = ReadProvider(s, id);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<v1::Provider> ProviderStore::GetByCode(absl::string_view code) {
  std::vector<v1::Provider> rows;
  const std::string value(code);
  absl::Status st = db_->Run([&](soci::session& s) {
    rows = Query(s, "WHERE p.provider_code = :code", &value);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("provider '", code, "' does not exist"));
  }
  return rows.front();
}

absl::StatusOr<v1::Provider> ProviderStore::Create(const v1::CreateProviderRequest& r) {
  if (absl::Status st = CheckProviderCode(r.provider_code()); !st.ok()) return st;
  if (absl::Status st = CheckName("provider_name", r.provider_name(), 128); !st.ok()) return st;
  if (absl::Status st = CheckBaseUrl(r.base_url(), allowed_hosts_); !st.ok()) return st;
  absl::StatusOr<std::string> format = NormalizeApiFormat(r.api_format());
  if (!format.ok()) return format.status();
  absl::StatusOr<std::string> policy = NormalizeKeyPolicy(r.key_policy());
  if (!policy.ok()) return policy.status();

  std::string code = r.provider_code();
  std::string name(absl::StripAsciiWhitespace(r.provider_name()));
  std::string base_url = r.base_url();
  std::string description = r.description();
  int active = r.has_is_active() ? (r.is_active() ? 1 : 0) : 1;
  int sort_order = r.sort_order();
  std::string now = FormatDbTime(clock_->Now());
  absl::StatusOr<v1::Provider> out = absl::InternalError("unreachable");
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    long long existing = 0;
    s << "SELECT COUNT(*) FROM t_ai_providers WHERE provider_code = :c", soci::use(code),
        soci::into(existing);
    if (existing > 0) return CodeTaken(code);
    s << "INSERT INTO t_ai_providers (provider_code, provider_name, base_url, api_format, "
         "is_active, sort_order, description, key_policy, created_at, updated_at) VALUES "
         "(:c, :n, :u, :f, :a, :o, :d, :p, :t1, :t2)",
        soci::use(code), soci::use(name), soci::use(base_url), soci::use(*format),
        soci::use(active), soci::use(sort_order), soci::use(description), soci::use(*policy),
        soci::use(now), soci::use(now);
    long long id = 0;
    if (!s.get_last_insert_id("t_ai_providers", id)) {
      return absl::InternalError("database: no id for the new provider");
    }
    out = ReadProvider(s, id);
    return out.status();
  });
  if (IsDuplicateKeyError(st)) return CodeTaken(code);
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<v1::Provider> ProviderStore::Update(const v1::UpdateProviderRequest& r) {
  if (r.id() <= 0) return absl::InvalidArgumentError("id is required");
  if (r.has_provider_name()) {
    if (absl::Status st = CheckName("provider_name", r.provider_name(), 128); !st.ok()) return st;
  }
  if (r.has_base_url()) {
    if (absl::Status st = CheckBaseUrl(r.base_url(), allowed_hosts_); !st.ok()) return st;
  }
  std::string format, policy;
  if (r.has_api_format()) {
    absl::StatusOr<std::string> f = NormalizeApiFormat(r.api_format());
    if (!f.ok()) return f.status();
    format = *f;
  }
  if (r.has_key_policy()) {
    absl::StatusOr<std::string> p = NormalizeKeyPolicy(r.key_policy());
    if (!p.ok()) return p.status();
    policy = *p;
  }
  const std::string now = FormatDbTime(clock_->Now());
  absl::StatusOr<v1::Provider> out = absl::InternalError("unreachable");
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    absl::StatusOr<v1::Provider> cur = ReadProvider(s, r.id());
    if (!cur.ok()) return cur.status();
    std::string name = r.has_provider_name()
                           ? std::string(absl::StripAsciiWhitespace(r.provider_name()))
                           : cur->provider_name();
    std::string base_url = r.has_base_url() ? r.base_url() : cur->base_url();
    std::string api_format = r.has_api_format() ? format : cur->api_format();
    int active = (r.has_is_active() ? r.is_active() : cur->is_active()) ? 1 : 0;
    int sort_order = r.has_sort_order() ? r.sort_order() : cur->sort_order();
    std::string description = r.has_description() ? r.description() : cur->description();
    std::string key_policy = r.has_key_policy() ? policy : cur->key_policy();
    long long id = r.id();
    s << "UPDATE t_ai_providers SET provider_name = :n, base_url = :u, api_format = :f, "
         "is_active = :a, sort_order = :o, description = :d, key_policy = :p, updated_at = :t "
         "WHERE id = :id",
        soci::use(name), soci::use(base_url), soci::use(api_format), soci::use(active),
        soci::use(sort_order), soci::use(description), soci::use(key_policy), soci::use(now),
        soci::use(id);
    out = ReadProvider(s, id);
    return out.status();
  });
  if (!st.ok()) return st;
  return out;
}

absl::Status ProviderStore::Delete(int64_t id, bool force) {
  if (id <= 0) return absl::InvalidArgumentError("id is required");
  return db_->InTransaction([&](soci::session& s) -> absl::Status {
    long long pid = id;
    long long exists = 0, keys = 0, models = 0;
    s << "SELECT COUNT(*) FROM t_ai_providers WHERE id = :id", soci::use(pid), soci::into(exists);
    if (exists == 0) return NotFound(id);
    s << "SELECT COUNT(*) FROM t_ai_api_keys WHERE provider_id = :id", soci::use(pid),
        soci::into(keys);
    s << "SELECT COUNT(*) FROM t_ai_models WHERE provider_id = :id", soci::use(pid),
        soci::into(models);
    if ((keys > 0 || models > 0) && !force) {
      return absl::FailedPreconditionError(
          absl::StrCat("provider ", id, " still has ", keys, " API key(s) and ", models,
                       " model(s): delete them first, or delete with force"));
    }
    s << "DELETE FROM t_ai_api_keys WHERE provider_id = :id", soci::use(pid);
    s << "DELETE FROM t_ai_models WHERE provider_id = :id", soci::use(pid);
    s << "DELETE FROM t_ai_providers WHERE id = :id", soci::use(pid);
    return absl::OkStatus();
  });
}

}  // namespace aigw::admin
