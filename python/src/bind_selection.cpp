// ModelSelector and the logging sinks for Python; the package's wrappers accept metrics.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "arrays.h"
#include "bindings.h"
#include "tally/logging.h"
#include "tally/selection.h"

namespace tally::python {
namespace {

SelectionOperator operator_of(py::object op) {
  if (op.is_none()) return {};
  if (py::isinstance<py::str>(op)) {
    const std::string name = py::cast<std::string>(op);
    if (name == "greater") return ModelSelector::greater();
    if (name == "less") return ModelSelector::less();
    throw InvalidArgument("ModelSelector: operator must be \"greater\", \"less\", a callable or None; received \"" +
                          name + "\"");
  }
  return [op](double candidate, double best) {
    py::gil_scoped_acquire gil;
    return py::cast<bool>(op(candidate, best));
  };
}

log::Results results_of(const py::dict& results) {
  log::Results out;
  for (const auto& [name, value] : results) {
    const ArrayArg arg = to_view(value, "result");
    out.emplace_back(py::cast<std::string>(name), Tensor::copy_of(arg.view));
  }
  return out;
}

}  // namespace

void bind_selection(py::module_& m) {
  py::class_<ModelSelector>(m, "_ModelSelector")
      .def(py::init([](std::string name, py::object op, std::string logdir) {
             return ModelSelector(std::move(name), operator_of(std::move(op)), std::move(logdir));
           }),
           py::arg("metric_name"), py::arg("operator"), py::arg("logdir"))
      .def(
          "update",
          [](ModelSelector& self, double value, std::int64_t step, py::object checkpoint) {
            std::function<void(const std::string&)> cb;
            if (!checkpoint.is_none()) cb = [checkpoint](const std::string& folder) { checkpoint(folder); };
            return self.update(value, step, cb);
          },
          py::arg("value"), py::arg("step"), py::arg("checkpoint") = py::none())
      .def("best_folder", &ModelSelector::best_folder)
      .def("best_model_sel_file", &ModelSelector::best_model_sel_file)
      .def_property_readonly("best_value", &ModelSelector::best_value)
      .def_property_readonly("best_step", &ModelSelector::best_step)
      .def_static("json_read", [](const std::string& path) { return from_json(ModelSelector::json_read(path)); })
      .def_static("json_write",
                  [](const std::string& path, py::handle object) { ModelSelector::json_write(path, to_json(object)); });

  py::class_<log::Sink, std::shared_ptr<log::Sink>>(m, "_Sink")
      .def("write",
           [](log::Sink& self, std::int64_t step, const py::dict& results) { self.write(step, results_of(results)); });
  py::class_<log::JsonLinesSink, log::Sink, std::shared_ptr<log::JsonLinesSink>>(m, "JsonLinesSink")
      .def(py::init<std::string>(), py::arg("path"));
  py::class_<log::CsvSink, log::Sink, std::shared_ptr<log::CsvSink>>(m, "CsvSink")
      .def(py::init<std::string>(), py::arg("path"));
  py::class_<log::TensorBoardSink, log::Sink, std::shared_ptr<log::TensorBoardSink>>(m, "TensorBoardSink")
      .def(py::init<const std::string&>(), py::arg("logdir"))
      .def_property_readonly("path", &log::TensorBoardSink::path);
}

}  // namespace tally::python
