// Specification of the resource names a placement group offers its bundles under.
#include "common/placement_group_resources.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

TEST(PlacementGroupResourcesTest, ABundleNamesItsIndexAndTheGroup) {
  EXPECT_EQ(GroupResourceName("CPU", "ab12", 1), "CPU_group_1_ab12");
}

TEST(PlacementGroupResourcesTest, TheWholeGroupHasNoIndex) {
  EXPECT_EQ(GroupResourceName("CPU", "ab12"), "CPU_group_ab12");
  EXPECT_EQ(GroupResourceName("my_res", "ab12", -1), "my_res_group_ab12");
}

TEST(PlacementGroupResourcesTest, TheGroupIsReadBackFromEitherForm) {
  EXPECT_EQ(GroupOfResource("CPU_group_ab12"), "ab12");
  EXPECT_EQ(GroupOfResource("custom_thing_group_3_ab12"), "ab12");
}

TEST(PlacementGroupResourcesTest, OtherNamesBelongToNoGroup) {
  EXPECT_EQ(GroupOfResource("CPU"), std::nullopt);
  EXPECT_EQ(GroupOfResource("my_custom_resource"), std::nullopt);
}

}  // namespace
}  // namespace flare
