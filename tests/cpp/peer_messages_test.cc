// Specification of how messages travel between nodes, without sockets:
// the Outbox (one write in flight, batches, held messages, the size bound)
// driven by a fake reactor, the batch packer and unpacker, what is done with
// a message too large for one gRPC message, and the ReadBudget that bounds
// what a stream queues for its event loop.
#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/ids.h"
#include "rpc/outbox.h"
#include "rpc/peer_messages.h"
#include "rpc/read_budget.h"

namespace flare {
namespace {

rpc::Message Ping(uint64_t id) {
  rpc::Message message;
  message.mutable_ping()->set_request_id(id);
  return message;
}

// The ping ids a write carried, in order (one, or a batch's).
std::vector<uint64_t> PingIds(rpc::Message message) {
  std::vector<uint64_t> ids;
  ForEachPeerMessage(message, [&](rpc::Message& one) { ids.push_back(one.ping().request_id()); });
  return ids;
}

// Stands in for a gRPC reactor: records each write it is asked to start.
class FakeReactor {
 public:
  void StartWrite(const rpc::Message* message) { writes.push_back(*message); }
  std::vector<rpc::Message> writes;
};

using PeerOutbox = Outbox<rpc::Message, FakeReactor, PeerBatching>;

std::string Id(int i) {
  std::string id(ObjectId::kSize, '\0');
  id[0] = static_cast<char>(i & 0xff);
  id[1] = static_cast<char>((i >> 8) & 0xff);
  id[2] = static_cast<char>((i >> 16) & 0xff);
  return id;
}

TEST(OutboxTest, MessagesQueuedDuringAWriteGoInOneBatchInOrder) {
  FakeReactor reactor;
  PeerOutbox outbox(&reactor);
  ASSERT_TRUE(outbox.Push(Ping(1)).ok());
  ASSERT_TRUE(outbox.Push(Ping(2)).ok());
  ASSERT_TRUE(outbox.Push(Ping(3)).ok());
  ASSERT_EQ(reactor.writes.size(), 1u) << "one write in flight at a time";
  EXPECT_EQ(reactor.writes[0].body_case(), rpc::Message::kPing) << "a lone message goes unwrapped";
  outbox.OnWriteDone(true);
  ASSERT_EQ(reactor.writes.size(), 2u);
  EXPECT_EQ(reactor.writes[1].body_case(), rpc::Message::kBatch);
  EXPECT_EQ(PingIds(reactor.writes[1]), (std::vector<uint64_t>{2, 3}));
  outbox.OnWriteDone(true);
  EXPECT_EQ(reactor.writes.size(), 2u) << "nothing left to write";
}

TEST(OutboxTest, HeldMessagesWaitForTheNextMessageOrAFlush) {
  FakeReactor reactor;
  PeerOutbox outbox(&reactor);
  ASSERT_TRUE(outbox.Push(Ping(1), /*held=*/true).ok());
  ASSERT_TRUE(outbox.Push(Ping(2), /*held=*/true).ok());
  EXPECT_TRUE(reactor.writes.empty()) << "held messages start no write";
  ASSERT_TRUE(outbox.Push(Ping(3)).ok());
  ASSERT_EQ(reactor.writes.size(), 1u);
  EXPECT_EQ(PingIds(reactor.writes[0]), (std::vector<uint64_t>{1, 2, 3}));
  outbox.OnWriteDone(true);
  ASSERT_TRUE(outbox.Push(Ping(4), /*held=*/true).ok());
  EXPECT_EQ(reactor.writes.size(), 1u);
  outbox.Flush();
  ASSERT_EQ(reactor.writes.size(), 2u);
  EXPECT_EQ(PingIds(reactor.writes[1]), (std::vector<uint64_t>{4}));
}

TEST(OutboxTest, AMessageLargerThanTheBoundIsRefusedAndTheStreamGoesOn) {
  FakeReactor reactor;
  PeerOutbox outbox(&reactor, /*max_message_bytes=*/1000);
  rpc::Message large;
  large.mutable_put_inline()->mutable_data()->set_inline_data(std::string(2000, 'x'));
  const absl::Status refused = outbox.Push(large);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_NE(refused.message().find("2"), std::string::npos) << refused;
  EXPECT_TRUE(reactor.writes.empty());
  EXPECT_TRUE(outbox.Push(Ping(7)).ok());
  ASSERT_EQ(reactor.writes.size(), 1u);
  EXPECT_EQ(PingIds(reactor.writes[0]), (std::vector<uint64_t>{7}));
}

TEST(OutboxTest, ABatchNeverPassesTheBound) {
  FakeReactor reactor;
  const size_t bound = 4096;
  PeerOutbox outbox(&reactor, bound);
  ASSERT_TRUE(outbox.Push(Ping(0)).ok());
  for (int i = 1; i <= 1000; ++i) ASSERT_TRUE(outbox.Push(Ping(i)).ok());
  std::vector<uint64_t> seen;
  while (true) {
    const size_t before = reactor.writes.size();
    outbox.OnWriteDone(true);
    if (reactor.writes.size() == before) break;
  }
  for (const rpc::Message& write : reactor.writes) {
    EXPECT_LE(write.ByteSizeLong(), bound);
    for (uint64_t id : PingIds(write)) seen.push_back(id);
  }
  EXPECT_GT(reactor.writes.size(), 2u) << "1000 pings do not fit in 4 KiB at once";
  ASSERT_EQ(seen.size(), 1001u);
  for (uint64_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i) << "in order";
}

TEST(OutboxTest, MoreWaitingThanTheQueueBoundGivesUpOnTheStream) {
  FakeReactor reactor;
  PeerOutbox outbox(&reactor, /*max_message_bytes=*/1000, /*max_queued_bytes=*/100);
  ASSERT_TRUE(outbox.Push(Ping(0)).ok());  // in flight, never completes
  absl::Status pushed;
  int queued = 0;
  while ((pushed = outbox.Push(Ping(++queued))).ok()) ASSERT_LT(queued, 100);
  EXPECT_TRUE(absl::IsAborted(pushed)) << pushed;
  EXPECT_NE(pushed.message().find("does not read"), std::string::npos) << pushed;
  EXPECT_TRUE(absl::IsUnavailable(outbox.Push(Ping(1000)))) << "the outbox is closed";
  outbox.OnWriteDone(true);
  EXPECT_EQ(reactor.writes.size(), 1u) << "what waited was dropped";
}

TEST(OutboxTest, CloseSendsHeldMessagesThenFinishes) {
  FakeReactor reactor;
  PeerOutbox outbox(&reactor);
  ASSERT_TRUE(outbox.Push(Ping(1), /*held=*/true).ok());
  bool finished = false;
  outbox.Close([&] { finished = true; });
  ASSERT_EQ(reactor.writes.size(), 1u) << "the held message goes out before the end";
  EXPECT_FALSE(finished);
  EXPECT_TRUE(absl::IsUnavailable(outbox.Push(Ping(2))));
  outbox.OnWriteDone(true);
  EXPECT_TRUE(finished);
}

TEST(OutboxTest, AFailedWriteDropsTheRestAndRefusesMore) {
  FakeReactor reactor;
  PeerOutbox outbox(&reactor);
  ASSERT_TRUE(outbox.Push(Ping(1)).ok());
  ASSERT_TRUE(outbox.Push(Ping(2)).ok());
  outbox.OnWriteDone(false);
  EXPECT_EQ(reactor.writes.size(), 1u);
  EXPECT_TRUE(absl::IsUnavailable(outbox.Push(Ping(3))));
}

TEST(PeerMessagesTest, OnlyReleasesAreHousekeeping) {
  rpc::Message pins;
  pins.mutable_release_pins()->add_object_ids(Id(1));
  rpc::Message removes;
  removes.mutable_ref_update()->add_remove(Id(1));
  rpc::Message adds;
  adds.mutable_ref_update()->add_add(Id(1));
  EXPECT_TRUE(IsHousekeeping(pins));
  EXPECT_TRUE(IsHousekeeping(removes));
  EXPECT_FALSE(IsHousekeeping(adds)) << "a new reference must not wait";
  EXPECT_FALSE(IsHousekeeping(Ping(1)));
}

TEST(PeerMessagesTest, AMessageThatFitsIsLeftAsItIs) {
  auto fitted = FitForPeer(Ping(3), 1000);
  ASSERT_TRUE(fitted.ok());
  ASSERT_EQ(fitted->size(), 1u);
  EXPECT_EQ((*fitted)[0].ping().request_id(), 3u);
}

TEST(PeerMessagesTest, ALargeReferenceUpdateIsSplitKeepingEveryIdInOrder) {
  rpc::Message update;
  for (int i = 0; i < 1000; ++i) update.mutable_ref_update()->add_add(Id(i));
  for (int i = 1000; i < 1500; ++i) update.mutable_ref_update()->add_remove(Id(i));
  const size_t bound = 4096;
  ASSERT_GT(update.ByteSizeLong(), bound);
  auto fitted = FitForPeer(update, bound);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  std::vector<std::string> added, removed;
  for (const rpc::Message& piece : *fitted) {
    EXPECT_LE(piece.ByteSizeLong(), bound);
    for (const std::string& id : piece.ref_update().add()) added.push_back(id);
    for (const std::string& id : piece.ref_update().remove()) removed.push_back(id);
  }
  ASSERT_EQ(added.size(), 1000u);
  ASSERT_EQ(removed.size(), 500u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(added[i], Id(i));
  for (int i = 0; i < 500; ++i) EXPECT_EQ(removed[i], Id(1000 + i));
}

TEST(PeerMessagesTest, LongLogLinesAreSplitAndCut) {
  rpc::Message message;
  rpc::LogLines& lines = *message.mutable_log_lines();
  lines.set_prefix("(f pid=1)");
  lines.add_lines(std::string(10000, 'a'));
  for (int i = 0; i < 100; ++i) lines.add_lines("line " + std::to_string(i));
  auto fitted = FitForPeer(message, 4096);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  size_t count = 0;
  for (const rpc::Message& piece : *fitted) {
    EXPECT_LE(piece.ByteSizeLong(), 4096u);
    EXPECT_EQ(piece.log_lines().prefix(), "(f pid=1)");
    count += piece.log_lines().lines_size();
  }
  EXPECT_EQ(count, 101u) << "every line arrives, the long one cut";
}

TEST(PeerMessagesTest, AnObjectTooLargeToSendBecomesAnErrorNamingItsSize) {
  rpc::Message ready;
  rpc::ObjectData& data = *ready.mutable_object_ready();
  data.set_object_id(Id(5));
  data.set_error(rpc::TASK_ERROR);
  data.set_inline_data(std::string(10000, 'e'));
  auto fitted = FitForPeer(ready, 4096);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  ASSERT_EQ(fitted->size(), 1u);
  const rpc::ObjectData& sent = (*fitted)[0].object_ready();
  EXPECT_EQ(sent.object_id(), Id(5));
  EXPECT_EQ(sent.error(), rpc::OBJECT_LOST);
  EXPECT_TRUE(sent.inline_data().empty());
  EXPECT_NE(sent.error_message().find("more than the 4096"), std::string::npos)
      << sent.error_message();
}

TEST(PeerMessagesTest, ATaskTooLargeToSendIsRefusedByName) {
  rpc::Message submit;
  submit.mutable_submit_task()->mutable_spec()->set_args(std::string(10000, 'a'));
  auto fitted = FitForPeer(submit, 4096);
  ASSERT_TRUE(absl::IsResourceExhausted(fitted.status()));
  EXPECT_NE(fitted.status().message().find("submit_task"), std::string::npos) << fitted.status();
}

TEST(PeerMessagesTest, ANestedBatchIsPassedOnForTheReceiverToRefuse) {
  rpc::Message outer;
  rpc::Message& inner = *outer.mutable_batch()->add_messages();
  *inner.mutable_batch()->add_messages() = Ping(1);
  std::vector<rpc::Message::BodyCase> seen;
  ForEachPeerMessage(outer, [&](rpc::Message& one) { seen.push_back(one.body_case()); });
  EXPECT_EQ(seen, (std::vector<rpc::Message::BodyCase>{rpc::Message::kBatch}));
}

TEST(ReadBudgetTest, PausesPastTheBoundAndResumesOnceAtHalf) {
  ReadBudget budget(100);
  EXPECT_TRUE(budget.OnRead(40));
  EXPECT_TRUE(budget.OnRead(40));
  EXPECT_FALSE(budget.OnRead(40)) << "120 unhandled bytes: stop reading";
  EXPECT_TRUE(budget.paused());
  EXPECT_FALSE(budget.OnHandled(40)) << "80 left: more than half the bound";
  EXPECT_TRUE(budget.OnHandled(40)) << "40 left: resume";
  EXPECT_FALSE(budget.paused());
  EXPECT_FALSE(budget.OnHandled(40)) << "not paused: nothing to resume";
  EXPECT_EQ(budget.unhandled(), 0u);
}

TEST(ReadBudgetTest, OneMessageLargerThanTheBoundIsDeliveredThenReadingWaits) {
  ReadBudget budget(100);
  EXPECT_FALSE(budget.OnRead(500));
  EXPECT_TRUE(budget.OnHandled(500));
  EXPECT_TRUE(budget.OnRead(10));
}

}  // namespace
}  // namespace flare
