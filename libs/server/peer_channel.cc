#include "libs/server/peer_channel.h"

namespace aigw::server {

std::shared_ptr<grpc::Channel> CreatePeerChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kPeerMaxReconnectBackoffMs);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace aigw::server
