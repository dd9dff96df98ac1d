#ifndef AIGW_TESTS_TESTING_LOCAL_GRPC_SERVER_H_
#define AIGW_TESTS_TESTING_LOCAL_GRPC_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"

namespace aigw::testing {

// A gRPC server in the test's process: on 127.0.0.1 at a port the system
// picks, serving `services` and whatever `configure` adds to the builder
// (interceptors, message limits), with `credentials` (insecure unless the
// test checks authentication). Shut down when destroyed.
class LocalGrpcServer {
 public:
  using Configure = std::function<void(grpc::ServerBuilder&)>;

  explicit LocalGrpcServer(
      const std::vector<grpc::Service*>& services, const Configure& configure = nullptr,
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials());
  ~LocalGrpcServer();

  // False when it could not start (the test should stop there).
  bool ok() const { return server_ != nullptr; }
  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string address() const;
  // An insecure channel to it. Channels with distinct `args` do not share a
  // connection.
  std::shared_ptr<grpc::Channel> NewChannel(
      const grpc::ChannelArguments& args = grpc::ChannelArguments()) const;
  grpc::Server& server() { return *server_; }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace aigw::testing

#endif  // AIGW_TESTS_TESTING_LOCAL_GRPC_SERVER_H_
