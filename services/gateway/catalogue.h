#ifndef AIGW_SERVICES_GATEWAY_CATALOGUE_H_
#define AIGW_SERVICES_GATEWAY_CATALOGUE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/common/periodic_task.h"
#include "libs/db/database.h"
#include "libs/providers/cost.h"

namespace aigw::gateway {

struct ModelEntry {
  int64_t id = 0;
  std::string code;
  std::string name;
  int32_t max_input_tokens = 0;   // 0 = unknown
  int32_t max_output_tokens = 0;  // 0 = unknown
  bool supports_streaming = true;
  // t_ai_models.supports_function_call / supports_vision: whether requests
  // with tools or images may go to this model. Load reads them; true here so
  // that entries built by hand (tests) refuse nothing, like streaming.
  bool supports_function_call = true;
  bool supports_vision = true;
  bool is_active = true;
  bool is_default = false;
  providers::ModelPrices prices;
};

struct ProviderEntry {
  int64_t id = 0;
  std::string code;
  std::string name;
  std::string base_url;
  std::string api_format;
  bool is_active = true;
  std::vector<ModelEntry> models;

  // An active model by code, or nullptr.
  const ModelEntry* FindModel(absl::string_view code) const;
  // The active default model; the first active one when none is marked.
  const ModelEntry* DefaultModel() const;
  // Active model codes, for error messages.
  std::string ModelCodes() const;
};

// What the gateway knows of providers and models: an immutable snapshot of
// t_ai_providers and t_ai_models, read on every request without locks.
class Catalogue {
 public:
  static absl::StatusOr<std::shared_ptr<const Catalogue>> Load(db::Database& db);
  // For tests.
  static std::shared_ptr<const Catalogue> FromProviders(std::vector<ProviderEntry> providers);

  // Any provider with this code, active or not; nullptr when unknown.
  const ProviderEntry* FindProvider(absl::string_view code) const;
  // Active provider codes, for error messages.
  std::string ProviderCodes() const;

 private:
  std::vector<ProviderEntry> providers_;
  absl::flat_hash_map<std::string, size_t> by_code_;
};

// Holds the current Catalogue and refreshes it from the database in the
// background, so admin changes reach the gateway within `refresh_every`.
class CatalogueCache {
 public:
  CatalogueCache(db::Database* db, absl::Duration refresh_every);
  ~CatalogueCache();

  // Loads once; the first load must succeed.
  absl::Status Start();
  void Stop();
  absl::Status Refresh();

  std::shared_ptr<const Catalogue> Get() const { return current_.load(std::memory_order_acquire); }
  void Set(std::shared_ptr<const Catalogue> c) {
    current_.store(std::move(c), std::memory_order_release);
  }

 private:
  void RefreshAndLog();

  db::Database* const db_;
  std::atomic<std::shared_ptr<const Catalogue>> current_;
  PeriodicTask refresher_;
};

}  // namespace aigw::gateway

#endif  // AIGW_SERVICES_GATEWAY_CATALOGUE_H_
