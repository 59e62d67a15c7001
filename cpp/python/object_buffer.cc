#include "python/object_buffer.h"

namespace flare::python {

namespace py = pybind11;

void RegisterObjectBuffer(py::module_& m) {
  py::class_<ObjectBuffer>(m, "ObjectBuffer", py::buffer_protocol())
      .def_buffer([](ObjectBuffer& self) {
        return py::buffer_info(const_cast<uint8_t*>(self.value.data), 1,
                               py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(self.value.size)}, {1},
                               /*readonly=*/true);
      })
      .def("__len__", [](const ObjectBuffer& self) { return self.value.size; })
      .def_property_readonly("in_store", [](const ObjectBuffer& self) { return self.value.pin != nullptr; });
}

}  // namespace flare::python
