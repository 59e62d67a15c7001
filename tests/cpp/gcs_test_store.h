// A Store for GCS tests: forwards to a store the test keeps (so that a
// second Gcs can be built over what a first one wrote, as after a restart),
// and fails every call while `broken` is set (a disk that went away).
#ifndef FLARE_TESTS_CPP_GCS_TEST_STORE_H_
#define FLARE_TESTS_CPP_GCS_TEST_STORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gcs/store.h"

namespace flare {
namespace testing {

class TestStore : public Store {
 public:
  // Borrows `backing`, which must outlive this.
  explicit TestStore(Store& backing, const bool* broken = nullptr)
      : backing_(backing), broken_(broken) {}

  absl::StatusOr<bool> Put(const std::string& table, const std::string& key, std::string value,
                           bool overwrite) override {
    if (Broken()) return Gone();
    return backing_.Put(table, key, std::move(value), overwrite);
  }
  absl::StatusOr<std::optional<std::string>> Get(const std::string& table,
                                                 const std::string& key) const override {
    if (Broken()) return Gone();
    return backing_.Get(table, key);
  }
  absl::StatusOr<bool> Delete(const std::string& table, const std::string& key) override {
    if (Broken()) return Gone();
    return backing_.Delete(table, key);
  }
  absl::StatusOr<std::vector<Entry>> Scan(const std::string& table) const override {
    if (Broken()) return Gone();
    return backing_.Scan(table);
  }

 private:
  bool Broken() const { return broken_ != nullptr && *broken_; }
  static absl::Status Gone() { return absl::UnavailableError("disk gone"); }

  Store& backing_;
  const bool* broken_;
};

}  // namespace testing
}  // namespace flare

#endif  // FLARE_TESTS_CPP_GCS_TEST_STORE_H_
