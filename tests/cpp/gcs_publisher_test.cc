// Specification of the GCS pub/sub: subscribers by id to the node and actor
// channels, whole or one key, each event delivered once per subscriber in
// publication order with increasing sequence numbers; and the GCS
// publishing the node and named-actor changes it records. No I/O: the
// sink records what it is given.
#include "gcs/publisher.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/gcs.h"
#include "gcs/memory_store.h"

namespace flare {
namespace {

// Keeps every delivery, in order.
class RecordingSink : public EventSink {
 public:
  struct Delivery {
    SubscriberId subscriber;
    rpc::GcsEvent event;
  };

  void Deliver(SubscriberId subscriber, const rpc::GcsEvent& event) override {
    deliveries.push_back({subscriber, event});
  }

  // The subscriber's deliveries, in order.
  std::vector<rpc::GcsEvent> For(SubscriberId subscriber) const {
    std::vector<rpc::GcsEvent> events;
    for (const Delivery& delivery : deliveries) {
      if (delivery.subscriber == subscriber) events.push_back(delivery.event);
    }
    return events;
  }

  std::vector<Delivery> deliveries;
};

rpc::NodeInfo Node(const NodeId& id, bool alive) {
  rpc::NodeInfo node;
  node.set_node_id(id.Binary());
  node.set_alive(alive);
  return node;
}

rpc::ActorInfo Actor(const ActorId& id, rpc::ActorState state) {
  rpc::ActorInfo actor;
  actor.set_actor_id(id.Binary());
  actor.set_namespace_("ns");
  actor.set_name("counter");
  actor.set_state(state);
  return actor;
}

class PublisherTest : public ::testing::Test {
 protected:
  Publisher publisher_;
  RecordingSink sink_;
};

TEST_F(PublisherTest, AChannelSubscriberGetsEveryEventOfItsChannelOnly) {
  ASSERT_TRUE(publisher_.AddSubscriber(1, sink_).ok());
  ASSERT_TRUE(publisher_.Subscribe(1, GcsChannel::kNodes).ok());
  const NodeId a = NodeId::FromRandom();
  const NodeId b = NodeId::FromRandom();
  publisher_.PublishNode(Node(a, true));
  publisher_.PublishActor(Actor(ActorId::FromRandom(), rpc::ACTOR_ALIVE));  // another channel
  publisher_.PublishNode(Node(b, true));
  publisher_.PublishNode(Node(a, false));
  auto events = sink_.For(1);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].node().node_id(), a.Binary());
  EXPECT_EQ(events[1].node().node_id(), b.Binary());
  EXPECT_FALSE(events[2].node().alive()) << "in publication order";
  EXPECT_LT(events[0].sequence(), events[1].sequence());
  EXPECT_LT(events[1].sequence(), events[2].sequence());
  EXPECT_EQ(publisher_.last_sequence(), events[2].sequence());
}

TEST_F(PublisherTest, AKeySubscriberGetsOnlyTheEventsAboutItsKey) {
  const ActorId watched = ActorId::FromRandom();
  ASSERT_TRUE(publisher_.AddSubscriber(7, sink_).ok());
  ASSERT_TRUE(publisher_.Subscribe(7, GcsChannel::kActors, watched.Binary()).ok());
  publisher_.PublishActor(Actor(ActorId::FromRandom(), rpc::ACTOR_ALIVE));
  publisher_.PublishActor(Actor(watched, rpc::ACTOR_ALIVE));
  publisher_.PublishActor(Actor(watched, rpc::ACTOR_DEAD));
  auto events = sink_.For(7);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].actor().state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(events[1].actor().state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(events[1].actor().actor_id(), watched.Binary());
}

TEST_F(PublisherTest, AnEventReachesEachSubscriberOnceHoweverItSubscribed) {
  const NodeId node = NodeId::FromRandom();
  ASSERT_TRUE(publisher_.AddSubscriber(1, sink_).ok());
  ASSERT_TRUE(publisher_.AddSubscriber(2, sink_).ok());
  ASSERT_TRUE(publisher_.Subscribe(1, GcsChannel::kNodes).ok());
  ASSERT_TRUE(publisher_.Subscribe(1, GcsChannel::kNodes, node.Binary()).ok());
  ASSERT_TRUE(publisher_.Subscribe(2, GcsChannel::kNodes, node.Binary()).ok());
  publisher_.PublishNode(Node(node, true));
  ASSERT_EQ(sink_.deliveries.size(), 2u);
  EXPECT_EQ(sink_.deliveries[0].subscriber, 1u);
  EXPECT_EQ(sink_.deliveries[1].subscriber, 2u);
  EXPECT_EQ(sink_.deliveries[0].event.sequence(), sink_.deliveries[1].event.sequence())
      << "one event, one sequence number";
}

TEST_F(PublisherTest, UnsubscribedAndRemovedSubscribersGetNothingMore) {
  ASSERT_TRUE(publisher_.AddSubscriber(1, sink_).ok());
  ASSERT_TRUE(publisher_.AddSubscriber(2, sink_).ok());
  ASSERT_TRUE(publisher_.Subscribe(1, GcsChannel::kNodes).ok());
  ASSERT_TRUE(publisher_.Subscribe(2, GcsChannel::kNodes).ok());
  publisher_.PublishNode(Node(NodeId::FromRandom(), true));
  publisher_.Unsubscribe(1, GcsChannel::kNodes);
  publisher_.RemoveSubscriber(2);
  publisher_.PublishNode(Node(NodeId::FromRandom(), true));
  EXPECT_EQ(sink_.For(1).size(), 1u);
  EXPECT_EQ(sink_.For(2).size(), 1u);
  publisher_.Unsubscribe(3, GcsChannel::kNodes);  // unknown: ignored
  publisher_.RemoveSubscriber(3);
}

TEST_F(PublisherTest, SubscriberIdsAreUniqueAndMustBeAddedFirst) {
  ASSERT_TRUE(publisher_.AddSubscriber(1, sink_).ok());
  RecordingSink other;
  EXPECT_TRUE(absl::IsAlreadyExists(publisher_.AddSubscriber(1, other)));
  EXPECT_TRUE(absl::IsNotFound(publisher_.Subscribe(2, GcsChannel::kActors)));
}

TEST_F(PublisherTest, EventsWithoutSubscribersStillTakeASequenceNumber) {
  publisher_.PublishNode(Node(NodeId::FromRandom(), true));
  EXPECT_EQ(publisher_.last_sequence(), 1u);
  EXPECT_TRUE(sink_.deliveries.empty());
}

TEST(GcsEventsTest, TheGcsPublishesNodeAndNamedActorChanges) {
  Gcs gcs(std::make_unique<MemoryStore>());
  RecordingSink sink;
  ASSERT_TRUE(gcs.publisher().AddSubscriber(1, sink).ok());
  ASSERT_TRUE(gcs.publisher().Subscribe(1, GcsChannel::kNodes).ok());
  ASSERT_TRUE(gcs.publisher().Subscribe(1, GcsChannel::kActors).ok());

  const NodeId node = NodeId::FromRandom();
  ASSERT_TRUE(gcs.RegisterNode(Node(node, true)).ok());
  const ActorId actor = ActorId::FromRandom();
  ASSERT_TRUE(gcs.RegisterActor(Actor(actor, rpc::ACTOR_ALIVE)).ok());
  ASSERT_TRUE(gcs.ReportActorState(actor, rpc::ACTOR_ALIVE).ok());
  ASSERT_TRUE(gcs.ReportActorState(actor, rpc::ACTOR_ALIVE).ok());  // no change: no event
  ASSERT_TRUE(gcs.ReportActorState(ActorId::FromRandom(), rpc::ACTOR_DEAD).ok());  // unnamed
  ASSERT_TRUE(gcs.ReportActorState(actor, rpc::ACTOR_DEAD).ok());
  ASSERT_TRUE(gcs.MarkNodeDead(node).ok());
  ASSERT_TRUE(gcs.MarkNodeDead(node).ok());  // already dead: no event

  auto events = sink.For(1);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_TRUE(events[0].node().alive());
  EXPECT_EQ(events[1].actor().state(), rpc::ACTOR_PENDING_CREATION) << "registered";
  EXPECT_EQ(events[2].actor().state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(events[3].actor().state(), rpc::ACTOR_DEAD);
  EXPECT_EQ(events[3].actor().name(), "counter") << "the whole record travels";
  EXPECT_EQ(events[4].node().node_id(), node.Binary());
  EXPECT_FALSE(events[4].node().alive());
}

}  // namespace
}  // namespace flare
