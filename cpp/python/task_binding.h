// Task records between flare._core and Python: the spec of an actor
// creation (ActorOptions), the task a worker runs (ExecutedTask, a record
// with named fields), fetched values and task results. Conversion only.
#ifndef FLARE_PYTHON_TASK_BINDING_H_
#define FLARE_PYTHON_TASK_BINDING_H_

#include <pybind11/pybind11.h>

#include <vector>

#include "client/core_client.h"
#include "flare.pb.h"

namespace flare::python {

// _core.ActorOptions: how an actor lives, given to its creation task.
struct ActorOptions {
  rpc::ActorOptions proto;
};

// One fetched object as Python sees it: (error, message, buffer), where
// error is None for a value or an ErrorCode.
pybind11::tuple ToPython(ObjectValue value);

// The ExecutedTask record of a task the raylet sent this worker.
pybind11::object ToExecutedTask(CoreClient& client, const rpc::ExecuteTask& task);

// Task results from Python: [(object_id, kind, payload, contained)] where
// kind is "inline" (payload: bytes), "store" (already written, to be sealed;
// payload: size) or an ErrorCode (payload: (message, pickled error)).
std::vector<rpc::ReturnObject> ToReturns(const pybind11::list& returns);

void RegisterTasks(pybind11::module_& m);

}  // namespace flare::python

#endif  // FLARE_PYTHON_TASK_BINDING_H_
