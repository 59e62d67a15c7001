// Specification of ResourceSet: fixed-point amounts that never drift.
#include "raylet/resources.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace flare {
namespace {

ResourceSet Cpu(double amount) { return ResourceSet::FromMap({{"CPU", amount}}); }

TEST(ResourceSetTest, TenthAddedTenTimesEqualsExactlyOne) {
  ResourceSet sum;
  for (int i = 0; i < 10; ++i) sum.Add(Cpu(0.1));
  EXPECT_EQ(sum.Get("CPU"), 1.0);
  EXPECT_TRUE(Cpu(1).IsSubsetOf(sum));
  EXPECT_TRUE(sum.IsSubsetOf(Cpu(1)));
}

TEST(ResourceSetTest, SubtractingTenthsFromOneLeavesExactlyZero) {
  ResourceSet left = Cpu(1);
  for (int i = 0; i < 10; ++i) left.Subtract(Cpu(0.1));
  EXPECT_EQ(left.Get("CPU"), 0.0);
  EXPECT_FALSE(Cpu(0.0001).IsSubsetOf(left));
}

TEST(ResourceSetTest, AmountsAreRoundedToOneTenThousandth) {
  EXPECT_EQ(Cpu(0.33333).Get("CPU"), 0.3333);
  EXPECT_TRUE(Cpu(0.00001).Empty()) << "rounds to zero, which means absent";
}

TEST(ResourceSetTest, SettingZeroRemovesTheName) {
  ResourceSet set = ResourceSet::FromMap({{"CPU", 1}, {"GPU", 1}});
  set.Set("GPU", 0);
  EXPECT_EQ(set.ToMap(), (std::map<std::string, double>{{"CPU", 1}}));
}

TEST(ResourceSetTest, MissingNameCountsAsZeroAvailable) {
  const ResourceSet node = Cpu(4);
  EXPECT_TRUE(Cpu(4).IsSubsetOf(node));
  EXPECT_FALSE(ResourceSet::FromMap({{"GPU", 1}}).IsSubsetOf(node));
  EXPECT_TRUE(ResourceSet().IsSubsetOf(node)) << "an empty demand always fits";
}

TEST(ResourceSetTest, SubtractMayGoNegative) {
  ResourceSet set = Cpu(1);
  set.Subtract(Cpu(2));
  EXPECT_EQ(set.Get("CPU"), -1.0);
  EXPECT_FALSE(Cpu(0.5).IsSubsetOf(set));
}

TEST(ResourceSetTest, OnlyKeepsOneName) {
  const ResourceSet demand = ResourceSet::FromMap({{"CPU", 2}, {"GPU", 1}});
  EXPECT_EQ(demand.Only("CPU").ToMap(), (std::map<std::string, double>{{"CPU", 2}}));
  EXPECT_TRUE(demand.Only("accel").Empty());
}

TEST(ResourceSetTest, ProtoRoundTripKeepsEveryAmount) {
  const ResourceSet set = ResourceSet::FromMap({{"CPU", 1.5}, {"accel", 0.25}});
  rpc::ResourceSet proto;
  set.ToProto(&proto);
  EXPECT_EQ(ResourceSet::FromProto(proto).ToMap(), set.ToMap());
}

TEST(ResourceSetTest, ShapeKeyIsTheSameForEqualDemands) {
  ResourceSet a;
  a.Set("CPU", 1);
  a.Set("GPU", 0.5);
  ResourceSet b;
  b.Set("GPU", 0.5);
  b.Set("CPU", 1);
  EXPECT_EQ(a.ShapeKey(), b.ShapeKey());
  EXPECT_NE(a.ShapeKey(), Cpu(1).ShapeKey());
  EXPECT_NE(Cpu(1).ShapeKey(), Cpu(2).ShapeKey());
}

// Memory demands are in bytes: keys must tell 1e9 from 1e9 + 100.
TEST(ResourceSetTest, ShapeKeyDistinguishesLargeAmountsThatDifferSlightly) {
  const ResourceSet a = ResourceSet::FromMap({{"memory", 1000000000}});
  const ResourceSet b = ResourceSet::FromMap({{"memory", 1000000100}});
  EXPECT_NE(a.ShapeKey(), b.ShapeKey()) << "both are keyed " << a.ShapeKey();
}

// Nodes advertise memory in bytes: terabytes must add, subtract and
// round-trip to the byte.
TEST(ResourceSetTest, ByteCountsOfMemoryAreExact) {
  const double node = 4398046511103;  // 4 TiB - 1
  ResourceSet available = ResourceSet::FromMap({{"memory", node}});
  const ResourceSet task = ResourceSet::FromMap({{"memory", 12345678901}});
  available.Subtract(task);
  EXPECT_EQ(available.Get("memory"), node - 12345678901);
  available.Add(task);
  EXPECT_EQ(available.Get("memory"), node);
  rpc::ResourceSet proto;
  available.ToProto(&proto);
  EXPECT_EQ(proto.amounts().at("memory"), node);
}

TEST(ResourceSetTest, DebugStringNamesEveryAmount) {
  EXPECT_EQ(ResourceSet::FromMap({{"CPU", 2}, {"GPU", 0.5}}).DebugString(),
            "{CPU: 2, GPU: 0.5}");
  EXPECT_EQ(ResourceSet().DebugString(), "{}");
}

}  // namespace
}  // namespace flare
