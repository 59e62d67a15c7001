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
// only by posting onto `loop`. Construct and destroy on the loop thread;
// REQUIRES: the server serving this service has shut down before it is
// destroyed (ClusterServer::Shutdown).
#ifndef FLARE_OBJECT_MANAGER_OBJECT_MANAGER_SERVICE_H_
#define FLARE_OBJECT_MANAGER_OBJECT_MANAGER_SERVICE_H_

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>

#include "object_manager.grpc.pb.h"
#include "object_manager/local_objects.h"

namespace flare {

// What the calls share with the service, kept alive by the last of them.
struct SenderContext {
  SenderContext(boost::asio::io_context& loop, LocalObjects& objects)
      : loop(loop), objects(objects) {}
  boost::asio::io_context& loop;
  LocalObjects& objects;
  std::mutex mu;
  bool alive = true;  // false once the service is gone: pins are not released
  size_t active_sends = 0;  // calls holding a pin (for stats and tests)
};

class ObjectManagerGrpcService final
    : public rpc::ObjectManagerService::WithRawCallbackMethod_Pull<
          rpc::ObjectManagerService::Service> {
 public:
  // Borrows `loop` and `objects`; every call must carry `token`.
  ObjectManagerGrpcService(boost::asio::io_context& loop, LocalObjects& objects,
                           std::string token);
  ~ObjectManagerGrpcService() override;

  // How many calls hold a pin now. Thread-safe.
  size_t active_sends() const;

 private:
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Pull(
      grpc::CallbackServerContext* context) override;

  const std::string token_;
  std::shared_ptr<SenderContext> shared_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_OBJECT_MANAGER_SERVICE_H_
