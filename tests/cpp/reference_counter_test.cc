// Specification of the client's reference counter: first and last
// references, and the owner each referenced object carries.
#include "client/reference_counter.h"

#include <memory>

#include <gtest/gtest.h>

namespace flare {
namespace {

std::shared_ptr<const OwnerAddress> Owner(uint8_t node, const std::string& address = "") {
  NodeId id;
  id.MutableData()[0] = node;
  return std::make_shared<const OwnerAddress>(OwnerAddress{id, address});
}

ObjectId Object(uint8_t n) {
  ObjectId id;
  id.MutableData()[0] = n;
  return id;
}

TEST(ReferenceCounterTest, OnlyTheFirstReferenceIsReportedAsFirst) {
  ReferenceCounter refs;
  const auto local = Owner(1);
  EXPECT_TRUE(refs.AddRef(Object(1), local));
  EXPECT_FALSE(refs.AddRef(Object(1), local));
  EXPECT_EQ(refs.RefCount(Object(1)), 2);
  EXPECT_TRUE(refs.AddRef(Object(2), local)) << "each object has its own first reference";
}

TEST(ReferenceCounterTest, OnlyTheLastReferenceIsReportedAsLastAndForgetsTheObject) {
  ReferenceCounter refs;
  refs.AddRef(Object(1), Owner(1));
  refs.AddRef(Object(1), Owner(1));
  EXPECT_FALSE(refs.RemoveRef(Object(1)));
  EXPECT_EQ(refs.NumReferenced(), 1u);
  EXPECT_TRUE(refs.RemoveRef(Object(1)));
  EXPECT_EQ(refs.RefCount(Object(1)), 0);
  EXPECT_EQ(refs.NumReferenced(), 0u);
  EXPECT_EQ(refs.OwnerOf(Object(1)), nullptr);
}

TEST(ReferenceCounterTest, RemovingAnUnreferencedObjectDoesNothing) {
  ReferenceCounter refs;
  EXPECT_FALSE(refs.RemoveRef(Object(9))) << "nothing to tell the raylet";
  EXPECT_EQ(refs.NumReferenced(), 0u);
}

TEST(ReferenceCounterTest, TheOwnerIsRecordedWithTheFirstReferenceAndKept) {
  ReferenceCounter refs;
  refs.AddRef(Object(1), Owner(2, "10.0.0.2:6379"));
  refs.AddRef(Object(1), Owner(1));
  ASSERT_NE(refs.OwnerOf(Object(1)), nullptr);
  EXPECT_EQ(*refs.OwnerOf(Object(1)), *Owner(2, "10.0.0.2:6379"))
      << "a later reference does not change the owner";
}

TEST(ReferenceCounterTest, AnObjectReferencedAgainAfterItWasForgottenTakesTheNewOwner) {
  ReferenceCounter refs;
  refs.AddRef(Object(1), Owner(2));
  refs.RemoveRef(Object(1));
  refs.AddRef(Object(1), Owner(3));
  EXPECT_EQ(*refs.OwnerOf(Object(1)), *Owner(3));
}

TEST(ReferenceCounterTest, ObjectsOfOneOwnerShareItsAddress) {
  ReferenceCounter refs;
  const auto local = Owner(1);
  refs.AddRef(Object(1), local);
  refs.AddRef(Object(2), local);
  EXPECT_EQ(refs.OwnerOf(Object(1)), local.get());
  EXPECT_EQ(refs.OwnerOf(Object(2)), local.get()) << "no copy of the address per object";
}

}  // namespace
}  // namespace flare
