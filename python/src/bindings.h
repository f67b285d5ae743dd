#pragma once
// One bind_<layer> function per translation unit; module.cpp calls them in layer order.

#include <pybind11/pybind11.h>

#include <functional>

#include "tally/distributed.h"
#include "tally/metric.h"

namespace tally::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_tensor(py::module_& m);
void bind_metric(py::module_& m);
void bind_distributed(py::module_& m);
void bind_collection(py::module_& m);
void bind_selection(py::module_& m);
void bind_ops(py::module_& m);
void bind_privacy(py::module_& m);
void bind_state_file(py::module_& m);
void bind_sliced(py::module_& m);

/// Runs `body` with `context`: a native DistributedContext, or one written in Python
/// (adapted), with the GIL released (bind_collection.cpp).
void all_reduce_with_context(const py::object& context, const std::function<void(DistributedContext&)>& body);

/// A Python object (dict, list, number, string) as JSON, through the json module.
Json to_json(py::handle object);
/// JSON as a Python object, through the json module.
py::object from_json(const Json& json);

}  // namespace tally::python
