// The placement group manager's test fixture: this node (4 CPUs) and two
// others, b before c, that are entries of the cluster view and a
// RecordingPeers; a driver whose job hears the warnings; an in-process GCS.
// No I/O.
#ifndef FLARE_TESTS_CPP_PLACEMENT_GROUP_MANAGER_HARNESS_H_
#define FLARE_TESTS_CPP_PLACEMENT_GROUP_MANAGER_HARNESS_H_

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "common/placement_group_resources.h"
#include "gcs/gcs.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"
#include "raylet/placement_group_manager.h"
#include "raylet_fakes.h"
#include "table_returns.h"

namespace flare {
namespace testing {

class PlacementGroupManagerHarness : public ::testing::Test {
 protected:
  static constexpr ClientId kDriver = 1;
  static constexpr ClientId kCreatorPeer = 7;  // another node's raylet, as a client here
  static constexpr auto kPrepare = rpc::Message::kPrepareBundles;
  static constexpr auto kCommit = rpc::Message::kCommitBundles;
  static constexpr auto kReturn = rpc::Message::kReturnBundles;

  PlacementGroupManagerHarness() {
    std::tie(b_, c_) = testing::OrderedNodeIds();
    ClientInfo& driver = clients_.infos[kDriver];  // its job hears the warnings
    driver.id = kDriver;
    driver.kind = rpc::DRIVER;
    driver.job_id = JobId::FromRandom();
    driver.log_to_driver = true;
  }
  rpc::CreatePlacementGroup Request(const std::vector<std::map<std::string, double>>& bundles,
                                    const std::string& strategy = "PACK") {
    rpc::CreatePlacementGroup request;
    request.set_pg_id(PlacementGroupId::FromRandom().Binary());
    for (const auto& bundle : bundles) ResourceSet::FromMap(bundle).ToProto(request.add_bundles());
    request.set_strategy(strategy);
    request.set_ready_id(ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1).Binary());
    request.set_ready_value("ready");
    return request;
  }
  static PlacementGroupId IdOf(const rpc::CreatePlacementGroup& request) {
    return PlacementGroupId::FromBinary(request.pg_id());
  }
  const ObjectEntry* ReadyObject(const rpc::CreatePlacementGroup& request) {
    return objects_.Find(ObjectId::FromBinary(request.ready_id()));
  }
  bool IsReady(const rpc::CreatePlacementGroup& request) {
    return objects_.IsReady(ObjectId::FromBinary(request.ready_id()));
  }
  rpc::PlacementGroupInfo Record(const rpc::CreatePlacementGroup& request) {
    // The state the manager reported to the GCS.
    auto records = gcs_.GetPlacementGroups(IdOf(request));
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? rpc::PlacementGroupInfo() : records[0];
  }
  rpc::PlacementGroupState State(const rpc::CreatePlacementGroup& request) {
    return Record(request).state();
  }
  std::vector<TaskId> ReservePending() { return groups_.ReservePending(view_); }
  // The lines the driver's job was sent since the last call.
  std::vector<std::string> WarningsToTheDriver() {
    std::vector<std::string> lines;
    for (const auto& message : clients_.Take(kDriver, rpc::Message::kLogLines)) {
      for (const auto& line : message.log_lines().lines()) lines.push_back(line);
    }
    return lines;
  }
  // `node` reports `cpus` CPUs, all free.
  void Report(const NodeId& node, double cpus) {
    view_.UpdateNode(node, {ResourceSet::FromMap({{"CPU", cpus}}),
                            ResourceSet::FromMap({{"CPU", cpus}})});
  }
  // `node` answers the last prepare it was sent.
  void Answers(const NodeId& node, bool ok) {
    const auto prepares = peers_.Of(node, kPrepare);
    ASSERT_FALSE(prepares.empty()) << "no prepare was sent to that node";
    rpc::BundlesPrepared reply;
    reply.set_pg_id(prepares.back().prepare_bundles().pg_id());
    reply.set_round(prepares.back().prepare_bundles().round());
    reply.set_ok(ok);
    groups_.OnPrepareReply(node, reply);
  }
  // A STRICT_SPREAD group of two one-CPU bundles, reserved here and on b.
  rpc::CreatePlacementGroup ReservedHereAndOnB() {
    Report(b_, 1);
    const auto request = Request({{{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_SPREAD");
    groups_.Create(kDriver, request);
    ReservePending();
    Answers(b_, true);
    return request;
  }
  // What a creator sends to hold bundle `index` (of `cpus` CPUs) here.
  static rpc::PrepareBundles PrepareOf(const PlacementGroupId& group, uint64_t round, int index,
                                       double cpus) {
    rpc::PrepareBundles prepare;
    prepare.set_pg_id(group.Binary());
    prepare.set_round(round);
    prepare.add_bundle_indexes(static_cast<uint32_t>(index));
    ResourceSet::FromMap({{"CPU", cpus}}).ToProto(prepare.add_bundles());
    return prepare;
  }
  static ResourceSet Demand(const std::string& name, const PlacementGroupId& group, int bundle,
                            double amount) {
    return ResourceSet::FromMap({{GroupResourceName(name, group.Hex(), bundle), amount}});
  }

  NodeId self_ = NodeId::FromRandom();
  NodeId b_;
  NodeId c_;
  Scheduler scheduler_{ResourceSet::FromMap({{"CPU", 4}})};
  ObjectTable objects_{1 << 20};
  TableReturns returns_{objects_};
  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient gcs_client_{gcs_};
  RecordingPeers peers_;
  RecordingClients clients_;
  ClusterResourceView view_{self_, scheduler_.total(), scheduler_.available()};
  PlacementGroupManager groups_{scheduler_, objects_, returns_, gcs_client_,
                                peers_,     clients_, self_};
};

}  // namespace testing
}  // namespace flare

#endif  // FLARE_TESTS_CPP_PLACEMENT_GROUP_MANAGER_HARNESS_H_
