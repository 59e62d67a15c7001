#include "python/status.h"

#include <string>

namespace flare::python {

namespace py = pybind11;

void ThrowStatus(const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      PyErr_SetString(PyExc_TimeoutError, message.c_str());
      break;
    case absl::StatusCode::kUnavailable:
      PyErr_SetString(PyExc_ConnectionError, message.c_str());
      break;
    case absl::StatusCode::kResourceExhausted:
      PyErr_SetString(PyExc_MemoryError, message.c_str());
      break;
    case absl::StatusCode::kInvalidArgument:
      PyErr_SetString(PyExc_ValueError, message.c_str());
      break;
    case absl::StatusCode::kCancelled:
      // The interruption check already set the pending signal's exception.
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyboardInterrupt, message.c_str());
      break;
    default:
      PyErr_SetString(PyExc_RuntimeError, message.c_str());
  }
  throw py::error_already_set();
}

}  // namespace flare::python
