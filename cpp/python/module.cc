// flare._core: the C++ core as seen from Python. One registration function
// per concept; policy stays in C++ or in the Python package.
#include <pybind11/pybind11.h>

#include "common/parallel_copy.h"
#include "python/object_buffer.h"

namespace flare::python {
void RegisterCoreClient(pybind11::module_& m);
void RegisterIds(pybind11::module_& m);
void RegisterTasks(pybind11::module_& m);
}  // namespace flare::python

PYBIND11_MODULE(_core, m) {
  m.doc() = "flare's C++ core: the raylet client, object buffers and ids";
  flare::python::RegisterIds(m);
  flare::python::RegisterObjectBuffer(m);
  flare::python::RegisterTasks(m);
  flare::python::RegisterCoreClient(m);
  m.attr("PARALLEL_COPY_MIN_BYTES") = flare::kParallelCopyMinBytes;
  m.def(
      "copy_into",
      [](pybind11::object target, size_t offset, pybind11::object source) {
        // Both as plain contiguous bytes; BufferError otherwise (the caller
        // then copies another way).
        Py_buffer out, in;
        if (PyObject_GetBuffer(target.ptr(), &out, PyBUF_WRITABLE) != 0) throw pybind11::error_already_set();
        if (PyObject_GetBuffer(source.ptr(), &in, PyBUF_SIMPLE) != 0) {
          PyBuffer_Release(&out);
          throw pybind11::error_already_set();
        }
        const size_t size = static_cast<size_t>(in.len);
        const bool fits = offset <= static_cast<size_t>(out.len) && size <= static_cast<size_t>(out.len) - offset;
        if (fits) {
          pybind11::gil_scoped_release release;
          flare::ParallelCopy(static_cast<char*>(out.buf) + offset, in.buf, size);
        }
        PyBuffer_Release(&in);
        PyBuffer_Release(&out);
        if (!fits) throw pybind11::value_error("copy_into: the source does not fit the target");
      },
      "Copies the bytes of `source` into `target` at `offset`, with several threads when large "
      "and without the GIL.");
}
