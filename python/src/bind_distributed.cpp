// tally's C++ MPI context for Python (when built with MPI); the Python package wraps it.
#include <pybind11/numpy.h>

#include <cstdint>
#include <memory>
#include <string>

#include "bindings.h"
#include "tally/distributed.h"

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
  // The base, so that all_reduce_metrics takes C++ contexts directly (bind_collection.cpp).
  py::class_<DistributedContext>(m, "_DistributedContext", "A C++ DistributedContext.");
#ifdef TALLY_PYTHON_WITH_MPI
  py::class_<MpiContext, DistributedContext>(m, "_MpiContext", "tally's MPI context over MPI_COMM_WORLD.")
      .def(py::init<>())
      .def(py::init([](std::uintptr_t handle) {
             // mpi4py's MPI._handleof(comm): the MPI_Comm of the same libmpi tally links.
             // NOLINTNEXTLINE(performance-no-int-to-ptr): an MPI handle passed as an integer
             return std::make_unique<MpiContext>(reinterpret_cast<MPI_Comm>(handle));  // NOLINT
           }),
           py::arg("communicator_handle"),
           "Over a communicator given by its handle (mpi4py's MPI._handleof(comm)); it must outlive the context.")
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
      .def("barrier", &MpiContext::barrier)
      .def(
          "signal_failure",
          [](MpiContext& self, const std::string& reason) {
            py::gil_scoped_release release;  // waits up to two seconds for the peers' acknowledgements
            self.signal_failure(reason);
          },
          py::arg("reason"),
          "Tells every other rank that this one failed: their collectives then raise DistributedError "
          "quoting `reason`. Afterwards every collective on this context raises.")
      .def("set_collective_timeout", &MpiContext::set_collective_timeout, py::arg("seconds"),
           "Seconds a collective waits for the other ranks before raising DistributedError; 0 waits forever.")
      .def_property_readonly("collective_timeout", &MpiContext::collective_timeout,
                             "Seconds a collective waits (0: forever); default $TALLY_MPI_TIMEOUT, else 600.")
      .def_property_readonly("failed", &MpiContext::failed,
                             "True once a collective failed or a failure was signalled: the context is unusable.");
#endif
}

}  // namespace tally::python
