// The one place where C++ status becomes a Python exception.
#ifndef FLARE_PYTHON_STATUS_H_
#define FLARE_PYTHON_STATUS_H_

#include <pybind11/pybind11.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flare::python {

// Throws flare's own exception for `status` (flare.exceptions; each also
// subclasses the matching built-in, so callers need no re-mapping):
//   DeadlineExceeded  -> GetTimeoutError      (a TimeoutError)
//   Unavailable       -> RayletDiedError      (a ConnectionError)
//   ResourceExhausted -> ObjectStoreFullError (a MemoryError)
//   InvalidArgument   -> ValueError
//   Cancelled         -> the pending Python error (Ctrl-C) or KeyboardInterrupt
//   anything else     -> FlareSystemError     (a RuntimeError)
// REQUIRES: the GIL is held.
[[noreturn]] void ThrowStatus(const absl::Status& status);

inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

template <typename T>
T ValueOrThrow(absl::StatusOr<T> result) {
  if (!result.ok()) ThrowStatus(result.status());
  return std::move(*result);
}

}  // namespace flare::python

#endif  // FLARE_PYTHON_STATUS_H_
