#include "services/keypool/keypool_runtime.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace aigw::keypool {

absl::StatusOr<std::unique_ptr<KeyPoolRuntime>> KeyPoolRuntime::Start(
    db::Database* db, const crypto::SecretBox& box, prometheus::Registry* registry,
    const KeyPoolConfig& config) {
  std::unique_ptr<KeyPoolRuntime> rt(new KeyPoolRuntime(box));
  if (registry != nullptr) rt->metrics_ = std::make_unique<KeyPoolMetrics>(*registry);
  rt->pool_ = std::make_unique<KeyPool>(config.clock, config.pool, rt->metrics_.get());
  rt->store_ = std::make_unique<KeyStore>(db, &rt->box_);
  rt->sync_ = std::make_unique<KeySync>(rt->pool_.get(), rt->store_.get(), rt->metrics_.get(),
                                        config.sync);
  absl::StatusOr<int> loaded = rt->sync_->Reload();
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        absl::StrCat("loading API keys: ", loaded.status().message()));
  }
  rt->keys_loaded_ = *loaded;
  rt->sync_->Upkeep();
  rt->sync_->Start();
  return rt;
}

KeyPoolRuntime::~KeyPoolRuntime() { Stop(); }

void KeyPoolRuntime::Stop() {
  if (sync_ != nullptr) sync_->Stop();
}

std::unique_ptr<KeyPoolService> KeyPoolRuntime::NewService() {
  KeySync* sync = sync_.get();
  return std::make_unique<KeyPoolService>(
      pool_.get(), [sync](std::function<void(absl::StatusOr<int>)> done) {
        sync->ReloadAsync(std::move(done));
      });
}

}  // namespace aigw::keypool
