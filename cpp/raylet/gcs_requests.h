// The requests of local drivers and workers that the GCS answers: KV,
// named actors and the placement-group table. Each is passed to the
// GcsClient and its reply sent back to the client that asked, whenever the
// GCS answers (at once on the head, later over the network).
//
// No I/O of its own: replies go out through the injected `send`, which
// drops them when the client is gone. Thread-compatible: the raylet's event
// loop is its only user.
#ifndef FLARE_RAYLET_GCS_REQUESTS_H_
#define FLARE_RAYLET_GCS_REQUESTS_H_

#include <functional>

#include "flare.pb.h"
#include "gcs/gcs_client.h"
#include "object_store/object_table.h"

namespace flare {

class GcsRequests {
 public:
  using Send = std::function<void(ClientId client, const rpc::Message& reply)>;

  // Borrows `gcs`, which must outlive this.
  GcsRequests(GcsClient& gcs, Send send) : gcs_(gcs), send_(std::move(send)) {}

  // Handles `message` from `client` when it is a GCS request (true);
  // false leaves it to the caller.
  bool Handle(ClientId client, rpc::Message& message);

 private:
  void KvPut(ClientId client, rpc::KvPut& put);
  void KvGet(ClientId client, const rpc::KvGet& get);
  void RegisterActorName(ClientId client, rpc::RegisterActorName& request);
  void LookupActor(ClientId client, const rpc::LookupActor& request);
  void ListNamedActors(ClientId client, const rpc::ListNamedActors& request);
  void PlacementGroupTable(ClientId client, const rpc::PlacementGroupTableRequest& request);

  GcsClient& gcs_;
  Send send_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_GCS_REQUESTS_H_
