// The GCS protocol as messages (proto/cluster.proto), both ends, with no
// I/O: a GcsClient call becomes a GcsRequest on a node, the head serves it
// against its in-process GcsClient and sends back a GcsReply, which the node
// turns into the call's callback. The gRPC layer (cpp/rpc/) only moves these
// messages, so every encoding is tested without sockets.
#ifndef FLARE_GCS_GCS_WIRE_H_
#define FLARE_GCS_GCS_WIRE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "cluster.pb.h"
#include "gcs/gcs_client.h"
#include "gcs/remote_gcs_client.h"  // the node's end, once part of this file

namespace flare {

// OK when every id in `request` has its kind's length and every resource
// amount is one the raylets can count with; InvalidArgument naming the
// field otherwise. The records' own rules (a taken name...) are the GCS's.
absl::Status CheckGcsRequest(const rpc::GcsRequest& request);

// Serves one request against `gcs`. `reply` is called once, possibly later
// (as `gcs` calls back), unless the request needs no reply (a resource
// report). An empty or unknown request, or one CheckGcsRequest refuses, is
// answered with InvalidArgument (a refused resource report is dropped).
void ServeGcsRequest(GcsClient& gcs, const rpc::GcsRequest& request,
                     std::function<void(rpc::GcsReply)> reply);

}  // namespace flare

#endif  // FLARE_GCS_GCS_WIRE_H_
