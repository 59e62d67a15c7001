// The node's shared state machines and I/O interfaces, as the task and actor
// managers borrow them. The NodeManager owns every one of them (unit tests
// own them over fakes: a recording ClientChannel, manual Timers, recording
// ProcessControl); each must outlive the managers that borrow it.
#ifndef FLARE_RAYLET_NODE_UNITS_H_
#define FLARE_RAYLET_NODE_UNITS_H_

#include "gcs/gcs_client.h"
#include "object_store/object_table.h"
#include "raylet/clients.h"
#include "raylet/generator_manager.h"
#include "raylet/gpu_slots.h"
#include "raylet/lease_manager.h"
#include "raylet/node_io.h"
#include "raylet/placement_group_manager.h"
#include "raylet/remote_tasks.h"
#include "raylet/return_store.h"
#include "raylet/scheduler.h"
#include "raylet/spill_manager.h"
#include "raylet/worker_pool.h"

namespace flare {

struct NodeUnits {
  ObjectTable& objects;
  ReturnStore& returns;  // stores into `objects` and wakes whoever waits
  Scheduler& scheduler;
  GpuSlots& gpus;
  LeaseManager& leases;
  WorkerPool& pool;
  SpillManager& spill;
  GeneratorManager& generators;
  PlacementGroupManager& groups;
  GcsClient& gcs;
  ClientChannel& clients;
  ProcessControl& processes;
  Timers& timers;
  RemoteTasks& remote;  // tasks this node placed on other nodes
};

}  // namespace flare

#endif  // FLARE_RAYLET_NODE_UNITS_H_
