// flare._core's view of the id layout, the error codes and placement-group
// resource names: each defined once in C++ (cpp/common, proto/flare.proto)
// and only converted here.
#include <pybind11/native_enum.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/placement_group_resources.h"
#include "flare.pb.h"

namespace flare::python {

namespace py = pybind11;

namespace {

std::string_view View(const py::bytes& bytes) {
  char* data;
  py::ssize_t size;
  PyBytes_AsStringAndSize(bytes.ptr(), &data, &size);
  return {data, static_cast<size_t>(size)};
}

TaskId ToTaskId(const py::bytes& task_id) {
  const std::string_view binary = View(task_id);
  if (binary.size() != TaskId::kSize) {
    throw py::value_error("a task id is " + std::to_string(TaskId::kSize) + " bytes, got " +
                          std::to_string(binary.size()));
  }
  return TaskId::FromBinary(binary);
}

}  // namespace

void RegisterIds(py::module_& m) {
  // Every value of rpc::ErrorCode, under its proto name (no copy by hand).
  py::native_enum<rpc::ErrorCode> codes(m, "ErrorCode", "enum.IntEnum",
                                        "Why an object holds an error instead of a value "
                                        "(proto ErrorCode).");
  const google::protobuf::EnumDescriptor* descriptor = rpc::ErrorCode_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor* value = descriptor->value(i);
    codes.value(value->name().c_str(), static_cast<rpc::ErrorCode>(value->number()));
  }
  codes.finalize();

  m.attr("TASK_ID_SIZE") = TaskId::kSize;
  m.attr("OBJECT_ID_SIZE") = ObjectId::kSize;
  m.def(
      "return_id",
      [](const py::bytes& task_id, uint32_t index) {
        if (index == 0 || index >= kPutIndexBit) throw py::value_error("return indices start at 1");
        return py::bytes(ObjectIdFor(ToTaskId(task_id), index).Binary());
      },
      py::arg("task_id"), py::arg("index"),
      "The id of return `index` (1-based) of task `task_id`.");
  m.def(
      "generator_item_id",
      [](const py::bytes& task_id, uint32_t item) {
        return py::bytes(GeneratorItemId(ToTaskId(task_id), item).Binary());
      },
      py::arg("task_id"), py::arg("item"),
      "The id of item `item` (0-based) a streaming generator task yields.");
  m.def(
      "task_id_of",
      [](const py::bytes& object_id) {
        const std::string_view binary = View(object_id);
        if (binary.size() != ObjectId::kSize) throw py::value_error("not an object id");
        return py::bytes(TaskOfObject(ObjectId::FromBinary(binary)).Binary());
      },
      py::arg("object_id"), "The task (or put) an object id derives from.");

  m.def(
      "group_resource_name",
      [](const std::string& resource, const py::bytes& group_id, int64_t bundle_index) {
        return GroupResourceName(resource, ToHex(View(group_id)), bundle_index);
      },
      py::arg("resource"), py::arg("group_id"), py::arg("bundle_index") = -1,
      "The name under which placement group `group_id` offers `resource`: in bundle "
      "`bundle_index`, or in any bundle when it is -1.");
  m.def(
      "group_of_resource",
      [](const std::string& name) -> py::object {
        const auto hex = GroupOfResource(name);
        if (!hex) return py::none();
        return py::str(std::string(*hex));
      },
      py::arg("name"), "The hex id of the placement group a resource name belongs to, or None.");
}

}  // namespace flare::python
