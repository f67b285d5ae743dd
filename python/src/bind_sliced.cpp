// tally::SlicedCollection for Python (python/tally/sliced.py wraps it): slice columns come
// as integer arrays (viewed) or as (codes, dictionary) pairs interned by numpy.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "tally/sliced.h"

namespace tally::python {
namespace {

py::object key_to_python(const SliceKey& key) {
  py::list values;
  for (const SliceValue& v : key.values) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      values.append(py::int_(*i));
    } else {
      values.append(py::str(std::get<std::string>(v)));
    }
  }
  return py::make_tuple(key.slicing, py::tuple(values));
}

py::list results_to_python(const std::vector<SliceResult>& results) {
  py::list out;
  for (const SliceResult& r : results) {
    py::dict metrics;
    for (const auto& [name, value] : r.metrics) metrics[py::str(name)] = result_to_python(value);
    out.append(py::make_tuple(r.name, key_to_python(r.key), r.samples, metrics));
  }
  return out;
}

void update(SlicedCollection& self, py::handle y_true, py::handle y_pred, py::handle sample_weight,
            const py::list& columns) {
  const ArrayArg t = to_view(y_true, "y_true");
  const ArrayArg p = to_view(y_pred, "y_pred");
  const ArrayArg w = to_view(sample_weight, "sample_weight");
  std::vector<ArrayArg> keep;
  keep.reserve(columns.size());
  std::vector<SliceColumn> cols;
  for (const py::handle c : columns) {
    if (py::isinstance<py::tuple>(c)) {  // (codes int32 array, [strings])
      const auto pair = py::reinterpret_borrow<py::tuple>(c);
      const auto codes = py::cast<py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>>(pair[0]);
      const auto dictionary = py::cast<std::vector<std::string>>(pair[1]);
      cols.push_back(SliceColumn::codes(
          std::span<const std::int32_t>(codes.data(), static_cast<std::size_t>(codes.size())), dictionary));
    } else {
      keep.push_back(to_view(c, "slice_ids"));
      cols.push_back(SliceColumn::ids(keep.back().view));
    }
  }
  py::gil_scoped_release release;
  self.update_state(t.view, p.view, w.view, cols);
}

}  // namespace

void bind_sliced(py::module_& m) {
  py::class_<SlicedCollection, std::shared_ptr<SlicedCollection>>(m, "_SlicedCollection", "The C++ SlicedCollection.")
      .def(py::init<const MetricCollection&, std::vector<std::string>, std::vector<std::vector<std::string>>,
                    std::int64_t>(),
           py::arg("prototype"), py::arg("features"), py::arg("slicings"), py::arg("max_slices"))
      .def("update_state", &update, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight"), py::arg("columns"))
      .def("merge_state", &SlicedCollection::merge_state, py::arg("other"))
      .def("reset_state", &SlicedCollection::reset_state)
      .def(
          "result",
          [](const SlicedCollection& self, std::int64_t min_size) { return results_to_python(self.result(min_size)); },
          py::arg("min_slice_size") = 0)
      .def("num_slices", &SlicedCollection::num_slices)
      .def("features", &SlicedCollection::features)
      .def("slicings", &SlicedCollection::slicings)
      .def("max_slices", &SlicedCollection::max_slices)
      .def("keys",
           [](const SlicedCollection& self) {
             py::list out;
             for (const SliceKey& k : self.keys()) out.append(key_to_python(k));
             return out;
           })
      .def("to_vector",
           [](const SlicedCollection& self) {
             const std::vector<double> v = self.to_vector();
             py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
             std::copy(v.begin(), v.end(), out.mutable_data());
             return out;
           })
      .def("slice_vector_size", &SlicedCollection::slice_vector_size)
      .def("layout_hash", &SlicedCollection::layout_hash);

  m.def(
      "_all_reduce_sliced",
      [](SlicedCollection& sliced, const py::object& context) {
        all_reduce_with_context(context, [&](DistributedContext& c) { all_reduce_metrics(sliced, c); });
      },
      py::arg("sliced"), py::arg("context"));
  m.def(
      "_private_slice_result",
      [](const SlicedCollection& sliced, const Mechanism& mechanism, std::optional<std::uint64_t> seed,
         std::int64_t min_slice_size) {
        return results_to_python(private_result(sliced, mechanism, seed, min_slice_size));
      },
      py::arg("sliced"), py::arg("mechanism"), py::arg("seed"), py::arg("min_slice_size"));
}

}  // namespace tally::python
