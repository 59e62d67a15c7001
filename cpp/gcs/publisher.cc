#include "gcs/publisher.h"

namespace flare {

absl::Status Publisher::AddSubscriber(SubscriberId id, EventSink& sink) {
  if (!subscribers_.try_emplace(id, Subscriber{&sink, {}}).second) {
    return absl::AlreadyExistsError("subscriber " + std::to_string(id) + " already exists");
  }
  return absl::OkStatus();
}

void Publisher::RemoveSubscriber(SubscriberId id) { subscribers_.erase(id); }

absl::Status Publisher::Subscribe(SubscriberId id, GcsChannel channel,
                                  const std::optional<std::string>& key) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) {
    return absl::NotFoundError("no subscriber " + std::to_string(id) + " to subscribe");
  }
  it->second.topics.emplace(channel, key.value_or(""));
  return absl::OkStatus();
}

void Publisher::Unsubscribe(SubscriberId id, GcsChannel channel,
                            const std::optional<std::string>& key) {
  auto it = subscribers_.find(id);
  if (it != subscribers_.end()) it->second.topics.erase(Topic(channel, key.value_or("")));
}

void Publisher::PublishNode(const rpc::NodeInfo& node) {
  rpc::GcsEvent event;
  *event.mutable_node() = node;
  Publish(GcsChannel::kNodes, node.node_id(), event);
}

void Publisher::PublishActor(const rpc::ActorInfo& actor) {
  rpc::GcsEvent event;
  *event.mutable_actor() = actor;
  Publish(GcsChannel::kActors, actor.actor_id(), event);
}

void Publisher::Publish(GcsChannel channel, const std::string& key, rpc::GcsEvent event) {
  event.set_sequence(++sequence_);
  const Topic whole(channel, "");
  const Topic one(channel, key);
  for (const auto& [id, subscriber] : subscribers_) {
    if (subscriber.topics.count(whole) > 0 || (!key.empty() && subscriber.topics.count(one) > 0)) {
      subscriber.sink->Deliver(id, event);
    }
  }
}

}  // namespace flare
