#include "services/admin/model_store.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/db/dialect.h"
#include "services/admin/admin_db.h"
#include "services/admin/input_checks.h"
#include "services/admin/provider_store.h"
#include "soci/soci.h"

namespace aigw::admin {
namespace {

struct ModelRow {
  long long id = 0, provider_id = 0;
  std::string provider_code, code, name, type, created, updated;
  int max_in = 0, max_out = 0, streaming = 1, tools = 0, vision = 0, active = 1, is_default = 0;
  long long prompt = 0, completion = 0, cached = 0, cache_write = 0;
  soci::indicator type_ind = soci::i_ok, created_ind = soci::i_ok, updated_ind = soci::i_ok;

  void Bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(provider_id));
    st.exchange(soci::into(provider_code));
    st.exchange(soci::into(code));
    st.exchange(soci::into(name));
    st.exchange(soci::into(type, type_ind));
    st.exchange(soci::into(max_in));
    st.exchange(soci::into(max_out));
    st.exchange(soci::into(streaming));
    st.exchange(soci::into(tools));
    st.exchange(soci::into(vision));
    st.exchange(soci::into(prompt));
    st.exchange(soci::into(completion));
    st.exchange(soci::into(cached));
    st.exchange(soci::into(cache_write));
    st.exchange(soci::into(active));
    st.exchange(soci::into(is_default));
    st.exchange(soci::into(created, created_ind));
    st.exchange(soci::into(updated, updated_ind));
  }

  v1::Model ToProto() const {
    v1::Model m;
    m.set_id(id);
    m.set_provider_id(provider_id);
    m.set_provider_code(provider_code);
    m.set_model_code(code);
    m.set_model_name(name);
    m.set_model_type(type_ind == soci::i_ok && !type.empty() ? type : "chat");
    m.set_max_input_tokens(max_in);
    m.set_max_output_tokens(max_out);
    m.set_supports_streaming(streaming != 0);
    m.set_supports_function_call(tools != 0);
    m.set_supports_vision(vision != 0);
    m.set_cost_per_1k_prompt_tokens(NanosToPrice(prompt));
    m.set_cost_per_1k_completion_tokens(NanosToPrice(completion));
    m.set_cost_per_1k_cached_prompt_tokens(NanosToPrice(cached));
    m.set_cost_per_1k_cache_creation_tokens(NanosToPrice(cache_write));
    m.set_is_active(active != 0);
    m.set_is_default(is_default != 0);
    if (created_ind == soci::i_ok) SetTimestamp(created, m.mutable_created_at());
    if (updated_ind == soci::i_ok) SetTimestamp(updated, m.mutable_updated_at());
    return m;
  }
};

// `where` holds only integer literals made here, never caller text.
std::vector<ModelRow> Query(soci::session& s, const db::Dialect& d, const std::string& where) {
  const std::string sql = absl::StrCat(
      "SELECT m.id, m.provider_id, p.provider_code, m.model_code, m.model_name, m.model_type, "
      "m.max_input_tokens, m.max_output_tokens, m.supports_streaming, m.supports_function_call, "
      "m.supports_vision, ",
      d.DecimalToNanos("m.cost_per_1k_prompt_tokens"), ", ",
      d.DecimalToNanos("m.cost_per_1k_completion_tokens"), ", ",
      d.DecimalToNanos("m.cost_per_1k_cached_prompt_tokens"), ", ",
      d.DecimalToNanos("m.cost_per_1k_cache_creation_tokens"),
      ", m.is_active, m.is_default, m.created_at, m.updated_at "
      "FROM t_ai_models m JOIN t_ai_providers p ON p.id = m.provider_id ",
      where);
  ModelRow row;
  soci::statement st(s);
  row.Bind(st);
  st.alloc();
  st.prepare(sql);
  st.define_and_bind();
  st.execute(false);
  std::vector<ModelRow> out;
  while (st.fetch()) out.push_back(row);
  return out;
}

absl::Status ModelNotFound(int64_t id) {
  return absl::NotFoundError(absl::StrCat("model ", id, " does not exist"));
}

absl::Status CheckModelType(absl::string_view type) {
  if (type.empty() || type.size() > 32) {
    return absl::InvalidArgumentError("model_type must be 1 to 32 characters");
  }
  for (char c : type) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model_type '", type, "' must be lowercase letters, digits, '-' or '_' (chat, embedding, ...)"));
    }
  }
  return absl::OkStatus();
}

// What a synced model of unknown kind most likely is.
std::string GuessModelType(absl::string_view code) {
  return absl::StrContains(absl::AsciiStrToLower(code), "embed") ? "embedding" : "chat";
}

// Gives the provider a default when it has models but none is default:
// `preferred` if set, else its oldest active model, else its oldest.
void EnsureDefault(soci::session& s, long long provider_id, long long preferred) {
  long long defaults = 0;
  s << "SELECT COUNT(*) FROM t_ai_models WHERE provider_id = :p AND is_default = 1",
      soci::use(provider_id), soci::into(defaults);
  if (defaults > 0) return;
  long long pick = preferred;
  if (pick == 0) {
    soci::indicator ind = soci::i_null;
    s << "SELECT id FROM t_ai_models WHERE provider_id = :p ORDER BY is_active DESC, id LIMIT 1",
        soci::use(provider_id), soci::into(pick, ind);
    if (ind != soci::i_ok) return;
  }
  s << "UPDATE t_ai_models SET is_default = 1 WHERE id = :id", soci::use(pick);
}

struct Prices {
  int64_t prompt = 0, completion = 0, cached = 0, cache_write = 0;
};

}  // namespace

absl::StatusOr<std::vector<v1::Model>> ModelStore::List(int64_t provider_id,
                                                        std::optional<bool> is_active) {
  if (provider_id < 0) return absl::InvalidArgumentError("provider_id must not be negative");
  std::vector<v1::Model> out;
  absl::Status st = db_->Run([&](soci::session& s) -> absl::Status {
    std::string where = "WHERE 1 = 1";
    if (provider_id > 0) {
      absl::StatusOr<v1::Provider> p = ReadProvider(s, provider_id);
      if (!p.ok()) return p.status();
      absl::StrAppend(&where, " AND m.provider_id = ", provider_id);
    }
    if (is_active.has_value()) absl::StrAppend(&where, " AND m.is_active = ", *is_active ? 1 : 0);
    for (const ModelRow& r : Query(s, db_->dialect(), absl::StrCat(where, " ORDER BY m.provider_id, m.id"))) {
      out.push_back(r.ToProto());
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<v1::Model> ModelStore::Get(int64_t id) {
  if (id <= 0) return absl::InvalidArgumentError("id is required");
  std::vector<ModelRow> rows;
  absl::Status st = db_->Run([&](soci::session& s) {
    rows = Query(s, db_->dialect(), absl::StrCat("WHERE m.id = ", id));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (rows.empty()) return ModelNotFound(id);
  return rows.front().ToProto();
}

absl::StatusOr<v1::Model> ModelStore::Create(const v1::Model& m) {
  if (m.provider_id() < 0) return absl::InvalidArgumentError("provider_id must not be negative");
  if (m.provider_id() == 0 && m.provider_code().empty()) {
    return absl::InvalidArgumentError("provider_id or provider_code is required");
  }
  if (absl::Status st = CheckModelCode(m.model_code()); !st.ok()) return st;
  if (absl::Status st = CheckName("model_name", m.model_name(), 128); !st.ok()) return st;
  std::string type = m.model_type().empty() ? "chat" : m.model_type();
  if (absl::Status st = CheckModelType(type); !st.ok()) return st;
  if (absl::Status st = CheckTokenCount("max_input_tokens", m.max_input_tokens()); !st.ok()) return st;
  if (absl::Status st = CheckTokenCount("max_output_tokens", m.max_output_tokens()); !st.ok()) return st;
  Prices prices;
  for (auto [field, usd, out] :
       {std::tuple{"cost_per_1k_prompt_tokens", m.cost_per_1k_prompt_tokens(), &prices.prompt},
        std::tuple{"cost_per_1k_completion_tokens", m.cost_per_1k_completion_tokens(),
                   &prices.completion},
        std::tuple{"cost_per_1k_cached_prompt_tokens", m.cost_per_1k_cached_prompt_tokens(),
                   &prices.cached},
        std::tuple{"cost_per_1k_cache_creation_tokens", m.cost_per_1k_cache_creation_tokens(),
                   &prices.cache_write}}) {
    absl::StatusOr<int64_t> nanos = PriceToNanos(field, usd);
    if (!nanos.ok()) return nanos.status();
    *out = *nanos;
  }
  std::string code = m.model_code();
  std::string name(absl::StripAsciiWhitespace(m.model_name()));
  int max_in = m.max_input_tokens(), max_out = m.max_output_tokens();
  int tools = m.supports_function_call() ? 1 : 0, vision = m.supports_vision() ? 1 : 0;
  std::string p_prompt = db::NanosToDecimal(prices.prompt),
              p_completion = db::NanosToDecimal(prices.completion),
              p_cached = db::NanosToDecimal(prices.cached),
              p_write = db::NanosToDecimal(prices.cache_write);
  const std::string now = FormatDbTime(clock_->Now());
  long long id = 0;
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    long long provider_id = m.provider_id();
    if (provider_id == 0) {
      soci::indicator ind = soci::i_null;
      std::string pcode = m.provider_code();
      s << "SELECT id FROM t_ai_providers WHERE provider_code = :c", soci::use(pcode),
          soci::into(provider_id, ind);
      if (ind != soci::i_ok) {
        return absl::NotFoundError(absl::StrCat("provider '", pcode, "' does not exist"));
      }
    } else {
      absl::StatusOr<v1::Provider> p = ReadProvider(s, provider_id);
      if (!p.ok()) return p.status();
    }
    long long taken = 0;
    s << "SELECT COUNT(*) FROM t_ai_models WHERE provider_id = :p AND model_code = :c",
        soci::use(provider_id), soci::use(code), soci::into(taken);
    if (taken > 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("provider ", provider_id, " already has model_code '", code, "'"));
    }
    if (m.is_default()) {
      s << "UPDATE t_ai_models SET is_default = 0, updated_at = :t "
           "WHERE provider_id = :p AND is_default = 1",
          soci::use(now), soci::use(provider_id);
    }
    int is_default = m.is_default() ? 1 : 0;
    s << "INSERT INTO t_ai_models (provider_id, model_code, model_name, model_type, "
         "max_input_tokens, max_output_tokens, supports_streaming, supports_function_call, "
         "supports_vision, cost_per_1k_prompt_tokens, cost_per_1k_completion_tokens, "
         "cost_per_1k_cached_prompt_tokens, cost_per_1k_cache_creation_tokens, is_active, "
         "is_default, created_at, updated_at) VALUES (:p, :c, :n, :ty, :mi, :mo, 1, :tl, :v, "
         ":c1, :c2, :c3, :c4, 1, :d, :t1, :t2)",
        soci::use(provider_id), soci::use(code), soci::use(name), soci::use(type),
        soci::use(max_in), soci::use(max_out), soci::use(tools), soci::use(vision),
        soci::use(p_prompt), soci::use(p_completion), soci::use(p_cached), soci::use(p_write),
        soci::use(is_default), soci::use(now), soci::use(now);
    if (!s.get_last_insert_id("t_ai_models", id)) {
      return absl::InternalError("database: no id for the new model");
    }
    EnsureDefault(s, provider_id, id);
    return absl::OkStatus();
  });
  if (IsDuplicateKeyError(st)) {
    return absl::AlreadyExistsError(absl::StrCat("model_code '", code, "' is already taken"));
  }
  if (!st.ok()) return st;
  return Get(id);
}

absl::StatusOr<v1::Model> ModelStore::Update(const v1::UpdateModelRequest& r) {
  if (r.id() <= 0) return absl::InvalidArgumentError("id is required");
  if (r.has_model_name()) {
    if (absl::Status st = CheckName("model_name", r.model_name(), 128); !st.ok()) return st;
  }
  if (r.has_model_type()) {
    if (absl::Status st = CheckModelType(r.model_type()); !st.ok()) return st;
  }
  if (r.has_max_input_tokens()) {
    if (absl::Status st = CheckTokenCount("max_input_tokens", r.max_input_tokens()); !st.ok()) return st;
  }
  if (r.has_max_output_tokens()) {
    if (absl::Status st = CheckTokenCount("max_output_tokens", r.max_output_tokens()); !st.ok()) return st;
  }
  // Unset prices keep their stored value: -1 marks them.
  Prices prices{-1, -1, -1, -1};
  for (auto [field, has, usd, out] :
       {std::tuple{"cost_per_1k_prompt_tokens", r.has_cost_per_1k_prompt_tokens(),
                   r.cost_per_1k_prompt_tokens(), &prices.prompt},
        std::tuple{"cost_per_1k_completion_tokens", r.has_cost_per_1k_completion_tokens(),
                   r.cost_per_1k_completion_tokens(), &prices.completion},
        std::tuple{"cost_per_1k_cached_prompt_tokens", r.has_cost_per_1k_cached_prompt_tokens(),
                   r.cost_per_1k_cached_prompt_tokens(), &prices.cached},
        std::tuple{"cost_per_1k_cache_creation_tokens", r.has_cost_per_1k_cache_creation_tokens(),
                   r.cost_per_1k_cache_creation_tokens(), &prices.cache_write}}) {
    if (!has) continue;
    absl::StatusOr<int64_t> nanos = PriceToNanos(field, usd);
    if (!nanos.ok()) return nanos.status();
    *out = *nanos;
  }
  const std::string now = FormatDbTime(clock_->Now());
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    long long id = r.id();
    std::vector<ModelRow> rows = Query(s, db_->dialect(), absl::StrCat("WHERE m.id = ", id));
    if (rows.empty()) return ModelNotFound(id);
    const ModelRow& cur = rows.front();
    if (r.has_is_default() && !r.is_default() && cur.is_default != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model ", id, " is the default of provider ", cur.provider_code,
          ", which must have exactly one: make another model the default instead"));
    }
    std::string name =
        r.has_model_name() ? std::string(absl::StripAsciiWhitespace(r.model_name())) : cur.name;
    std::string type = r.has_model_type() ? r.model_type() : cur.type;
    int max_in = r.has_max_input_tokens() ? r.max_input_tokens() : cur.max_in;
    int max_out = r.has_max_output_tokens() ? r.max_output_tokens() : cur.max_out;
    int streaming = r.has_supports_streaming() ? (r.supports_streaming() ? 1 : 0) : cur.streaming;
    int tools = r.has_supports_function_call() ? (r.supports_function_call() ? 1 : 0) : cur.tools;
    int vision = r.has_supports_vision() ? (r.supports_vision() ? 1 : 0) : cur.vision;
    int active = r.has_is_active() ? (r.is_active() ? 1 : 0) : cur.active;
    std::string p_prompt = db::NanosToDecimal(prices.prompt >= 0 ? prices.prompt : cur.prompt);
    std::string p_completion =
        db::NanosToDecimal(prices.completion >= 0 ? prices.completion : cur.completion);
    std::string p_cached = db::NanosToDecimal(prices.cached >= 0 ? prices.cached : cur.cached);
    std::string p_write =
        db::NanosToDecimal(prices.cache_write >= 0 ? prices.cache_write : cur.cache_write);
    long long provider_id = cur.provider_id;
    if (r.has_is_default() && r.is_default() && cur.is_default == 0) {
      s << "UPDATE t_ai_models SET is_default = 0, updated_at = :t "
           "WHERE provider_id = :p AND is_default = 1",
          soci::use(now), soci::use(provider_id);
    }
    int is_default = (r.has_is_default() ? r.is_default() : cur.is_default != 0) ? 1 : 0;
    s << "UPDATE t_ai_models SET model_name = :n, model_type = :ty, max_input_tokens = :mi, "
         "max_output_tokens = :mo, supports_streaming = :s, supports_function_call = :tl, "
         "supports_vision = :v, cost_per_1k_prompt_tokens = :c1, "
         "cost_per_1k_completion_tokens = :c2, cost_per_1k_cached_prompt_tokens = :c3, "
         "cost_per_1k_cache_creation_tokens = :c4, is_active = :a, is_default = :d, "
         "updated_at = :t WHERE id = :id",
        soci::use(name), soci::use(type), soci::use(max_in), soci::use(max_out),
        soci::use(streaming), soci::use(tools), soci::use(vision), soci::use(p_prompt),
        soci::use(p_completion), soci::use(p_cached), soci::use(p_write), soci::use(active),
        soci::use(is_default), soci::use(now), soci::use(id);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return Get(r.id());
}

absl::Status ModelStore::Delete(int64_t id) {
  if (id <= 0) return absl::InvalidArgumentError("id is required");
  return db_->InTransaction([&](soci::session& s) -> absl::Status {
    std::vector<ModelRow> rows = Query(s, db_->dialect(), absl::StrCat("WHERE m.id = ", id));
    if (rows.empty()) return ModelNotFound(id);
    long long key = id;
    s << "DELETE FROM t_ai_models WHERE id = :id", soci::use(key);
    if (rows.front().is_default != 0) EnsureDefault(s, rows.front().provider_id, 0);
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::SyncModelsResponse> ModelStore::ApplySync(
    int64_t provider_id, const std::vector<providers::ModelInfo>& listed) {
  // The provider's order, each id once.
  std::vector<const providers::ModelInfo*> unique;
  absl::flat_hash_set<std::string> seen;
  for (const providers::ModelInfo& m : listed) {
    if (CheckModelCode(m.id).ok() && seen.insert(m.id).second) unique.push_back(&m);
  }
  if (unique.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "provider ", provider_id, " listed no models; nothing was changed"));
  }
  v1::SyncModelsResponse out;
  out.set_count(static_cast<int32_t>(unique.size()));
  const std::string now = FormatDbTime(clock_->Now());
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    absl::StatusOr<v1::Provider> p = ReadProvider(s, provider_id);
    if (!p.ok()) return p.status();
    absl::flat_hash_map<std::string, ModelRow> known;
    for (ModelRow& r : Query(s, db_->dialect(), absl::StrCat("WHERE m.provider_id = ", provider_id))) {
      known.emplace(r.code, std::move(r));
    }
    long long pid = provider_id;
    long long first_added = 0;
    int added = 0, reactivated = 0, deactivated = 0;
    for (const providers::ModelInfo* m : unique) {
      auto it = known.find(m->id);
      if (it == known.end()) {
        std::string code = m->id;
        std::string name = m->display_name.empty() ? m->id : m->display_name;
        if (name.size() > 128) name = name.substr(0, 128);
        std::string type = GuessModelType(m->id);
        s << "INSERT INTO t_ai_models (provider_id, model_code, model_name, model_type, "
             "supports_streaming, is_active, is_default, created_at, updated_at) VALUES "
             "(:p, :c, :n, :ty, 1, 1, 0, :t1, :t2)",
            soci::use(pid), soci::use(code), soci::use(name), soci::use(type), soci::use(now),
            soci::use(now);
        if (first_added == 0) {
          long long id = 0;
          if (s.get_last_insert_id("t_ai_models", id)) first_added = id;
        }
        ++added;
      } else if (it->second.active == 0) {
        long long id = it->second.id;
        s << "UPDATE t_ai_models SET is_active = 1, updated_at = :t WHERE id = :id",
            soci::use(now), soci::use(id);
        ++reactivated;
      }
    }
    for (const auto& [code, row] : known) {
      if (row.active == 0 || seen.contains(code)) continue;
      long long id = row.id;
      s << "UPDATE t_ai_models SET is_active = 0, updated_at = :t WHERE id = :id", soci::use(now),
          soci::use(id);
      ++deactivated;
    }
    EnsureDefault(s, pid, first_added);
    out.set_added(added);
    out.set_reactivated(reactivated);
    out.set_deactivated(deactivated);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace aigw::admin
