// Named resource quantities (CPU, GPU, memory, custom), fractions allowed.
// Amounts are kept in fixed point (1/10000 of a unit) so that adding and
// subtracting fractions never drifts; whole amounts up to 9e14 (bytes of
// memory included) are exact.
#ifndef FLARE_RAYLET_RESOURCES_H_
#define FLARE_RAYLET_RESOURCES_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "flare.pb.h"

namespace flare {

class ResourceSet {
 public:
  static constexpr int64_t kUnit = 10000;

  ResourceSet() = default;
  static ResourceSet FromProto(const rpc::ResourceSet& proto);
  static ResourceSet FromMap(const std::map<std::string, double>& amounts);

  void Set(const std::string& name, double amount);
  double Get(const std::string& name) const;
  bool Empty() const { return amounts_.empty(); }

  // True when every amount here is available in `other`.
  bool IsSubsetOf(const ResourceSet& other) const;
  void Add(const ResourceSet& other);
  void Subtract(const ResourceSet& other);
  // The subset of this set named `name` (e.g. only the CPU of a demand).
  ResourceSet Only(const std::string& name) const;

  std::map<std::string, double> ToMap() const;
  void ToProto(rpc::ResourceSet* proto) const;
  // A stable key for "tasks with the same demand" queues.
  std::string ShapeKey() const;
  std::string DebugString() const;

 private:
  absl::flat_hash_map<std::string, int64_t> amounts_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_RESOURCES_H_
