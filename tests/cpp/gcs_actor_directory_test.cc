// Specification of the GCS actor directory: names unique per namespace
// among live actors, freed at death, states, a bounded memory of dead
// actors, and every change kept in the store so that a new directory over
// it loads the same actors. No I/O involved.
#include "gcs/actor_directory.h"

#include <string>

#include <gtest/gtest.h>

#include "gcs/memory_store.h"

namespace flare {
namespace {

rpc::ActorInfo Named(const ActorId& id, const std::string& name_space, const std::string& name) {
  rpc::ActorInfo actor;
  actor.set_actor_id(id.Binary());
  actor.set_namespace_(name_space);
  actor.set_name(name);
  actor.set_class_name("Counter");
  actor.set_methods("method-table");
  return actor;
}

class ActorDirectoryTest : public ::testing::Test {
 protected:
  // Moves `id` to `state`; returns the state its record then says.
  rpc::ActorState Set(const ActorId& id, rpc::ActorState state) {
    absl::StatusOr<std::optional<rpc::ActorInfo>> changed = directory_.SetState(id, state);
    EXPECT_TRUE(changed.ok()) << changed.status();
    const rpc::ActorInfo* actor = directory_.Find(id);
    return actor == nullptr ? rpc::ACTOR_DEAD : actor->state();
  }

  MemoryStore store_;
  ActorDirectory directory_{store_};
};

TEST_F(ActorDirectoryTest, RegisteredActorIsPendingAndFoundByName) {
  const ActorId id = ActorId::FromRandom();
  rpc::ActorInfo actor = Named(id, "ns", "counter");
  actor.set_state(rpc::ACTOR_ALIVE);  // ignored: a new actor is pending creation
  ASSERT_TRUE(directory_.Register(actor).ok());
  const rpc::ActorInfo* found = directory_.Lookup("ns", "counter");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->actor_id(), id.Binary());
  EXPECT_EQ(found->class_name(), "Counter");
  EXPECT_EQ(found->methods(), "method-table");
  EXPECT_EQ(found->state(), rpc::ACTOR_PENDING_CREATION);
  EXPECT_EQ(directory_.Find(id), found);
}

TEST_F(ActorDirectoryTest, NameIsTakenWithinItsNamespaceOnly) {
  ASSERT_TRUE(directory_.Register(Named(ActorId::FromRandom(), "ns", "counter")).ok());
  const absl::Status again = directory_.Register(Named(ActorId::FromRandom(), "ns", "counter"));
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_NE(again.message().find("counter"), std::string::npos) << again;
  EXPECT_TRUE(directory_.Register(Named(ActorId::FromRandom(), "other", "counter")).ok())
      << "another namespace has its own names";
  EXPECT_EQ(directory_.Lookup("nowhere", "counter"), nullptr);
}

TEST_F(ActorDirectoryTest, KnownIdCannotRegisterTwice) {
  const ActorId id = ActorId::FromRandom();
  ASSERT_TRUE(directory_.Register(Named(id, "ns", "a")).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(directory_.Register(Named(id, "ns", "b"))));
  EXPECT_EQ(directory_.Lookup("ns", "b"), nullptr);
}

TEST_F(ActorDirectoryTest, MalformedRecordsAreRefused) {
  rpc::ActorInfo no_name = Named(ActorId::FromRandom(), "ns", "");
  EXPECT_TRUE(absl::IsInvalidArgument(directory_.Register(no_name)));
  rpc::ActorInfo short_id = Named(ActorId::FromRandom(), "ns", "a");
  short_id.set_actor_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(directory_.Register(short_id)));
  EXPECT_EQ(directory_.size(), 0u);
}

TEST_F(ActorDirectoryTest, DeathFreesTheNameForANewActor) {
  const ActorId first = ActorId::FromRandom();
  ASSERT_TRUE(directory_.Register(Named(first, "ns", "counter")).ok());
  Set(first, rpc::ACTOR_ALIVE);
  EXPECT_EQ(directory_.Lookup("ns", "counter")->state(), rpc::ACTOR_ALIVE);
  Set(first, rpc::ACTOR_DEAD);
  EXPECT_EQ(directory_.Lookup("ns", "counter"), nullptr) << "a dead actor's name is free";
  ASSERT_NE(directory_.Find(first), nullptr) << "the dead actor is remembered";
  EXPECT_EQ(directory_.Find(first)->state(), rpc::ACTOR_DEAD);

  const ActorId second = ActorId::FromRandom();
  ASSERT_TRUE(directory_.Register(Named(second, "ns", "counter")).ok());
  EXPECT_EQ(directory_.Lookup("ns", "counter")->actor_id(), second.Binary());
}

TEST_F(ActorDirectoryTest, RestartKeepsTheNameAndDeathIsFinal) {
  const ActorId id = ActorId::FromRandom();
  ASSERT_TRUE(directory_.Register(Named(id, "ns", "counter")).ok());
  Set(id, rpc::ACTOR_ALIVE);
  EXPECT_EQ(Set(id, rpc::ACTOR_RESTARTING), rpc::ACTOR_RESTARTING);
  ASSERT_NE(directory_.Lookup("ns", "counter"), nullptr) << "a restarting actor keeps its name";
  EXPECT_EQ(Set(id, rpc::ACTOR_PENDING_CREATION), rpc::ACTOR_RESTARTING) << "never goes back";
  Set(id, rpc::ACTOR_DEAD);
  EXPECT_EQ(Set(id, rpc::ACTOR_ALIVE), rpc::ACTOR_DEAD) << "death is final";
  EXPECT_EQ(directory_.Lookup("ns", "counter"), nullptr);
}

TEST_F(ActorDirectoryTest, SetStateReturnsTheChangedRecordOrNothing) {
  const ActorId id = ActorId::FromRandom();
  ASSERT_TRUE(directory_.Register(Named(id, "ns", "counter")).ok());
  auto changed = directory_.SetState(id, rpc::ACTOR_ALIVE);
  ASSERT_TRUE(changed.ok() && changed->has_value());
  EXPECT_EQ((*changed)->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ((*changed)->name(), "counter");
  changed = directory_.SetState(id, rpc::ACTOR_ALIVE);
  EXPECT_TRUE(changed.ok() && !changed->has_value()) << "the same state is no change";
  changed = directory_.SetState(ActorId::FromRandom(), rpc::ACTOR_DEAD);  // an unnamed actor
  EXPECT_TRUE(changed.ok() && !changed->has_value());
  EXPECT_EQ(directory_.size(), 1u);
}

TEST_F(ActorDirectoryTest, ListsLiveNamedActorsOfANamespaceOrOfAll) {
  const ActorId dead = ActorId::FromRandom();
  ASSERT_TRUE(directory_.Register(Named(ActorId::FromRandom(), "b", "y")).ok());
  ASSERT_TRUE(directory_.Register(Named(ActorId::FromRandom(), "a", "z")).ok());
  ASSERT_TRUE(directory_.Register(Named(ActorId::FromRandom(), "a", "x")).ok());
  ASSERT_TRUE(directory_.Register(Named(dead, "a", "w")).ok());
  Set(dead, rpc::ACTOR_DEAD);

  auto in_a = directory_.ListNamed(std::string("a"));
  ASSERT_EQ(in_a.size(), 2u) << "the dead actor is not listed";
  EXPECT_EQ(in_a[0]->name(), "x");
  EXPECT_EQ(in_a[1]->name(), "z");

  auto all = directory_.ListNamed(std::nullopt);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->namespace_() + "/" + all[0]->name(), "a/x");
  EXPECT_EQ(all[1]->namespace_() + "/" + all[1]->name(), "a/z");
  EXPECT_EQ(all[2]->namespace_() + "/" + all[2]->name(), "b/y");
}

TEST(ActorDirectoryBoundTest, OnlyTheMostRecentDeadActorsAreRemembered) {
  MemoryStore store;
  ActorDirectory directory(store, /*max_dead=*/2);
  ActorId ids[3] = {ActorId::FromRandom(), ActorId::FromRandom(), ActorId::FromRandom()};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(directory.Register(Named(ids[i], "ns", "a" + std::to_string(i))).ok());
    ASSERT_TRUE(directory.SetState(ids[i], rpc::ACTOR_DEAD).ok());
  }
  EXPECT_EQ(directory.Find(ids[0]), nullptr) << "the oldest death is forgotten";
  EXPECT_NE(directory.Find(ids[1]), nullptr);
  EXPECT_NE(directory.Find(ids[2]), nullptr);
  EXPECT_EQ(directory.size(), 2u);
  EXPECT_EQ(store.Scan(ActorDirectory::kTable)->size(), 2u) << "forgotten in the store too";
}

TEST_F(ActorDirectoryTest, ANewDirectoryOverTheStoreLoadsTheSameActors) {
  const ActorId live = ActorId::FromRandom();
  const ActorId dead = ActorId::FromRandom();
  ASSERT_TRUE(directory_.Register(Named(live, "ns", "counter")).ok());
  Set(live, rpc::ACTOR_ALIVE);
  ASSERT_TRUE(directory_.Register(Named(dead, "ns", "gone")).ok());
  Set(dead, rpc::ACTOR_DEAD);

  ActorDirectory reloaded(store_);
  ASSERT_TRUE(reloaded.Load().ok());
  ASSERT_NE(reloaded.Lookup("ns", "counter"), nullptr);
  EXPECT_EQ(reloaded.Lookup("ns", "counter")->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(reloaded.Lookup("ns", "counter")->methods(), "method-table");
  EXPECT_EQ(reloaded.Lookup("ns", "gone"), nullptr) << "a dead actor's name stays free";
  ASSERT_NE(reloaded.Find(dead), nullptr);
  EXPECT_EQ(reloaded.Find(dead)->state(), rpc::ACTOR_DEAD);
  EXPECT_TRUE(absl::IsAlreadyExists(reloaded.Register(Named(ActorId::FromRandom(), "ns", "counter"))))
      << "the loaded live actor still holds its name";
}

}  // namespace
}  // namespace flare
