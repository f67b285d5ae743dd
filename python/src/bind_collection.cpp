// One implementation for Python and C++: the C++ MetricCollection and all_reduce_metrics,
// joined by metrics written in Python through PythonMetric (a C++ Metric that calls back
// into the Python object, holding the GIL), and by contexts written in Python through
// PythonContext. Also the stateless API (Keras 3) on any metric.
#include <pybind11/stl.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "tally/collection.h"
#include "tally/distributed.h"
#include "tally/error.h"

namespace tally::python {
namespace {

/// What the clones of one Python metric share: the Python object (weakly: it owns us) and
/// the variables its Python code reads and writes while tally calls back into it.
struct PythonSlot {
  py::object owner_ref;  ///< a weakref.ref to the Python metric
  /// The variables of the callback in progress, per thread (two threads may evaluate
  /// snapshots of one metric at once); touched only with the GIL held.
  struct Active {
    Variables* write = nullptr;
    const Variables* read = nullptr;
  };
  std::unordered_map<std::thread::id, Active> active;
  Active current() const {
    const auto it = active.find(std::this_thread::get_id());
    return it == active.end() ? Active{} : it->second;
  }
  py::object pending_args;  ///< (args, kwargs) of the update in progress
};

/// A metric written in Python (tally.Metric). Its state lives here, in C++ Variables, so it
/// merges, flattens, snapshots and all-reduces through the same code as the built-ins; its
/// update and result are the Python methods, called with the GIL held.
class PythonMetric final : public MetricWithClone<PythonMetric> {
 public:
  PythonMetric(py::object owner_ref, std::string class_name, std::string name, DType dtype)
      : MetricWithClone(std::move(name), dtype), class_name_(std::move(class_name)), slot_(new PythonSlot()) {
    slot_->owner_ref = std::move(owner_ref);
  }
  PythonMetric(const PythonMetric&) = default;
  ~PythonMetric() override {
    if (slot_.use_count() == 1) {  // the py::objects of the last clone are released under the GIL
      py::gil_scoped_acquire gil;
      slot_->owner_ref = py::object();
      slot_->pending_args = py::object();
    }
  }

  std::string class_name() const override { return class_name_; }

  Json get_config() const override {
    if (!config_) {
      py::gil_scoped_acquire gil;
      config_ = std::make_shared<Json>(to_json(owner().attr("get_config")()));
    }
    return *config_;
  }

  void accumulate(Variables& vars, const Batch& /*batch*/) const override {
    py::gil_scoped_acquire gil;
    if (!slot_->pending_args) {
      throw InvalidArgument(name() + ": a metric written in Python is updated through its update_state method");
    }
    const py::tuple pending = slot_->pending_args;  // (args, kwargs)
    Activate active(*slot_, &vars, &vars);
    owner().attr("update_state")(*pending[0], **pending[1]);
  }

  Tensor result_from(const Variables& vars) const override {
    py::gil_scoped_acquire gil;
    Activate active(*slot_, nullptr, &vars);
    const py::object value = owner().attr("result")();
    ArrayArg arg = to_view(value, "result");
    if (arg.view.ndim() == 0 && arg.view.numel() == 1) return Tensor::scalar(Tensor::copy_of(arg.view).item());
    const Tensor copy = Tensor::copy_of(arg.view);
    return Tensor::from_vector(copy.to_doubles(), copy.shape());
  }

  /// Declares a variable (tally.Metric.add_variable); the values start at the identity.
  std::size_t declare(std::string name, Shape shape, DType dtype, Aggregation aggregation) {
    return add_variable(std::move(name), std::move(shape), dtype, aggregation);
  }

  /// The variables Python code sees now: those of a callback in progress, else the metric's own.
  const Variables& visible() const {
    const PythonSlot::Active a = slot_->current();
    if (a.read != nullptr) return *a.read;
    return variable_values();
  }

  /// Writes variable `index` (assign / assign_add from Python).
  void write(std::size_t index, const std::vector<double>& values) {
    const PythonSlot::Active a = slot_->current();
    if (a.read != nullptr && a.write == nullptr) {
      throw StateError(name() + ": result() must not change the metric's variables");
    }
    if (a.write != nullptr) {
      write_into(*a.write, index, values);
      return;
    }
    Variables copy = variable_values();
    write_into(copy, index, values);
    set_variable_values(copy);
  }

  bool in_update() const { return slot_->current().write != nullptr; }
  PythonSlot& slot() const { return *slot_; }

 private:
  // Points Python's variable accessors at `vars` for the duration of a callback.
  struct Activate {
    Activate(PythonSlot& slot, Variables* writable, const Variables* readable) : slot_(slot), saved_(slot.current()) {
      slot.active[std::this_thread::get_id()] = PythonSlot::Active{writable, readable};
    }
    ~Activate() {
      if (saved_.read == nullptr && saved_.write == nullptr) {
        slot_.active.erase(std::this_thread::get_id());
      } else {
        slot_.active[std::this_thread::get_id()] = saved_;
      }
    }
    Activate(const Activate&) = delete;
    Activate& operator=(const Activate&) = delete;
    PythonSlot& slot_;
    PythonSlot::Active saved_;
  };

  static void write_into(Variables& vars, std::size_t index, const std::vector<double>& values) {
    const Variable& v = vars.layout().at(index);
    if (static_cast<std::int64_t>(values.size()) != v.numel()) {
      throw ShapeError("variable \"" + v.name + "\": expected " + std::to_string(v.numel()) + " values; received " +
                       std::to_string(values.size()));
    }
    if (v.dtype == DType::kInt64) {
      auto out = vars.i64(index);
      for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<std::int64_t>(values[i]);
    } else {
      auto out = vars.f64(index);
      std::copy(values.begin(), values.end(), out.begin());
    }
  }

  py::object owner() const {
    py::object o = slot_->owner_ref();
    if (o.is_none()) throw StateError(name() + ": the Python metric behind this state no longer exists");
    return o;
  }

  std::string class_name_;
  std::shared_ptr<PythonSlot> slot_;
  mutable std::shared_ptr<Json> config_;
};

/// A DistributedContext implemented in Python (tally.DistributedContext subclasses).
class PythonContext final : public DistributedContext {
 public:
  explicit PythonContext(py::object context) : context_(std::move(context)) {}
  int local_rank() const override { return property("local_rank"); }
  int global_rank() const override { return property("global_rank"); }
  int world_size() const override { return property("world_size"); }
  int local_size() const override { return property("local_size"); }
  void all_reduce_in_place(std::span<double> buffer, ReduceOp op) override {
    py::gil_scoped_acquire gil;
    py::array_t<double> array(static_cast<py::ssize_t>(buffer.size()));
    std::copy(buffer.begin(), buffer.end(), array.mutable_data());
    const char* name = op == ReduceOp::kSum ? "sum" : op == ReduceOp::kMin ? "min" : "max";
    py::object out = context_.attr("all_reduce_in_place")(array, name);
    // A context may reduce in place or return a new array; both are accepted.
    using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
    Doubles result = out.is_none() ? Doubles(array) : Doubles::ensure(out);
    if (!result || static_cast<std::size_t>(result.size()) != buffer.size()) {
      throw DistributedError("all_reduce_in_place of " + py::cast<std::string>(py::repr(context_)) +
                             " returned an array of the wrong size");
    }
    std::copy_n(result.data(), buffer.size(), buffer.begin());
  }
  void broadcast(std::span<double> /*buffer*/, int /*root*/) override {
    throw DistributedError("broadcast is not available on a context written in Python");
  }
  std::vector<double> all_gather(std::span<const double> /*local*/) override {
    throw DistributedError("all_gather is not available on a context written in Python");
  }
  void barrier() override {
    py::gil_scoped_acquire gil;
    context_.attr("barrier")();
  }
  void signal_failure(std::string_view reason) override {
    py::gil_scoped_acquire gil;
    context_.attr("signal_failure")(std::string(reason));
  }

 private:
  int property(const char* name) const {
    py::gil_scoped_acquire gil;
    return py::cast<int>(context_.attr(name));
  }
  py::object context_;
};

void all_reduce_with(const py::object& context, const std::function<void(DistributedContext&)>& body) {
  if (py::isinstance<DistributedContext>(context)) {
    DistributedContext& native = py::cast<DistributedContext&>(context);
    py::gil_scoped_release release;
    body(native);
    return;
  }
  PythonContext adapter(context);
  py::gil_scoped_release release;
  body(adapter);
}

void update_collection(MetricCollection& self, py::handle y_true, py::handle y_pred, py::handle sample_weight,
                       py::handle query_ids, py::handle index) {
  const ArrayArg q = to_view(query_ids, "query_ids");
  const ArrayArg i = to_view(index, "index");
  const AuxInputs aux{q.view, i.view};
  std::vector<PythonSlot*> slots;
  for (Metric* m : self.metrics()) {
    if (auto* p = dynamic_cast<PythonMetric*>(m)) slots.push_back(&p->slot());
  }
  if (slots.empty()) {
    const ArrayArg t = to_view(y_true, "y_true");
    const ArrayArg p = to_view(y_pred, "y_pred");
    const ArrayArg w = to_view(sample_weight, "sample_weight");
    py::gil_scoped_release release;
    self.update_state(t.view, p.view, w.view, aux);
    return;
  }
  // Python members receive the objects as given, exactly as their own update_state would.
  const py::tuple args = py::make_tuple(py::make_tuple(y_true, y_pred, sample_weight), py::dict());
  for (PythonSlot* s : slots) s->pending_args = args;
  struct Clear {
    std::vector<PythonSlot*>& slots;
    ~Clear() {
      for (PythonSlot* s : slots) s->pending_args = py::object();
    }
  } clear{slots};
  const ArrayArg t = to_view(y_true, "y_true");
  const ArrayArg p = to_view(y_pred, "y_pred");
  const ArrayArg w = to_view(sample_weight, "sample_weight");
  py::gil_scoped_release release;
  self.update_state(t.view, p.view, w.view, aux);
}

/// A list of numpy arrays (Keras stateless variables) as Variables of the metric's layout.
Variables variables_from(const Metric& metric, py::handle values) {
  Variables vars = stateless_reset_state(metric);
  const VariableLayout& layout = vars.layout();
  if (!py::isinstance<py::sequence>(values) || py::isinstance<py::str>(values)) {
    throw InvalidArgument(metric.name() + ": metric_variables must be a list of arrays");
  }
  const py::sequence seq = py::reinterpret_borrow<py::sequence>(values);
  if (seq.size() != layout.size()) {
    throw StateError(metric.name() + ": expected " + std::to_string(layout.size()) + " variables; received " +
                     std::to_string(seq.size()));
  }
  for (std::size_t i = 0; i < layout.size(); ++i) {
    ArrayArg arg = to_view(seq[i], "metric_variables");
    const Tensor t = Tensor::copy_of(arg.view);
    if (t.numel() != layout[i].numel()) {
      throw ShapeError(metric.name() + ": variable \"" + layout[i].name + "\" has shape " +
                       shape_string(layout[i].shape) + "; received " + shape_string(t.shape()));
    }
    const std::vector<double> d = t.to_doubles();
    if (layout[i].dtype == DType::kInt64) {
      auto out = vars.i64(i);
      for (std::size_t k = 0; k < d.size(); ++k) out[k] = static_cast<std::int64_t>(d[k]);
    } else {
      std::copy(d.begin(), d.end(), vars.f64(i).begin());
    }
  }
  return vars;
}

py::list variables_to_list(const Variables& vars) {
  py::list out;
  for (std::size_t i = 0; i < vars.size(); ++i) out.append(to_numpy(vars.tensor(i)));
  return out;
}

Aggregation aggregation_of(const std::string& name) {
  if (name == "sum") return Aggregation::kSum;
  if (name == "min") return Aggregation::kMin;
  if (name == "max") return Aggregation::kMax;
  throw InvalidArgument("aggregation must be sum, min or max; received \"" + name + "\"");
}

}  // namespace

void bind_collection(py::module_& m) {
  py::class_<PythonMetric, Metric, std::shared_ptr<PythonMetric>>(m, "_PythonMetric",
                                                                  "The C++ side of a tally.Metric subclass.")
      .def(py::init([](py::object owner_ref, std::string class_name, std::string name, const std::string& dtype) {
             return std::make_shared<PythonMetric>(std::move(owner_ref), std::move(class_name), std::move(name),
                                                   dtype_from_name(dtype));
           }),
           py::arg("owner_ref"), py::arg("class_name"), py::arg("name"), py::arg("dtype"))
      .def(
          "_declare",
          [](PythonMetric& self, std::string name, std::vector<std::int64_t> shape, const std::string& dtype,
             const std::string& aggregation) {
            return self.declare(std::move(name), Shape(shape.begin(), shape.end()), dtype_from_name(dtype),
                                aggregation_of(aggregation));
          },
          py::arg("name"), py::arg("shape"), py::arg("dtype"), py::arg("aggregation"))
      .def(
          "_value", [](const PythonMetric& self, std::size_t index) { return to_numpy(self.visible().tensor(index)); },
          py::arg("index"), "A copy of variable `index` as the Python code sees it now.")
      .def(
          "_write",
          [](PythonMetric& self, std::size_t index, py::handle values) {
            ArrayArg arg = to_view(values, "value");
            self.write(index, Tensor::copy_of(arg.view).to_doubles());
          },
          py::arg("index"), py::arg("values"))
      .def("_in_update", &PythonMetric::in_update)
      .def(
          "_update",
          [](PythonMetric& self, py::tuple args, py::dict kwargs) {
            self.slot().pending_args = py::make_tuple(std::move(args), std::move(kwargs));
            struct Clear {
              PythonSlot& s;
              ~Clear() { s.pending_args = py::object(); }
            } clear{self.slot()};
            self.update_state(TensorView{}, TensorView{}, TensorView{});
          },
          py::arg("args"), py::arg("kwargs"),
          "Runs the Python update_state on a copy of the state, committed if it returns.");

  py::class_<MetricCollection, std::shared_ptr<MetricCollection>>(m, "_MetricCollection", "The C++ MetricCollection.")
      .def(py::init<>())
      .def(
          "add",
          [](MetricCollection& self, const Metric& metric) -> Metric& {
            self.add(metric.clone());
            return *self.metrics().back();
          },
          py::arg("metric"), py::return_value_policy::reference_internal,
          "Adds a copy of `metric` (config and state); returns the member, owned by the collection.")
      .def("update_state", &update_collection, py::arg("y_true"), py::arg("y_pred"),
           py::arg("sample_weight") = py::none(), py::kw_only(), py::arg("query_ids") = py::none(),
           py::arg("index") = py::none(),
           "Updates every metric (each gets the auxiliary inputs it takes); all or nothing.")
      .def("reset_state", &MetricCollection::reset_state)
      .def("merge_state", &MetricCollection::merge_state, py::arg("other"))
      .def("to_vector",
           [](const MetricCollection& self) {
             const std::vector<double> v = self.to_vector();
             py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
             std::copy(v.begin(), v.end(), out.mutable_data());
             return out;
           })
      .def(
          "from_vector",
          [](MetricCollection& self, py::handle values) {
            ArrayArg arg = to_view(values, "values");
            if (arg.view.ndim() != 1) {
              throw ShapeError("MetricCollection.from_vector: the state vector must be 1-D; received " +
                               arg.view.describe());
            }
            const std::vector<double> v = Tensor::copy_of(arg.view).to_doubles();
            self.from_vector(v);
          },
          py::arg("values"))
      .def("names", &MetricCollection::names)
      .def("__len__", &MetricCollection::size)
      .def("shared_work_groups", &MetricCollection::shared_work_groups,
           "Groups of member indices that share per-batch work.")
      .def("layout_hash", [](const MetricCollection& self) { return layout_hash(self.metrics()); });

  m.def(
      "_all_reduce_metrics",
      [](const std::vector<Metric*>& metrics, const py::object& context) {
        all_reduce_with(context, [&](DistributedContext& c) { all_reduce_metrics(metrics, c); });
      },
      py::arg("metrics"), py::arg("context"));
  m.def(
      "_all_reduce_collection",
      [](MetricCollection& collection, const py::object& context) {
        all_reduce_with(context, [&](DistributedContext& c) { all_reduce_metrics(collection, c); });
      },
      py::arg("collection"), py::arg("context"));
  m.def(
      "_layout_hash",
      [](const std::vector<Metric*>& metrics) {
        const std::vector<const Metric*> raw(metrics.begin(), metrics.end());
        return layout_hash(raw);
      },
      py::arg("metrics"));

  m.def(
      "_set_variables",
      [](Metric& metric, const std::vector<std::vector<std::int64_t>>& shapes, py::handle values) {
        // Unpickling: the shapes come along because some layouts are sized by the first batch
        // (F1Score without num_classes), so a fresh metric's layout may still be unsized.
        auto layout = std::make_shared<VariableLayout>(metric.variables());
        if (shapes.size() != layout->size()) {
          throw StateError(metric.name() + ": expected " + std::to_string(layout->size()) +
                           " variable shapes; received " + std::to_string(shapes.size()));
        }
        for (std::size_t i = 0; i < shapes.size(); ++i) (*layout)[i].shape = Shape(shapes[i].begin(), shapes[i].end());
        Variables vars(std::move(layout));
        ArrayArg arg = to_view(values, "values");
        const std::vector<double> v = Tensor::copy_of(arg.view).to_doubles();
        vars.assign_vector(v, metric.name());
        metric.set_variable_values(vars);
      },
      py::arg("metric"), py::arg("shapes"), py::arg("values"));
  m.def(
      "_stateless_reset_state", [](const Metric& metric) { return variables_to_list(stateless_reset_state(metric)); },
      py::arg("metric"));
  m.def(
      "_stateless_update_state",
      [](const Metric& metric, py::handle values, py::handle y_true, py::handle y_pred, py::handle sample_weight) {
        Variables vars = variables_from(metric, values);
        auto* python = dynamic_cast<const PythonMetric*>(&metric);
        if (python != nullptr) {
          python->slot().pending_args = py::make_tuple(py::make_tuple(y_true, y_pred, sample_weight), py::dict());
          struct Clear {
            PythonSlot& s;
            ~Clear() { s.pending_args = py::object(); }
          } clear{python->slot()};
          return variables_to_list(stateless_update_state(metric, std::move(vars), {}, {}, {}));
        }
        const ArrayArg t = to_view(y_true, "y_true");
        const ArrayArg p = to_view(y_pred, "y_pred");
        const ArrayArg w = to_view(sample_weight, "sample_weight");
        Variables out;
        {
          py::gil_scoped_release release;
          out = stateless_update_state(metric, std::move(vars), t.view, p.view, w.view);
        }
        return variables_to_list(out);
      },
      py::arg("metric"), py::arg("metric_variables"), py::arg("y_true"), py::arg("y_pred"),
      py::arg("sample_weight") = py::none());
  m.def(
      "_stateless_result",
      [](const Metric& metric, py::handle values) {
        return result_to_python(stateless_result(metric, variables_from(metric, values)));
      },
      py::arg("metric"), py::arg("metric_variables"));
}

void all_reduce_with_context(const py::object& context, const std::function<void(DistributedContext&)>& body) {
  all_reduce_with(context, body);
}

}  // namespace tally::python
