// The sending side of object transfer: ObjectManagerService.Pull
// (proto/object_manager.proto) served on the node's port.
//
// Each call pins its object once (on the event loop, through LocalObjects)
// and answers every range asked for with a chunk whose data is a slice over
// the arena, so no byte is copied before the kernel's socket write. The pin
// is released (on the loop) once the call is over and gRPC let go of the
// last slice.
//
// Thread rules: gRPC runs the handlers on its threads; they touch the store
// only by posting onto the loop (SenderContext). REQUIRES: the server
// serving this service has shut down before it is destroyed
// (ClusterServer::Shutdown).
#ifndef FLARE_OBJECT_MANAGER_OBJECT_MANAGER_SERVICE_H_
#define FLARE_OBJECT_MANAGER_OBJECT_MANAGER_SERVICE_H_

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>

#include "object_manager.grpc.pb.h"
#include "object_manager/local_objects.h"
#include "object_manager/send_pin.h"

namespace flare {

class ObjectManagerGrpcService final
    : public rpc::ObjectManagerService::WithRawCallbackMethod_Pull<
          rpc::ObjectManagerService::Service> {
 public:
  // Every call must carry `token`; `senders` is shared with the node's
  // other sending transports.
  ObjectManagerGrpcService(std::shared_ptr<SenderContext> senders, std::string token)
      : token_(std::move(token)), senders_(std::move(senders)) {}

 private:
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Pull(
      grpc::CallbackServerContext* context) override;

  const std::string token_;
  std::shared_ptr<SenderContext> senders_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_OBJECT_MANAGER_SERVICE_H_
