#include "services/admin/model_store.h"

#include <array>
#include <initializer_list>
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
#include "services/admin/model_capabilities.h"
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
    BindInto(st, soci::into(id), soci::into(provider_id), soci::into(provider_code),
             soci::into(code), soci::into(name), soci::into(type, type_ind), soci::into(max_in),
             soci::into(max_out), soci::into(streaming), soci::into(tools), soci::into(vision),
             soci::into(prompt), soci::into(completion), soci::into(cached),
             soci::into(cache_write), soci::into(active), soci::into(is_default),
             soci::into(created, created_ind), soci::into(updated, updated_ind));
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

// Nano-dollars per 1K tokens, as the table holds them (DECIMAL(20,9)).
struct Prices {
  int64_t prompt = 0, completion = 0, cached = 0, cache_write = 0;
};

// One price at the API edge: its field, whether the request gives it, the
// USD figure, and where its nanos go.
struct PriceInput {
  const char* field;
  bool given;
  double usd;
  int64_t* nanos;
};

// Converts the given prices in order; the first bad one is the answer.
absl::Status ConvertPrices(std::initializer_list<PriceInput> prices) {
  for (const PriceInput& p : prices) {
    if (!p.given) continue;
    absl::StatusOr<int64_t> nanos = PriceToNanos(p.field, p.usd);
    if (!nanos.ok()) return nanos.status();
    *p.nanos = *nanos;
  }
  return absl::OkStatus();
}

// A new model's row from the request, every field checked.
absl::StatusOr<ModelRow> NewModelRow(const v1::Model& m) {
  if (absl::Status st = CheckModelCode(m.model_code()); !st.ok()) return st;
  if (absl::Status st = CheckName("model_name", m.model_name(), 128); !st.ok()) return st;
  ModelRow row;
  row.type = m.model_type().empty() ? "chat" : m.model_type();
  if (absl::Status st = CheckModelType(row.type); !st.ok()) return st;
  if (absl::Status st = CheckTokenCount("max_input_tokens", m.max_input_tokens()); !st.ok()) return st;
  if (absl::Status st = CheckTokenCount("max_output_tokens", m.max_output_tokens()); !st.ok()) return st;
  Prices prices;
  absl::Status st = ConvertPrices(
      {{"cost_per_1k_prompt_tokens", true, m.cost_per_1k_prompt_tokens(), &prices.prompt},
       {"cost_per_1k_completion_tokens", true, m.cost_per_1k_completion_tokens(),
        &prices.completion},
       {"cost_per_1k_cached_prompt_tokens", true, m.cost_per_1k_cached_prompt_tokens(),
        &prices.cached},
       {"cost_per_1k_cache_creation_tokens", true, m.cost_per_1k_cache_creation_tokens(),
        &prices.cache_write}});
  if (!st.ok()) return st;
  row.code = m.model_code();
  row.name = std::string(absl::StripAsciiWhitespace(m.model_name()));
  row.max_in = m.max_input_tokens();
  row.max_out = m.max_output_tokens();
  row.tools = m.supports_function_call() ? 1 : 0;
  row.vision = m.supports_vision() ? 1 : 0;
  row.is_default = m.is_default() ? 1 : 0;
  row.prompt = prices.prompt;
  row.completion = prices.completion;
  row.cached = prices.cached;
  row.cache_write = prices.cache_write;
  return row;
}

// Checks what an update names; returns its prices, -1 for the ones it
// leaves alone.
absl::StatusOr<Prices> CheckUpdate(const v1::UpdateModelRequest& r) {
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
  Prices prices{-1, -1, -1, -1};
  absl::Status st = ConvertPrices(
      {{"cost_per_1k_prompt_tokens", r.has_cost_per_1k_prompt_tokens(),
        r.cost_per_1k_prompt_tokens(), &prices.prompt},
       {"cost_per_1k_completion_tokens", r.has_cost_per_1k_completion_tokens(),
        r.cost_per_1k_completion_tokens(), &prices.completion},
       {"cost_per_1k_cached_prompt_tokens", r.has_cost_per_1k_cached_prompt_tokens(),
        r.cost_per_1k_cached_prompt_tokens(), &prices.cached},
       {"cost_per_1k_cache_creation_tokens", r.has_cost_per_1k_cache_creation_tokens(),
        r.cost_per_1k_cache_creation_tokens(), &prices.cache_write}});
  if (!st.ok()) return st;
  return prices;
}

// The row an update leaves: what it names, else what is stored.
ModelRow Updated(const ModelRow& cur, const v1::UpdateModelRequest& r, const Prices& prices) {
  ModelRow next = cur;
  if (r.has_model_name()) next.name = std::string(absl::StripAsciiWhitespace(r.model_name()));
  if (r.has_model_type()) next.type = r.model_type();
  if (r.has_max_input_tokens()) next.max_in = r.max_input_tokens();
  if (r.has_max_output_tokens()) next.max_out = r.max_output_tokens();
  if (r.has_supports_streaming()) next.streaming = r.supports_streaming() ? 1 : 0;
  if (r.has_supports_function_call()) next.tools = r.supports_function_call() ? 1 : 0;
  if (r.has_supports_vision()) next.vision = r.supports_vision() ? 1 : 0;
  if (r.has_is_active()) next.active = r.is_active() ? 1 : 0;
  next.is_default = (r.has_is_default() ? r.is_default() : cur.is_default != 0) ? 1 : 0;
  if (prices.prompt >= 0) next.prompt = prices.prompt;
  if (prices.completion >= 0) next.completion = prices.completion;
  if (prices.cached >= 0) next.cached = prices.cached;
  if (prices.cache_write >= 0) next.cache_write = prices.cache_write;
  return next;
}

// The provider a new model names: `provider_id`, or `provider_code` when
// the id is 0. NOT_FOUND when there is no such provider.
absl::StatusOr<long long> ProviderOf(soci::session& s, const v1::Model& m) {
  long long provider_id = m.provider_id();
  if (provider_id != 0) {
    absl::StatusOr<v1::Provider> p = ReadProvider(s, provider_id);
    if (!p.ok()) return p.status();
    return provider_id;
  }
  soci::indicator ind = soci::i_null;
  std::string code = m.provider_code();
  s << "SELECT id FROM t_ai_providers WHERE provider_code = :c", soci::use(code),
      soci::into(provider_id, ind);
  if (ind != soci::i_ok) {
    return absl::NotFoundError(absl::StrCat("provider '", code, "' does not exist"));
  }
  return provider_id;
}

absl::Status CheckCodeFree(soci::session& s, long long provider_id, const std::string& code) {
  long long taken = 0;
  s << "SELECT COUNT(*) FROM t_ai_models WHERE provider_id = :p AND model_code = :c",
      soci::use(provider_id), soci::use(code), soci::into(taken);
  if (taken == 0) return absl::OkStatus();
  return absl::AlreadyExistsError(
      absl::StrCat("provider ", provider_id, " already has model_code '", code, "'"));
}

// Takes the default flag from the provider's default model, for another.
void ClearDefault(soci::session& s, long long provider_id, const std::string& now) {
  s << "UPDATE t_ai_models SET is_default = 0, updated_at = :t "
       "WHERE provider_id = :p AND is_default = 1",
      soci::use(now), soci::use(provider_id);
}

// The row's four prices (prompt, completion, cached prompt, cache creation)
// as the DECIMAL text the statements bind.
std::array<std::string, 4> DecimalPrices(const ModelRow& m) {
  return {db::NanosToDecimal(m.prompt), db::NanosToDecimal(m.completion),
          db::NanosToDecimal(m.cached), db::NanosToDecimal(m.cache_write)};
}

// Inserts a model created by hand (active, streaming: proto3 cannot say
// otherwise); returns its id.
absl::StatusOr<long long> InsertModel(soci::session& s, long long provider_id, const ModelRow& m,
                                      const std::string& now) {
  const std::array<std::string, 4> c = DecimalPrices(m);
  s << "INSERT INTO t_ai_models (provider_id, model_code, model_name, model_type, "
       "max_input_tokens, max_output_tokens, supports_streaming, supports_function_call, "
       "supports_vision, cost_per_1k_prompt_tokens, cost_per_1k_completion_tokens, "
       "cost_per_1k_cached_prompt_tokens, cost_per_1k_cache_creation_tokens, is_active, "
       "is_default, created_at, updated_at) VALUES (:p, :c, :n, :ty, :mi, :mo, 1, :tl, :v, "
       ":c1, :c2, :c3, :c4, 1, :d, :t1, :t2)",
      soci::use(provider_id), soci::use(m.code), soci::use(m.name), soci::use(m.type),
      soci::use(m.max_in), soci::use(m.max_out), soci::use(m.tools), soci::use(m.vision),
      soci::use(c[0]), soci::use(c[1]), soci::use(c[2]), soci::use(c[3]), soci::use(m.is_default),
      soci::use(now), soci::use(now);
  long long id = 0;
  if (!s.get_last_insert_id("t_ai_models", id)) {
    return absl::InternalError("database: no id for the new model");
  }
  return id;
}

// Writes every column an update may change.
void WriteModel(soci::session& s, const ModelRow& m, const std::string& now) {
  const std::array<std::string, 4> c = DecimalPrices(m);
  s << "UPDATE t_ai_models SET model_name = :n, model_type = :ty, max_input_tokens = :mi, "
       "max_output_tokens = :mo, supports_streaming = :s, supports_function_call = :tl, "
       "supports_vision = :v, cost_per_1k_prompt_tokens = :c1, "
       "cost_per_1k_completion_tokens = :c2, cost_per_1k_cached_prompt_tokens = :c3, "
       "cost_per_1k_cache_creation_tokens = :c4, is_active = :a, is_default = :d, "
       "updated_at = :t WHERE id = :id",
      soci::use(m.name), soci::use(m.type), soci::use(m.max_in), soci::use(m.max_out),
      soci::use(m.streaming), soci::use(m.tools), soci::use(m.vision), soci::use(c[0]),
      soci::use(c[1]), soci::use(c[2]), soci::use(c[3]), soci::use(m.active),
      soci::use(m.is_default), soci::use(now), soci::use(m.id);
}

// The listed ids a model may have, each once, in the provider's order.
std::vector<const providers::ModelInfo*> UsableIds(
    const std::vector<providers::ModelInfo>& listed, absl::flat_hash_set<std::string>* seen) {
  std::vector<const providers::ModelInfo*> unique;
  for (const providers::ModelInfo& m : listed) {
    if (CheckModelCode(m.id).ok() && seen->insert(m.id).second) unique.push_back(&m);
  }
  return unique;
}

// Adds a listed model the provider did not have: active, named by the
// provider's display name or id, type guessed, prices 0.
void AddListed(soci::session& s, long long provider_id, const providers::ModelInfo& m,
               const std::string& now) {
  std::string name = m.display_name.empty() ? m.id : m.display_name;
  if (name.size() > 128) name = name.substr(0, 128);
  const std::string type = GuessModelType(m.id);
  // Tools and images as the vendor documents the family; an admin may change
  // them, and a later sync keeps what is set.
  const ModelCapabilities known = KnownCapabilities(m.id);
  int tools = known.function_call ? 1 : 0, vision = known.vision ? 1 : 0;
  s << "INSERT INTO t_ai_models (provider_id, model_code, model_name, model_type, "
       "supports_streaming, supports_function_call, supports_vision, is_active, is_default, "
       "created_at, updated_at) VALUES (:p, :c, :n, :ty, 1, :tl, :v, 1, 0, :t1, :t2)",
      soci::use(provider_id), soci::use(m.id), soci::use(name), soci::use(type), soci::use(tools),
      soci::use(vision), soci::use(now), soci::use(now);
}

void SetActive(soci::session& s, long long id, int active, const std::string& now) {
  s << "UPDATE t_ai_models SET is_active = :a, updated_at = :t WHERE id = :id", soci::use(active),
      soci::use(now), soci::use(id);
}

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
  absl::StatusOr<ModelRow> row = NewModelRow(m);
  if (!row.ok()) return row.status();
  const std::string now = FormatDbTime(clock_->Now());
  long long id = 0;
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    absl::StatusOr<long long> provider_id = ProviderOf(s, m);
    if (!provider_id.ok()) return provider_id.status();
    if (absl::Status free = CheckCodeFree(s, *provider_id, row->code); !free.ok()) return free;
    if (row->is_default != 0) ClearDefault(s, *provider_id, now);
    absl::StatusOr<long long> inserted = InsertModel(s, *provider_id, *row, now);
    if (!inserted.ok()) return inserted.status();
    id = *inserted;
    EnsureDefault(s, *provider_id, id);
    return absl::OkStatus();
  });
  if (IsDuplicateKeyError(st)) {
    return absl::AlreadyExistsError(absl::StrCat("model_code '", row->code, "' is already taken"));
  }
  if (!st.ok()) return st;
  return Get(id);
}

absl::StatusOr<v1::Model> ModelStore::Update(const v1::UpdateModelRequest& r) {
  if (r.id() <= 0) return absl::InvalidArgumentError("id is required");
  absl::StatusOr<Prices> prices = CheckUpdate(r);
  if (!prices.ok()) return prices.status();
  const std::string now = FormatDbTime(clock_->Now());
  absl::Status st = db_->InTransaction([&](soci::session& s) -> absl::Status {
    std::vector<ModelRow> rows = Query(s, db_->dialect(), absl::StrCat("WHERE m.id = ", r.id()));
    if (rows.empty()) return ModelNotFound(r.id());
    const ModelRow& cur = rows.front();
    if (r.has_is_default() && !r.is_default() && cur.is_default != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model ", r.id(), " is the default of provider ", cur.provider_code,
          ", which must have exactly one: make another model the default instead"));
    }
    const ModelRow next = Updated(cur, r, *prices);
    if (next.is_default != 0 && cur.is_default == 0) ClearDefault(s, cur.provider_id, now);
    WriteModel(s, next, now);
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
  absl::flat_hash_set<std::string> seen;
  const std::vector<const providers::ModelInfo*> unique = UsableIds(listed, &seen);
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
    const long long pid = provider_id;
    long long first_added = 0;
    int added = 0, reactivated = 0, deactivated = 0;
    for (const providers::ModelInfo* m : unique) {
      auto it = known.find(m->id);
      if (it == known.end()) {
        AddListed(s, pid, *m, now);
        long long id = 0;
        if (first_added == 0 && s.get_last_insert_id("t_ai_models", id)) first_added = id;
        ++added;
      } else if (it->second.active == 0) {
        SetActive(s, it->second.id, 1, now);
        ++reactivated;
      }
    }
    for (const auto& [code, row] : known) {
      if (row.active == 0 || seen.contains(code)) continue;
      SetActive(s, row.id, 0, now);
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
