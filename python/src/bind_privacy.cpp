// tally's seeded noise and private release for Python. Arrays of any shape are treated as
// their C-order flat vectors (the same draws as the C++ flat overloads) and come back in
// their shape as float64; every check and message is the C++ one.
#include <pybind11/stl.h>

#include <memory>

#include "arrays.h"
#include "bindings.h"
#include "tally/collection.h"
#include "tally/error.h"
#include "tally/privacy.h"

namespace tally::python {
namespace {

Seed seed_of(py::handle seed) {
  if (seed.is_none()) return std::nullopt;
  const auto fail = [&] {
    return InvalidArgument("argument `seed` must be None or an integer in [0, 2**64); received " +
                           py::cast<std::string>(py::repr(seed)));
  };
  if (py::isinstance<py::bool_>(seed) || !py::hasattr(seed, "__index__")) throw fail();
  const py::int_ value(py::reinterpret_borrow<py::object>(seed.attr("__index__")()));
  const unsigned long long v = PyLong_AsUnsignedLongLong(value.ptr());
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw fail();
  }
  return static_cast<std::uint64_t>(v);
}

py::object seed_to_python(Seed seed) { return seed ? py::object(py::int_(*seed)) : py::object(py::none()); }

// An array argument as its C-order values plus its shape, for the flat-vector functions.
struct Flat {
  std::vector<double> values;
  Shape shape;
};

Flat flat_of(py::handle object, const char* argument) {
  if (object.is_none()) throw InvalidArgument(std::string("argument `") + argument + "` is None");
  const ArrayArg arg = to_view(object, argument);
  const Tensor t = Tensor::copy_of(arg.view);
  return {t.to_doubles(), t.shape()};
}

py::array shaped(const std::vector<double>& values, const Shape& shape) {
  py::array_t<double> out(shape);
  std::copy(values.begin(), values.end(), out.mutable_data());
  return out;
}

py::list float64_list(const std::vector<Tensor>& tensors) {
  py::list out;
  for (const Tensor& t : tensors) out.append(to_numpy(t));
  return out;
}

using Noise = std::vector<double> (*)(std::span<const double>, double, Seed, std::uint32_t);
using TensorNoise = std::vector<Tensor> (*)(std::span<const Tensor>, double, Seed);

py::object noise(py::handle x, double scale, py::handle seed, std::uint32_t stream, Noise flat_fn,
                 TensorNoise tensors_fn) {
  const Seed s = seed_of(seed);
  if (py::isinstance<py::list>(x) || py::isinstance<py::tuple>(x)) {
    if (stream != 0) {
      throw InvalidArgument("argument `stream` applies to one array; a list uses stream t for its tensor t");
    }
    const std::vector<Tensor> ts = tensors_of(x, "tensors");
    std::vector<Tensor> out;
    {
      py::gil_scoped_release release;
      out = tensors_fn(ts, scale, s);
    }
    return float64_list(out);
  }
  Flat f = flat_of(x, "values");
  std::vector<double> out;
  {
    py::gil_scoped_release release;
    out = flat_fn(f.values, scale, s, stream);
  }
  return shaped(out, f.shape);
}

std::vector<double> gaussian_flat(std::span<const double> v, double s, Seed seed, std::uint32_t stream) {
  return add_gaussian_noise(v, s, seed, stream);
}
std::vector<double> laplace_flat(std::span<const double> v, double s, Seed seed, std::uint32_t stream) {
  return add_laplacian_noise(v, s, seed, stream);
}
std::vector<Tensor> gaussian_tensors(std::span<const Tensor> t, double s, Seed seed) {
  return add_gaussian_noise(t, s, seed);
}
std::vector<Tensor> laplace_tensors(std::span<const Tensor> t, double s, Seed seed) {
  return add_laplacian_noise(t, s, seed);
}

// RAII in C++, __enter__/__exit__ in Python: the scope lives between the two calls.
class PySeedScope {
 public:
  explicit PySeedScope(Seed seed) : seed_(seed) {}
  void enter() {
    if (scope_) throw InvalidArgument("SeedScope: this scope is already active");
    scope_ = std::make_unique<SeedScope>(seed_);
  }
  void exit() { scope_.reset(); }
  Seed seed() const { return seed_; }

 private:
  Seed seed_;
  std::unique_ptr<SeedScope> scope_;
};

py::array count_mask(const State& state) {
  const Variables& vars = state.variables();
  py::array_t<bool> out(static_cast<py::ssize_t>(vars.vector_size()));
  bool* p = out.mutable_data();
  for (const Variable& v : vars.layout()) {
    p = std::fill_n(p, v.numel(), v.dtype == DType::kInt64);
  }
  return out;
}

}  // namespace

void bind_privacy(py::module_& m) {
  py::module_ p = m.def_submodule("privacy", "tally's privacy layer; use tally.privacy instead");

  py::class_<PySeedScope>(p, "_SeedScope")
      .def(py::init([](py::handle seed) { return std::make_unique<PySeedScope>(seed_of(seed)); }), py::arg("seed"))
      .def("enter", &PySeedScope::enter)
      .def("exit", &PySeedScope::exit)
      .def_property_readonly("seed", [](const PySeedScope& s) { return seed_to_python(s.seed()); });
  p.def("current_seed", [] { return seed_to_python(SeedScope::current()); });
  p.def(
      "resolve_seed", [](py::handle seed) { return resolve_seed(seed_of(seed)); }, py::arg("seed") = py::none());

  p.def(
      "add_gaussian_noise",
      [](py::handle x, double stddev, py::handle seed, std::uint32_t stream) {
        return noise(x, stddev, seed, stream, &gaussian_flat, &gaussian_tensors);
      },
      py::arg("x"), py::arg("stddev"), py::arg("seed") = py::none(), py::arg("stream") = 0);
  p.def(
      "add_laplacian_noise",
      [](py::handle x, double scale, py::handle seed, std::uint32_t stream) {
        return noise(x, scale, seed, stream, &laplace_flat, &laplace_tensors);
      },
      py::arg("x"), py::arg("scale"), py::arg("seed") = py::none(), py::arg("stream") = 0);

  py::enum_<NormOrder>(p, "NormOrder", "Norm used for clipping and sensitivity.")
      .value("L1", NormOrder::kL1)
      .value("L2", NormOrder::kL2);
  p.def(
      "clip_by_norm",
      [](py::handle values, double max_norm, NormOrder order) {
        const Flat f = flat_of(values, "values");
        return shaped(clip_by_norm(f.values, max_norm, order), f.shape);
      },
      py::arg("values"), py::arg("max_norm"), py::arg("order"));
  p.def(
      "sum_clipped",
      [](py::handle contributions, double max_norm, NormOrder order) {
        std::vector<std::vector<double>> cs;
        for (const Tensor& t : tensors_of(contributions, "contributions")) {
          if (t.ndim() != 1) {
            throw ShapeError("sum_clipped: argument `contributions` must hold 1-D vectors; received " + t.describe());
          }
          cs.push_back(t.to_doubles());
        }
        std::vector<double> out;
        {
          py::gil_scoped_release release;
          out = sum_clipped(cs, max_norm, order);
        }
        return shaped(out, {static_cast<std::int64_t>(out.size())});
      },
      py::arg("contributions"), py::arg("max_norm"), py::arg("order"));
  p.def("standard_normal_cdf", &standard_normal_cdf, py::arg("x"));
  p.def("analytic_gaussian_sigma", &analytic_gaussian_sigma, py::arg("epsilon"), py::arg("delta"),
        py::arg("l2_sensitivity"));

  py::class_<Mechanism, std::shared_ptr<Mechanism>>(p, "Mechanism", "A noise-adding mechanism for flat state vectors.")
      .def(
          "apply",
          [](const Mechanism& self, py::handle values, py::handle seed) {
            const Seed s = seed_of(seed);
            Flat f = flat_of(values, "values");
            std::vector<double> out;
            {
              py::gil_scoped_release release;
              out = self.apply(f.values, s);
            }
            return shaped(out, f.shape);
          },
          py::arg("values"), py::arg("seed") = py::none(), "values plus noise, as float64 of the same shape.");
  py::class_<GaussianMechanism, Mechanism, std::shared_ptr<GaussianMechanism>>(
      p, "GaussianMechanism", "Gaussian noise with a fixed standard deviation.")
      .def_static(
          "from_stddev",
          [](double s) { return std::make_shared<GaussianMechanism>(GaussianMechanism::from_stddev(s)); },
          py::arg("stddev"), "From a noise standard deviation (>= 0).")
      .def_static(
          "from_budget",
          [](double e, double d, double l2) {
            return std::make_shared<GaussianMechanism>(GaussianMechanism::from_budget(e, d, l2));
          },
          py::arg("epsilon"), py::arg("delta"), py::arg("l2_sensitivity"),
          "(epsilon, delta)-DP for the L2 sensitivity, by the analytic Gaussian mechanism (Balle and Wang 2018).")
      .def_property_readonly("stddev", &GaussianMechanism::stddev, "The noise standard deviation.")
      .def("__repr__", [](const GaussianMechanism& g) {
        return "GaussianMechanism(stddev=" + py::cast<std::string>(py::repr(py::float_(g.stddev()))) + ")";
      });
  py::class_<LaplaceMechanism, Mechanism, std::shared_ptr<LaplaceMechanism>>(p, "LaplaceMechanism",
                                                                             "Laplace noise with a fixed scale b.")
      .def_static(
          "from_scale", [](double b) { return std::make_shared<LaplaceMechanism>(LaplaceMechanism::from_scale(b)); },
          py::arg("scale"), "From a noise scale b (>= 0).")
      .def_static(
          "from_budget",
          [](double e, double l1) { return std::make_shared<LaplaceMechanism>(LaplaceMechanism::from_budget(e, l1)); },
          py::arg("epsilon"), py::arg("l1_sensitivity"),
          "epsilon-DP for the L1 sensitivity: b = sensitivity / epsilon.")
      .def_property_readonly("scale", &LaplaceMechanism::scale, "The noise scale b.")
      .def("__repr__", [](const LaplaceMechanism& l) {
        return "LaplaceMechanism(scale=" + py::cast<std::string>(py::repr(py::float_(l.scale()))) + ")";
      });

  p.def(
      "privatize_vector",
      [](py::handle values, const Mechanism& mechanism, py::handle seed) {
        const Seed s = seed_of(seed);
        Flat f = flat_of(values, "state");
        std::vector<double> out;
        {
          py::gil_scoped_release release;
          out = privatize(f.values, mechanism, s);
        }
        return shaped(out, f.shape);
      },
      py::arg("state"), py::arg("mechanism"), py::arg("seed") = py::none());
  p.def(
      "privatize_state",
      [](const State& state, const Mechanism& mechanism, py::handle seed) {
        return privatize(state, mechanism, seed_of(seed));
      },
      py::arg("state"), py::arg("mechanism"), py::arg("seed") = py::none());
  p.def(
      "privatize_states",
      [](const std::vector<State>& states, const Mechanism& mechanism, py::handle seed) {
        return privatize(CollectionState(states), mechanism, seed_of(seed)).states();
      },
      py::arg("states"), py::arg("mechanism"), py::arg("seed") = py::none(),
      "A collection's member states privatised with one draw over their concatenated vector.");
  p.def("count_mask", &count_mask, py::arg("state"),
        "True at the slots of int64 (count) variables in the state's vector.");
}

}  // namespace tally::python
