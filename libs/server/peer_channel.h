#ifndef AIGW_LIBS_SERVER_PEER_CHANNEL_H_
#define AIGW_LIBS_SERVER_PEER_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace aigw::server {

// How often, at least, a channel to a peer that went away tries to connect
// again.
inline constexpr int kPeerMaxReconnectBackoffMs = 1000;

// A channel to another aigw service (the gateway's to keypool and usage,
// admin's to keypool). gRPC reconnects to a peer that went away with a
// backoff that grows to 120 s and fails calls at once meanwhile: after a
// 30 s keypool outage the gateway went on answering UNAVAILABLE for more than
// 10 s after the keypool was back, and its call events waited as long
// (docs/FAULTS.md). A peer channel tries again at least every second; one
// connect attempt a second to a service that is down costs nothing.
std::shared_ptr<grpc::Channel> CreatePeerChannel(const std::string& target);

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_PEER_CHANNEL_H_
