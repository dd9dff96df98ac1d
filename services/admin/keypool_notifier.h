#ifndef AIGW_SERVICES_ADMIN_KEYPOOL_NOTIFIER_H_
#define AIGW_SERVICES_ADMIN_KEYPOOL_NOTIFIER_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token_source.h"

namespace aigw::admin {

// Tells the keypool that keys or providers changed in the database.
class KeyPoolNotifier {
 public:
  virtual ~KeyPoolNotifier() = default;
  // Best effort: a failure is logged, never returned. The keypool also
  // polls the database, so a missed reload only delays the change.
  virtual void KeysChanged(absl::string_view why) = 0;
};

// aigw.v1.KeyPool/Reload over a persistent channel, with an admin token of
// this service's own. Waits for the answer (up to `timeout`), so that a key
// an operator has just created is leasable when CreateKey returns.
class GrpcKeyPoolNotifier : public KeyPoolNotifier {
 public:
  GrpcKeyPoolNotifier(std::shared_ptr<grpc::Channel> channel, auth::TokenSource* tokens,
                      absl::Duration timeout);
  void KeysChanged(absl::string_view why) override;

 private:
  std::unique_ptr<aigw::v1::KeyPool::Stub> stub_;
  auth::TokenSource* const tokens_;
  const absl::Duration timeout_;
};

// For a keypool that is not there (--keypool_addr empty).
class NoKeyPoolNotifier : public KeyPoolNotifier {
 public:
  void KeysChanged(absl::string_view) override {}
};

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_KEYPOOL_NOTIFIER_H_
