#include "tests/testing/local_grpc_server.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace aigw::testing {

LocalGrpcServer::LocalGrpcServer(const std::vector<grpc::Service*>& services,
                                 const Configure& configure,
                                 std::shared_ptr<grpc::ServerCredentials> credentials) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port_);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (configure) configure(builder);
  server_ = builder.BuildAndStart();
  if (port_ == 0) server_.reset();
}

LocalGrpcServer::~LocalGrpcServer() {
  if (server_ != nullptr) server_->Shutdown();
}

std::string LocalGrpcServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::shared_ptr<grpc::Channel> LocalGrpcServer::NewChannel(
    const grpc::ChannelArguments& args) const {
  return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
}

}  // namespace aigw::testing
