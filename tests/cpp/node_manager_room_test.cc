// Room in the arena for copies pulled from other nodes, as the node manager
// offers it to object transfer (cpp/raylet/main.cc wires both): a listener
// hears, after the fact and once for a burst, that objects were freed, and
// a pull that finds no room has an object spilled, or clients asked to
// unpin, before it looks again. Without these a pull that once met a full
// arena waited its whole admission timeout and failed, holding back every
// pull behind it and the other nodes' copies with them.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "node_manager_harness.h"

namespace flare {
namespace {

using testing::NodeManagerHarness;

class NodeManagerRoomTest : public ::testing::Test {
 protected:
  // A sealed store object of `size` bytes put by `driver`.
  ObjectId Put(ClientId driver, uint64_t size) {
    const ObjectId id = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
    rpc::CreateObject create;
    create.set_object_id(id.Binary());
    create.set_size(size);
    node_.manager().OnCreateObject(node_.clients().infos.at(driver), create);
    rpc::SealObject seal;
    seal.set_object_id(id.Binary());
    node_.manager().OnSealObject(node_.clients().infos.at(driver), seal);
    EXPECT_TRUE(node_.manager().object_table().IsReady(id));
    return id;
  }

  NodeManagerHarness node_{1, 4 << 20};
  int room_calls_ = 0;
};

TEST_F(NodeManagerRoomTest, FreesAreHeardAfterTheFactOnceForABurst) {
  node_.manager().SetRoomListener([this] { ++room_calls_; });
  const ClientId driver = node_.RegisterDriver();
  const ObjectId a = Put(driver, 1 << 20);
  const ObjectId b = Put(driver, 1 << 20);
  rpc::RefUpdate drop;
  drop.add_remove(a.Binary());
  drop.add_remove(b.Binary());
  node_.manager().OnRefUpdate(node_.clients().infos.at(driver), drop);
  EXPECT_EQ(room_calls_, 0) << "not from inside the table's free";
  node_.timers().RunPosted();
  EXPECT_EQ(room_calls_, 1) << "two frees, one call";
  EXPECT_EQ(node_.manager().object_table().Stats().used, 0u);
}

TEST_F(NodeManagerRoomTest, APullWithoutRoomHasAnUnmappedObjectSpilledAndLooksAgainAtOnce) {
  const ClientId driver = node_.RegisterDriver();
  const ObjectId held = Put(driver, 3 << 20);  // referenced, mapped by no one
  node_.manager().MakeRoom([this] { ++room_calls_; });
  EXPECT_EQ(node_.spill_files().files.count(held.Hex()), 1u) << "it went to disk";
  EXPECT_EQ(node_.manager().object_table().Stats().used, 0u);
  node_.timers().RunPosted();
  EXPECT_EQ(room_calls_, 1);
}

TEST_F(NodeManagerRoomTest, APullWithoutRoomAsksClientsToUnpinAndLooksAgainShortly) {
  const ClientId driver = node_.RegisterDriver();
  const ObjectId read = Put(driver, 3 << 20);
  rpc::Subscribe subscribe;  // the driver reads it: its bytes are mapped
  subscribe.add_object_ids(read.Binary());
  node_.manager().OnSubscribe(node_.clients().infos.at(driver), subscribe);
  node_.Take(driver, rpc::Message::kObjectReady);

  node_.manager().MakeRoom([this] { ++room_calls_; });
  EXPECT_TRUE(node_.spill_files().files.empty()) << "a mapped object stays in the arena";
  EXPECT_EQ(node_.Take(driver, rpc::Message::kReleaseCachedPins).size(), 1u);
  node_.timers().RunPosted();
  EXPECT_EQ(room_calls_, 0) << "not before clients had a moment to unpin";
  node_.timers().Advance(std::chrono::milliseconds(100));
  EXPECT_EQ(room_calls_, 1);
}

}  // namespace
}  // namespace flare
