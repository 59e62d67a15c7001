// Specification of the SQLite GCS store: the Store contract, durability
// across reopening the file (the head restarted), write order in Scan, one
// head per file, and the GCS's Recover round trip over it. Each test works
// in a fresh temporary directory.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gcs/gcs.h"
#include "gcs/sqlite_store.h"
#include "gcs/storage_spec.h"
#include "store_contract.h"

namespace flare {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flare-sqlite-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/gcs.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteStore> Open() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, KeepsTheStoreContract) {
  std::unique_ptr<SqliteStore> store = Open();
  ASSERT_NE(store, nullptr);
  testing::CheckStoreContract(*store);
}

TEST_F(SqliteStoreTest, WhatWasWrittenIsThereAfterReopening) {
  {
    std::unique_ptr<SqliteStore> store = Open();
    ASSERT_TRUE(store->Put("kv", "fn", "pickled", true).ok());
    ASSERT_TRUE(store->Put("kv", "gone", "x", true).ok());
    ASSERT_TRUE(store->Delete("kv", "gone").ok());
  }
  std::unique_ptr<SqliteStore> reopened = Open();
  EXPECT_EQ(reopened->Get("kv", "fn").value(), "pickled");
  EXPECT_EQ(reopened->Get("kv", "gone").value(), std::nullopt) << "a delete is durable too";
}

TEST_F(SqliteStoreTest, ScanListsEntriesInTheOrderTheyWereLastWritten) {
  std::unique_ptr<SqliteStore> store = Open();
  ASSERT_TRUE(store->Put("t", "b", "1", true).ok());
  ASSERT_TRUE(store->Put("t", "a", "2", true).ok());
  ASSERT_TRUE(store->Put("t", "c", "3", true).ok());
  ASSERT_TRUE(store->Put("t", "b", "4", true).ok());
  const std::vector<Store::Entry> expected{{"a", "2"}, {"c", "3"}, {"b", "4"}};
  EXPECT_EQ(store->Scan("t").value(), expected);
}

TEST_F(SqliteStoreTest, ASecondStoreOverTheSameFileIsRefused) {
  std::unique_ptr<SqliteStore> first = Open();
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<SqliteStore>> second = SqliteStore::Open(path_);
  ASSERT_FALSE(second.ok()) << "two heads must not write one store";
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_NE(second.status().message().find(path_), std::string::npos) << second.status();
  first.reset();
  EXPECT_TRUE(SqliteStore::Open(path_).ok()) << "closing the first lets the next head in";
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsRefusedWithItsPath) {
  std::ofstream(path_) << "not a database, but long enough to have a header of its own......";
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(absl::IsUnavailable(store.status())) << store.status();
  EXPECT_NE(store.status().message().find(path_), std::string::npos) << store.status();
}

TEST_F(SqliteStoreTest, TheGcsRecoversItsStateFromTheFile) {
  const ActorId actor = ActorId::FromRandom();
  const NodeId node = NodeId::FromRandom();
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  JobId job;
  {
    Gcs first(Open());
    rpc::NodeInfo info;
    info.set_node_id(node.Binary());
    info.set_alive(true);
    ASSERT_TRUE(first.RegisterNode(info).ok());
    ASSERT_TRUE(first.KvPut("fn:1", "pickled function", true).ok());
    job = first.AddJob(rpc::JobInfo()).value();
    rpc::ActorInfo named;
    named.set_actor_id(actor.Binary());
    named.set_namespace_("ns");
    named.set_name("counter");
    named.set_node_id(node.Binary());
    ASSERT_TRUE(first.RegisterActor(named).ok());
    ASSERT_TRUE(first.ReportActorState(actor, rpc::ACTOR_ALIVE).ok());
    rpc::PlacementGroupInfo pg;
    pg.set_pg_id(group.Binary());
    pg.add_bundles();
    ASSERT_TRUE(first.AddPlacementGroup(pg).ok());
    ASSERT_TRUE(first.PlacementGroupCreated(group, {node}).ok());
  }
  Gcs second(Open());
  ASSERT_TRUE(second.Recover().ok());
  ASSERT_EQ(second.GetAllNodes().size(), 1u);
  EXPECT_FALSE(second.GetAllNodes()[0].alive()) << "a node counts again once it registers";
  EXPECT_EQ(second.KvGet("fn:1").value(), "pickled function");
  ASSERT_TRUE(second.GetJob(job).has_value());
  std::optional<rpc::ActorInfo> found = second.LookupNamedActor("ns", "counter");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(found->node_id(), node.Binary());
  ASSERT_EQ(second.GetPlacementGroups(group).size(), 1u);
  EXPECT_EQ(second.GetPlacementGroups(group)[0].state(), rpc::PG_CREATED);
  EXPECT_NE(second.AddJob(rpc::JobInfo()).value(), job) << "job ids are never handed out twice";
}

TEST_F(SqliteStoreTest, StorageSpecsNameAFileADirectoryOrTheSessionDefault) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenGcsStorage("", dir_);
    ASSERT_TRUE(store.ok()) << store.status();
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" + kGcsSqliteFile)) << "the default: session dir";
  {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenGcsStorage(dir_ + "/sub/", "/unused");
    ASSERT_TRUE(store.ok()) << store.status();
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/sub/" + kGcsSqliteFile)) << "a directory";
  {
    absl::StatusOr<std::unique_ptr<Store>> store =
        OpenGcsStorage("sqlite://" + dir_ + "/named.db", "/unused");
    ASSERT_TRUE(store.ok()) << store.status();
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/named.db")) << "a sqlite:// URL";
  EXPECT_TRUE(OpenGcsStorage("memory", "/unused").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(OpenGcsStorage("relative/path", dir_).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenGcsStorage("ftp://x", dir_).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenGcsStorage("redis://:12", dir_).status()));
}

}  // namespace
}  // namespace flare
