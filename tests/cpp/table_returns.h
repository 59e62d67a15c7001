// A ReturnStore over a bare ObjectTable, for unit tests: values go in as
// inline objects and errors as errors, with no one to wake.
#ifndef FLARE_TESTS_CPP_TABLE_RETURNS_H_
#define FLARE_TESTS_CPP_TABLE_RETURNS_H_

#include <string>

#include "object_store/object_table.h"
#include "raylet/return_store.h"

namespace flare::testing {

class TableReturns : public ReturnStore {
 public:
  explicit TableReturns(ObjectTable& objects) : objects_(objects) {}
  void Store(rpc::ReturnObject& ret) override {
    objects_.PutInline(kTaskArgHolder, ObjectId::FromBinary(ret.data().object_id()),
                       ret.data().inline_data(), {});
  }
  void StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                  const std::string& payload) override {
    objects_.SetError(id, code, message, payload);
  }

 private:
  ObjectTable& objects_;
};

}  // namespace flare::testing

#endif  // FLARE_TESTS_CPP_TABLE_RETURNS_H_
