// The GCS's gRPC service on the head's port: one bidirectional stream per
// node (proto/cluster.proto). gRPC's threads only post stream events onto
// the head raylet's event loop, where a GcsServer handles them; what the
// GcsServer pushes from the loop is queued on the stream's Outbox. Each
// stream's reads are bounded by a ReadBudget and its writes by the largest
// message (`limits`).
//
// Lifetime: create it before the gRPC server that serves it and destroy it
// after that server has shut down (every stream has then ended).
#ifndef FLARE_RPC_GCS_SERVICE_H_
#define FLARE_RPC_GCS_SERVICE_H_

#include <cstdint>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "cluster.grpc.pb.h"
#include "gcs/gcs_server.h"
#include "rpc/channel_args.h"

namespace flare {

class GcsGrpcService final : public rpc::GcsService::CallbackService, public GcsServer::Sink {
 public:
  GcsGrpcService(boost::asio::io_context& loop, std::string token, StreamLimits limits = {})
      : loop_(loop), token_(std::move(token)), limits_(limits) {}

  // REQUIRES: called before the port opens; `server` outlives this.
  void set_server(GcsServer* server) { server_ = server; }

  // GcsServer::Sink, from the event loop.
  void Push(GcsServer::StreamId stream, rpc::GcsPush push) override;
  void Close(GcsServer::StreamId stream, const std::string& why) override;
  // Ends every node's stream, telling it `why` (ABORTED): the head is
  // stopping on purpose, so its nodes stop too instead of waiting for it
  // to come back (a head that crashed just drops the connections).
  void CloseAll(const std::string& why);

 private:
  class Stream;
  grpc::ServerBidiReactor<rpc::GcsRequest, rpc::GcsPush>* Connect(
      grpc::CallbackServerContext* context) override;
  // Called by a stream as it ends.
  void Forget(GcsServer::StreamId stream);
  // The loop caught up with a stream that paused reading.
  void ResumeReading(GcsServer::StreamId stream);

  boost::asio::io_context& loop_;
  const std::string token_;
  const StreamLimits limits_;
  GcsServer* server_ = nullptr;
  std::mutex mu_;  // guards the two below
  GcsServer::StreamId next_stream_ = 1;
  absl::flat_hash_map<GcsServer::StreamId, Stream*> streams_;
};

}  // namespace flare

#endif  // FLARE_RPC_GCS_SERVICE_H_
