// ObjectBuffer: a read-only Python buffer over one object's bytes (inline
// copy or arena span). It keeps the arena span pinned while any memoryview
// or numpy array built on it is alive.
#ifndef FLARE_PYTHON_OBJECT_BUFFER_H_
#define FLARE_PYTHON_OBJECT_BUFFER_H_

#include <pybind11/pybind11.h>

#include "client/core_client.h"

namespace flare::python {

struct ObjectBuffer {
  ObjectValue value;
};

void RegisterObjectBuffer(pybind11::module_& m);

}  // namespace flare::python

#endif  // FLARE_PYTHON_OBJECT_BUFFER_H_
