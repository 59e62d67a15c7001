// Specification of the GCS actor directory: names unique per namespace
// among live actors, freed at death, states, and a bounded memory of dead
// actors. No I/O involved.
#include "gcs/actor_directory.h"

#include <string>

#include <gtest/gtest.h>

namespace flare {
namespace {

rpc::ActorInfo Named(const TaskId& id, const std::string& name_space, const std::string& name) {
  rpc::ActorInfo actor;
  actor.set_actor_id(id.Binary());
  actor.set_namespace_(name_space);
  actor.set_name(name);
  actor.set_class_name("Counter");
  actor.set_methods("method-table");
  return actor;
}

TEST(ActorDirectoryTest, RegisteredActorIsPendingAndFoundByName) {
  ActorDirectory directory;
  const TaskId id = TaskId::FromRandom();
  rpc::ActorInfo actor = Named(id, "ns", "counter");
  actor.set_state(rpc::ACTOR_ALIVE);  // ignored: a new actor is pending creation
  ASSERT_TRUE(directory.Register(actor).ok());
  const rpc::ActorInfo* found = directory.Lookup("ns", "counter");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->actor_id(), id.Binary());
  EXPECT_EQ(found->class_name(), "Counter");
  EXPECT_EQ(found->methods(), "method-table");
  EXPECT_EQ(found->state(), rpc::ACTOR_PENDING_CREATION);
  EXPECT_EQ(directory.Find(id), found);
}

TEST(ActorDirectoryTest, NameIsTakenWithinItsNamespaceOnly) {
  ActorDirectory directory;
  ASSERT_TRUE(directory.Register(Named(TaskId::FromRandom(), "ns", "counter")).ok());
  const absl::Status again = directory.Register(Named(TaskId::FromRandom(), "ns", "counter"));
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_NE(again.message().find("counter"), std::string::npos) << again;
  EXPECT_TRUE(directory.Register(Named(TaskId::FromRandom(), "other", "counter")).ok())
      << "another namespace has its own names";
  EXPECT_EQ(directory.Lookup("nowhere", "counter"), nullptr);
}

TEST(ActorDirectoryTest, KnownIdCannotRegisterTwice) {
  ActorDirectory directory;
  const TaskId id = TaskId::FromRandom();
  ASSERT_TRUE(directory.Register(Named(id, "ns", "a")).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(directory.Register(Named(id, "ns", "b"))));
  EXPECT_EQ(directory.Lookup("ns", "b"), nullptr);
}

TEST(ActorDirectoryTest, MalformedRecordsAreRefused) {
  ActorDirectory directory;
  rpc::ActorInfo no_name = Named(TaskId::FromRandom(), "ns", "");
  EXPECT_TRUE(absl::IsInvalidArgument(directory.Register(no_name)));
  rpc::ActorInfo short_id = Named(TaskId::FromRandom(), "ns", "a");
  short_id.set_actor_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(directory.Register(short_id)));
  EXPECT_EQ(directory.size(), 0u);
}

TEST(ActorDirectoryTest, DeathFreesTheNameForANewActor) {
  ActorDirectory directory;
  const TaskId first = TaskId::FromRandom();
  ASSERT_TRUE(directory.Register(Named(first, "ns", "counter")).ok());
  directory.SetState(first, rpc::ACTOR_ALIVE);
  EXPECT_EQ(directory.Lookup("ns", "counter")->state(), rpc::ACTOR_ALIVE);
  directory.SetState(first, rpc::ACTOR_DEAD);
  EXPECT_EQ(directory.Lookup("ns", "counter"), nullptr) << "a dead actor's name is free";
  ASSERT_NE(directory.Find(first), nullptr) << "the dead actor is remembered";
  EXPECT_EQ(directory.Find(first)->state(), rpc::ACTOR_DEAD);

  const TaskId second = TaskId::FromRandom();
  ASSERT_TRUE(directory.Register(Named(second, "ns", "counter")).ok());
  EXPECT_EQ(directory.Lookup("ns", "counter")->actor_id(), second.Binary());
}

TEST(ActorDirectoryTest, RestartKeepsTheNameAndDeathIsFinal) {
  ActorDirectory directory;
  const TaskId id = TaskId::FromRandom();
  ASSERT_TRUE(directory.Register(Named(id, "ns", "counter")).ok());
  directory.SetState(id, rpc::ACTOR_ALIVE);
  directory.SetState(id, rpc::ACTOR_RESTARTING);
  ASSERT_NE(directory.Lookup("ns", "counter"), nullptr) << "a restarting actor keeps its name";
  EXPECT_EQ(directory.Lookup("ns", "counter")->state(), rpc::ACTOR_RESTARTING);
  directory.SetState(id, rpc::ACTOR_PENDING_CREATION);  // never goes back
  EXPECT_EQ(directory.Find(id)->state(), rpc::ACTOR_RESTARTING);
  directory.SetState(id, rpc::ACTOR_DEAD);
  directory.SetState(id, rpc::ACTOR_ALIVE);
  EXPECT_EQ(directory.Find(id)->state(), rpc::ACTOR_DEAD) << "death is final";
  EXPECT_EQ(directory.Lookup("ns", "counter"), nullptr);
}

TEST(ActorDirectoryTest, UnknownActorsAreIgnored) {
  ActorDirectory directory;
  directory.SetState(TaskId::FromRandom(), rpc::ACTOR_DEAD);  // an unnamed actor
  EXPECT_EQ(directory.size(), 0u);
}

TEST(ActorDirectoryTest, ListsLiveNamedActorsOfANamespaceOrOfAll) {
  ActorDirectory directory;
  const TaskId dead = TaskId::FromRandom();
  ASSERT_TRUE(directory.Register(Named(TaskId::FromRandom(), "b", "y")).ok());
  ASSERT_TRUE(directory.Register(Named(TaskId::FromRandom(), "a", "z")).ok());
  ASSERT_TRUE(directory.Register(Named(TaskId::FromRandom(), "a", "x")).ok());
  ASSERT_TRUE(directory.Register(Named(dead, "a", "w")).ok());
  directory.SetState(dead, rpc::ACTOR_DEAD);

  auto in_a = directory.ListNamed(std::string("a"));
  ASSERT_EQ(in_a.size(), 2u) << "the dead actor is not listed";
  EXPECT_EQ(in_a[0]->name(), "x");
  EXPECT_EQ(in_a[1]->name(), "z");

  auto all = directory.ListNamed(std::nullopt);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->namespace_() + "/" + all[0]->name(), "a/x");
  EXPECT_EQ(all[1]->namespace_() + "/" + all[1]->name(), "a/z");
  EXPECT_EQ(all[2]->namespace_() + "/" + all[2]->name(), "b/y");
}

TEST(ActorDirectoryTest, OnlyTheMostRecentDeadActorsAreRemembered) {
  ActorDirectory directory(/*max_dead=*/2);
  TaskId ids[3] = {TaskId::FromRandom(), TaskId::FromRandom(), TaskId::FromRandom()};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(directory.Register(Named(ids[i], "ns", "a" + std::to_string(i))).ok());
    directory.SetState(ids[i], rpc::ACTOR_DEAD);
  }
  EXPECT_EQ(directory.Find(ids[0]), nullptr) << "the oldest death is forgotten";
  EXPECT_NE(directory.Find(ids[1]), nullptr);
  EXPECT_NE(directory.Find(ids[2]), nullptr);
  EXPECT_EQ(directory.size(), 2u);
}

}  // namespace
}  // namespace flare
