// tally::ops for Python: lists of arrays in, numpy arrays of the same dtypes out. Every
// check happens in C++, so messages match the C++ API; the GIL is released around the work.
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>

#include "arrays.h"
#include "bindings.h"
#include "tally/error.h"
#include "tally/ops.h"

namespace tally::python {

std::vector<Tensor> tensors_of(py::handle objects, const char* argument) {
  // A bare array is a sequence too (of rows): refuse it rather than split it silently.
  if (py::isinstance<py::array>(objects) || py::hasattr(objects, "__dlpack__") || py::isinstance<py::str>(objects) ||
      !py::isinstance<py::sequence>(objects)) {
    throw InvalidArgument(std::string("argument `") + argument +
                          "` must be a list of arrays (wrap one array as [x]); received " +
                          py::cast<std::string>(py::str(py::type::of(objects).attr("__name__"))));
  }
  std::vector<Tensor> out;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(objects)) {
    const ArrayArg arg = to_view(item, argument);
    if (item.is_none()) throw InvalidArgument(std::string("argument `") + argument + "` holds None");
    out.push_back(Tensor::copy_of(arg.view));
  }
  return out;
}

py::array to_numpy_typed(const Tensor& tensor) {
  const auto copy = [&](auto tag) -> py::array {
    using T = decltype(tag);
    py::array_t<T> a(tensor.shape());
    const Tensor c = Tensor::copy_of(tensor);
    std::copy_n(c.data_as<T>(), c.numel(), a.mutable_data());
    return a;
  };
  switch (tensor.dtype()) {
    case DType::kBool:
      return copy(bool{});
    case DType::kUInt8:
      return copy(std::uint8_t{});
    case DType::kInt32:
      return copy(std::int32_t{});
    case DType::kInt64:
      return copy(std::int64_t{});
    case DType::kFloat32:
      return copy(float{});
    case DType::kFloat64:
      return copy(double{});
    case DType::kFloat16: {
      // numpy's float16 has no C++ twin in pybind11: copy the raw halves.
      py::array a(py::dtype("float16"), tensor.shape());
      const Tensor c = Tensor::copy_of(tensor);
      std::memcpy(a.mutable_data(), c.data(), static_cast<std::size_t>(c.numel()) * dtype_size(DType::kFloat16));
      return a;
    }
    case DType::kBFloat16: {
      // numpy has no bfloat16: every bfloat16 is exactly a float32.
      py::array_t<float> a(tensor.shape());
      const std::vector<double> v = tensor.to_doubles();
      std::transform(v.begin(), v.end(), a.mutable_data(), [](double x) { return static_cast<float>(x); });
      return a;
    }
  }
  throw DTypeError("to_numpy: unknown dtype");
}

static py::list list_of(const std::vector<Tensor>& tensors) {
  py::list out;
  for (const Tensor& t : tensors) out.append(to_numpy_typed(t));
  return out;
}

namespace {

py::array doubles_to_numpy(const std::vector<double>& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

py::tuple shape_tuple(const Shape& shape) { return py::tuple(py::cast(shape)); }

py::tuple flatten(py::handle tensors) {
  const std::vector<Tensor> ts = tensors_of(tensors, "tensors");
  ops::Flattened f;
  {
    py::gil_scoped_release release;
    f = ops::flatten(ts);
  }
  py::list shapes, dtypes;
  for (const Shape& s : f.shapes) shapes.append(shape_tuple(s));
  for (DType d : f.dtypes) dtypes.append(std::string(dtype_name(d)));
  return py::make_tuple(doubles_to_numpy(f.values), shapes, dtypes);
}

py::list reshape(py::handle values, const std::vector<Shape>& shapes, const std::vector<std::string>& dtype_names) {
  const ArrayArg arg = to_view(values, "values");
  if (values.is_none() || arg.view.ndim() != 1) {
    throw ShapeError("reshape: argument `values` must be a 1-D vector; received " +
                     (values.is_none() ? std::string("None") : arg.view.describe()));
  }
  std::vector<DType> dtypes;
  for (const std::string& n : dtype_names) dtypes.push_back(dtype_from_name(n));
  std::vector<Tensor> out;
  {
    const Tensor v = Tensor::copy_of(arg.view);
    py::gil_scoped_release release;
    out = ops::reshape(v.to_doubles(), shapes, dtypes);
  }
  return list_of(out);
}

double norm(py::handle tensor, double order) {
  const ArrayArg arg = to_view(tensor, "tensor");
  py::gil_scoped_release release;
  return ops::norm(arg.view, order);
}

double global_norm(py::handle tensors, double order) {
  const std::vector<Tensor> ts = tensors_of(tensors, "tensors");
  py::gil_scoped_release release;
  return ops::global_norm(ts, order);
}

py::list ema_update(py::handle variables, py::handle ema_variables, double decay) {
  const std::vector<Tensor> vs = tensors_of(variables, "variables");
  std::vector<Tensor> es = tensors_of(ema_variables, "ema_variables");
  {
    py::gil_scoped_release release;
    ops::exponential_moving_average_update(vs, es, decay);
  }
  return list_of(es);
}

}  // namespace

void bind_ops(py::module_& m) {
  py::module_ o = m.def_submodule("ops", "tally::ops; use tally.ops instead");
  o.def(
      "get_shape",
      [](py::handle tensor) {
        const ArrayArg arg = to_view(tensor, "tensor");
        return shape_tuple(ops::get_shape(arg.view));
      },
      py::arg("tensor"));
  o.def("flatten", &flatten, py::arg("tensors"));
  o.def("reshape", &reshape, py::arg("values"), py::arg("shapes"), py::arg("dtypes"));
  o.def("norm", &norm, py::arg("tensor"), py::arg("order") = 2.0);
  o.def("global_norm", &global_norm, py::arg("tensors"), py::arg("order") = 2.0);
  o.def(
      "one_hot",
      [](py::handle indices, std::int64_t depth) {
        const ArrayArg arg = to_view(indices, "indices");
        Tensor out;
        {
          py::gil_scoped_release release;
          out = ops::one_hot(arg.view, depth);
        }
        return to_numpy_typed(out);
      },
      py::arg("indices"), py::arg("depth"));
  o.def(
      "concatenate",
      [](py::handle tensors, std::int64_t axis) {
        const std::vector<Tensor> ts = tensors_of(tensors, "tensors");
        Tensor out;
        {
          py::gil_scoped_release release;
          out = ops::concatenate(ts, axis);
        }
        return to_numpy_typed(out);
      },
      py::arg("tensors"), py::arg("axis") = 0);
  o.def(
      "clone", [](py::handle tensors) { return list_of(ops::clone(tensors_of(tensors, "tensors"))); },
      py::arg("tensors"));
  o.def(
      "assign_variable",
      [](py::handle reference, py::handle value) {
        const ArrayArg r = to_view(reference, "reference");
        const ArrayArg v = to_view(value, "value");
        Tensor ref = Tensor::copy_of(r.view);
        ops::assign_variable(ref, v.view);
        return to_numpy_typed(ref);
      },
      py::arg("reference"), py::arg("value"));
  o.def("exponential_moving_average_update", &ema_update, py::arg("variables"), py::arg("ema_variables"),
        py::arg("decay"));
  o.def(
      "simulate_bfloat16_transport",
      [](py::handle tensors) {
        const std::vector<Tensor> ts = tensors_of(tensors, "tensors");
        std::vector<Tensor> out;
        {
          py::gil_scoped_release release;
          out = ops::simulate_bfloat16_transport(ts);
        }
        return list_of(out);
      },
      py::arg("tensors"));
  o.def(
      "clip_by_global_norm",
      [](py::handle tensors, double max_norm) {
        const std::vector<Tensor> ts = tensors_of(tensors, "tensors");
        std::pair<std::vector<Tensor>, double> out;
        {
          py::gil_scoped_release release;
          out = ops::clip_by_global_norm(ts, max_norm);
        }
        return py::make_tuple(list_of(out.first), out.second);
      },
      py::arg("tensors"), py::arg("max_norm"));

  py::class_<ops::GradAccumulationState>(o, "GradAccumulationState",
                                         "Gradient accumulation schedule: update every accumulation_steps steps or at "
                                         "the last step.")
      .def(py::init<std::int64_t, std::int64_t>(), py::arg("num_steps"), py::arg("accumulation_steps"))
      .def("optimizer_should_update", &ops::GradAccumulationState::optimizer_should_update,
           "Whether the optimizer should apply the accumulated gradient after the current step.")
      .def("increment", &ops::GradAccumulationState::increment, "Advances one step.")
      .def_property_readonly("steps", &ops::GradAccumulationState::steps, "Steps taken so far.")
      .def_property_readonly("accumulation_steps", &ops::GradAccumulationState::accumulation_steps,
                             "The accumulation period.");
}

}  // namespace tally::python
