#include "libs/server/peer_channel.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aigw::server {
namespace {

grpc::ChannelArguments PeerChannelArguments(int max_reconnect_backoff_ms) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_reconnect_backoff_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_reconnect_backoff_ms);
  return args;
}

}  // namespace

std::shared_ptr<grpc::Channel> CreatePeerChannel(const std::string& target) {
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   PeerChannelArguments(kPeerMaxReconnectBackoffMs));
}

std::string ReplicatedPeerTarget(const std::string& addresses) {
  if (!absl::StrContains(addresses, ',')) return addresses;
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(addresses, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, "localhost:")) {
      parts.push_back(absl::StrCat("127.0.0.1:", part));
    } else {
      parts.emplace_back(part);
    }
  }
  return absl::StrCat("ipv4:", absl::StrJoin(parts, ","));
}

std::shared_ptr<grpc::Channel> CreateReplicatedPeerChannel(const std::string& addresses,
                                                           const std::string& health_name) {
  grpc::ChannelArguments args = PeerChannelArguments(kReplicatedPeerMaxReconnectBackoffMs);
  args.SetServiceConfigJSON(absl::StrCat(
      R"({"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ")",
      health_name, R"("}})"));
  // A replaced pod comes back at a new address: look the name up again
  // soon after a connection fails (the default waits 30 s).
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 1000);
  return grpc::CreateCustomChannel(ReplicatedPeerTarget(addresses),
                                   grpc::InsecureChannelCredentials(), args);
}

}  // namespace aigw::server
