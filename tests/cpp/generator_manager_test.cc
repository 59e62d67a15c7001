// Specification of streaming generators' items: the caller always holds the
// next one as pending, items nobody takes are freed, and the end of the task
// ends the pending item.
#include "raylet/generator_manager.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "table_returns.h"

namespace flare {
namespace {

constexpr ClientId kCaller = 1;
constexpr ClientId kWorker = 2;

using testing::TableReturns;

class GeneratorManagerTest : public ::testing::Test {
 protected:
  ObjectId Item(uint32_t k) const { return ObjectIdFor(task_, k + 2); }

  void Yield(uint32_t k) {
    rpc::GeneratorYield items;
    items.set_task_id(task_.Binary());
    auto* data = items.add_items()->mutable_data();
    data->set_object_id(Item(k).Binary());
    data->set_inline_data("item");
    generators_.OnYield(kWorker, items);
  }

  ObjectTable objects_{1 << 20};
  TableReturns returns_{objects_};
  GeneratorManager generators_{objects_, returns_};
  TaskId task_ = TaskId::FromRandom();
};

TEST_F(GeneratorManagerTest, TheNextItemIsAlwaysPendingForTheCaller) {
  generators_.OnSubmitted(task_, kCaller);
  EXPECT_TRUE(objects_.Contains(Item(0)));
  EXPECT_FALSE(objects_.IsReady(Item(0)));
  Yield(0);
  EXPECT_TRUE(objects_.IsReady(Item(0)));
  EXPECT_TRUE(objects_.Contains(Item(1)));
  EXPECT_FALSE(objects_.IsReady(Item(1)));
  EXPECT_FALSE(generators_.Restartable(task_)) << "it has yielded: a rerun would repeat items";
}

TEST_F(GeneratorManagerTest, AnotherNodeAsCallerIsSubscribedToEachItemInTurn) {
  generators_.OnSubmitted(task_, kCaller, /*push_items=*/true);
  auto subscribed = [&](uint32_t k) {
    const ObjectEntry* entry = objects_.Find(Item(k));
    return entry != nullptr && std::find(entry->subscribers.begin(), entry->subscribers.end(),
                                         kCaller) != entry->subscribers.end();
  };
  EXPECT_TRUE(subscribed(0));
  Yield(0);
  EXPECT_TRUE(subscribed(1)) << "the next one too, so items go out as they are stored";
}

TEST_F(GeneratorManagerTest, ItemsFromAnotherNodeAdvanceTheGeneratorInOrderOnly) {
  generators_.OnSubmitted(task_, kCaller);
  EXPECT_FALSE(generators_.OnRemoteItem(task_, Item(1))) << "not the next one";
  EXPECT_TRUE(generators_.OnRemoteItem(task_, Item(0)));
  EXPECT_TRUE(objects_.Contains(Item(1)));
  EXPECT_FALSE(generators_.Restartable(task_));
  generators_.OnReleased(kCaller, task_, 1);
  EXPECT_FALSE(generators_.OnRemoteItem(task_, Item(1))) << "the caller let go";
}

TEST_F(GeneratorManagerTest, TheEndOfTheTaskEndsThePendingItemWithObjectLost) {
  generators_.OnSubmitted(task_, kCaller);
  Yield(0);
  generators_.OnFinished(task_);
  // The caller still holds item 0 and took nothing after it.
  EXPECT_TRUE(objects_.IsReady(Item(0)));
  EXPECT_FALSE(objects_.Contains(Item(1))) << "the pending item ended and was freed";
}

TEST_F(GeneratorManagerTest, ItemsAfterTheCallerLetGoAreFreedAsTheyCome) {
  generators_.OnSubmitted(task_, kCaller);
  Yield(0);
  generators_.OnReleased(kCaller, task_, /*taken=*/0);
  EXPECT_FALSE(objects_.Contains(Item(0))) << "produced, never taken";
  Yield(1);
  EXPECT_FALSE(objects_.Contains(Item(1))) << "produced after the release";
  generators_.OnFinished(task_);
  EXPECT_EQ(generators_.size(), 0u);
}

TEST_F(GeneratorManagerTest, AGoneCallerReleasesItsGenerators) {
  generators_.OnSubmitted(task_, kCaller);
  objects_.DropClient(kCaller);
  generators_.OnClientGone(kCaller);
  Yield(0);
  EXPECT_FALSE(objects_.Contains(Item(0)));
  generators_.OnFinished(task_);
  EXPECT_EQ(generators_.size(), 0u);
}

TEST_F(GeneratorManagerTest, AGeneratorThatYieldedNothingMayRunAgain) {
  generators_.OnSubmitted(task_, kCaller);
  EXPECT_TRUE(generators_.Restartable(task_));
  EXPECT_TRUE(generators_.Restartable(TaskId::FromRandom())) << "not a generator";
}

}  // namespace
}  // namespace flare
