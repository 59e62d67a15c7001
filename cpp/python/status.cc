#include "python/status.h"

#include <string>

namespace flare::python {

namespace py = pybind11;

namespace {

// A class of flare.exceptions (imported on first use: it is pure Python and
// imports nothing of flare). Kept for the life of the process.
PyObject* FlareException(const char* name) {
  py::module_ exceptions = py::module_::import("flare.exceptions");
  return py::object(exceptions.attr(name)).release().ptr();
}

}  // namespace

void ThrowStatus(const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded: {
      static PyObject* const kTimeout = FlareException("GetTimeoutError");
      PyErr_SetString(kTimeout, message.c_str());
      break;
    }
    case absl::StatusCode::kUnavailable: {
      static PyObject* const kRayletDied = FlareException("RayletDiedError");
      PyErr_SetString(kRayletDied, message.c_str());
      break;
    }
    case absl::StatusCode::kResourceExhausted: {
      static PyObject* const kStoreFull = FlareException("ObjectStoreFullError");
      PyErr_SetString(kStoreFull, message.c_str());
      break;
    }
    case absl::StatusCode::kInvalidArgument:
      PyErr_SetString(PyExc_ValueError, message.c_str());
      break;
    case absl::StatusCode::kCancelled:
      // The interruption check already set the pending signal's exception.
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyboardInterrupt, message.c_str());
      break;
    default: {
      static PyObject* const kSystem = FlareException("FlareSystemError");
      PyErr_SetString(kSystem, message.c_str());
    }
  }
  throw py::error_already_set();
}

}  // namespace flare::python
