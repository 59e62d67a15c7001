// PullManager as a specification: events in, actions out, no sockets, no
// store and no sleeps (time is passed in).
#include "object_manager/pull_manager.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace flare {
namespace {

using Kind = PullAction::Kind;
using std::chrono::milliseconds;

constexpr uint64_t kChunk = 100;

ObjectId Object(uint8_t n) {
  ObjectId id;
  id.MutableData()[0] = n;
  return id;
}

NodeId Node(uint8_t n) {
  NodeId id;
  id.MutableData()[0] = n;
  return id;
}

class PullManagerTest : public ::testing::Test {
 protected:
  PullOptions Options() {
    PullOptions options;
    options.chunk_bytes = kChunk;
    options.max_chunks_in_flight_per_pull = 2;
    options.max_chunks_in_flight = 3;
    options.admission_timeout = milliseconds(1000);
    options.chunk_timeout = milliseconds(500);
    return options;
  }

  // Checks the manager's invariants after every event.
  PullActions Check(PullActions actions) {
    EXPECT_TRUE(pulls_.Validate().ok()) << pulls_.Validate();
    return actions;
  }

  // Requests a pull and answers its allocation with OK.
  PullActions PullAdmitted(const ObjectId& object, uint64_t size, std::vector<NodeId> holders,
                           PullWaiterId waiter = 1) {
    PullActions first = Check(pulls_.Pull(object, size, holders, waiter, now_));
    EXPECT_TRUE(Has(first, Kind::kAllocate)) << "a new pull first asks for a buffer";
    return Check(pulls_.OnAllocated(object, absl::OkStatus(), now_));
  }

  static bool Has(const PullActions& actions, Kind kind) { return Find(actions, kind) != nullptr; }
  static const PullAction* Find(const PullActions& actions, Kind kind) {
    for (const PullAction& action : actions) {
      if (action.kind == kind) return &action;
    }
    return nullptr;
  }
  static std::vector<uint64_t> Requested(const PullActions& actions, AttemptId attempt) {
    std::vector<uint64_t> chunks;
    for (const PullAction& action : actions) {
      if (action.kind == Kind::kRequest && action.attempt == attempt) {
        chunks.insert(chunks.end(), action.chunks.begin(), action.chunks.end());
      }
    }
    return chunks;
  }
  // Delivers every requested chunk of `attempt` until the pull stops asking.
  PullActions DeliverAll(AttemptId attempt, std::vector<uint64_t> pending) {
    PullActions last;
    while (!pending.empty()) {
      uint64_t chunk = pending.back();
      pending.pop_back();
      last = Check(pulls_.OnChunk(attempt, chunk, now_));
      for (uint64_t more : Requested(last, attempt)) pending.push_back(more);
    }
    return last;
  }

  PullManager pulls_{Options()};
  PullClock::time_point now_ = PullClock::time_point() + std::chrono::hours(1);
};

TEST_F(PullManagerTest, PullAllocatesOpensAStreamAndSealsOnlyAfterTheLastChunk) {
  PullActions actions = PullAdmitted(Object(1), 250, {Node(7)});
  const PullAction* open = Find(actions, Kind::kOpen);
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->holder, Node(7));
  EXPECT_EQ(open->size, 250u);
  const AttemptId attempt = open->attempt;
  EXPECT_EQ(Requested(actions, attempt), (std::vector<uint64_t>{0, 1}));

  actions = Check(pulls_.OnChunk(attempt, 0, now_));
  EXPECT_FALSE(Has(actions, Kind::kSeal)) << "two of three chunks are still missing";
  EXPECT_EQ(Requested(actions, attempt), (std::vector<uint64_t>{2}));
  actions = Check(pulls_.OnChunk(attempt, 2, now_));
  EXPECT_FALSE(Has(actions, Kind::kSeal)) << "chunk 1 is still missing";
  actions = Check(pulls_.OnChunk(attempt, 1, now_));
  ASSERT_TRUE(Has(actions, Kind::kSeal));
  ASSERT_TRUE(Has(actions, Kind::kClose)) << "the finished stream is closed";
  EXPECT_TRUE(Find(actions, Kind::kClose)->status.ok()) << "gracefully: it sent everything";
  const PullAction* notify = Find(actions, Kind::kNotify);
  ASSERT_NE(notify, nullptr);
  EXPECT_TRUE(notify->status.ok());
  EXPECT_EQ(notify->waiters, std::vector<PullWaiterId>{1});
  EXPECT_EQ(pulls_.num_pulls(), 0u);
}

TEST_F(PullManagerTest, ConcurrentRequestsForOneObjectShareOnePullAndAllWaitersAreTold) {
  PullActions actions = PullAdmitted(Object(1), 150, {Node(7)}, /*waiter=*/1);
  const AttemptId attempt = Find(actions, Kind::kOpen)->attempt;
  PullActions joined = Check(pulls_.Pull(Object(1), 150, {Node(7)}, /*waiter=*/2, now_));
  EXPECT_TRUE(joined.empty()) << "the second request starts nothing of its own";
  EXPECT_EQ(pulls_.num_pulls(), 1u);

  actions = DeliverAll(attempt, {0, 1});
  const PullAction* notify = Find(actions, Kind::kNotify);
  ASSERT_NE(notify, nullptr);
  EXPECT_EQ(notify->waiters, (std::vector<PullWaiterId>{1, 2}));
}

TEST_F(PullManagerTest, ChunksArrivingOutOfOrderAreAllCountedOnce) {
  PullActions actions = PullAdmitted(Object(1), 200, {Node(7)});
  const AttemptId attempt = Find(actions, Kind::kOpen)->attempt;
  Check(pulls_.OnChunk(attempt, 1, now_));
  actions = Check(pulls_.OnChunk(attempt, 1, now_));
  EXPECT_TRUE(actions.empty()) << "a repeated chunk changes nothing";
  actions = Check(pulls_.OnChunk(attempt, 9, now_));
  EXPECT_TRUE(actions.empty()) << "a chunk that was never asked for changes nothing";
  actions = Check(pulls_.OnChunk(attempt, 0, now_));
  EXPECT_TRUE(Has(actions, Kind::kSeal));
}

TEST_F(PullManagerTest, FailedHolderHandsTheMissingChunksToTheNextHolder) {
  PullActions actions = PullAdmitted(Object(1), 400, {Node(7), Node(8)});
  const AttemptId first = Find(actions, Kind::kOpen)->attempt;
  actions = Check(pulls_.OnChunk(first, 0, now_));  // asks for chunk 2
  actions = Check(pulls_.OnAttemptEnded(first, absl::UnavailableError("stream broke"), now_));
  const PullAction* reopen = Find(actions, Kind::kOpen);
  ASSERT_NE(reopen, nullptr) << "the next holder is asked";
  EXPECT_EQ(reopen->holder, Node(8));
  EXPECT_NE(reopen->attempt, first);
  EXPECT_EQ(Requested(actions, reopen->attempt), (std::vector<uint64_t>{1, 2}))
      << "chunk 0 arrived and is kept; 1 and 2 were lost with the stream";
  EXPECT_TRUE(Check(pulls_.OnChunk(first, 1, now_)).empty())
      << "an ended stream's chunks no longer count";

  actions = DeliverAll(reopen->attempt, {1, 2});
  EXPECT_TRUE(Has(actions, Kind::kSeal));
  EXPECT_TRUE(Find(actions, Kind::kNotify)->status.ok());
}

TEST_F(PullManagerTest, StreamEndingEarlyWithoutErrorCountsAsAFailedHolder) {
  PullActions actions = PullAdmitted(Object(1), 200, {Node(7)});
  const AttemptId attempt = Find(actions, Kind::kOpen)->attempt;
  actions = Check(pulls_.OnAttemptEnded(attempt, absl::OkStatus(), now_));
  ASSERT_TRUE(Has(actions, Kind::kAbort));
  const PullAction* notify = Find(actions, Kind::kNotify);
  ASSERT_NE(notify, nullptr);
  EXPECT_TRUE(absl::IsUnavailable(notify->status));
  EXPECT_NE(notify->status.message().find("before sending every chunk"), std::string::npos)
      << notify->status;
}

TEST_F(PullManagerTest, PullWithNoHolderFailsAtOnce) {
  PullActions actions = Check(pulls_.Pull(Object(1), 100, {}, 5, now_));
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, Kind::kNotify);
  EXPECT_TRUE(absl::IsNotFound(actions[0].status)) << actions[0].status;
  EXPECT_EQ(actions[0].waiters, std::vector<PullWaiterId>{5});
  EXPECT_EQ(pulls_.num_pulls(), 0u);
}

TEST_F(PullManagerTest, WhenEveryHolderFailedThePullFailsNamingEachAndFreesItsBuffer) {
  PullActions actions = PullAdmitted(Object(1), 100, {Node(7), Node(8)});
  AttemptId attempt = Find(actions, Kind::kOpen)->attempt;
  actions = Check(pulls_.OnAttemptEnded(attempt, absl::NotFoundError("gone from 7"), now_));
  attempt = Find(actions, Kind::kOpen)->attempt;
  actions = Check(pulls_.OnAttemptEnded(attempt, absl::UnavailableError("8 refused"), now_));
  ASSERT_TRUE(Has(actions, Kind::kAbort)) << "the allocated buffer goes back";
  EXPECT_FALSE(Has(actions, Kind::kSeal));
  const PullAction* notify = Find(actions, Kind::kNotify);
  ASSERT_NE(notify, nullptr);
  EXPECT_TRUE(absl::IsUnavailable(notify->status));
  EXPECT_NE(notify->status.message().find("gone from 7"), std::string::npos) << notify->status;
  EXPECT_NE(notify->status.message().find("8 refused"), std::string::npos) << notify->status;
}

TEST_F(PullManagerTest, DeadNodeStreamIsClosedAndTheNextHolderWaitsForItsEnd) {
  PullActions actions = PullAdmitted(Object(1), 200, {Node(7), Node(8)});
  const AttemptId attempt = Find(actions, Kind::kOpen)->attempt;
  actions = Check(pulls_.OnNodeDead(Node(7)));
  const PullAction* close = Find(actions, Kind::kClose);
  ASSERT_NE(close, nullptr);
  EXPECT_EQ(close->attempt, attempt);
  EXPECT_TRUE(absl::IsCancelled(close->status)) << "given up, so ended at once";
  EXPECT_FALSE(Has(actions, Kind::kOpen))
      << "no second stream while the first may still copy into the buffer";
  Check(pulls_.OnChunk(attempt, 0, now_));  // it copied one more before ending
  actions = Check(pulls_.OnAttemptEnded(attempt, absl::CancelledError("cancelled"), now_));
  const PullAction* reopen = Find(actions, Kind::kOpen);
  ASSERT_NE(reopen, nullptr);
  EXPECT_EQ(reopen->holder, Node(8));
  EXPECT_EQ(Requested(actions, reopen->attempt), std::vector<uint64_t>{1});
}

TEST_F(PullManagerTest, DeadNodeThatWasTheLastHolderFailsAWaitingPull) {
  Check(pulls_.Pull(Object(1), 100, {Node(7)}, 1, now_));
  Check(pulls_.OnAllocated(Object(1), absl::ResourceExhaustedError("full"), now_));
  PullActions actions = Check(pulls_.OnNodeDead(Node(7)));
  const PullAction* notify = Find(actions, Kind::kNotify);
  ASSERT_NE(notify, nullptr);
  EXPECT_TRUE(absl::IsUnavailable(notify->status));
  EXPECT_FALSE(Has(actions, Kind::kAbort)) << "it never had a buffer";
}

TEST_F(PullManagerTest, PullWaitsForSpaceAsksForItAndProceedsWhenSpaceIsFreed) {
  Check(pulls_.Pull(Object(1), 100, {Node(7)}, 1, now_));
  PullActions actions =
      Check(pulls_.OnAllocated(Object(1), absl::ResourceExhaustedError("full"), now_));
  const PullAction* ask = Find(actions, Kind::kAskForSpace);
  ASSERT_NE(ask, nullptr) << "a full store is asked to spill or evict";
  EXPECT_EQ(ask->size, 100u);
  EXPECT_FALSE(Has(actions, Kind::kNotify)) << "a full store makes the pull wait, not fail";
  EXPECT_EQ(pulls_.num_waiting_for_space(), 1u);

  actions = Check(pulls_.OnSpaceFreed());
  ASSERT_TRUE(Has(actions, Kind::kAllocate)) << "freed space means another try";
  actions = Check(pulls_.OnAllocated(Object(1), absl::OkStatus(), now_));
  EXPECT_TRUE(Has(actions, Kind::kOpen));
  EXPECT_EQ(pulls_.num_waiting_for_space(), 0u);
}

TEST_F(PullManagerTest, PullWaitingForSpaceFailsAtItsDeadlineWithResourceExhausted) {
  Check(pulls_.Pull(Object(1), 100, {Node(7)}, 1, now_));
  Check(pulls_.OnAllocated(Object(1), absl::ResourceExhaustedError("full"), now_));
  ASSERT_TRUE(pulls_.NextDeadline().has_value());
  EXPECT_EQ(*pulls_.NextDeadline(), now_ + milliseconds(1000));

  EXPECT_TRUE(Check(pulls_.OnTimer(now_ + milliseconds(999))).empty())
      << "before its deadline the pull keeps waiting";
  PullActions actions = Check(pulls_.OnTimer(now_ + milliseconds(1000)));
  const PullAction* notify = Find(actions, Kind::kNotify);
  ASSERT_NE(notify, nullptr);
  EXPECT_TRUE(absl::IsResourceExhausted(notify->status)) << notify->status;
  EXPECT_NE(notify->status.message().find("no room"), std::string::npos) << notify->status;
  EXPECT_EQ(pulls_.num_pulls(), 0u);
}

TEST_F(PullManagerTest, AdmissionIsInRequestOrderAndMovesOnWhenTheHeadGivesUp) {
  Check(pulls_.Pull(Object(1), 100, {Node(7)}, 1, now_));
  Check(pulls_.OnAllocated(Object(1), absl::ResourceExhaustedError("full"), now_));
  PullActions actions = Check(pulls_.Pull(Object(2), 10, {Node(7)}, 2, now_ + milliseconds(10)));
  EXPECT_FALSE(Has(actions, Kind::kAllocate)) << "a later pull queues behind the waiting one";
  actions = Check(pulls_.OnTimer(now_ + milliseconds(1000)));
  EXPECT_TRUE(Has(actions, Kind::kNotify));
  const PullAction* allocate = Find(actions, Kind::kAllocate);
  ASSERT_NE(allocate, nullptr) << "once the first gave up, the next one tries";
  EXPECT_EQ(allocate->object, Object(2));
}

TEST_F(PullManagerTest, AllocationErrorOtherThanNoRoomFailsThePullAtOnce) {
  Check(pulls_.Pull(Object(1), 100, {Node(7)}, 1, now_));
  PullActions actions =
      Check(pulls_.OnAllocated(Object(1), absl::AlreadyExistsError("exists"), now_));
  const PullAction* notify = Find(actions, Kind::kNotify);
  ASSERT_NE(notify, nullptr);
  EXPECT_TRUE(absl::IsAlreadyExists(notify->status));
  EXPECT_FALSE(Has(actions, Kind::kAbort));
}

TEST_F(PullManagerTest, ChunksInFlightAreBoundedPerPullAndOverall) {
  PullActions a = PullAdmitted(Object(1), 1000, {Node(7)}, 1);
  PullActions b = PullAdmitted(Object(2), 1000, {Node(7)}, 2);
  PullActions c = PullAdmitted(Object(3), 1000, {Node(7)}, 3);
  const AttemptId attempt_a = Find(a, Kind::kOpen)->attempt;
  EXPECT_EQ(Requested(a, attempt_a).size(), 2u) << "per-pull bound";
  EXPECT_EQ(pulls_.chunks_in_flight(), 3u) << "overall bound";
  EXPECT_TRUE(Requested(c, Find(c, Kind::kOpen)->attempt).empty())
      << "the third pull waits for credit";

  PullActions after = Check(pulls_.OnChunk(attempt_a, 0, now_));
  EXPECT_EQ(pulls_.chunks_in_flight(), 3u) << "a returned credit is reused at once";
  EXPECT_EQ(Requested(after, Find(c, Kind::kOpen)->attempt).size(), 1u)
      << "the credit goes to the pull that had none";
}

TEST_F(PullManagerTest, HolderThatStallsIsGivenUpAfterTheChunkTimeout) {
  PullActions actions = PullAdmitted(Object(1), 200, {Node(7), Node(8)});
  const AttemptId attempt = Find(actions, Kind::kOpen)->attempt;
  ASSERT_TRUE(pulls_.NextDeadline().has_value());
  EXPECT_EQ(*pulls_.NextDeadline(), now_ + milliseconds(500));
  actions = Check(pulls_.OnTimer(now_ + milliseconds(500)));
  ASSERT_TRUE(Has(actions, Kind::kClose));
  actions = Check(pulls_.OnAttemptEnded(attempt, absl::CancelledError("cancelled"), now_));
  EXPECT_EQ(Find(actions, Kind::kOpen)->holder, Node(8));
}

TEST_F(PullManagerTest, EmptyObjectIsSealedWithoutAnyStream) {
  PullActions actions = PullAdmitted(Object(1), 0, {Node(7)});
  EXPECT_FALSE(Has(actions, Kind::kOpen));
  EXPECT_TRUE(Has(actions, Kind::kSeal));
  EXPECT_TRUE(Find(actions, Kind::kNotify)->status.ok());
}

}  // namespace
}  // namespace flare
