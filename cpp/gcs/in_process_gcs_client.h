// The GcsClient of the head node: requests go straight to the Gcs in this
// process and every callback runs before the method returns.
//
// Borrows the Gcs, which must outlive it. Thread-compatible: the raylet's
// event loop is its only user.
#ifndef FLARE_GCS_IN_PROCESS_GCS_CLIENT_H_
#define FLARE_GCS_IN_PROCESS_GCS_CLIENT_H_

#include "gcs/gcs.h"
#include "gcs/gcs_client.h"

namespace flare {

class InProcessGcsClient : public GcsClient {
 public:
  explicit InProcessGcsClient(Gcs& gcs) : gcs_(gcs) {}

  void RegisterNode(const rpc::NodeInfo& node, StatusCallback done) override;
  void GetAllNodes(Callback<std::vector<rpc::NodeInfo>> done) override;
  void ReportResources(const NodeId& node, const rpc::ResourceSet& available) override;
  void SubscribeClusterView(
      std::function<void(const std::vector<rpc::NodeInfo>&)> on_view) override;
  void KvPut(const std::string& key, std::string value, bool overwrite,
             Callback<bool> done) override;
  void KvGet(const std::string& key, Callback<std::optional<std::string>> done) override;
  void KvDelete(const std::string& key, Callback<bool> done) override;
  void AddJob(rpc::JobInfo job, Callback<JobId> done) override;
  void MarkJobFinished(const JobId& job, StatusCallback done) override;
  void GetJob(const JobId& job, Callback<std::optional<rpc::JobInfo>> done) override;
  void RegisterActor(rpc::ActorInfo actor, StatusCallback done) override;
  void ReportActorState(const ActorId& actor, rpc::ActorState state, StatusCallback done) override;
  void LookupNamedActor(const std::string& name_space, const std::string& name,
                        Callback<std::optional<rpc::ActorInfo>> done) override;
  void ListNamedActors(const std::optional<std::string>& name_space,
                       Callback<std::vector<rpc::ActorInfo>> done) override;
  void AddPlacementGroup(rpc::PlacementGroupInfo group, StatusCallback done) override;
  void ReportPlacementGroupCreated(const PlacementGroupId& group, std::vector<NodeId> bundle_nodes,
                                   StatusCallback done) override;
  void ReportPlacementGroupInfeasible(const PlacementGroupId& group, StatusCallback done) override;
  void ReportPlacementGroupRescheduling(const PlacementGroupId& group,
                                       StatusCallback done) override;
  void ReportPlacementGroupRemoved(const PlacementGroupId& group, StatusCallback done) override;
  void GetPlacementGroups(const std::optional<PlacementGroupId>& group,
                          Callback<std::vector<rpc::PlacementGroupInfo>> done) override;
  void LookupNamedPlacementGroup(const std::string& name_space, const std::string& name,
                                 Callback<std::optional<rpc::PlacementGroupInfo>> done) override;

 private:
  Gcs& gcs_;
};

}  // namespace flare

#endif  // FLARE_GCS_IN_PROCESS_GCS_CLIENT_H_
