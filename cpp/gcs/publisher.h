// The GCS's pub/sub: subscribers, by id, to the node channel (a node
// registered or died) and the actor channel (a named actor's new state),
// each to every event of a channel or only to those about one node or
// actor. An event goes to each subscriber it concerns exactly once, through
// that subscriber's EventSink, while it is published: subscribers see
// events in publication order, and each event's sequence number is larger
// than the one before it.
//
// No I/O: the sinks are the caller's (the GCS service turns deliveries into
// messages on each subscriber's stream). Thread-compatible: the GCS's owner
// is its only user.
#ifndef FLARE_GCS_PUBLISHER_H_
#define FLARE_GCS_PUBLISHER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "flare.pb.h"

namespace flare {

enum class GcsChannel { kNodes, kActors };

using SubscriberId = uint64_t;

// Where a subscriber's events go.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called while `event` is being published.
  // REQUIRES: does not call back into the Publisher.
  virtual void Deliver(SubscriberId subscriber, const rpc::GcsEvent& event) = 0;
};

class Publisher {
 public:
  // Adds a subscriber, with no subscriptions yet, whose events go to `sink`
  // (borrowed until RemoveSubscriber: it must live until then).
  // AlreadyExists when the id is taken.
  absl::Status AddSubscriber(SubscriberId id, EventSink& sink);
  // The subscriber and all its subscriptions go. Unknown ids are ignored.
  void RemoveSubscriber(SubscriberId id);

  // Subscribes `id` to every event of `channel` (no key, or an empty one),
  // or only to those about `key` (a node or actor id, binary). NotFound for
  // an unknown subscriber.
  absl::Status Subscribe(SubscriberId id, GcsChannel channel,
                         const std::optional<std::string>& key = std::nullopt);
  // Ends that subscription, if there is one.
  void Unsubscribe(SubscriberId id, GcsChannel channel,
                   const std::optional<std::string>& key = std::nullopt);

  // A node's record changed (registered, or dead).
  void PublishNode(const rpc::NodeInfo& node);
  // An actor's record changed (its state).
  void PublishActor(const rpc::ActorInfo& actor);

  // The sequence number of the last event published (0: none yet).
  uint64_t last_sequence() const { return sequence_; }

 private:
  // A channel, and "" for all of it or the id of one node or actor.
  using Topic = std::pair<GcsChannel, std::string>;
  struct Subscriber {
    EventSink* sink;
    std::set<Topic> topics;
  };

  void Publish(GcsChannel channel, const std::string& key, rpc::GcsEvent event);

  uint64_t sequence_ = 0;
  std::map<SubscriberId, Subscriber> subscribers_;  // ordered: deliveries in id order
};

}  // namespace flare

#endif  // FLARE_GCS_PUBLISHER_H_
