#pragma once
// Python objects in, TensorViews out, without copies where the memory allows: numpy
// arrays through the buffer protocol, anything with __dlpack__ (torch CPU tensors),
// and lists or scalars through numpy.asarray.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "tally/tensor.h"

namespace tally::python {

namespace py = pybind11;

/// A view of a Python object plus whatever keeps its memory alive for the call.
struct ArrayArg {
  py::object keep_alive;
  Tensor owned;  ///< set when the data came through DLPack (the tensor calls the deleter)
  TensorView view;
};

/// Converts None (absent), numpy arrays, __dlpack__ objects, lists and scalars.
ArrayArg to_view(py::handle object, const char* argument);

/// A numpy array holding a copy of a tensor (results and state are small).
py::array to_numpy(const Tensor& tensor);

/// A Python float for 0-d results, a numpy array otherwise (Keras's result()).
py::object result_to_python(const Tensor& tensor);

/// A Python list or tuple of arrays as owned tensors; a bare array is refused (bind_ops.cpp).
std::vector<Tensor> tensors_of(py::handle objects, const char* argument);

/// A numpy array of the tensor's own dtype (bfloat16 as float32, which holds it exactly).
py::array to_numpy_typed(const Tensor& tensor);

/// Registers the tensor-level helpers on the module.
void bind_tensor(py::module_& m);

}  // namespace tally::python
