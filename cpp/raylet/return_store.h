// Where a unit puts what tasks produce: values and errors become objects
// in the table, and whoever waits on them is told. The NodeManager
// implements it (the object table plus the wake-ups); unit tests implement
// it over a bare ObjectTable.
#ifndef FLARE_RAYLET_RETURN_STORE_H_
#define FLARE_RAYLET_RETURN_STORE_H_

#include <string>

#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

class ReturnStore {
 public:
  virtual ~ReturnStore() = default;
  // Stores one returned object (inline value, sealed arena object or error).
  virtual void Store(rpc::ReturnObject& ret) = 0;
  // Makes `id` hold an error instead of a value.
  virtual void StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                          const std::string& payload = "") = 0;
};

}  // namespace flare

#endif  // FLARE_RAYLET_RETURN_STORE_H_
