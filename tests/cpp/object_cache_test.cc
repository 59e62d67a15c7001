// Specification of the client's object cache: subscriptions, values, and
// which values may be dropped when the arena runs short. Also the values
// themselves (object_value.h): arena spans are pinned until the last reader
// lets go.
#include "client/object_cache.h"

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "client/object_value.h"

namespace flare {
namespace {

class RecordingReleaser : public PinReleaser {
 public:
  void ReleasePin(const ObjectId& id) override { released.push_back(id); }
  std::vector<ObjectId> released;
};

ObjectId Object(uint8_t n) {
  ObjectId id;
  id.MutableData()[0] = n;
  return id;
}

class ObjectCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto arena = Arena::Create(1 << 16, "flare-object-cache-test");
    ASSERT_TRUE(arena.ok()) << arena.status();
    arena_ = std::move(*arena);
  }

  ObjectValue InStore(uint8_t n, uint64_t offset = 64, uint64_t size = 8) {
    rpc::ObjectData data;
    data.set_object_id(Object(n).Binary());
    data.set_in_store(true);
    data.set_offset(offset);
    data.set_size(size);
    return MakeObjectValue(data, arena_, releaser_);
  }

  ObjectValue Inline(uint8_t n, const std::string& bytes) {
    rpc::ObjectData data;
    data.set_object_id(Object(n).Binary());
    data.set_inline_data(bytes);
    return MakeObjectValue(data, arena_, releaser_);
  }

  std::shared_ptr<Arena> arena_;
  std::shared_ptr<RecordingReleaser> releaser_ = std::make_shared<RecordingReleaser>();
  ObjectCache cache_;
};

TEST_F(ObjectCacheTest, AnInStoreValuePointsIntoTheArenaAndItsLastCopyReleasesThePin) {
  {
    ObjectValue value = InStore(1, /*offset=*/128, /*size=*/16);
    EXPECT_EQ(value.data, arena_->base() + 128);
    EXPECT_EQ(value.size, 16u);
    ObjectValue copy = value;
    value = ObjectValue();
    EXPECT_TRUE(releaser_->released.empty()) << "a copy still reads the span";
  }
  EXPECT_EQ(releaser_->released, std::vector<ObjectId>{Object(1)});
}

TEST_F(ObjectCacheTest, AnInlineValueOwnsItsBytesAndHasNoPin) {
  ObjectValue value = Inline(1, "abc");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(value.data), value.size), "abc");
  EXPECT_EQ(value.pin, nullptr);
}

TEST_F(ObjectCacheTest, AValueIsSubscribedToOnce) {
  EXPECT_TRUE(cache_.Subscribe(Object(1), /*for_value=*/true));
  EXPECT_FALSE(cache_.Subscribe(Object(1), /*for_value=*/true)) << "already asked for";
  EXPECT_FALSE(cache_.Subscribe(Object(1), /*for_value=*/false));
}

TEST_F(ObjectCacheTest, AnExpectedPushNeedsNoSubscription) {
  cache_.ExpectPush(Object(1));
  EXPECT_TRUE(cache_.Contains(Object(1)));
  EXPECT_FALSE(cache_.Subscribe(Object(1), /*for_value=*/true));
}

TEST_F(ObjectCacheTest, AStoredValueIsFoundAndItsObjectIsReady) {
  EXPECT_EQ(cache_.Find(Object(1)), nullptr);
  EXPECT_FALSE(cache_.IsReady(Object(1)));
  cache_.Store(Inline(1, "abc"));
  ASSERT_NE(cache_.Find(Object(1)), nullptr);
  EXPECT_EQ(cache_.Find(Object(1))->size, 3u);
  EXPECT_TRUE(cache_.IsReady(Object(1)));
}

TEST_F(ObjectCacheTest, AValueNobodyHasReadYetIsNotDropped) {
  cache_.Subscribe(Object(1), true);
  cache_.Store(InStore(1));
  EXPECT_TRUE(cache_.DropUnreadValues().empty());
  EXPECT_NE(cache_.Find(Object(1)), nullptr);
}

TEST_F(ObjectCacheTest, AValueAReaderStillHoldsIsNotDropped) {
  cache_.Subscribe(Object(1), true);
  cache_.Store(InStore(1));
  cache_.MarkHandedOut(Object(1));
  const ObjectValue held = *cache_.Find(Object(1));
  EXPECT_TRUE(cache_.DropUnreadValues().empty());
}

TEST_F(ObjectCacheTest, AnInlineValueIsNeverDropped) {
  cache_.Subscribe(Object(1), true);
  cache_.Store(Inline(1, "abc"));
  cache_.MarkHandedOut(Object(1));
  EXPECT_TRUE(cache_.DropUnreadValues().empty()) << "it pins nothing in the arena";
}

TEST_F(ObjectCacheTest, AHandedOutValueNobodyHoldsIsDroppedAndAskedForAgain) {
  cache_.Subscribe(Object(1), true);
  cache_.Store(InStore(1));
  cache_.MarkHandedOut(Object(1));
  std::vector<ObjectValue> dropped = cache_.DropUnreadValues();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_TRUE(releaser_->released.empty()) << "released when the caller lets go, not before";
  dropped.clear();
  EXPECT_EQ(releaser_->released, std::vector<ObjectId>{Object(1)});
  EXPECT_EQ(cache_.Find(Object(1)), nullptr);
  EXPECT_TRUE(cache_.IsReady(Object(1))) << "the object still exists";
  EXPECT_FALSE(cache_.Subscribe(Object(1), /*for_value=*/false)) << "wait needs no value";
  EXPECT_TRUE(cache_.Subscribe(Object(1), /*for_value=*/true)) << "get asks for it again";
}

TEST_F(ObjectCacheTest, ANoRoomToRestoreAnswerIsReadOnceAndTheNextGetAsksAgain) {
  cache_.Subscribe(Object(1), true);
  rpc::ObjectData data;
  data.set_object_id(Object(1).Binary());
  data.set_error(rpc::OBJECT_STORE_FULL);
  cache_.Store(MakeObjectValue(data, arena_, releaser_));
  ASSERT_NE(cache_.Find(Object(1)), nullptr);
  cache_.MarkHandedOut(Object(1));
  EXPECT_EQ(cache_.Find(Object(1)), nullptr) << "the store may have room by the next get";
  EXPECT_TRUE(cache_.Subscribe(Object(1), /*for_value=*/true));
}

TEST_F(ObjectCacheTest, ANewValueMustBeReadOnceBeforeItCanBeDropped) {
  cache_.Subscribe(Object(1), true);
  cache_.Store(InStore(1));
  cache_.MarkHandedOut(Object(1));
  cache_.Store(InStore(1));  // fetched again after a drop
  EXPECT_TRUE(cache_.DropUnreadValues().empty());
}

TEST_F(ObjectCacheTest, EraseForgetsTheObjectAndReturnsItsValue) {
  cache_.Subscribe(Object(1), true);
  cache_.Store(Inline(1, "abc"));
  std::optional<ObjectValue> value = cache_.Erase(Object(1));
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->size, 3u);
  EXPECT_FALSE(cache_.Contains(Object(1)));
  EXPECT_FALSE(cache_.IsReady(Object(1)));
  EXPECT_FALSE(cache_.Erase(Object(1)).has_value());
}

// ---- objects on another node --------------------------------------------------

using Need = ObjectCache::Need;

TEST_F(ObjectCacheTest, AnObjectOnAnotherNodeIsReadyButNotHereAndAGetAsksForItsValue) {
  cache_.ExpectPush(Object(1));  // a task's return, pushed when it exists
  EXPECT_FALSE(cache_.MustAskAgain(Object(1), Need::kValue)) << "not ready yet";

  cache_.MarkElsewhere(Object(1));

  EXPECT_TRUE(cache_.IsReady(Object(1)));
  EXPECT_FALSE(cache_.IsHere(Object(1)));
  EXPECT_EQ(cache_.Find(Object(1)), nullptr);
  EXPECT_FALSE(cache_.MustAskAgain(Object(1), Need::kExists));
  EXPECT_TRUE(cache_.MustAskAgain(Object(1), Need::kHere));
  EXPECT_TRUE(cache_.MustAskAgain(Object(1), Need::kValue));
  EXPECT_FALSE(cache_.Subscribe(Object(1), Need::kExists)) << "wait(fetch_local=False) is done";
  EXPECT_TRUE(cache_.Subscribe(Object(1), Need::kValue));
  EXPECT_FALSE(cache_.MustAskAgain(Object(1), Need::kValue)) << "asked; the value is coming";

  cache_.Store(InStore(1));

  EXPECT_TRUE(cache_.IsHere(Object(1)));
  EXPECT_NE(cache_.Find(Object(1)), nullptr);
}

TEST_F(ObjectCacheTest, AWaitWithFetchLocalAsksForAnObjectOnAnotherNodeOnce) {
  cache_.Subscribe(Object(1), Need::kHere);
  cache_.MarkElsewhere(Object(1));
  EXPECT_TRUE(cache_.Subscribe(Object(1), Need::kHere));
  EXPECT_FALSE(cache_.Subscribe(Object(1), Need::kHere));
  EXPECT_FALSE(cache_.Subscribe(Object(1), Need::kValue)) << "one request at a time";
}

TEST_F(ObjectCacheTest, AValueHereIsNotUndoneByALateAnswerThatItIsElsewhere) {
  cache_.Subscribe(Object(1), Need::kValue);
  cache_.Store(Inline(1, "abc"));
  cache_.MarkElsewhere(Object(1));
  EXPECT_TRUE(cache_.IsHere(Object(1)));
  EXPECT_NE(cache_.Find(Object(1)), nullptr);
}

}  // namespace
}  // namespace flare
