// The resource names under which a reserved placement group offers its
// bundles. Bundle i's CPU is "CPU_group_<i>_<group hex>"; the group as a
// whole offers "CPU_group_<group hex>". A task placed in a group asks for
// these names instead of "CPU", so the scheduler needs nothing new.
//
// The one definition of that naming: the raylet reserves under these names
// and the Python package asks for them through flare._core.
#ifndef FLARE_COMMON_PLACEMENT_GROUP_RESOURCES_H_
#define FLARE_COMMON_PLACEMENT_GROUP_RESOURCES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flare {

inline constexpr std::string_view kGroupResourceTag = "_group_";

// "<resource>_group_<bundle_index>_<group_hex>", or, with bundle_index < 0,
// "<resource>_group_<group_hex>" (any bundle of the group).
std::string GroupResourceName(std::string_view resource, std::string_view group_hex,
                              int64_t bundle_index = -1);

// The group hex of a name GroupResourceName made; nullopt for any other name
// (e.g. "CPU" or a custom resource).
std::optional<std::string_view> GroupOfResource(std::string_view name);

}  // namespace flare

#endif  // FLARE_COMMON_PLACEMENT_GROUP_RESOURCES_H_
