#include "python/task_binding.h"

#include <pybind11/stl.h>
#include <structseq.h>

#include <map>
#include <string>

#include "python/object_buffer.h"

namespace flare::python {

namespace py = pybind11;

namespace {

// ExecutedTask's fields, in order. A struct sequence (as os.stat_result):
// named fields read as fast as a tuple's items, built without a Python call.
enum ExecutedTaskField {
  kTaskId,
  kJobId,
  kFunctionKey,
  kFunctionName,
  kArgs,
  kResolved,
  kNumReturns,
  kAttempt,
  kMaxRetries,
  kRetryExceptions,
  kActorId,
  kMethodName,
  kIsActorCreation,
  kMaxConcurrency,
  kStreaming,
  kDynamicReturns,
  kAssignedResources,
  kRuntimeEnv,
  kGpuIds,
  kNumExecutedTaskFields,
};

PyStructSequence_Field kExecutedTaskFields[] = {
    {"task_id", "bytes: the task's id"},
    {"job_id", "bytes: the job it runs for"},
    {"function_key", "str: GCS key of the pickled function or actor class"},
    {"function_name", "str: for logs and errors"},
    {"args", "bytes or ObjectBuffer: the serialized (args, kwargs)"},
    {"resolved", "list of (error, message, buffer): top-level ObjectRef arguments, in order"},
    {"num_returns", "int"},
    {"attempt", "int: 0 for the first run"},
    {"max_retries", "int"},
    {"retry_exceptions", "bytes: pickled True or list of classes; empty: none"},
    {"actor_id", "bytes: the actor it creates or calls; empty for a task"},
    {"method_name", "str: the actor method it calls; empty otherwise"},
    {"is_actor_creation", "bool: it runs an actor's constructor"},
    {"max_concurrency", "int: the actor's, for a creation"},
    {"streaming", "bool: a streaming generator"},
    {"dynamic_returns", "bool: num_returns='dynamic'"},
    {"assigned_resources", "dict or None: what get_assigned_resources() reports (None for an "
                           "actor call: the actor's own stay)"},
    {"runtime_env", "bytes or None: the pickled runtime_env to apply"},
    {"gpu_ids", "list of int: the node's GPU devices it may use"},
    {nullptr, nullptr},
};

PyStructSequence_Desc kExecutedTaskDesc = {
    "flare._core.ExecutedTask", "A task the raylet sent this worker to run.", kExecutedTaskFields,
    kNumExecutedTaskFields};

PyTypeObject* executed_task_type = nullptr;

py::dict ToDict(const google::protobuf::Map<std::string, double>& amounts, bool positive_only) {
  py::dict out;
  for (const auto& [name, amount] : amounts) {
    if (!positive_only || amount > 0) out[py::str(name)] = amount;
  }
  return out;
}

py::object AssignedResources(const rpc::TaskSpec& spec) {
  if (!spec.actor_id().empty() && !spec.has_actor()) return py::none();
  return ToDict(spec.has_actor() ? spec.actor().lifetime_resources().amounts() : spec.resources().amounts(),
                /*positive_only=*/true);
}

void Set(PyObject* record, ExecutedTaskField field, py::object value) {
  PyStructSequence_SetItem(record, field, value.release().ptr());
}

}  // namespace

py::tuple ToPython(ObjectValue value) {
  py::object error = value.error == rpc::ERROR_NONE ? py::object(py::none()) : py::cast(value.error);
  std::string message = value.error_message;
  return py::make_tuple(std::move(error), std::move(message), ObjectBuffer{std::move(value)});
}

py::object ToExecutedTask(CoreClient& client, const rpc::ExecuteTask& task) {
  const rpc::TaskSpec& spec = task.spec();
  py::object record = py::reinterpret_steal<py::object>(PyStructSequence_New(executed_task_type));
  if (!record) throw py::error_already_set();
  PyObject* raw = record.ptr();
  py::list resolved;
  for (const auto& data : task.resolved()) resolved.append(ToPython(client.MakeValue(data)));
  const bool creation = spec.has_actor();
  Set(raw, kTaskId, py::bytes(spec.task_id()));
  Set(raw, kJobId, py::bytes(spec.job_id()));
  Set(raw, kFunctionKey, py::str(spec.function_key()));
  Set(raw, kFunctionName, py::str(spec.function_name()));
  Set(raw, kArgs, task.has_args_data()
                      ? py::object(py::cast(ObjectBuffer{client.MakeValue(task.args_data())}))
                      : py::object(py::bytes(spec.args())));
  Set(raw, kResolved, std::move(resolved));
  Set(raw, kNumReturns, py::int_(spec.num_returns()));
  Set(raw, kAttempt, py::int_(spec.attempt()));
  Set(raw, kMaxRetries, py::int_(spec.max_retries()));
  Set(raw, kRetryExceptions, py::bytes(spec.retry_exceptions()));
  Set(raw, kActorId, py::bytes(spec.actor_id()));
  Set(raw, kMethodName, py::str(creation ? std::string() : spec.method_name()));
  Set(raw, kIsActorCreation, py::bool_(creation));
  Set(raw, kMaxConcurrency, py::int_(spec.actor().max_concurrency()));
  Set(raw, kStreaming, py::bool_(spec.streaming()));
  Set(raw, kDynamicReturns, py::bool_(spec.dynamic_returns()));
  Set(raw, kAssignedResources, AssignedResources(spec));
  Set(raw, kRuntimeEnv, spec.runtime_env().empty() ? py::object(py::none())
                                                   : py::object(py::bytes(spec.runtime_env())));
  py::list gpus;
  for (uint32_t gpu : task.gpu_ids()) gpus.append(py::int_(gpu));
  Set(raw, kGpuIds, std::move(gpus));
  return record;
}

std::vector<rpc::ReturnObject> ToReturns(const py::list& returns) {
  std::vector<rpc::ReturnObject> out;
  out.reserve(returns.size());
  for (const auto& item : returns) {
    py::tuple entry = item.cast<py::tuple>();
    rpc::ReturnObject& ret = out.emplace_back();
    auto* data = ret.mutable_data();
    data->set_object_id(std::string(entry[0].cast<py::bytes>()));
    py::object kind = entry[1];
    if (!py::isinstance<py::str>(kind)) {
      data->set_error(kind.cast<rpc::ErrorCode>());
      py::tuple payload = entry[2].cast<py::tuple>();
      data->set_error_message(payload[0].cast<std::string>());
      data->set_inline_data(std::string(payload[1].cast<py::bytes>()));
    } else if (kind.cast<std::string>() == "store") {
      data->set_in_store(true);
      data->set_size(entry[2].cast<uint64_t>());
    } else {
      data->set_inline_data(std::string(entry[2].cast<py::bytes>()));
    }
    for (const auto& inner : entry[3].cast<py::list>()) {
      ret.add_contained_refs(std::string(inner.cast<py::bytes>()));
    }
  }
  return out;
}

void RegisterTasks(py::module_& m) {
  executed_task_type = PyStructSequence_NewType(&kExecutedTaskDesc);
  if (executed_task_type == nullptr) throw py::error_already_set();
  m.attr("ExecutedTask") = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(executed_task_type));

  py::class_<ActorOptions>(m, "ActorOptions", "How an actor lives, given to its creation task.")
      .def(py::init([](uint32_t max_concurrency, int32_t max_restarts, int32_t max_task_retries,
                       const std::string& name_key, bool detached,
                       const std::map<std::string, double>& lifetime_resources,
                       const std::string& class_name, bool out_of_order) {
             ActorOptions options;
             rpc::ActorOptions& actor = options.proto;
             actor.set_max_concurrency(max_concurrency);
             actor.set_max_restarts(max_restarts);
             actor.set_max_task_retries(max_task_retries);
             actor.set_name_key(name_key);
             actor.set_detached(detached);
             actor.set_class_name(class_name);
             actor.set_out_of_order(out_of_order);
             for (const auto& [name, amount] : lifetime_resources) {
               (*actor.mutable_lifetime_resources()->mutable_amounts())[name] = amount;
             }
             return options;
           }),
           py::kw_only(), py::arg("max_concurrency"), py::arg("max_restarts"),
           py::arg("max_task_retries"), py::arg("name_key") = "", py::arg("detached") = false,
           py::arg("lifetime_resources") = std::map<std::string, double>(),
           py::arg("class_name") = "", py::arg("out_of_order") = false)
      .def_property_readonly("max_concurrency",
                             [](const ActorOptions& o) { return o.proto.max_concurrency(); })
      .def_property_readonly("lifetime_resources", [](const ActorOptions& o) {
        return ToDict(o.proto.lifetime_resources().amounts(), /*positive_only=*/false);
      });
}

}  // namespace flare::python
