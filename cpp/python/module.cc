// flare._core: the C++ core as seen from Python. One registration function
// per concept; policy stays in C++ or in the Python package.
#include <pybind11/pybind11.h>

#include "python/object_buffer.h"

namespace flare::python {
void RegisterCoreClient(pybind11::module_& m);
}  // namespace flare::python

PYBIND11_MODULE(_core, m) {
  m.doc() = "flare's C++ core: the raylet client, object buffers and ids";
  flare::python::RegisterObjectBuffer(m);
  flare::python::RegisterCoreClient(m);
}
