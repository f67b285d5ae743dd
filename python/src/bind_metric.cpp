// Metric, State, the registry and library-wide settings. No policy here: every check
// happens in C++, so Python, the CLI and C++ users see the same messages.
#include <pybind11/stl.h>

#include "arrays.h"
#include "bindings.h"
#include "tally/memory.h"
#include "tally/metrics/classwise.h"
#include "tally/parallel.h"
#include "tally/registry.h"
#include "tally/version.h"

namespace tally::python {

namespace {

// A Classwise result as a dict {"<name>_<label>": value} (TorchMetrics' ClasswiseWrapper);
// any other result as result_to_python.
py::object keyed_or_plain(const Metric& metric, const Tensor& result) {
  const auto* classwise = dynamic_cast<const metrics::Classwise*>(&metric);
  if (classwise == nullptr) return result_to_python(result);
  const std::vector<double> values = result.to_doubles();
  const std::vector<std::string> keys = classwise->result_keys(static_cast<std::int64_t>(values.size()));
  py::dict out;
  for (std::size_t i = 0; i < values.size(); ++i) out[py::str(keys[i])] = values[i];
  return out;
}

}  // namespace

Json to_json(py::handle object) {
  std::string text;
  try {
    text = py::cast<std::string>(py::module_::import("json").attr("dumps")(object));
  } catch (py::error_already_set& e) {
    // Python's encoder recurses once per level; tally accepts far fewer levels anyway
    // (the C++ side bounds the depth of everything it reads: docs/reliability.md).
    if (!e.matches(PyExc_RecursionError)) throw;
    throw ConfigError("not representable as JSON: nested deeper than Python's recursion limit");
  }
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // NaN and Infinity, which Python's json writes, are not JSON
    throw InvalidArgument("not representable as JSON (" + std::string(e.what()) + "): " + text);
  }
}

py::object from_json(const Json& json) { return py::module_::import("json").attr("loads")(json.dump()); }

namespace {

using MetricPtr = std::shared_ptr<Metric>;

std::vector<double> vector_of(py::handle values) {
  ArrayArg arg = to_view(values, "values");
  if (arg.view.ndim() != 1)
    throw ShapeError("from_vector: the state vector must be 1-D; received " + arg.view.describe());
  const Tensor t = Tensor::copy_of(arg.view);
  return t.to_doubles();
}

py::array vector_to_numpy(const std::vector<double>& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

void update(Metric& metric, py::handle y_true, py::handle y_pred, py::handle sample_weight,
            const char* y_pred_name = "y_pred") {
  const ArrayArg t = to_view(y_true, "y_true");
  const ArrayArg p = to_view(y_pred, y_pred_name);
  const ArrayArg w = to_view(sample_weight, "sample_weight");
  py::gil_scoped_release release;
  metric.update_state(t.view, p.view, w.view);
}

py::list variables_of(const Metric& metric) {
  py::list out;
  const Variables& values = metric.variable_values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Variable& v = values.layout()[i];
    py::dict d;
    d["name"] = v.name;
    d["shape"] = py::tuple(py::cast(v.shape));
    d["dtype"] = std::string(dtype_name(v.dtype));
    d["aggregation"] = std::string(aggregation_name(v.aggregation));
    d["value"] = to_numpy(values.tensor(i));
    out.append(d);
  }
  return out;
}

}  // namespace

void bind_metric(py::module_& m) {
  py::class_<Metric, MetricPtr>(m, "_Metric", "A built-in (C++) metric.")
      .def(
          "update_state",
          [](Metric& self, py::handle y_true, py::handle y_pred, py::handle sample_weight) {
            update(self, y_true, y_pred, sample_weight);
          },
          py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = py::none(),
          "Adds one batch; on error the state is unchanged. The GIL is released during the update.")
      .def(
          "update_values",
          [](Metric& self, py::handle values, py::handle sample_weight) {
            update(self, py::none(), values, sample_weight, "values");
          },
          py::arg("values"), py::arg("sample_weight") = py::none(),
          "Adds one batch of values (Mean, Sum and other value-reducing metrics).")
      .def(
          "result", [](const Metric& self) { return keyed_or_plain(self, self.result()); },
          "The value over everything seen: a float for scalar metrics, a numpy array otherwise (Classwise: a "
          "dict keyed <name>_<label>).")
      .def("reset_state", &Metric::reset_state, "Forgets everything seen.")
      .def(
          "merge_state", [](Metric& self, const Metric& other) { self.merge_state(other); }, py::arg("other"),
          "Merges another metric of the same class and config into this one.")
      .def(
          "merge_state",
          [](Metric& self, const std::vector<Metric*>& others) {  // members of collections are not shared_ptrs
            const std::vector<const Metric*> raw(others.begin(), others.end());
            self.merge_state(raw);
          },
          py::arg("others"), "Merges a list of metrics (all or nothing).")
      .def(
          "to_vector", [](const Metric& self) { return vector_to_numpy(self.to_vector()); },
          "The state as one float64 vector (sum of vectors = merge, for sum variables).")
      .def(
          "from_vector", [](Metric& self, py::handle values) { self.from_vector(vector_of(values)); },
          py::arg("values"), "Restores the state from a vector; checks length and integrality.")
      .def("state", &Metric::state, "An immutable snapshot of the state.")
      .def("set_state", &Metric::set_state, py::arg("state"), "Replaces the state with a snapshot.")
      .def(
          "get_config", [](const Metric& self) { return from_json(self.get_config()); }, "The Keras config.")
      .def(
          "clone", [](const Metric& self) { return MetricPtr(self.clone()); }, "A deep copy with config and state.")
      .def_property_readonly("name", &Metric::name)
      .def_property_readonly("dtype", [](const Metric& self) { return std::string(dtype_name(self.dtype())); })
      .def_property_readonly("class_name", &Metric::class_name)
      .def_property_readonly("direction",
                             [](const Metric& self) { return std::string(direction_name(self.direction())); })
      .def_property_readonly("variables", &variables_of, "Declared variables with their current values.");

  py::class_<State>(m, "State", "An immutable metric state with +, to_vector, from_vector and result.")
      .def("__add__", &State::operator+)
      .def("to_vector", [](const State& s) { return vector_to_numpy(s.to_vector()); })
      .def(
          "from_vector", [](const State& s, py::handle v) { return s.from_vector(vector_of(v)); }, py::arg("values"))
      .def("result", [](const State& s) { return keyed_or_plain(s.metric(), s.result()); })
      .def("value", &State::value);

  m.def(
      "get",
      [](py::handle spec) -> MetricPtr {
        if (py::isinstance<py::str>(spec)) return MetricPtr(metrics::get(py::cast<std::string>(spec)));
        return MetricPtr(metrics::get(to_json(spec)));
      },
      py::arg("spec"), "Builds a metric from a name, an alias, JSON text or a {class_name, config} dict.");
  m.def(
      "serialize", [](const Metric& metric) { return from_json(metrics::serialize(metric)); }, py::arg("metric"),
      "Keras serialize: {module, class_name, config, registered_name}.");
  m.def("known_names", &metrics::known_names, "Every registered class name and alias.");
  m.def(
      "catalog",
      [] {
        py::list out;
        for (const metrics::MetricInfo& info : metrics::catalog()) {
          py::dict d;
          d["class_name"] = info.class_name;
          d["aliases"] = info.aliases;
          d["family"] = info.family;
          d["direction"] = std::string(direction_name(info.direction));
          d["doc"] = info.doc;
          out.append(d);
        }
        return out;
      },
      "The catalog table: class name, aliases, family, direction, doc.");
  m.def(
      "describe_catalog", [] { return from_json(metrics::describe_catalog()); },
      "The machine-readable catalog description (tally::metrics::describe_catalog): version, metrics, functions.");
  m.def(
      "describe", [](const std::string& name) { return from_json(metrics::describe(name)); }, py::arg("name"),
      "The description of one metric by class name or alias.");
  m.def("set_num_threads", &set_num_threads, py::arg("threads"), "Threads for tally kernels (0: OpenMP default).");
  m.def("num_threads", &num_threads, "Threads tally kernels use.");
  m.def("set_memory_limit", &set_memory_limit, py::arg("bytes"),
        "Memory limit in bytes for one metric's state plus one update's working memory (0: default).");
  m.def("memory_limit", &memory_limit, "The memory limit in bytes (default 1 GiB, or TALLY_MEMORY_LIMIT).");
  m.def("version", &version, "The library version.");
  m.def("build_info", &build_info, "Version and the optional parts compiled in.");
}

}  // namespace tally::python
