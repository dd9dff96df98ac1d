#ifndef AIGW_SERVICES_ADMIN_KEYPOOL_NOTIFIER_H_
#define AIGW_SERVICES_ADMIN_KEYPOOL_NOTIFIER_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "aigw/v1/keypool.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace aigw::admin {

// Tells the keypool that keys or providers changed in the database.
class KeyPoolNotifier {
 public:
  virtual ~KeyPoolNotifier() = default;
  // Best effort: a failure is logged, never returned. The keypool also
  // polls the database, so a missed reload only delays the change.
  // `authorization` is the metadata of the admin call that made the change
  // ("Bearer <the operator's token>", "" in dev mode): Reload needs role
  // admin, and the admin service holds no key to mint such a token itself.
  virtual void KeysChanged(absl::string_view why, absl::string_view authorization) = 0;
};

// aigw.v1.KeyPool/Reload over a persistent channel, on behalf of the
// operator whose call changed the keys (their token is passed on). Waits for
// the answer (up to `timeout`), so that a key an operator has just created is
// leasable when CreateKey returns.
class GrpcKeyPoolNotifier : public KeyPoolNotifier {
 public:
  GrpcKeyPoolNotifier(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);
  void KeysChanged(absl::string_view why, absl::string_view authorization) override;

 private:
  std::unique_ptr<aigw::v1::KeyPool::Stub> stub_;
  const absl::Duration timeout_;
};

// For a keypool that is not there (--keypool_addr empty).
class NoKeyPoolNotifier : public KeyPoolNotifier {
 public:
  void KeysChanged(absl::string_view, absl::string_view) override {}
};

}  // namespace aigw::admin

#endif  // AIGW_SERVICES_ADMIN_KEYPOOL_NOTIFIER_H_
