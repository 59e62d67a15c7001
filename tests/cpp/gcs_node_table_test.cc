// Specification of the GCS node table: one record per node id, death
// recorded once, and every change kept in the store so that a new table
// over it loads the same nodes, none of them alive until it registers
// again. No I/O involved.
#include "gcs/node_table.h"

#include <gtest/gtest.h>

#include "gcs/memory_store.h"

namespace flare {
namespace {

rpc::NodeInfo Node(const NodeId& id, const std::string& address) {
  rpc::NodeInfo node;
  node.set_node_id(id.Binary());
  node.set_address(address);
  node.set_alive(true);
  return node;
}

class NodeTableTest : public ::testing::Test {
 protected:
  MemoryStore store_;
  NodeTable table_{store_};
};

TEST_F(NodeTableTest, ANodeHasOneRecordThatRegisteringAgainReplaces) {
  const NodeId id = NodeId::FromRandom();
  ASSERT_TRUE(table_.Upsert(Node(id, "a")).ok());
  ASSERT_TRUE(table_.Upsert(Node(id, "b")).ok());
  ASSERT_EQ(table_.All().size(), 1u);
  EXPECT_EQ(table_.Find(id)->address(), "b");
  EXPECT_EQ(table_.Find(NodeId::FromRandom()), nullptr);
}

TEST_F(NodeTableTest, ANodeWithoutAValidIdIsRefused) {
  rpc::NodeInfo node = Node(NodeId::FromRandom(), "a");
  node.set_node_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(table_.Upsert(node)));
  EXPECT_TRUE(table_.All().empty());
}

TEST_F(NodeTableTest, DeathIsRecordedOnceAndUnknownNodesAreIgnored) {
  const NodeId id = NodeId::FromRandom();
  ASSERT_TRUE(table_.Upsert(Node(id, "a")).ok());
  EXPECT_TRUE(table_.MarkDead(id).value());
  EXPECT_FALSE(table_.Find(id)->alive());
  EXPECT_FALSE(table_.MarkDead(id).value()) << "already dead: no change";
  EXPECT_FALSE(table_.MarkDead(NodeId::FromRandom()).value());
}

TEST_F(NodeTableTest, NodesAreListedInTheOrderTheyFirstRegistered) {
  const NodeId first = NodeId::FromRandom();
  const NodeId second = NodeId::FromRandom();
  ASSERT_TRUE(table_.Upsert(Node(first, "a")).ok());
  ASSERT_TRUE(table_.Upsert(Node(second, "b")).ok());
  ASSERT_TRUE(table_.Upsert(Node(first, "c")).ok());
  auto all = table_.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].node_id(), first.Binary());
  EXPECT_EQ(all[0].address(), "c");
  EXPECT_EQ(all[1].node_id(), second.Binary());
}

TEST_F(NodeTableTest, AvailableResourcesAreSoftStateKeptInMemoryOnly) {
  const NodeId id = NodeId::FromRandom();
  ASSERT_TRUE(table_.Upsert(Node(id, "a")).ok());
  rpc::ResourceSet available;
  (*available.mutable_amounts())["CPU"] = 3;
  EXPECT_TRUE(table_.UpdateAvailable(id, available));
  EXPECT_EQ(table_.Find(id)->available().amounts().at("CPU"), 3);
  rpc::NodeInfo stored;
  ASSERT_TRUE(stored.ParseFromString(**store_.Get(NodeTable::kTable, id.Binary())));
  EXPECT_EQ(stored.available().amounts_size(), 0) << "a report is not written to the store";
  EXPECT_FALSE(table_.UpdateAvailable(NodeId::FromRandom(), available)) << "unknown node";
  ASSERT_TRUE(table_.MarkDead(id).ok());
  EXPECT_EQ(table_.Find(id)->available().amounts_size(), 0) << "a dead node has nothing";
  EXPECT_FALSE(table_.UpdateAvailable(id, available)) << "nor gets any from late reports";
}

TEST_F(NodeTableTest, ANewTableOverTheStoreLoadsTheNodesAsNotAlive) {
  const NodeId id = NodeId::FromRandom();
  ASSERT_TRUE(table_.Upsert(Node(id, "10.0.0.2:6380")).ok());
  NodeTable reloaded(store_);
  ASSERT_TRUE(reloaded.Load().ok());
  ASSERT_NE(reloaded.Find(id), nullptr);
  EXPECT_EQ(reloaded.Find(id)->address(), "10.0.0.2:6380");
  EXPECT_FALSE(reloaded.Find(id)->alive()) << "it must register again";
  ASSERT_TRUE(reloaded.Upsert(Node(id, "10.0.0.2:6380")).ok());
  EXPECT_TRUE(reloaded.Find(id)->alive());
}

}  // namespace
}  // namespace flare
