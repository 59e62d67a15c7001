// Specification of BorrowedObjects: refs that reach this node inside a value
// or a task another node sent are held there for us and pushed here when
// ready (small values inline, arena objects pulled); what holds them here
// keeps them; when they go here, the node holding them for us lets go; a
// node that dies loses what had not arrived. Played over a bare ObjectTable,
// a recording ReturnStore and RecordingPeers: no sockets, no clocks.
#include "raylet/borrowed_objects.h"

#include <gtest/gtest.h>

#include <utility>

#include <string>
#include <vector>

#include "raylet_fakes.h"

namespace flare {
namespace {

constexpr ClientId kDriver = 7;

class BorrowedObjectsTest : public ::testing::Test {
 protected:
  static ObjectId NewPut() { return ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1); }
  // The ids of `kind` messages to `node`: ref_update adds or removes, or subscribes.
  std::vector<ObjectId> Adds(const NodeId& node) { return Ids(node, true); }
  std::vector<ObjectId> Removes(const NodeId& node) { return Ids(node, false); }
  std::vector<ObjectId> Ids(const NodeId& node, bool adds) {
    std::vector<ObjectId> ids;
    for (const auto& message : peers_.Of(node, rpc::Message::kRefUpdate)) {
      for (const auto& binary : adds ? message.ref_update().add() : message.ref_update().remove()) {
        ids.push_back(ObjectId::FromBinary(binary));
      }
    }
    return ids;
  }
  std::vector<ObjectId> Subscribed(const NodeId& node) {
    std::vector<ObjectId> ids;
    for (const auto& message : peers_.Of(node, rpc::Message::kSubscribe)) {
      for (const auto& binary : message.subscribe().object_ids()) {
        ids.push_back(ObjectId::FromBinary(binary));
      }
    }
    return ids;
  }
  // A value of `container` stored here, holding `nested` as the node sent it.
  ObjectId StoreContainer(const std::vector<ObjectId>& nested) {
    const ObjectId container = NewPut();
    objects_.PutInline(kDriver, container, "list of refs", {});
    borrowed_.HoldContained(node_b_, container, nested);
    return container;
  }
  // What the holding node pushes: a small value, or where an arena object is.
  static rpc::ObjectData Inline(const ObjectId& id, const std::string& value) {
    rpc::ObjectData data;
    data.set_object_id(id.Binary());
    data.set_inline_data(value);
    return data;
  }
  static rpc::ObjectData InStore(const ObjectId& id, uint64_t size) {
    rpc::ObjectData data;
    data.set_object_id(id.Binary());
    data.set_in_store(true);
    data.set_size(size);
    return data;
  }
  void Free(ClientId holder, const ObjectId& id) {
    objects_.RemoveRef(holder, id);
    borrowed_.OnFreed(id);
  }

  const NodeId node_b_ = NodeId::FromRandom();
  ObjectTable objects_{1 << 20};
  testing::RecordingReturns returns_{objects_};
  testing::RecordingPeers peers_;
  BorrowedObjects borrowed_{objects_, returns_, peers_, peers_};
};

TEST_F(BorrowedObjectsTest, RefsInAValueAreHeldThereThenSentHereWhenReady) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  EXPECT_EQ(Adds(node_b_), std::vector<ObjectId>{nested}) << "held there first";
  EXPECT_EQ(Subscribed(node_b_), std::vector<ObjectId>{nested}) << "then asked for";
  EXPECT_TRUE(objects_.Contains(nested));
  EXPECT_FALSE(objects_.IsReady(nested)) << "pending here until it comes";

  rpc::ObjectData data = Inline(nested, "value");
  EXPECT_TRUE(borrowed_.OnObject(node_b_, data));
  ASSERT_TRUE(objects_.IsReady(nested));
  EXPECT_EQ(objects_.Find(nested)->inline_data, "value");
}

TEST_F(BorrowedObjectsTest, AnArenaObjectIsPulledAndUnpinnedThereOnceHere) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  rpc::ObjectData data = InStore(nested, 4096);
  EXPECT_TRUE(borrowed_.OnObject(node_b_, data));
  ASSERT_EQ(peers_.pulls.size(), 1u);
  EXPECT_EQ(peers_.pulls[0].from, node_b_);
  EXPECT_EQ(peers_.pulls[0].size, 4096u);
  EXPECT_TRUE(peers_.Of(node_b_, rpc::Message::kReleasePins).empty()) << "pinned while pulled";
  peers_.pulls[0].done(absl::OkStatus());
  EXPECT_EQ(peers_.Of(node_b_, rpc::Message::kReleasePins).size(), 1u);
  EXPECT_TRUE(Removes(node_b_).empty()) << "still held there while held here";
}

TEST_F(BorrowedObjectsTest, AnArenaObjectMayComeFromTheCopiesItsOwnerNamesAndItHearsOfOurs) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  std::vector<std::pair<ObjectId, NodeId>> pulled;
  borrowed_.SetCopyListeners(
      [&](const ObjectId& id, const NodeId& owner) { pulled.emplace_back(id, owner); },
      [](const ObjectId&, std::vector<NodeId>) {});
  const NodeId copy = NodeId::FromRandom();
  rpc::ObjectData data = InStore(nested, 4096);
  data.add_copy_node_ids(copy.Binary());

  EXPECT_TRUE(borrowed_.OnObject(node_b_, data));
  ASSERT_EQ(peers_.pulls.size(), 1u);
  EXPECT_EQ(peers_.pulls[0].holders, (std::vector<NodeId>{node_b_, copy}));
  EXPECT_TRUE(pulled.empty());
  peers_.pulls[0].done(absl::OkStatus());
  EXPECT_EQ(pulled, (std::vector<std::pair<ObjectId, NodeId>>{{nested, node_b_}}))
      << "the copy here is reported to the node it is borrowed from";
}

TEST_F(BorrowedObjectsTest, TheCopiesNamedForAnObjectOnAThirdNodeAreKeptForItsPull) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  std::vector<NodeId> named;
  borrowed_.SetCopyListeners([](const ObjectId&, const NodeId&) {},
                             [&](const ObjectId&, std::vector<NodeId> copies) { named = copies; });
  const NodeId third = NodeId::FromRandom();
  const NodeId copy = NodeId::FromRandom();
  rpc::ObjectData data;
  data.set_object_id(nested.Binary());
  data.set_elsewhere(true);
  data.set_node_id(third.Binary());
  data.set_size(4096);
  data.add_copy_node_ids(copy.Binary());

  EXPECT_TRUE(borrowed_.OnObject(node_b_, data));
  EXPECT_EQ(named, std::vector<NodeId>{copy});
}

TEST_F(BorrowedObjectsTest, AFailedPullLeavesObjectLostNamingTheNode) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  rpc::ObjectData data = InStore(nested, 4096);
  borrowed_.OnObject(node_b_, data);
  peers_.pulls[0].done(absl::UnavailableError("link down"));
  ASSERT_TRUE(objects_.IsReady(nested));
  EXPECT_EQ(objects_.Find(nested)->error, rpc::OBJECT_LOST);
  EXPECT_NE(objects_.Find(nested)->error_message.find(node_b_.Hex()), std::string::npos);
}

TEST_F(BorrowedObjectsTest, FreeingTheValueThenTheRefReleasesItThere) {
  const ObjectId nested = NewPut();
  const ObjectId container = StoreContainer({nested});
  objects_.AddRef(kDriver, nested);  // the driver took the ref out of the value
  rpc::ObjectData data = Inline(nested, "value");
  borrowed_.OnObject(node_b_, data);
  Free(kDriver, container);
  EXPECT_TRUE(objects_.Contains(nested)) << "the driver holds it";
  EXPECT_TRUE(Removes(node_b_).empty());
  Free(kDriver, nested);
  EXPECT_FALSE(objects_.Contains(nested));
  EXPECT_EQ(Removes(node_b_), std::vector<ObjectId>{nested});
}

TEST_F(BorrowedObjectsTest, ARefKnownHereIsHeldByTheValueButNotBorrowed) {
  const ObjectId mine = NewPut();
  objects_.PutInline(kDriver, mine, "mine", {});
  const ObjectId container = StoreContainer({mine});
  EXPECT_TRUE(Adds(node_b_).empty());
  Free(kDriver, mine);
  EXPECT_TRUE(objects_.Contains(mine)) << "the value holds it";
  Free(kDriver, container);
  EXPECT_FALSE(objects_.Contains(mine));
  EXPECT_TRUE(Removes(node_b_).empty());
}

TEST_F(BorrowedObjectsTest, ATasksNestedRefIsBorrowedAndHeldByWhatTheCallerAdds) {
  const ObjectId nested = NewPut();
  EXPECT_TRUE(borrowed_.Borrow(node_b_, nested));
  objects_.AddRef(kTaskArgHolder, nested);
  borrowed_.EndHold(nested);
  EXPECT_TRUE(objects_.Contains(nested));
  Free(kTaskArgHolder, nested);
  EXPECT_EQ(Removes(node_b_), std::vector<ObjectId>{nested});
  const ObjectId mine = NewPut();
  objects_.PutInline(kDriver, mine, "mine", {});
  EXPECT_FALSE(borrowed_.Borrow(node_b_, mine)) << "known here: nothing to borrow";
}

TEST_F(BorrowedObjectsTest, AnObjectFromAnotherNodeOrNotBorrowedIsNotTaken) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  rpc::ObjectData data = Inline(nested, "value");
  EXPECT_FALSE(borrowed_.OnObject(NodeId::FromRandom(), data));
  data.set_object_id(NewPut().Binary());
  EXPECT_FALSE(borrowed_.OnObject(node_b_, data));
}

TEST_F(BorrowedObjectsTest, WhatHadNotArrivedFromADeadNodeIsLostWithItsOwner) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  borrowed_.OnNodeGone(node_b_);
  ASSERT_TRUE(objects_.IsReady(nested));
  EXPECT_EQ(objects_.Find(nested)->error, rpc::OWNER_DIED);
  EXPECT_NE(objects_.Find(nested)->error_message.find(node_b_.Hex()), std::string::npos);
}

TEST_F(BorrowedObjectsTest, WhatArrivedHereStaysWhenTheNodeItCameFromDies) {
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  rpc::ObjectData data;
  data.set_object_id(nested.Binary());
  data.set_inline_data("value");
  borrowed_.OnObject(node_b_, data);
  borrowed_.OnNodeGone(node_b_);
  EXPECT_EQ(objects_.Find(nested)->error, rpc::ERROR_NONE);
  EXPECT_EQ(objects_.Find(nested)->inline_data, "value");
}

TEST_F(BorrowedObjectsTest, AnUnreachableNodeLosesTheObjectAtOnce) {
  peers_.unreachable.insert(node_b_);
  const ObjectId nested = NewPut();
  StoreContainer({nested});
  ASSERT_TRUE(objects_.IsReady(nested));
  EXPECT_EQ(objects_.Find(nested)->error, rpc::OBJECT_LOST);
}

}  // namespace
}  // namespace flare
