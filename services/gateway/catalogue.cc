#include "services/gateway/catalogue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "soci/soci.h"
#include "libs/common/logging.h"

namespace aigw::gateway {

const ModelEntry* ProviderEntry::FindModel(absl::string_view code) const {
  for (const ModelEntry& m : models) {
    if (m.is_active && m.code == code) return &m;
  }
  return nullptr;
}

const ModelEntry* ProviderEntry::DefaultModel() const {
  const ModelEntry* first = nullptr;
  for (const ModelEntry& m : models) {
    if (!m.is_active) continue;
    if (m.is_default) return &m;
    if (first == nullptr) first = &m;
  }
  return first;
}

std::string ProviderEntry::ModelCodes() const {
  std::vector<absl::string_view> codes;
  for (const ModelEntry& m : models) {
    if (m.is_active) codes.push_back(m.code);
  }
  return codes.empty() ? "none" : absl::StrJoin(codes, ", ");
}

std::shared_ptr<const Catalogue> Catalogue::FromProviders(std::vector<ProviderEntry> providers) {
  auto c = std::make_shared<Catalogue>();
  c->providers_ = std::move(providers);
  for (size_t i = 0; i < c->providers_.size(); ++i) c->by_code_[c->providers_[i].code] = i;
  return c;
}

const ProviderEntry* Catalogue::FindProvider(absl::string_view code) const {
  auto it = by_code_.find(code);
  return it == by_code_.end() ? nullptr : &providers_[it->second];
}

std::string Catalogue::ProviderCodes() const {
  std::vector<absl::string_view> codes;
  for (const ProviderEntry& p : providers_) {
    if (p.is_active) codes.push_back(p.code);
  }
  return codes.empty() ? "none" : absl::StrJoin(codes, ", ");
}

absl::StatusOr<std::shared_ptr<const Catalogue>> Catalogue::Load(db::Database& db) {
  std::vector<ProviderEntry> providers;
  absl::Status st = db.Run([&](soci::session& s) {
    {
      ProviderEntry p;
      int active = 0;
      soci::statement stmt =
          (s.prepare << "SELECT id, provider_code, provider_name, base_url, api_format, is_active "
                        "FROM t_ai_providers ORDER BY sort_order, id",
           soci::into(p.id), soci::into(p.code), soci::into(p.name), soci::into(p.base_url),
           soci::into(p.api_format), soci::into(active));
      stmt.execute();
      while (stmt.fetch()) {
        p.is_active = active != 0;
        providers.push_back(p);
      }
    }
    absl::flat_hash_map<int64_t, size_t> index;
    for (size_t i = 0; i < providers.size(); ++i) index[providers[i].id] = i;
    const db::Dialect& d = db.dialect();
    ModelEntry m;
    int64_t provider_id = 0;
    int streaming = 1, tools = 0, vision = 0, active = 1, is_default = 0;
    soci::statement stmt =
        (s.prepare << "SELECT id, provider_id, model_code, model_name, max_input_tokens, "
                      "max_output_tokens, supports_streaming, supports_function_call, "
                      "supports_vision, is_active, is_default, " +
                          d.DecimalToNanos("cost_per_1k_prompt_tokens") + ", " +
                          d.DecimalToNanos("cost_per_1k_completion_tokens") + ", " +
                          d.DecimalToNanos("cost_per_1k_cached_prompt_tokens") + ", " +
                          d.DecimalToNanos("cost_per_1k_cache_creation_tokens") +
                          " FROM t_ai_models ORDER BY provider_id, id",
         soci::into(m.id), soci::into(provider_id), soci::into(m.code), soci::into(m.name),
         soci::into(m.max_input_tokens), soci::into(m.max_output_tokens), soci::into(streaming),
         soci::into(tools), soci::into(vision), soci::into(active), soci::into(is_default), soci::into(m.prices.prompt_per_1k_nanos),
         soci::into(m.prices.completion_per_1k_nanos),
         soci::into(m.prices.cached_prompt_per_1k_nanos),
         soci::into(m.prices.cache_creation_per_1k_nanos));
    stmt.execute();
    while (stmt.fetch()) {
      auto it = index.find(provider_id);
      if (it == index.end()) continue;
      m.supports_streaming = streaming != 0;
      m.supports_function_call = tools != 0;
      m.supports_vision = vision != 0;
      m.is_active = active != 0;
      m.is_default = is_default != 0;
      providers[it->second].models.push_back(m);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return FromProviders(std::move(providers));
}

CatalogueCache::CatalogueCache(db::Database* db, absl::Duration refresh_every)
    : db_(db), refresher_(refresh_every, [this] { RefreshAndLog(); }) {}

CatalogueCache::~CatalogueCache() { Stop(); }

absl::Status CatalogueCache::Refresh() {
  absl::StatusOr<std::shared_ptr<const Catalogue>> loaded = Catalogue::Load(*db_);
  if (!loaded.ok()) return loaded.status();
  Set(std::move(*loaded));
  return absl::OkStatus();
}

absl::Status CatalogueCache::Start() {
  absl::Status st = Refresh();
  if (!st.ok()) return st;
  refresher_.Start();
  return absl::OkStatus();
}

void CatalogueCache::Stop() { refresher_.Stop(); }

void CatalogueCache::RefreshAndLog() {
  absl::Status refreshed = Refresh();
  // Keep serving the last good catalogue; say so once per failure.
  if (!refreshed.ok()) {
    spdlog::warn("msg=\"catalogue refresh failed\" error=\"{}\"", refreshed.message());
  }
}

}  // namespace aigw::gateway
