// PendingRequests: the requests a client sent and waits to hear back about,
// by request id, with the replies that have arrived.
//
// A request and its reply carry the same request id (proto/flare.proto);
// RequestIdOf and SetRequestId read and write it for every kind of message
// at once, so that no per-kind code decides what is a reply. It does no I/O.
//
// Thread-compatible: the Connection calls it under the client's lock.
#ifndef FLARE_CLIENT_PENDING_REQUESTS_H_
#define FLARE_CLIENT_PENDING_REQUESTS_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "flare.pb.h"

namespace flare {

// The request id `message` carries; 0 when its kind carries none (it is
// neither a request that wants an answer nor a reply) or it is unset.
uint64_t RequestIdOf(const rpc::Message& message);

// Stamps `id` on `message`. Returns false when its kind carries no request id.
bool SetRequestId(rpc::Message* message, uint64_t id);

class PendingRequests {
 public:
  // Opens a request and returns its id: never 0, never reused.
  uint64_t Add();

  // The reply to request `id` arrived. Returns false, dropping it, when no
  // such request is open (its caller gave up) or it was answered already.
  bool Complete(uint64_t id, rpc::Message reply);

  // Whether request `id` has its reply.
  bool HasReply(uint64_t id) const;

  // Closes request `id`, returning its reply if it arrived.
  std::optional<rpc::Message> Take(uint64_t id);

  // Open requests.
  size_t size() const { return replies_.size(); }

 private:
  uint64_t next_id_ = 1;
  absl::flat_hash_map<uint64_t, std::optional<rpc::Message>> replies_;
};

}  // namespace flare

#endif  // FLARE_CLIENT_PENDING_REQUESTS_H_
