// tally's C++ MPI context for Python (when built with MPI); the Python package wraps it.
#include <pybind11/numpy.h>

#include "bindings.h"

#ifdef TALLY_PYTHON_WITH_MPI
#include "tally/mpi.h"
#endif

namespace tally::python {

#ifdef TALLY_PYTHON_WITH_MPI
namespace {
ReduceOp op_of(const std::string& op) {
  if (op == "sum") return ReduceOp::kSum;
  if (op == "min") return ReduceOp::kMin;
  if (op == "max") return ReduceOp::kMax;
  throw InvalidArgument("all_reduce_in_place: op must be sum, min or max; received \"" + op + "\"");
}
}  // namespace
#endif

void bind_distributed(py::module_& m) {
#ifdef TALLY_PYTHON_WITH_MPI
  py::class_<MpiContext>(m, "_MpiContext", "tally's MPI context over MPI_COMM_WORLD.")
      .def(py::init<>())
      .def_property_readonly("local_rank", &MpiContext::local_rank)
      .def_property_readonly("global_rank", &MpiContext::global_rank)
      .def_property_readonly("world_size", &MpiContext::world_size)
      .def_property_readonly("local_size", &MpiContext::local_size)
      .def(
          "all_reduce_in_place",
          [](MpiContext& self, py::array_t<double, py::array::c_style> buffer, const std::string& op) {
            const ReduceOp o = op_of(op);
            std::span<double> data(buffer.mutable_data(), static_cast<std::size_t>(buffer.size()));
            py::gil_scoped_release release;
            self.all_reduce_in_place(data, o);
          },
          py::arg("buffer"), py::arg("op") = "sum", "Reduces a contiguous float64 array across ranks, in place.")
      .def("barrier", &MpiContext::barrier);
#else
  static_cast<void>(m);
#endif
}

}  // namespace tally::python
