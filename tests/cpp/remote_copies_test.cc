// Specification of the copies of an object that other nodes hold, as its
// owner tracks them: a node that pulled a copy for a task reports it, and
// reports when it goes; the owner names the copies to later readers
// (ObjectLocation.other_node_ids), and when the node holding its own copy
// dies, holds one of them instead of making the object again. Played over
// the node's units with fake I/O (task_manager_remote_harness.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "task_manager_remote_harness.h"

namespace flare {
namespace {

constexpr auto kCopies = rpc::Message::kObjectCopies;

class RemoteCopiesTest : public TaskManagerRemoteTest {
 protected:
  void Reports(const NodeId& node, const ObjectId& id, bool added = true) {
    rpc::ObjectCopies copies;
    (added ? copies.add_added() : copies.add_removed())->assign(id.Binary());
    node_.remote().OnCopies(node, copies);
  }
  // The locations sent to `node` for `id`: where it is, then the others.
  std::vector<std::string> NamedTo(const NodeId& node, const ObjectId& id) {
    std::vector<std::string> named;
    for (const auto& message : node_.peers().Of(node, kLocation)) {
      const rpc::ObjectLocation& location = message.object_location();
      if (location.object_id() != id.Binary()) continue;
      named.push_back(location.node_id());
      for (const std::string& other : location.other_node_ids()) named.push_back(other);
    }
    return named;
  }
  rpc::TaskSpec ReadingOn(const NodeId& node, const ObjectId& id) {
    return Reading(Pinned("read", node), {id});
  }
};

TEST_F(RemoteCopiesTest, ACopyAnotherNodeReportedIsNamedToLaterReadersButNotToItself) {
  Report(b_, 4, 4);
  Report(c_, 4, 4);
  const ObjectId big = PutInStore(8192);
  const NodeId self = node_.view().local_id();

  Reports(b_, big);
  Submit(ReadingOn(c_, big));
  Submit(ReadingOn(b_, big));

  EXPECT_EQ(NamedTo(c_, big), (std::vector<std::string>{self.Binary(), b_.Binary()}));
  EXPECT_EQ(NamedTo(b_, big), std::vector<std::string>{self.Binary()})
      << "b is not told to pull from itself";
}

TEST_F(RemoteCopiesTest, ACopyReportedGoneOrOfAnObjectNotHereIsNotNamed) {
  Report(b_, 4, 4);
  Report(c_, 4, 4);
  const ObjectId big = PutInStore(8192);
  const ObjectId unknown = ObjectIdFor(TaskId::FromRandom(), 1);
  Reports(b_, big);
  Reports(b_, big, /*added=*/false);
  Reports(b_, unknown);

  Submit(ReadingOn(c_, big));
  EXPECT_EQ(NamedTo(c_, big).size(), 1u);
  EXPECT_TRUE(node_.remote().CopiesOf(unknown, c_).empty());
}

TEST_F(RemoteCopiesTest, AFreedObjectForgetsItsCopies) {
  Report(b_, 4, 4);
  const ObjectId big = PutInStore(8192);
  Reports(b_, big);
  ASSERT_EQ(node_.remote().CopiesOf(big, c_), std::vector<NodeId>{b_});
  node_.objects().RemoveRef(driver_.id, big);
  EXPECT_TRUE(node_.remote().CopiesOf(big, c_).empty());
}

TEST_F(RemoteCopiesTest, WhenTheNodeHoldingAResultDiesACopyElsewhereIsHeldInstead) {
  Report(b_, 4, 4);
  Report(c_, 4, 4);
  const TaskId task = Submit(Pinned("make", b_));
  ReturnsInStore(b_, task, 8192);
  const ObjectId result = ObjectIdFor(task, 1);
  ASSERT_TRUE(node_.objects().NeedsFetch(result));
  Reports(c_, result);

  NodeDies(b_);

  EXPECT_TRUE(node_.objects().NeedsFetch(result)) << "still ready, not made again";
  EXPECT_EQ(node_.objects().Find(result)->elsewhere, c_);
  EXPECT_TRUE(SentTo(c_).empty()) << "no task runs again";
  const auto holds = node_.peers().Of(c_, kRelease);
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].ref_update().add(0), result.Binary()) << "held there for us now";

  // Read here, it is pulled from there.
  Submit(Reading(Pinned("read", node_.view().local_id()), {result}));
  ASSERT_FALSE(node_.peers().pulls.empty());
  EXPECT_EQ(node_.peers().pulls.back().from, c_);
}

TEST_F(RemoteCopiesTest, AResultReadHereIsPulledFromItsNodeFirstThenFromTheCopies) {
  Report(b_, 4, 4);
  Report(c_, 4, 4);
  const TaskId task = Submit(Pinned("make", b_));
  ReturnsInStore(b_, task, 8192);
  const ObjectId result = ObjectIdFor(task, 1);
  Reports(c_, result);

  Submit(Reading(Pinned("read", node_.view().local_id()), {result}));

  ASSERT_EQ(node_.peers().pulls.size(), 1u);
  EXPECT_EQ(node_.peers().pulls[0].holders, (std::vector<NodeId>{b_, c_}));
}

TEST_F(RemoteCopiesTest, WithoutACopyAResultLostWithItsNodeIsMadeAgain) {
  Report(b_, 4, 4);
  Report(c_, 4, 0);
  rpc::TaskSpec spec = Pinned("make", b_, /*soft=*/true);
  spec.set_max_retries(1);
  const TaskId task = Submit(spec);
  ReturnsInStore(b_, task, 8192);
  Reports(c_, ObjectIdFor(task, 1), /*added=*/true);
  Reports(c_, ObjectIdFor(task, 1), /*added=*/false);

  NodeDies(b_);

  EXPECT_FALSE(node_.objects().NeedsFetch(ObjectIdFor(task, 1))) << "pending again";
}

TEST_F(RemoteCopiesTest, ACopyPulledHereForAnotherNodeIsReportedToItAndSoIsItsEnd) {
  const ObjectId id = PutInStore(4096);  // as a pull leaves it
  node_.remote().OnCopyMade(id, b_);
  node_.remote().OnCopyMade(id, b_);
  auto reports = node_.peers().Of(b_, kCopies);
  ASSERT_EQ(reports.size(), 1u) << "once";
  EXPECT_EQ(reports[0].object_copies().added(0), id.Binary());

  node_.objects().RemoveRef(driver_.id, id);
  reports = node_.peers().Of(b_, kCopies);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[1].object_copies().removed(0), id.Binary());
}

}  // namespace
}  // namespace flare
