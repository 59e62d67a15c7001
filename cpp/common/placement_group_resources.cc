#include "common/placement_group_resources.h"

namespace flare {

std::string GroupResourceName(std::string_view resource, std::string_view group_hex,
                              int64_t bundle_index) {
  std::string name(resource);
  name += kGroupResourceTag;
  if (bundle_index >= 0) {
    name += std::to_string(bundle_index);
    name += '_';
  }
  name += group_hex;
  return name;
}

std::optional<std::string_view> GroupOfResource(std::string_view name) {
  if (name.find(kGroupResourceTag) == std::string_view::npos) return std::nullopt;
  const size_t last = name.rfind('_');
  std::string_view hex = name.substr(last + 1);
  if (hex.empty()) return std::nullopt;
  return hex;
}

}  // namespace flare
