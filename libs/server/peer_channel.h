#ifndef AIGW_LIBS_SERVER_PEER_CHANNEL_H_
#define AIGW_LIBS_SERVER_PEER_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace aigw::server {

// How often, at least, a channel to a peer that went away tries to connect
// again.
inline constexpr int kPeerMaxReconnectBackoffMs = 1000;
// The same for a replicated peer (the keypool): its calls wait for a
// replica that grants, so a restarted one must be connected by the time it
// does (a lone keypool restarting serves ~0.6 s after it listens, when its
// predecessor's lease ran out); four connect attempts a second per gateway
// to a replica that is down still cost nothing.
inline constexpr int kReplicatedPeerMaxReconnectBackoffMs = 200;

// A channel to another aigw service (the gateway's to keypool and usage,
// admin's to keypool). gRPC reconnects to a peer that went away with a
// backoff that grows to 120 s and fails calls at once meanwhile: after a
// 30 s keypool outage the gateway went on answering UNAVAILABLE for more than
// 10 s after the keypool was back, and its call events waited as long
// (docs/FAULTS.md). A peer channel tries again at least every second; one
// connect attempt a second to a service that is down costs nothing.
std::shared_ptr<grpc::Channel> CreatePeerChannel(const std::string& target);

// A channel to a service that runs as several replicas of which only some
// serve (the keypool's active one; its standby answers UNAVAILABLE): calls
// go round-robin over the replicas whose grpc.health.v1 status for
// `health_name` is SERVING, following changes as the servers push them (a
// health watch per replica), so a takeover is followed within milliseconds
// of the new replica saying so. While none serves, calls fail at once with
// UNAVAILABLE. `addresses` is one gRPC target ("dns:///keypool-headless:50052"
// resolving to every replica, re-resolved at most every second) or a
// comma-separated list of host:port (hosts as IPv4 literals or localhost).
std::shared_ptr<grpc::Channel> CreateReplicatedPeerChannel(const std::string& addresses,
                                                           const std::string& health_name);

// The gRPC target CreateReplicatedPeerChannel connects to: a list of
// host:port becomes "ipv4:a:1,b:2"; anything else is returned as it is.
std::string ReplicatedPeerTarget(const std::string& addresses);

}  // namespace aigw::server

#endif  // AIGW_LIBS_SERVER_PEER_CHANNEL_H_
