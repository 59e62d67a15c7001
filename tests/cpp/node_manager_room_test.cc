// Room in the arena for copies pulled from other nodes, as the node manager
// offers it to object transfer (cpp/raylet/main.cc wires both): a listener
// hears, after the fact and once for a burst, that objects were freed, and
// a pull that finds no room has an object spilled (it looks again when the
// write ends), or clients asked to unpin, before it looks again. Creates
// and gets that wait for a spill or a restore are answered when it ends,
// and the loop serves others meanwhile. Without these a pull that once met a full
// arena waited its whole admission timeout and failed, holding back every
// pull behind it and the other nodes' copies with them.
#include <cstring>
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

  // A put of 3 MiB filled with 'a', spilled to disk by a second put that
  // needs its room (4 MiB arena), which stays in the arena.
  ObjectId SpilledPut(ClientId driver) {
    const ObjectId first = Put(driver, 3 << 20);
    std::memset(node_.arena_base() + node_.manager().object_table().Find(first)->offset, 'a',
                3 << 20);
    const ObjectId second = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
    rpc::CreateObject create;
    create.set_object_id(second.Binary());
    create.set_size(3 << 20);
    node_.manager().OnCreateObject(node_.clients().infos.at(driver), create);
    node_.spill_files().CompleteAll();
    rpc::SealObject seal;
    seal.set_object_id(second.Binary());
    node_.manager().OnSealObject(node_.clients().infos.at(driver), seal);
    EXPECT_TRUE(node_.manager().object_table().IsSpilled(first));
    node_.Take(driver, rpc::Message::kObjectReady);
    node_.Take(driver, rpc::Message::kCreateReply);
    return first;
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

TEST_F(NodeManagerRoomTest, APullWithoutRoomHasAnUnmappedObjectSpilledAndLooksAgainWhenItEnds) {
  const ClientId driver = node_.RegisterDriver();
  const ObjectId held = Put(driver, 3 << 20);  // referenced, mapped by no one
  node_.manager().MakeRoom(2 << 20, [this] { ++room_calls_; });
  node_.timers().RunPosted();
  EXPECT_EQ(room_calls_, 0) << "not before its bytes are written";
  node_.spill_files().CompleteAll();
  EXPECT_EQ(node_.spill_files().files.count(held.Hex()), 1u) << "it went to disk";
  EXPECT_EQ(node_.manager().object_table().Stats().used, 0u);
  EXPECT_EQ(room_calls_, 1);
}

TEST_F(NodeManagerRoomTest, ACreateThatNeedsASpillIsAnsweredWhenTheSpillEndsNotRefused) {
  const ClientId driver = node_.RegisterDriver();
  Put(driver, 3 << 20);
  node_.Take(driver, rpc::Message::kCreateReply);
  const ObjectId second = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
  rpc::CreateObject create;
  create.set_request_id(7);
  create.set_object_id(second.Binary());
  create.set_size(3 << 20);
  node_.manager().OnCreateObject(node_.clients().infos.at(driver), create);
  EXPECT_TRUE(node_.Take(driver, rpc::Message::kCreateReply).empty()) << "waits for the spill";

  // Meanwhile the loop serves everything else: another driver's small put.
  const ClientId other = node_.RegisterDriver(51);
  rpc::PutInline small;
  const ObjectId tiny = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
  small.mutable_data()->set_object_id(tiny.Binary());
  small.mutable_data()->set_inline_data("x");
  node_.manager().OnPutInline(node_.clients().infos.at(other), small);
  EXPECT_TRUE(node_.manager().object_table().IsReady(tiny));

  node_.spill_files().CompleteAll();
  auto replies = node_.Take(driver, rpc::Message::kCreateReply);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].create_reply().request_id(), 7u);
  EXPECT_EQ(replies[0].create_reply().error(), rpc::ERROR_NONE);
}

TEST_F(NodeManagerRoomTest, AGetOfASpilledObjectIsAnsweredOnceItsBytesAreBack) {
  const ClientId driver = node_.RegisterDriver();
  const ObjectId first = SpilledPut(driver);

  rpc::Subscribe subscribe;
  subscribe.add_object_ids(first.Binary());
  node_.manager().OnSubscribe(node_.clients().infos.at(driver), subscribe);
  EXPECT_TRUE(node_.Ready(driver).empty()) << "not while it is on disk";
  ASSERT_TRUE(node_.spill_files().Complete());  // `second` goes out to make room
  EXPECT_TRUE(node_.Ready(driver).empty()) << "not before its read ends";
  ASSERT_TRUE(node_.spill_files().Complete());  // `first` is read back
  auto ready = node_.Ready(driver);
  ASSERT_EQ(ready.count(first), 1u);
  EXPECT_TRUE(ready[first].in_store());
  EXPECT_EQ(node_.arena_base()[ready[first].offset() + 12345], 'a');
}

TEST_F(NodeManagerRoomTest, APullWithoutRoomAsksClientsToUnpinAndLooksAgainShortly) {
  const ClientId driver = node_.RegisterDriver();
  const ObjectId read = Put(driver, 3 << 20);
  rpc::Subscribe subscribe;  // the driver reads it: its bytes are mapped
  subscribe.add_object_ids(read.Binary());
  node_.manager().OnSubscribe(node_.clients().infos.at(driver), subscribe);
  node_.Take(driver, rpc::Message::kObjectReady);

  node_.manager().MakeRoom(2 << 20, [this] { ++room_calls_; });
  EXPECT_EQ(node_.spill_files().num_pending(), 0u) << "a mapped object stays in the arena";
  EXPECT_EQ(node_.Take(driver, rpc::Message::kReleaseCachedPins).size(), 1u);
  node_.timers().RunPosted();
  EXPECT_EQ(room_calls_, 0) << "not before clients had a moment to unpin";
  node_.timers().Advance(std::chrono::milliseconds(100));
  EXPECT_EQ(room_calls_, 1);
}

TEST_F(NodeManagerRoomTest, ATaskWhoseArgumentIsReadBackWaitsOffItsWorkerAndRunsOnceItIsBack) {
  const ClientId driver = node_.RegisterDriver();
  const ClientId worker = node_.RegisterWorker();
  const ObjectId spilled = SpilledPut(driver);
  rpc::TaskSpec spec = node_.Spec(driver, "reads");
  spec.add_dependencies(spilled.Binary());
  node_.Submit(driver, spec);
  EXPECT_TRUE(node_.Executed(worker).empty()) << "not before its argument is back";
  const TaskId other = node_.Submit(driver, node_.Spec(driver, "other"));
  auto executed = node_.Executed(worker);
  ASSERT_EQ(executed.size(), 1u) << "the worker is free for another task meanwhile";
  EXPECT_EQ(executed[0].spec().task_id(), other.Binary());

  node_.spill_files().CompleteAll();  // room made, then the argument read back
  rpc::TaskDone done;
  done.set_task_id(other.Binary());
  node_.manager().OnTaskDone(node_.clients().infos.at(worker), done);
  executed = node_.Executed(worker);
  ASSERT_EQ(executed.size(), 1u);
  EXPECT_EQ(executed[0].spec().function_name(), "reads");
  EXPECT_TRUE(node_.manager().object_table().Find(spilled)->in_store);
}

}  // namespace
}  // namespace flare
