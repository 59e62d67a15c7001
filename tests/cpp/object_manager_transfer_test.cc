// Object transfer over real sockets on loopback: two or three nodes in one
// process (object_transfer_harness.h), each with its own arena and port,
// with every transport.
#include <future>

#include <gtest/gtest.h>

#include "object_transfer_harness.h"

namespace flare {
namespace {

constexpr uint64_t kArenaBytes = 64u << 20;
constexpr uint64_t kChunkBytes = 1u << 20;

// How the nodes of a test talk: gRPC on a port that serves only gRPC, or
// on one that also takes raw data connections, or raw data connections.
struct Setup {
  TransferTransport transport;
  NodePort port;
};

class ObjectTransferTest : public ::testing::TestWithParam<Setup> {
 protected:
  ObjectManagerOptions Options(const std::string& token = "secret") {
    ObjectManagerOptions options;
    options.token = token;
    options.transport = GetParam().transport;
    options.pull.chunk_bytes = kChunkBytes;
    options.pull.max_chunks_in_flight_per_pull = 3;
    options.pull.max_chunks_in_flight = 4;
    return options;
  }
  std::unique_ptr<TransferNode> Node(uint8_t number, const std::string& token = "secret") {
    return std::make_unique<TransferNode>(loop_, kArenaBytes, Options(token), number,
                                          GetParam().port);
  }

  LoopThread loop_;
  std::unique_ptr<TransferNode> sender_ = Node(1);
  std::unique_ptr<TransferNode> receiver_ = Node(2);
};

INSTANTIATE_TEST_SUITE_P(
    Transports, ObjectTransferTest,
    ::testing::Values(Setup{TransferTransport::kGrpc, NodePort::kGrpcOnly},
                      Setup{TransferTransport::kGrpc, NodePort::kGrpcAndRaw},
                      Setup{TransferTransport::kRawTcp, NodePort::kGrpcAndRaw}),
    [](const ::testing::TestParamInfo<Setup>& info) {
      return std::string(info.param.transport == TransferTransport::kGrpc ? "Grpc" : "RawTcp") +
             (info.param.port == NodePort::kGrpcOnly ? "OnGrpcOnlyPort" : "OnSharedPort");
    });

TEST_P(ObjectTransferTest, MultiChunkObjectArrivesWholeAndTheSenderUnpinsIt) {
  const uint64_t size = 10 * kChunkBytes + 12345;  // eleven chunks, the last one short
  const ObjectId id = sender_->Put(size, 3);

  absl::Status pulled = receiver_->PullAndWait(id, size, {sender_->AsHolder()});

  ASSERT_TRUE(pulled.ok()) << pulled;
  EXPECT_TRUE(receiver_->HasPutBytes(id, size, 3))
      << "the receiver's copy differs from the original";
  sender_->objects().WaitForUnpins(1);
  EXPECT_TRUE(loop_.Run([&] { return sender_->table().Find(id)->pins.empty(); }))
      << "the sender's pin outlived the transfer";
  EXPECT_EQ(sender_->manager().active_sends(), 0u);
  EXPECT_EQ(loop_.Run([&] { return receiver_->manager().num_pulls(); }), 0u);
}

TEST_P(ObjectTransferTest, ConcurrentPullsOfOneObjectShareOneTransfer) {
  const uint64_t size = 3 * kChunkBytes;
  const ObjectId id = sender_->Put(size, 9);
  std::promise<absl::Status> first, second;
  loop_.Run([&] {
    receiver_->manager().Pull(id, size, {sender_->AsHolder()},
                             [&](const absl::Status& s) { first.set_value(s); });
    receiver_->manager().Pull(id, size, {sender_->AsHolder()},
                             [&](const absl::Status& s) { second.set_value(s); });
    EXPECT_EQ(receiver_->manager().num_pulls(), 1u) << "the second pull joined the first";
    return 0;
  });
  const absl::Status first_status = first.get_future().get();
  const absl::Status second_status = second.get_future().get();
  EXPECT_TRUE(first_status.ok()) << first_status;
  EXPECT_TRUE(second_status.ok()) << second_status;
  sender_->objects().WaitForUnpins(1);  // one stream, so one pin in all
  EXPECT_TRUE(receiver_->HasPutBytes(id, size, 9));
}

TEST_P(ObjectTransferTest, HolderWithoutTheObjectIsSkippedForTheNextHolder) {
  std::unique_ptr<TransferNode> third = Node(3);
  const uint64_t size = 2 * kChunkBytes + 1;
  const ObjectId id = third->Put(size, 5);  // the sender does not have it

  absl::Status pulled =
      receiver_->PullAndWait(id, size, {sender_->AsHolder(), third->AsHolder()});

  ASSERT_TRUE(pulled.ok()) << pulled;
  EXPECT_TRUE(receiver_->HasPutBytes(id, size, 5));
}

TEST_P(ObjectTransferTest, PullFailsNamingEachHolderWhenNoneHasTheObject) {
  const ObjectId id = ObjectId::FromRandom();
  absl::Status pulled = receiver_->PullAndWait(id, kChunkBytes, {sender_->AsHolder()});
  EXPECT_TRUE(absl::IsUnavailable(pulled)) << pulled;
  EXPECT_NE(pulled.message().find(sender_->node().Hex()), std::string::npos) << pulled;
  EXPECT_NE(pulled.message().find("not sealed on this node"), std::string::npos) << pulled;
  EXPECT_EQ(loop_.Run([&] { return receiver_->table().Stats().used; }), 0u)
      << "the failed pull's buffer went back to the arena";
}

TEST_P(ObjectTransferTest, WrongTokenIsRefusedWithAMessageSayingSo) {
  std::unique_ptr<TransferNode> stranger = Node(4, "not-the-token");
  const ObjectId id = sender_->Put(kChunkBytes, 1);
  absl::Status pulled = stranger->PullAndWait(id, kChunkBytes, {sender_->AsHolder()});
  EXPECT_FALSE(pulled.ok());
  EXPECT_NE(pulled.message().find("wrong cluster token"), std::string::npos) << pulled;
  EXPECT_EQ(sender_->manager().active_sends(), 0u) << "nothing was pinned for a refused call";
}

TEST_P(ObjectTransferTest, SizeDisagreeingWithTheSendersCopyFailsThePull) {
  const ObjectId id = sender_->Put(kChunkBytes, 1);
  absl::Status pulled = receiver_->PullAndWait(id, kChunkBytes + 1, {sender_->AsHolder()});
  EXPECT_FALSE(pulled.ok());
  EXPECT_NE(pulled.message().find("bytes here"), std::string::npos) << pulled;
  sender_->objects().WaitForUnpins(1);
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

// Admission by store space, through the facade and a real ObjectTable.
class PullAdmissionTest : public ::testing::Test {
 protected:
  static ObjectManagerOptions Options(std::chrono::milliseconds admission_timeout) {
    ObjectManagerOptions options;
    options.token = "secret";
    options.pull.chunk_bytes = kChunkBytes;
    options.pull.admission_timeout = admission_timeout;
    return options;
  }

  LoopThread loop_;
  TransferNode sender_{loop_, kArenaBytes, Options(std::chrono::seconds(60)), 1};
};

TEST_F(PullAdmissionTest, PullWaitsForRoomAsksForItAndFinishesOnceSpaceIsFreed) {
  TransferNode receiver(loop_, 8 * kChunkBytes, Options(std::chrono::seconds(60)), 2);
  const ObjectId local = receiver.Put(6 * kChunkBytes, 1);  // leaves no room for 4 MiB
  const ObjectId remote = sender_.Put(4 * kChunkBytes, 2);
  std::promise<uint64_t> asked;
  std::promise<absl::Status> done;
  loop_.Run([&] {
    receiver.manager().SetSpaceRequester([&](uint64_t bytes) { asked.set_value(bytes); });
    receiver.manager().Pull(remote, 4 * kChunkBytes, {sender_.AsHolder()},
                            [&](const absl::Status& s) { done.set_value(s); });
    return 0;
  });
  EXPECT_EQ(asked.get_future().get(), 4 * kChunkBytes) << "the store was asked for the room";

  loop_.Run([&] {  // "spill": the local object goes, and the manager hears of it
    receiver.table().RemoveRef(kPutClient, local);
    receiver.manager().OnSpaceFreed();
    return 0;
  });
  absl::Status pulled = done.get_future().get();
  ASSERT_TRUE(pulled.ok()) << pulled;
  EXPECT_TRUE(receiver.HasPutBytes(remote, 4 * kChunkBytes, 2));
}

TEST_F(PullAdmissionTest, PullThatNeverFindsRoomFailsWithResourceExhausted) {
  TransferNode receiver(loop_, 8 * kChunkBytes, Options(std::chrono::milliseconds(20)), 2);
  receiver.Put(6 * kChunkBytes, 1);
  const ObjectId remote = sender_.Put(4 * kChunkBytes, 2);
  absl::Status pulled = receiver.PullAndWait(remote, 4 * kChunkBytes, {sender_.AsHolder()});
  EXPECT_TRUE(absl::IsResourceExhausted(pulled)) << pulled;
  EXPECT_NE(pulled.message().find("no room"), std::string::npos) << pulled;
  EXPECT_EQ(sender_.manager().active_sends(), 0u) << "nothing was asked of the holder";
}

TEST_F(PullAdmissionTest, PullOfAnObjectLargerThanTheStoreFailsAtOnceAndHoldsNoneBack) {
  // A peer may name any size (object_location, object_ready): one no
  // spilling can make room for must not wait for room, holding back every
  // pull behind it.
  TransferNode receiver(loop_, 8 * kChunkBytes, Options(std::chrono::seconds(60)), 2);
  const ObjectId remote = sender_.Put(kChunkBytes, 3);
  std::promise<absl::Status> absurd;
  std::promise<absl::Status> fine;
  loop_.Run([&] {
    receiver.manager().Pull(ObjectIdFor(TaskId::FromRandom(), 1), uint64_t{1} << 62,
                            {sender_.AsHolder()},
                            [&](const absl::Status& s) { absurd.set_value(s); });
    receiver.manager().Pull(remote, kChunkBytes, {sender_.AsHolder()},
                            [&](const absl::Status& s) { fine.set_value(s); });
    return 0;
  });
  absl::Status refused = absurd.get_future().get();
  EXPECT_EQ(refused.code(), absl::StatusCode::kOutOfRange) << refused;
  EXPECT_NE(refused.message().find("more than this node's store"), std::string::npos) << refused;
  absl::Status pulled = fine.get_future().get();
  EXPECT_TRUE(pulled.ok()) << pulled;
  EXPECT_TRUE(receiver.HasPutBytes(remote, kChunkBytes, 3));
}

}  // namespace
}  // namespace flare
