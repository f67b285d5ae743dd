// Durable state files (tally/state_file.h) for Python. The Python MetricCollection is a
// list of wrappers around shared C++ metrics, so collections cross as lists of metrics:
// they are saved and restored through a C++ MetricCollection of clones, which keeps the
// file format, the checks and the all-or-nothing restore exactly those of C++.
#include <pybind11/stl.h>

#include "bindings.h"
#include "tally/state_file.h"

namespace tally::python {
namespace {

using MetricPtr = std::shared_ptr<Metric>;

// Raw pointers, not shared_ptr: a collection's members are owned by the C++ collection.
MetricCollection collection_of_clones(const std::vector<Metric*>& metrics) {
  MetricCollection out;
  for (const Metric* m : metrics) out.add(m->clone());
  return out;
}

std::string kind_name(SavedState::Kind kind) { return kind == SavedState::Kind::kMetric ? "metric" : "collection"; }

}  // namespace

void bind_state_file(py::module_& m) {
  py::class_<SavedState>(m, "_SavedState", "A state file read and verified by load_state.")
      .def_property_readonly("kind", [](const SavedState& s) { return kind_name(s.kind()); })
      .def_property_readonly("user_data", [](const SavedState& s) { return from_json(s.user_data()); })
      .def_property_readonly("layout_hash", &SavedState::layout_hash)
      .def_property_readonly("names", &SavedState::names)
      .def(
          "restore_metric", [](const SavedState& s, Metric& metric) { s.restore(metric); }, py::arg("metric"),
          "Restores a single-metric file into `metric`; unchanged on error.")
      .def(
          "restore_metrics",
          [](const SavedState& s, const std::vector<Metric*>& metrics) {
            // Restore into clones first, so a mismatch anywhere leaves every target as it was.
            MetricCollection trial = collection_of_clones(metrics);
            s.restore(trial);
            const std::vector<Metric*> restored = trial.metrics();
            for (std::size_t i = 0; i < metrics.size(); ++i) {
              metrics[i]->set_variable_values(restored[i]->variable_values());
            }
          },
          py::arg("metrics"), "Restores a collection file into the metrics of a collection, all or nothing.")
      .def(
          "to_metric", [](const SavedState& s) { return MetricPtr(s.to_metric()); },
          "A new metric built from the saved spec, holding the saved state.")
      .def(
          "to_metrics",
          [](const SavedState& s) {
            const MetricCollection collection = s.to_collection();
            std::vector<MetricPtr> out;
            for (const Metric* metric : collection.metrics()) out.push_back(MetricPtr(metric->clone()));
            return out;
          },
          "The metrics of a collection file, built from the saved specs and holding the saved state.");

  m.def(
      "save_state_metric",
      [](const Metric& metric, const std::string& path, py::handle user_data) {
        const Json data = to_json(user_data);
        const MetricPtr copy(metric.clone());
        py::gil_scoped_release release;
        save_state(*copy, path, data);
      },
      py::arg("metric"), py::arg("path"), py::arg("user_data"),
      "Writes one metric's config, layout and state to `path` atomically.");
  m.def(
      "save_state_metrics",
      [](const std::vector<Metric*>& metrics, const std::string& path, py::handle user_data) {
        const Json data = to_json(user_data);
        const MetricCollection collection = collection_of_clones(metrics);
        py::gil_scoped_release release;
        save_state(collection, path, data);
      },
      py::arg("metrics"), py::arg("path"), py::arg("user_data"),
      "Writes a collection's metrics to `path` atomically, as one collection file.");
  m.def(
      "load_state",
      [](const std::string& path) {
        py::gil_scoped_release release;
        return load_state(path);
      },
      py::arg("path"), "Reads and verifies a state file (magic, version, lengths, checksum, layout hash).");
}

}  // namespace tally::python
