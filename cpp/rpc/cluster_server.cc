#include "rpc/cluster_server.h"

#include "rpc/channel_args.h"

namespace flare {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxClusterMessageBytes);
  args.SetMaxSendMessageSize(kMaxClusterMessageBytes);
  // Notice a peer that went away without closing (a downed link) even when
  // nothing is being sent.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

absl::StatusOr<std::unique_ptr<ClusterServer>> ClusterServer::Start(
    const std::string& host, int port, const std::vector<grpc::Service*>& services,
    SharedPort::RawRoutes raw, SharedPortOptions options) {
  auto configure = [&services](grpc::ServerBuilder& builder) {
    builder.SetMaxReceiveMessageSize(kMaxClusterMessageBytes);
    builder.SetMaxSendMessageSize(kMaxClusterMessageBytes);
    // Let peers' keepalive pings (NewChannel) through, even without calls.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    for (grpc::Service* service : services) builder.RegisterService(service);
  };
  auto shared = SharedPort::Start(host, port, configure, std::move(raw), options);
  if (!shared.ok()) return shared.status();
  return std::unique_ptr<ClusterServer>(new ClusterServer(std::move(*shared)));
}

}  // namespace flare
