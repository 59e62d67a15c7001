// Binding of CoreClient: type conversion and GIL release only.
#include <unistd.h>

#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "client/core_client.h"
#include "python/object_buffer.h"
#include "python/status.h"
#include "python/task_binding.h"

namespace flare::python {

namespace py = pybind11;

namespace {

std::vector<ObjectId> ToIds(const std::vector<py::bytes>& ids) {
  std::vector<ObjectId> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    char* data;
    py::ssize_t size;
    PyBytes_AsStringAndSize(id.ptr(), &data, &size);
    out.push_back(ObjectId::FromBinary(std::string_view(data, static_cast<size_t>(size))));
  }
  return out;
}

ObjectId ToId(const py::bytes& id) {
  char* data;
  py::ssize_t size;
  PyBytes_AsStringAndSize(id.ptr(), &data, &size);
  return ObjectId::FromBinary(std::string_view(data, static_cast<size_t>(size)));
}

py::bytes AsBytes(const std::string& s) { return py::bytes(s); }

std::map<std::string, double> ToMap(const rpc::ResourceSet& resources) {
  return {resources.amounts().begin(), resources.amounts().end()};
}

py::dict ToPython(const rpc::PlacementGroupInfo& info) {
  py::dict out;
  out["pg_id"] = py::bytes(info.pg_id());
  out["name"] = info.name();
  out["namespace"] = info.namespace_();
  out["strategy"] = info.strategy();
  py::list bundles;
  for (const auto& bundle : info.bundles()) bundles.append(ToMap(bundle));
  out["bundles"] = bundles;
  py::list nodes;
  for (const auto& node : info.bundle_node_ids()) nodes.append(py::bytes(node));
  out["bundle_node_ids"] = nodes;
  out["state"] = rpc::PlacementGroupState_Name(info.state()).substr(3);  // without "PG_"
  out["infeasible"] = info.infeasible();
  return out;
}

py::dict ToPython(const rpc::ActorInfo& actor) {
  py::dict out;
  out["actor_id"] = py::bytes(actor.actor_id());
  out["name"] = actor.name();
  out["namespace"] = actor.namespace_();
  out["class_name"] = actor.class_name();
  out["methods"] = py::bytes(actor.methods());
  out["node_id"] = py::bytes(actor.node_id());
  out["state"] = rpc::ActorState_Name(actor.state()).substr(6);  // without "ACTOR_"
  return out;
}

// Runs on the calling thread without the GIL; takes it only to see whether
// Ctrl-C (or another signal handler) wants the wait to end.
bool PythonInterrupted() {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

// Python handles signals on its main thread only. REQUIRES: the GIL is held.
bool OnMainThread() {
  static const unsigned long main_ident =
      py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  return PyThread_get_thread_ident() == main_ident;
}

// signal.set_wakeup_fd (the C API's PySignal_SetWakeupFd is not exported
// by every build), called twice per blocking call on the main thread, so
// through the C API with one positional argument (no keyword dictionary)
// unless `warn_on_full_buffer` must be false. Kept for the process's life.
// REQUIRES: the GIL is held.
int SetWakeupFd(int fd, bool warn_on_full_buffer) {
  static py::object* set_wakeup_fd =
      new py::object(py::module_::import("signal").attr("set_wakeup_fd"));
  if (!warn_on_full_buffer) {
    return (*set_wakeup_fd)(fd, py::arg("warn_on_full_buffer") = false).cast<int>();
  }
  py::object old = py::reinterpret_steal<py::object>(
      PyObject_CallOneArg(set_wakeup_fd->ptr(), py::int_(fd).ptr()));
  if (!old) throw py::error_already_set();
  return old.cast<int>();
}

// For one blocking call on the main thread: Python's signal wake-up fd is
// the client's meanwhile, so a signal wakes the wait at once (no periodic
// check); the fd it replaced (an asyncio loop's, say) gets back its place
// and the signal bytes that arrived. Other threads wait without an
// interruption check: they could not handle a signal anyway.
// REQUIRES: the GIL is held when it is made and when it goes.
class SignalScope {
 public:
  explicit SignalScope(CoreClient& client) : client_(client), main_(OnMainThread()) {
    if (!main_) return;
    replaced_ = SetWakeupFd(client.signal_wakeup_fd(), true);
    // A signal that came before the fd was ours: handle it now.
    if (PyErr_CheckSignals() != 0) {
      py::error_already_set raised;  // taken out of the interpreter first
      Restore();
      throw raised;
    }
  }
  ~SignalScope() {
    try {
      Restore();
    } catch (const py::error_already_set&) {
      // Cannot raise from here; the wake-up fd stays ours (it is harmless).
    }
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

  InterruptCheck check() const { return main_ ? InterruptCheck(PythonInterrupted) : nullptr; }

 private:
  void Restore() {
    if (!main_) return;
    main_ = false;
    // Those that set one (asyncio) ask for no warnings on a full buffer.
    SetWakeupFd(replaced_, /*warn_on_full_buffer=*/replaced_ < 0);
    const std::string signals = client_.TakeSignals();
    if (replaced_ >= 0 && !signals.empty()) {
      ssize_t ignored = write(replaced_, signals.data(), signals.size());
      (void)ignored;
    }
  }

  CoreClient& client_;
  bool main_;
  int replaced_ = -1;
};

}  // namespace

void RegisterCoreClient(py::module_& m) {
  py::class_<CoreClient>(m, "CoreClient")
      .def_static(
          "connect",
          [](const std::string& socket_path, const std::string& kind, const std::string& worker_id_hex,
             bool log_to_driver, const py::bytes& job_config, int timeout_ms,
             const std::string& job_namespace) {
            ClientOptions options;
            options.socket_path = socket_path;
            options.kind = kind == "worker" ? rpc::WORKER : rpc::DRIVER;
            std::string binary;
            for (size_t i = 0; i + 1 < worker_id_hex.size(); i += 2) {
              binary.push_back(static_cast<char>(std::stoi(worker_id_hex.substr(i, 2), nullptr, 16)));
            }
            options.worker_id = WorkerId::FromBinary(binary);
            options.log_to_driver = log_to_driver;
            options.job_config = std::string(job_config);
            options.job_namespace = job_namespace;
            options.connect_timeout_ms = timeout_ms;
            options.waiter.spin = SpinFromEnvironment();
            absl::StatusOr<std::unique_ptr<CoreClient>> client;
            {
              py::gil_scoped_release release;
              client = CoreClient::Connect(options);
            }
            return ValueOrThrow(std::move(client));
          },
          py::arg("socket_path"), py::arg("kind"), py::arg("worker_id_hex") = "",
          py::arg("log_to_driver") = true, py::arg("job_config") = py::bytes(),
          py::arg("timeout_ms") = 10000, py::arg("namespace") = "")
      .def_property_readonly("job_id", [](const CoreClient& c) { return AsBytes(c.job_id().Binary()); })
      .def_property_readonly("node_id", [](const CoreClient& c) { return AsBytes(c.node_id().Binary()); })
      .def_property_readonly("session_dir", &CoreClient::session_dir)
      .def_property_readonly(
          "owner_address",
          [](const CoreClient& c) {
            const OwnerAddress& owner = c.owner_address();
            return py::make_tuple(py::bytes(owner.node_id.Binary()), owner.raylet_address);
          },
          "(node_id, raylet_address) of the owner of the objects this process makes.")
      .def_property_readonly("alive", &CoreClient::alive)
      .def_property_readonly("death_reason", &CoreClient::death_reason)
      .def("new_task_id", [](CoreClient& c) { return AsBytes(c.NewTaskId().Binary()); })
      .def("new_put_id", [](CoreClient& c) { return AsBytes(c.NewPutId().Binary()); })
      .def(
          "submit_task",
          [](CoreClient& c, const py::bytes& task_id, const py::bytes& job_id, const std::string& function_key,
             const std::string& function_name, const py::object& args, const py::object& args_object_id,
             const std::vector<py::bytes>& dependencies, const std::vector<py::bytes>& nested_refs,
             uint32_t num_returns, const std::map<std::string, double>& resources, int max_retries,
             const py::bytes& parent_task_id, const py::bytes& retry_exceptions, double timeout_s,
             bool retry_on_timeout, const py::bytes& actor_id, const ActorOptions* actor,
             const std::string& method_name, bool streaming, const py::bytes& runtime_env,
             bool dynamic_returns, int strategy_kind, const py::bytes& strategy_node_id,
             bool strategy_soft, const py::bytes& actor_node_id) {
            // Each keyword is the rpc::TaskSpec field of the same name.
            rpc::TaskSpec spec;
            spec.set_task_id(std::string(task_id));
            // A worker submits on behalf of the job of the task it runs.
            const std::string job(job_id);
            spec.set_job_id(job.empty() ? c.job_id().Binary() : job);
            spec.set_function_key(function_key);
            spec.set_function_name(function_name);
            if (!args.is_none()) spec.set_args(std::string(py::bytes(args)));
            if (!args_object_id.is_none()) spec.set_args_object_id(std::string(py::bytes(args_object_id)));
            for (const auto& dep : dependencies) spec.add_dependencies(std::string(dep));
            for (const auto& nested : nested_refs) spec.add_nested_refs(std::string(nested));
            spec.set_num_returns(num_returns);
            for (const auto& [name, amount] : resources) {
              (*spec.mutable_resources()->mutable_amounts())[name] = amount;
            }
            spec.set_max_retries(max_retries);
            spec.set_parent_task_id(std::string(parent_task_id));
            spec.set_retry_exceptions(std::string(retry_exceptions));
            spec.set_timeout_s(timeout_s);
            spec.set_retry_on_timeout(retry_on_timeout);
            spec.set_actor_id(std::string(actor_id));
            if (actor != nullptr) *spec.mutable_actor() = actor->proto;
            spec.set_method_name(method_name);
            spec.set_streaming(streaming);
            spec.set_runtime_env(std::string(runtime_env));
            spec.set_dynamic_returns(dynamic_returns);
            if (!rpc::SchedulingStrategySpec::Kind_IsValid(strategy_kind)) {
              throw py::value_error("unknown scheduling strategy kind");
            }
            spec.mutable_strategy()->set_kind(
                static_cast<rpc::SchedulingStrategySpec::Kind>(strategy_kind));
            spec.mutable_strategy()->set_node_id(std::string(strategy_node_id));
            spec.mutable_strategy()->set_soft(strategy_soft);
            spec.set_actor_node_id(std::string(actor_node_id));
            ThrowIfError(c.SubmitTask(std::move(spec)));
          },
          py::kw_only(), py::arg("task_id"), py::arg("job_id") = py::bytes(), py::arg("function_key"),
          py::arg("function_name"), py::arg("args") = py::none(), py::arg("args_object_id") = py::none(),
          py::arg("dependencies") = std::vector<py::bytes>(), py::arg("nested_refs") = std::vector<py::bytes>(),
          py::arg("num_returns") = 1, py::arg("resources") = std::map<std::string, double>(),
          py::arg("max_retries") = 0, py::arg("parent_task_id") = py::bytes(),
          py::arg("retry_exceptions") = py::bytes(), py::arg("timeout_s") = 0.0,
          py::arg("retry_on_timeout") = false, py::arg("actor_id") = py::bytes(),
          py::arg("actor") = static_cast<const ActorOptions*>(nullptr), py::arg("method_name") = "",
          py::arg("streaming") = false, py::arg("runtime_env") = py::bytes(),
          py::arg("dynamic_returns") = false, py::arg("strategy_kind") = 0,
          py::arg("strategy_node_id") = py::bytes(), py::arg("strategy_soft") = false,
          py::arg("actor_node_id") = py::bytes(),
          "Submits a task; each keyword is the TaskSpec field of that name (proto/flare.proto). "
          "The caller holds one reference to each return.")
      .def("cancel",
           [](CoreClient& c, const py::bytes& task_id, bool force, bool recursive) {
             ThrowIfError(c.Cancel(TaskId::FromBinary(std::string(task_id)), force, recursive));
           })
      .def("put_inline",
           [](CoreClient& c, const py::bytes& id, const py::bytes& data, const std::vector<py::bytes>& contained) {
             ThrowIfError(c.PutInline(ToId(id), std::string(data), ToIds(contained)));
           })
      .def("create",
           [](CoreClient& c, const py::bytes& id, uint64_t size, int timeout_ms) {
             const ObjectId object = ToId(id);
             absl::StatusOr<uint8_t*> data;
             {
               py::gil_scoped_release release;
               data = c.Create(object, size, timeout_ms);
             }
             uint8_t* base = ValueOrThrow(std::move(data));
             return py::memoryview::from_memory(base, static_cast<py::ssize_t>(size), /*readonly=*/false);
           })
      .def("seal",
           [](CoreClient& c, const py::bytes& id, const std::vector<py::bytes>& contained) {
             ThrowIfError(c.Seal(ToId(id), ToIds(contained)));
           })
      .def("abort", [](CoreClient& c, const py::bytes& id) { c.Abort(ToId(id)); })
      .def("get",
           [](CoreClient& c, const std::vector<py::bytes>& ids, int64_t timeout_ms) {
             const std::vector<ObjectId> objects = ToIds(ids);
             absl::StatusOr<std::vector<ObjectValue>> values;
             {
               SignalScope signals(c);
               py::gil_scoped_release release;
               values = c.Get(objects, timeout_ms, signals.check());
             }
             std::vector<ObjectValue> ready = ValueOrThrow(std::move(values));
             py::list out(ready.size());
             for (size_t i = 0; i < ready.size(); ++i) out[i] = ToPython(std::move(ready[i]));
             return out;
           })
      .def("wait",
           [](CoreClient& c, const std::vector<py::bytes>& ids, size_t num_returns, int64_t timeout_ms,
              bool lend_cpu, bool fetch_local) {
             const std::vector<ObjectId> objects = ToIds(ids);
             absl::StatusOr<std::vector<bool>> ready;
             {
               SignalScope signals(c);
               py::gil_scoped_release release;
               ready = c.Wait(objects, num_returns, timeout_ms, signals.check(), lend_cpu,
                              fetch_local);
             }
             return ValueOrThrow(std::move(ready));
           },
           py::arg("ids"), py::arg("num_returns"), py::arg("timeout_ms"), py::arg("lend_cpu") = true,
           py::arg("fetch_local") = true)
      .def("add_ref", [](CoreClient& c, const py::bytes& id) { c.AddRef(ToId(id)); },
           "Adds a reference to an object owned by this process's node.")
      .def("add_borrowed_ref",
           [](CoreClient& c, const py::bytes& id, const py::bytes& owner_node_id,
              const std::string& owner_address) {
             c.AddRef(ToId(id), OwnerAddress{NodeId::FromBinary(std::string(owner_node_id)),
                                             owner_address});
           },
           py::arg("id"), py::arg("owner_node_id"), py::arg("owner_address"),
           "Adds a reference to an object owned by another node's raylet.")
      .def("remove_ref", [](CoreClient& c, const py::bytes& id) { c.RemoveRef(ToId(id)); })
      .def("num_local_refs", &CoreClient::NumLocalRefs)
      .def("kv_put",
           [](CoreClient& c, const std::string& key, const py::bytes& value, bool overwrite) {
             ThrowIfError(c.KvPut(key, std::string(value), overwrite));
           })
      .def("kv_get",
           [](CoreClient& c, const std::string& key, int timeout_ms) -> py::object {
             absl::StatusOr<std::optional<std::string>> value;
             {
               py::gil_scoped_release release;
               value = c.KvGet(key, timeout_ms);
             }
             auto found = ValueOrThrow(std::move(value));
             if (!found) return py::none();
             return py::bytes(*found);
           })
      .def("cluster_info",
           [](CoreClient& c, int timeout_ms) {
             absl::StatusOr<rpc::ClusterInfoReply> reply;
             {
               py::gil_scoped_release release;
               reply = c.ClusterInfo(timeout_ms);
             }
             rpc::ClusterInfoReply info = ValueOrThrow(std::move(reply));
             py::list nodes;
             for (const auto& node : info.nodes()) {
               py::dict entry;
               entry["node_id"] = py::bytes(node.node_id());
               entry["address"] = node.address();
               entry["ip"] = node.ip();
               entry["port"] = node.port();
               entry["is_head"] = node.is_head();
               entry["hostname"] = node.hostname();
               entry["socket_path"] = node.socket_path();
               entry["labels"] = py::dict();
               for (const auto& [key, value] : node.labels()) entry["labels"][py::str(key)] = value;
               entry["alive"] = node.alive();
               entry["session_dir"] = node.session_dir();
               entry["total"] = ToMap(node.total());
               entry["available"] = ToMap(node.available());
               nodes.append(entry);
             }
             return nodes;
           })
      .def("store_stats",
           [](CoreClient& c, int timeout_ms) {
             absl::StatusOr<rpc::StoreStatsReply> reply;
             {
               py::gil_scoped_release release;
               reply = c.StoreStats(timeout_ms);
             }
             rpc::StoreStatsReply stats = ValueOrThrow(std::move(reply));
             py::dict out;
             out["capacity"] = stats.capacity();
             out["used"] = stats.used();
             out["num_objects"] = stats.num_objects();
             out["num_inline_objects"] = stats.num_inline_objects();
             out["num_tasks"] = stats.num_tasks();
             return out;
           })
      .def("placement_group_table",
           [](CoreClient& c, const py::bytes& pg_id, int timeout_ms) {
             absl::StatusOr<rpc::PlacementGroupTableReply> reply;
             {
               py::gil_scoped_release release;
               reply = c.PlacementGroupTable(std::string(pg_id), timeout_ms);
             }
             const rpc::PlacementGroupTableReply table = ValueOrThrow(std::move(reply));
             py::list groups;
             for (const auto& info : table.groups()) groups.append(ToPython(info));
             return groups;
           })
      .def("next_task",
           [](CoreClient& c, int64_t timeout_ms) -> py::object {
             absl::StatusOr<std::optional<rpc::ExecuteTask>> next;
             {
               SignalScope signals(c);
               py::gil_scoped_release release;
               next = c.NextTask(timeout_ms, signals.check());
             }
             auto task = ValueOrThrow(std::move(next));
             if (!task) return py::none();
             return ToExecutedTask(c, *task);
           },
           "The next ExecutedTask to run, or None after timeout_ms.")
      .def("task_done",
           [](CoreClient& c, const py::bytes& task_id, const py::list& returns, bool application_error,
              bool retryable) {
             rpc::TaskDone done;
             done.set_task_id(std::string(task_id));
             done.set_application_error(application_error);
             done.set_retryable(retryable);
             for (auto& ret : ToReturns(returns)) *done.add_returns() = std::move(ret);
             ThrowIfError(c.TaskDone(std::move(done)));
           },
           py::arg("task_id"), py::arg("returns"), py::arg("application_error"), py::arg("retryable"),
           "Reports a task's results: returns as [(object_id, kind, payload, contained)] where kind "
           "is 'inline' (payload: bytes), 'store' (written, to be sealed; payload: size) or an "
           "ErrorCode (payload: (message, pickled error)).")
      .def("generator_yield",
           [](CoreClient& c, const py::bytes& task_id, const py::list& items) {
             ThrowIfError(c.GeneratorYield(TaskId::FromBinary(std::string(task_id)), ToReturns(items)));
           },
           py::arg("task_id"), py::arg("items"))
      .def("worker_exiting",
           [](CoreClient& c, const std::string& reason) { ThrowIfError(c.WorkerExiting(reason)); })
      .def("release_generator",
           [](CoreClient& c, const py::bytes& task_id, uint32_t taken) {
             c.ReleaseGenerator(TaskId::FromBinary(std::string(task_id)), taken);
           })
      .def(
          "create_placement_group",
          [](CoreClient& c, const py::bytes& pg_id, const std::vector<std::map<std::string, double>>& bundles,
             const std::string& strategy, const std::string& name, const py::bytes& ready_id,
             const py::bytes& ready_value, bool detached) {
            rpc::CreatePlacementGroup create;
            create.set_pg_id(std::string(pg_id));
            for (const auto& bundle : bundles) {
              auto* amounts = create.add_bundles()->mutable_amounts();
              for (const auto& [resource, amount] : bundle) (*amounts)[resource] = amount;
            }
            create.set_strategy(strategy);
            create.set_name(name);
            create.set_ready_id(std::string(ready_id));
            create.set_ready_value(std::string(ready_value));
            create.set_detached(detached);
            ThrowIfError(c.CreatePlacementGroup(std::move(create)));
          },
          py::kw_only(), py::arg("pg_id"), py::arg("bundles"), py::arg("strategy"), py::arg("name"),
          py::arg("ready_id"), py::arg("ready_value"), py::arg("detached"))
      .def(
          "register_placement_group",
          [](CoreClient& c, const py::bytes& pg_id, const std::string& name,
             const std::string& name_space, const std::string& strategy,
             const std::vector<std::map<std::string, double>>& bundles, int timeout_ms) {
            rpc::PlacementGroupInfo group;
            group.set_pg_id(std::string(pg_id));
            group.set_name(name);
            group.set_namespace_(name_space);
            group.set_strategy(strategy);
            for (const auto& bundle : bundles) {
              auto* amounts = group.add_bundles()->mutable_amounts();
              for (const auto& [resource, amount] : bundle) (*amounts)[resource] = amount;
            }
            absl::StatusOr<bool> registered;
            {
              py::gil_scoped_release release;
              registered = c.RegisterPlacementGroup(std::move(group), timeout_ms);
            }
            return ValueOrThrow(std::move(registered));
          },
          py::kw_only(), py::arg("pg_id"), py::arg("name"), py::arg("namespace"),
          py::arg("strategy"), py::arg("bundles"), py::arg("timeout_ms"),
          "Takes a group's name in its namespace before it is created; False when taken.")
      .def(
          "lookup_placement_group",
          [](CoreClient& c, const std::string& name_space, const std::string& name,
             int timeout_ms) -> py::object {
            absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> group;
            {
              py::gil_scoped_release release;
              group = c.LookupPlacementGroup(name_space, name, timeout_ms);
            }
            auto found = ValueOrThrow(std::move(group));
            if (!found) return py::none();
            return ToPython(*found);
          },
          py::arg("namespace"), py::arg("name"), py::arg("timeout_ms"))
      .def(
          "job_info",
          [](CoreClient& c, const py::bytes& job_id, int timeout_ms) -> py::object {
            absl::StatusOr<std::optional<rpc::JobInfo>> job;
            {
              py::gil_scoped_release release;
              job = c.GetJobInfo(JobId::FromBinary(std::string(job_id)), timeout_ms);
            }
            auto found = ValueOrThrow(std::move(job));
            if (!found) return py::none();
            py::dict out;
            out["job_id"] = py::bytes(found->job_id());
            out["namespace"] = found->namespace_();
            out["config"] = py::bytes(found->config());
            out["driver_pid"] = found->driver_pid();
            out["is_dead"] = found->is_dead();
            return out;
          },
          py::arg("job_id"), py::arg("timeout_ms"),
          "The job's record in the GCS job table, or None when it is unknown.")
      .def("remove_placement_group",
           [](CoreClient& c, const py::bytes& pg_id) {
             ThrowIfError(c.RemovePlacementGroup(TaskId::FromBinary(std::string(pg_id))));
           })
      .def("expect_object", [](CoreClient& c, const py::bytes& id) { c.ExpectObject(ToId(id)); })
      .def("forget_object", [](CoreClient& c, const py::bytes& id) { c.ForgetObject(ToId(id)); })
      .def("take_cancel_request", &CoreClient::TakeCancelRequest)
      .def("become_actor", &CoreClient::BecomeActor)
      .def("take_cancelled_calls",
           [](CoreClient& c) {
             py::list calls;
             for (const TaskId& task : c.TakeCancelledCalls()) calls.append(py::bytes(task.Binary()));
             return calls;
           })
      .def(
          "kill_actor",
          [](CoreClient& c, const py::bytes& actor_id, bool no_restart, bool exiting,
             const py::bytes& node_id) {
            ThrowIfError(c.KillActor(TaskId::FromBinary(std::string(actor_id)), no_restart,
                                     exiting, std::string(node_id)));
          },
          py::arg("actor_id"), py::arg("no_restart"), py::arg("exiting") = false,
          py::arg("node_id") = py::bytes())
      .def(
          "register_actor_name",
          [](CoreClient& c, const py::bytes& actor_id, const std::string& name,
             const std::string& name_space, const std::string& class_name,
             const py::bytes& methods, int timeout_ms) {
            rpc::ActorInfo actor;
            actor.set_actor_id(std::string(actor_id));
            actor.set_name(name);
            actor.set_namespace_(name_space);
            actor.set_class_name(class_name);
            actor.set_methods(std::string(methods));
            actor.set_job_id(c.job_id().Binary());
            absl::StatusOr<bool> registered;
            std::optional<rpc::ActorInfo> existing;
            {
              py::gil_scoped_release release;
              registered = c.RegisterActorName(std::move(actor), &existing, timeout_ms);
            }
            const bool ok = ValueOrThrow(std::move(registered));
            return py::make_tuple(ok, existing ? py::object(ToPython(*existing)) : py::none());
          },
          py::arg("actor_id"), py::arg("name"), py::arg("namespace"), py::arg("class_name"),
          py::arg("methods"), py::arg("timeout_ms"))
      .def(
          "lookup_actor",
          [](CoreClient& c, const std::string& name_space, const std::string& name,
             int timeout_ms) -> py::object {
            absl::StatusOr<std::optional<rpc::ActorInfo>> actor;
            {
              py::gil_scoped_release release;
              actor = c.LookupActor(name_space, name, timeout_ms);
            }
            auto found = ValueOrThrow(std::move(actor));
            if (!found) return py::none();
            return ToPython(*found);
          },
          py::arg("namespace"), py::arg("name"), py::arg("timeout_ms"))
      .def(
          "list_named_actors",
          [](CoreClient& c, bool all_namespaces, const std::string& name_space, int timeout_ms) {
            absl::StatusOr<std::vector<rpc::ActorInfo>> actors;
            {
              py::gil_scoped_release release;
              actors = c.ListNamedActors(all_namespaces, name_space, timeout_ms);
            }
            py::list out;
            for (const rpc::ActorInfo& actor : ValueOrThrow(std::move(actors))) {
              out.append(ToPython(actor));
            }
            return out;
          },
          py::arg("all_namespaces"), py::arg("namespace"), py::arg("timeout_ms"))
      .def("kv_put_if_absent",
           [](CoreClient& c, const std::string& key, const py::bytes& value, int timeout_ms) {
             absl::StatusOr<bool> stored;
             {
               py::gil_scoped_release release;
               stored = c.KvPutIfAbsent(key, std::string(value), timeout_ms);
             }
             return ValueOrThrow(std::move(stored));
           })
      .def("send_log_lines",
           [](CoreClient& c, const py::bytes& job_id, const std::string& prefix, bool is_stderr,
              std::vector<std::string> lines) {
             ThrowIfError(c.SendLogLines(JobId::FromBinary(std::string(job_id)), prefix, is_stderr, std::move(lines)));
           })
      .def("stop_logs", [](CoreClient& c) { c.StopLogs(); },
           "Ends next_logs calls (now and later) at once.")
      .def("next_logs", [](CoreClient& c, int64_t timeout_ms) {
        absl::StatusOr<std::vector<rpc::LogLines>> next;
        {
          py::gil_scoped_release release;
          next = c.NextLogs(timeout_ms);
        }
        std::vector<rpc::LogLines> logs = ValueOrThrow(std::move(next));
        py::list out;
        for (const auto& batch : logs) {
          py::list lines;
          for (const auto& line : batch.lines()) lines.append(py::str(line));
          out.append(py::make_tuple(batch.prefix(), batch.is_stderr(), lines));
        }
        return out;
      });
}

}  // namespace flare::python
