// The fixture of the TaskManager's specifications across nodes: the node's
// units with fake I/O (node_units_harness.h), two other nodes (b, c) as
// entries of the cluster view, and helpers to report their resources, end
// them, and play what they send back.
#ifndef FLARE_TESTS_CPP_TASK_MANAGER_REMOTE_HARNESS_H_
#define FLARE_TESTS_CPP_TASK_MANAGER_REMOTE_HARNESS_H_

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "node_units_harness.h"
#include "raylet/task_manager.h"

namespace flare {

using testing::NodeUnitsHarness;

constexpr auto kPutInline = rpc::Message::kPutInline;
constexpr auto kLocation = rpc::Message::kObjectLocation;
constexpr auto kSubmit = rpc::Message::kSubmitTask;
constexpr auto kRelease = rpc::Message::kRefUpdate;
constexpr auto kCancel = rpc::Message::kCancelTask;
constexpr auto kReturnTasks = rpc::Message::kReturnTasks;

class TaskManagerRemoteTest : public ::testing::Test {
 protected:
  explicit TaskManagerRemoteTest(double cpus = 1) : node_(cpus) {
    node_.Attach(tasks_, /*actors=*/nullptr);
    // Two other nodes, b before c in the view's order (ties go to b).
    std::tie(b_, c_) = testing::OrderedNodeIds();
  }

  // ---- the cluster ------------------------------------------------------------

  // `node` reports `total` CPUs of which `available` are free.
  void Report(const NodeId& node, double total, double available) {
    node_.view().UpdateNode(node, {ResourceSet::FromMap({{"CPU", total}}),
                                   ResourceSet::FromMap({{"CPU", available}})});
  }
  // `node` died: it leaves the view, then the task manager hears of it (as
  // the NodeManager does on a cluster report without it).
  void NodeDies(const NodeId& node) {
    node_.view().RemoveNode(node);
    tasks_.OnNodeGone(node, "died or left the cluster");
  }
  // The tasks sent to `node`, in order, and their specs.
  std::vector<TaskId> SentTo(const NodeId& node) {
    std::vector<TaskId> ids;
    for (const auto& spec : SpecsSentTo(node)) ids.push_back(TaskId::FromBinary(spec.task_id()));
    return ids;
  }
  std::vector<rpc::TaskSpec> SpecsSentTo(const NodeId& node) {
    std::vector<rpc::TaskSpec> specs;
    for (const auto& message : node_.peers().Of(node, kSubmit)) {
      specs.push_back(message.submit_task().spec());
    }
    return specs;
  }
  std::vector<rpc::Message::BodyCase> KindsSentTo(const NodeId& node) {
    std::vector<rpc::Message::BodyCase> kinds;
    for (const auto& message : node_.peers().sent[node]) kinds.push_back(message.body_case());
    return kinds;
  }
  // What a node sends back for a task placed there that it cannot hold
  // (it has `cpus` CPUs).
  static rpc::TaskSpilledBack SpilledBack(const TaskId& task, double cpus) {
    rpc::TaskSpilledBack back;
    back.set_task_id(task.Binary());
    back.set_why("it needs more CPUs than the node has");
    ResourceSet::FromMap({{"CPU", cpus}}).ToProto(back.mutable_total());
    return back;
  }
  // All the object ids released on `node`.
  std::vector<ObjectId> ReleasedOn(const NodeId& node) {
    std::vector<ObjectId> ids;
    for (const auto& message : node_.peers().Of(node, kRelease)) {
      for (const auto& binary : message.ref_update().remove()) {
        ids.push_back(ObjectId::FromBinary(binary));
      }
    }
    return ids;
  }
  // `node` sends return `index` of `task`: a value, an error, an arena object.
  void ReturnsValue(const NodeId& node, const TaskId& task, const std::string& value,
                    uint32_t index = 1) {
    rpc::ObjectData data;
    data.set_object_id(ObjectIdFor(task, index).Binary());
    data.set_inline_data(value);
    tasks_.OnPeerObject(node, data);
  }
  void ReturnsError(const NodeId& node, const TaskId& task, const std::string& message,
                    uint32_t index = 1) {
    rpc::ObjectData data;
    data.set_object_id(ObjectIdFor(task, index).Binary());
    data.set_error(rpc::TASK_ERROR);
    data.set_error_message(message);
    tasks_.OnPeerObject(node, data);
  }
  void ReturnsInStore(const NodeId& node, const TaskId& task, uint64_t size, uint32_t index = 1) {
    rpc::ObjectData data;
    data.set_object_id(ObjectIdFor(task, index).Binary());
    data.set_in_store(true);
    data.set_size(size);
    tasks_.OnPeerObject(node, data);
  }

  // ---- tasks and objects -----------------------------------------------------------

  rpc::TaskSpec Spec(const std::string& name,
                     const std::map<std::string, double>& resources = {{"CPU", 1}}) {
    return testing::TaskSpecFor(driver_.job_id, name, resources);
  }
  rpc::TaskSpec Pinned(const std::string& name, const NodeId& node, bool soft = false) {
    rpc::TaskSpec spec = Spec(name);
    spec.mutable_strategy()->set_kind(rpc::SchedulingStrategySpec::NODE_AFFINITY);
    spec.mutable_strategy()->set_node_id(node.Binary());
    spec.mutable_strategy()->set_soft(soft);
    return spec;
  }
  // The creation of an actor (no restarts) pinned to `node`.
  rpc::TaskSpec PinnedCreation(const NodeId& node) {
    rpc::TaskSpec spec = testing::ActorCreationSpec(driver_.job_id, 0);
    spec.mutable_strategy()->set_kind(rpc::SchedulingStrategySpec::NODE_AFFINITY);
    spec.mutable_strategy()->set_node_id(node.Binary());
    return spec;
  }
  rpc::TaskSpec Spread(const std::string& name) {
    rpc::TaskSpec spec = Spec(name);
    spec.mutable_strategy()->set_kind(rpc::SchedulingStrategySpec::SPREAD);
    return spec;
  }
  rpc::TaskSpec Retried(rpc::TaskSpec spec, int max_retries) {
    spec.set_max_retries(max_retries);
    return spec;
  }
  static rpc::TaskSpec Reading(rpc::TaskSpec spec, const std::vector<ObjectId>& args) {
    for (const ObjectId& arg : args) spec.add_dependencies(arg.Binary());
    return spec;
  }
  TaskId Submit(rpc::TaskSpec spec) { return node_.Submit(driver_, std::move(spec)); }
  // Submits `spec`, which starts on `worker` at once.
  TaskId RunOn(ClientId worker, rpc::TaskSpec spec) {
    const TaskId task = Submit(std::move(spec));
    EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{task}) << "it runs here";
    return task;
  }
  // The driver's objects: a small value, an arena object.
  ObjectId PutSmall(const std::string& value) {
    const ObjectId id = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
    node_.objects().PutInline(driver_.id, id, value, {});
    return id;
  }
  ObjectId PutInStore(uint64_t size) {
    const ObjectId id = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
    EXPECT_TRUE(node_.objects().Create(driver_.id, id, size).ok());
    EXPECT_TRUE(node_.objects().Seal(id, {}).ok());
    return id;
  }
  // Whether pending tasks here hold `id` as an argument.
  bool HeldByTasks(const ObjectId& id) {
    const ObjectEntry* entry = node_.objects().Find(id);
    return entry != nullptr && entry->holders.contains(kTaskArgHolder);
  }
  // The log lines the driver was sent since the last call.
  std::vector<std::string> DriverLog() {
    std::vector<std::string> lines;
    for (const auto& message : node_.clients().Take(driver_.id, rpc::Message::kLogLines)) {
      for (const auto& line : message.log_lines().lines()) lines.push_back(line);
    }
    return lines;
  }

  NodeUnitsHarness node_;
  testing::NoActors no_actors_;
  TaskManager tasks_{node_.units(), node_.policy(), node_.view(), no_actors_};
  ClientInfo driver_ = node_.Driver();
  NodeId b_;
  NodeId c_;
};

// A node of two CPUs.
class TaskManagerRemoteTwoCpuTest : public TaskManagerRemoteTest {
 protected:
  TaskManagerRemoteTwoCpuTest() : TaskManagerRemoteTest(2) {}
};

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace flare

#endif  // FLARE_TESTS_CPP_TASK_MANAGER_REMOTE_HARNESS_H_
