// The requests of local drivers and workers that the GCS answers: KV,
// named actors, named placement groups and the placement-group table, and
// job records. Each is passed to the
// GcsClient and its reply sent back to the client that asked, whenever the
// GCS answers (at once on the head, later over the network).
//
// No I/O of its own: replies go out through the injected ClientChannel,
// which drops them when the client is gone. Thread-compatible: the raylet's
// event loop is its only user.
#ifndef FLARE_RAYLET_GCS_REQUESTS_H_
#define FLARE_RAYLET_GCS_REQUESTS_H_

#include "flare.pb.h"
#include "gcs/gcs_client.h"
#include "object_store/object_table.h"
#include "raylet/clients.h"

namespace flare {

class GcsRequests {
 public:
  // Borrows `gcs` and `clients`, which must outlive this.
  GcsRequests(GcsClient& gcs, ClientChannel& clients) : gcs_(gcs), clients_(clients) {}

  // A put with a request id is answered with a KvReply (found: the key
  // existed and was kept).
  void KvPut(ClientId client, rpc::KvPut& put);
  void KvGet(ClientId client, const rpc::KvGet& get);
  void RegisterActorName(ClientId client, rpc::RegisterActorName& request);
  void LookupActor(ClientId client, const rpc::LookupActor& request);
  void ListNamedActors(ClientId client, const rpc::ListNamedActors& request);
  // Every group, one group by id, or the live group of a name in a
  // namespace, as the request says.
  void PlacementGroupTable(ClientId client, const rpc::PlacementGroupTableRequest& request);
  // A named group's creator takes its name before asking for the group.
  void RegisterPlacementGroup(ClientId client, rpc::RegisterPlacementGroup& request);
  // A worker reads a job's record (its config) before running its tasks.
  void JobInfo(ClientId client, const rpc::JobInfoRequest& request);

 private:
  GcsClient& gcs_;
  ClientChannel& clients_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_GCS_REQUESTS_H_
