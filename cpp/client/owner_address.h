// The address of an object's owner. Ownership is node-level (DESIGN.md,
// "Identity and ownership"): the raylet of the node where an object was put,
// or where the task that returns it was submitted, owns it.
#ifndef FLARE_CLIENT_OWNER_ADDRESS_H_
#define FLARE_CLIENT_OWNER_ADDRESS_H_

#include <string>

#include "common/ids.h"

namespace flare {

struct OwnerAddress {
  NodeId node_id;
  // Where other nodes reach the owner's raylet ("host:port"); empty while
  // raylets serve no cluster port (single-node runtime).
  std::string raylet_address;

  bool operator==(const OwnerAddress& other) const {
    return node_id == other.node_id && raylet_address == other.raylet_address;
  }
  bool operator!=(const OwnerAddress& other) const { return !(*this == other); }
};

}  // namespace flare

#endif  // FLARE_CLIENT_OWNER_ADDRESS_H_
