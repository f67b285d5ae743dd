#include "tally/metrics/probabilistic.h"

#include <cmath>
#include <limits>

#include "internal/check.h"
#include "metrics/kernels/probabilistic_math.h"
#include "metrics/kernels/row_loss.h"
#include "metrics/loss_alignment.h"
#include "metrics/loss_function_bindings.h"
#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {
namespace {

using detail::Aligned;
using kernels::ClipBounds;
using kernels::RowSpec;

std::string who(const Metric& metric) { return metric.class_name() + " \"" + metric.name() + "\""; }

void check_label_smoothing(std::string_view owner, double ls) {
  if (!(ls >= 0.0 && ls <= 1.0)) {
    throw InvalidArgument(internal::str_cat(owner, ": argument `label_smoothing` must lie in [0, 1]; received ", ls));
  }
}

void check_focal(std::string_view owner, double alpha, double gamma) {
  if (!std::isfinite(alpha)) {
    throw InvalidArgument(internal::str_cat(owner, ": argument `alpha` must be a finite number; received ", alpha));
  }
  if (!(gamma >= 0.0) || !std::isfinite(gamma)) {
    throw InvalidArgument(internal::str_cat(owner, ": argument `gamma` must be finite and >= 0; received ", gamma));
  }
}

// A sink turns (spec, row kernel) into the caller's result: folded totals for the metric
// classes, a loss tensor for the per-sample functions.
struct MaterializeSink {
  template <class Row>
  Tensor operator()(const RowSpec& spec, const Row& row) const {
    return kernels::materialize_rows(spec, row);
  }
};

struct AccumulateSink {
  std::string_view who;
  TensorView sample_weight;
  bool masked = false;
  template <class Row>
  internal::WeightedTotals operator()(const RowSpec& spec, const Row& row) const {
    return kernels::accumulate_rows(who, spec, sample_weight, masked, row);
  }
};

// ---- binary crossentropy ------------------------------------------------------------

template <class Sink>
auto run_binary_crossentropy(const Aligned& a, bool from_logits, double ls, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    if (from_logits) {
      return kernels::mean_over_rows(
          a.spec, yt, yp,
          [ls](double y, double x) { return kernels::bce_from_logit(kernels::smooth_binary(y, ls), x); }, sink);
    }
    return kernels::mean_over_rows(
        a.spec, yt, yp,
        [ls, clip](double y, double p) {
          return kernels::bce_from_probability(kernels::smooth_binary(y, ls), p, clip);
        },
        sink);
  });
}

// ---- categorical crossentropy -------------------------------------------------------

template <class Sink>
auto run_categorical_crossentropy(const Aligned& a, bool from_logits, double ls, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    const double classes = static_cast<double>(w);
    if (from_logits) {
      // Σ y_k (lse − x_k) = Σ y_k (m − x_k) + (Σ y_k) ln Σ e^(x_k − m): no cancellation.
      auto row = [=](std::int64_t r, bool&) {
        const auto* x = yp + r * w;
        const auto* y = yt + r * w;
        double m = -std::numeric_limits<double>::infinity();
        for (std::int64_t k = 0; k < w; ++k) m = std::max(m, to_double(x[k]));
        double se = 0.0;
        double lin = 0.0;
        double sy = 0.0;
        for (std::int64_t k = 0; k < w; ++k) {
          const double xk = to_double(x[k]);
          se += std::exp(xk - m);
          const double yk = kernels::smooth_categorical(to_double(y[k]), ls, classes);
          if (yk != 0.0) {
            lin += yk * (m - xk);
            sy += yk;
          }
        }
        return lin + sy * std::log(se);
      };
      return sink(a.spec, row);
    }
    auto row = [=](std::int64_t r, bool&) {
      const auto* p = yp + r * w;
      const auto* y = yt + r * w;
      double s = 0.0;
      for (std::int64_t k = 0; k < w; ++k) s += to_double(p[k]);
      double loss = 0.0;
      for (std::int64_t k = 0; k < w; ++k) {
        const double yk = kernels::smooth_categorical(to_double(y[k]), ls, classes);
        if (yk != 0.0) loss -= yk * std::log(kernels::clip(to_double(p[k]) / s, clip.lo, clip.hi));
      }
      return loss;
    };
    return sink(a.spec, row);
  });
}

// ---- sparse categorical crossentropy ------------------------------------------------

// Labels must be integral and in [0, C) unless equal to ignore_class; checked before any write.
template <class Yt>
void check_sparse_labels(std::string_view who, const Yt* yt, std::int64_t n, std::int64_t classes,
                         std::optional<std::int64_t> ignore_class) {
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = to_double(yt[i]);
    if (ignore_class && v == static_cast<double>(*ignore_class)) continue;
    if (!(v >= 0.0 && v < static_cast<double>(classes)) || v != std::floor(v)) {
      throw InvalidArgument(internal::str_cat(who, ": argument `y_true` must hold integer class ids in [0, ", classes,
                                              ")", ignore_class ? " or ignore_class" : "", "; received ", v,
                                              " at flat index ", i));
    }
  }
}

template <class Sink>
auto run_sparse_categorical_crossentropy(std::string_view who, const Aligned& a, bool from_logits,
                                         std::optional<std::int64_t> ignore_class, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    check_sparse_labels(who, yt, a.spec.positions, w, ignore_class);
    const bool has_ignore = ignore_class.has_value();
    const std::int64_t ignored = ignore_class.value_or(0);
    if (from_logits) {
      auto row = [=](std::int64_t r, bool& valid) {
        const auto label = static_cast<std::int64_t>(to_double(yt[r]));
        if (has_ignore && label == ignored) {
          valid = false;
          return 0.0;
        }
        const auto* x = yp + r * w;
        double m = -std::numeric_limits<double>::infinity();
        for (std::int64_t k = 0; k < w; ++k) m = std::max(m, to_double(x[k]));
        double se = 0.0;
        for (std::int64_t k = 0; k < w; ++k) se += std::exp(to_double(x[k]) - m);
        return (m - to_double(x[label])) + std::log(se);
      };
      return sink(a.spec, row);
    }
    auto row = [=](std::int64_t r, bool& valid) {
      const auto label = static_cast<std::int64_t>(to_double(yt[r]));
      if (has_ignore && label == ignored) {
        valid = false;
        return 0.0;
      }
      const auto* p = yp + r * w;
      double s = 0.0;
      for (std::int64_t k = 0; k < w; ++k) s += to_double(p[k]);
      return -std::log(kernels::clip(to_double(p[label]) / s, clip.lo, clip.hi));
    };
    return sink(a.spec, row);
  });
}

// ---- KL divergence, Poisson ------------------------------------------------------------

template <class Sink>
auto run_kl_divergence(const Aligned& a, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    auto row = [=](std::int64_t r, bool&) {
      double s = 0.0;
      for (std::int64_t k = r * w; k < (r + 1) * w; ++k)
        s += kernels::kl_term(to_double(yt[k]), to_double(yp[k]), clip.lo);
      return s;
    };
    return sink(a.spec, row);
  });
}

template <class Sink>
auto run_poisson(const Aligned& a, ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const double eps = clip.lo;
    return kernels::mean_over_rows(
        a.spec, yt, yp, [eps](double y, double p) { return kernels::poisson_term(y, p, eps); }, sink);
  });
}

// ---- focal crossentropies (functions only) ------------------------------------------

template <class Sink>
auto run_binary_focal(const Aligned& a, bool balance, double alpha, double gamma, bool from_logits, double ls,
                      ClipBounds clip, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    return kernels::mean_over_rows(
        a.spec, yt, yp,
        [=](double y, double x) {
          const double p = from_logits ? kernels::sigmoid(x) : x;
          return kernels::binary_focal_term(kernels::smooth_binary(y, ls), p, gamma, balance, alpha, clip);
        },
        sink);
  });
}

template <class Sink>
auto run_categorical_focal(const Aligned& a, double alpha, double gamma, bool from_logits, double ls, ClipBounds clip,
                           const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    const double classes = static_cast<double>(w);
    auto row = [=](std::int64_t r, bool&) {
      const auto* x = yp + r * w;
      const auto* y = yt + r * w;
      // Keras: softmax (with from_logits), then divide by the sum again, then clip.
      double m = 0.0;
      double se = 1.0;
      if (from_logits) {
        m = -std::numeric_limits<double>::infinity();
        for (std::int64_t k = 0; k < w; ++k) m = std::max(m, to_double(x[k]));
        se = 0.0;
        for (std::int64_t k = 0; k < w; ++k) se += std::exp(to_double(x[k]) - m);
      }
      auto prob = [&](std::int64_t k) { return from_logits ? std::exp(to_double(x[k]) - m) / se : to_double(x[k]); };
      double s = 0.0;
      for (std::int64_t k = 0; k < w; ++k) s += prob(k);
      double loss = 0.0;
      for (std::int64_t k = 0; k < w; ++k) {
        const double yk = kernels::smooth_categorical(to_double(y[k]), ls, classes);
        const double o = kernels::clip(prob(k) / s, clip.lo, clip.hi);
        loss += kernels::categorical_focal_term(yk, o, gamma, alpha);
      }
      return loss;
    };
    return sink(a.spec, row);
  });
}

}  // namespace

// --- BinaryCrossentropy -------------------------------------------------------------------

BinaryCrossentropy::BinaryCrossentropy(bool from_logits, double label_smoothing, std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype), from_logits_(from_logits), label_smoothing_(label_smoothing) {
  check_label_smoothing(who(*this), label_smoothing_);
}

std::unique_ptr<Metric> BinaryCrossentropy::from_config(const Json& config) {
  ConfigReader reader("BinaryCrossentropy", config);
  auto metric = std::make_unique<BinaryCrossentropy>(reader.get_bool("from_logits", false),
                                                     reader.get_double("label_smoothing", 0.0),
                                                     reader.name("binary_crossentropy"), reader.dtype());
  reader.finish();
  return metric;
}

Json BinaryCrossentropy::get_config() const {
  Json config = Metric::get_config();
  config["from_logits"] = from_logits_;
  config["label_smoothing"] = label_smoothing_;
  return config;
}

void BinaryCrossentropy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_elementwise(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t = run_binary_crossentropy(
      a, from_logits_, label_smoothing_, kernels::clip_bounds(dtype()), AccumulateSink{me, batch.sample_weight, false});
  add_totals(vars, t.total, t.count);
}

// --- CategoricalCrossentropy --------------------------------------------------------------

CategoricalCrossentropy::CategoricalCrossentropy(bool from_logits, double label_smoothing, std::int64_t axis,
                                                 std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype),
      from_logits_(from_logits),
      label_smoothing_(label_smoothing),
      axis_(axis) {
  check_label_smoothing(who(*this), label_smoothing_);
}

std::unique_ptr<Metric> CategoricalCrossentropy::from_config(const Json& config) {
  ConfigReader reader("CategoricalCrossentropy", config);
  auto metric = std::make_unique<CategoricalCrossentropy>(
      reader.get_bool("from_logits", false), reader.get_double("label_smoothing", 0.0), reader.get_int("axis", -1),
      reader.name("categorical_crossentropy"), reader.dtype());
  reader.finish();
  return metric;
}

Json CategoricalCrossentropy::get_config() const {
  Json config = Metric::get_config();
  config["from_logits"] = from_logits_;
  config["label_smoothing"] = label_smoothing_;
  config["axis"] = axis_;
  return config;
}

void CategoricalCrossentropy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_classes(me, batch.y_true, batch.y_pred, axis_);
  const internal::WeightedTotals t = run_categorical_crossentropy(
      a, from_logits_, label_smoothing_, kernels::clip_bounds(dtype()), AccumulateSink{me, batch.sample_weight, false});
  add_totals(vars, t.total, t.count);
}

// --- SparseCategoricalCrossentropy --------------------------------------------------------

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(bool from_logits, std::optional<std::int64_t> ignore_class,
                                                             std::int64_t axis, std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype), from_logits_(from_logits), ignore_class_(ignore_class), axis_(axis) {}

std::unique_ptr<Metric> SparseCategoricalCrossentropy::from_config(const Json& config) {
  ConfigReader reader("SparseCategoricalCrossentropy", config);
  auto metric = std::make_unique<SparseCategoricalCrossentropy>(
      reader.get_bool("from_logits", false), reader.get_optional_int("ignore_class"), reader.get_int("axis", -1),
      reader.name("sparse_categorical_crossentropy"), reader.dtype());
  reader.finish();
  return metric;
}

Json SparseCategoricalCrossentropy::get_config() const {
  Json config = Metric::get_config();
  config["from_logits"] = from_logits_;
  config["ignore_class"] = ignore_class_ ? Json(*ignore_class_) : Json();
  config["axis"] = axis_;
  return config;
}

void SparseCategoricalCrossentropy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_sparse(me, batch.y_true, batch.y_pred, axis_);
  const internal::WeightedTotals t =
      run_sparse_categorical_crossentropy(me, a, from_logits_, ignore_class_, kernels::clip_bounds(dtype()),
                                          AccumulateSink{me, batch.sample_weight, ignore_class_.has_value()});
  add_totals(vars, t.total, t.count);
}

// --- KLDivergence, Poisson ----------------------------------------------------------------

KLDivergence::KLDivergence(std::string name, DType dtype) : MetricWithClone(std::move(name), dtype) {}

std::unique_ptr<Metric> KLDivergence::from_config(const Json& config) {
  ConfigReader reader("KLDivergence", config);
  auto metric = std::make_unique<KLDivergence>(reader.name("kl_divergence"), reader.dtype());
  reader.finish();
  return metric;
}

void KLDivergence::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_classes(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t =
      run_kl_divergence(a, kernels::clip_bounds(dtype()), AccumulateSink{me, batch.sample_weight, false});
  add_totals(vars, t.total, t.count);
}

Poisson::Poisson(std::string name, DType dtype) : MetricWithClone(std::move(name), dtype) {}

std::unique_ptr<Metric> Poisson::from_config(const Json& config) {
  ConfigReader reader("Poisson", config);
  auto metric = std::make_unique<Poisson>(reader.name("poisson"), reader.dtype());
  reader.finish();
  return metric;
}

void Poisson::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_elementwise(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t =
      run_poisson(a, kernels::clip_bounds(dtype()), AccumulateSink{me, batch.sample_weight, false});
  add_totals(vars, t.total, t.count);
}

// --- per-sample functions -----------------------------------------------------------------

namespace functional {

Tensor binary_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool from_logits, double label_smoothing,
                           std::int64_t axis, DType dtype) {
  constexpr std::string_view me = "binary_crossentropy";
  check_label_smoothing(me, label_smoothing);
  const Aligned a = detail::align_elementwise(me, y_true, y_pred, axis);
  return run_binary_crossentropy(a, from_logits, label_smoothing, kernels::clip_bounds(dtype), MaterializeSink{});
}

Tensor categorical_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool from_logits,
                                double label_smoothing, std::int64_t axis, DType dtype) {
  constexpr std::string_view me = "categorical_crossentropy";
  check_label_smoothing(me, label_smoothing);
  const Aligned a = detail::align_classes(me, y_true, y_pred, axis);
  return run_categorical_crossentropy(a, from_logits, label_smoothing, kernels::clip_bounds(dtype), MaterializeSink{});
}

Tensor sparse_categorical_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool from_logits,
                                       std::optional<std::int64_t> ignore_class, std::int64_t axis, DType dtype) {
  constexpr std::string_view me = "sparse_categorical_crossentropy";
  const Aligned a = detail::align_sparse(me, y_true, y_pred, axis);
  return run_sparse_categorical_crossentropy(me, a, from_logits, ignore_class, kernels::clip_bounds(dtype),
                                             MaterializeSink{});
}

Tensor kl_divergence(const TensorView& y_true, const TensorView& y_pred, DType dtype) {
  const Aligned a = detail::align_classes("kl_divergence", y_true, y_pred, -1);
  return run_kl_divergence(a, kernels::clip_bounds(dtype), MaterializeSink{});
}

Tensor poisson(const TensorView& y_true, const TensorView& y_pred, DType dtype) {
  const Aligned a = detail::align_elementwise("poisson", y_true, y_pred, -1);
  return run_poisson(a, kernels::clip_bounds(dtype), MaterializeSink{});
}

Tensor binary_focal_crossentropy(const TensorView& y_true, const TensorView& y_pred, bool apply_class_balancing,
                                 double alpha, double gamma, bool from_logits, double label_smoothing,
                                 std::int64_t axis, DType dtype) {
  constexpr std::string_view me = "binary_focal_crossentropy";
  check_label_smoothing(me, label_smoothing);
  check_focal(me, alpha, gamma);
  const Aligned a = detail::align_elementwise(me, y_true, y_pred, axis);
  return run_binary_focal(a, apply_class_balancing, alpha, gamma, from_logits, label_smoothing,
                          kernels::clip_bounds(dtype), MaterializeSink{});
}

Tensor categorical_focal_crossentropy(const TensorView& y_true, const TensorView& y_pred, double alpha, double gamma,
                                      bool from_logits, double label_smoothing, std::int64_t axis, DType dtype) {
  constexpr std::string_view me = "categorical_focal_crossentropy";
  check_label_smoothing(me, label_smoothing);
  check_focal(me, alpha, gamma);
  const Aligned a = detail::align_classes(me, y_true, y_pred, axis);
  return run_categorical_focal(a, alpha, gamma, from_logits, label_smoothing, kernels::clip_bounds(dtype),
                               MaterializeSink{});
}

// --- registry bindings (kwargs -> bound function), used by catalog.cpp ---------------------

namespace bindings {

BoundFunction bind_binary_crossentropy(ConfigReader& kw) {
  const bool from_logits = kw.get_bool("from_logits", false);
  const double ls = kw.get_double("label_smoothing", 0.0);
  const std::int64_t axis = kw.get_int("axis", -1);
  const DType dtype = kw.dtype();
  check_label_smoothing(kw.owner(), ls);
  return {
      [=](const TensorView& t, const TensorView& p) { return binary_crossentropy(t, p, from_logits, ls, axis, dtype); },
      Json{{"from_logits", from_logits}, {"label_smoothing", ls}, {"axis", axis}}};
}

BoundFunction bind_categorical_crossentropy(ConfigReader& kw) {
  const bool from_logits = kw.get_bool("from_logits", false);
  const double ls = kw.get_double("label_smoothing", 0.0);
  const std::int64_t axis = kw.get_int("axis", -1);
  const DType dtype = kw.dtype();
  check_label_smoothing(kw.owner(), ls);
  return {[=](const TensorView& t, const TensorView& p) {
            return categorical_crossentropy(t, p, from_logits, ls, axis, dtype);
          },
          Json{{"from_logits", from_logits}, {"label_smoothing", ls}, {"axis", axis}}};
}

BoundFunction bind_sparse_categorical_crossentropy(ConfigReader& kw) {
  const bool from_logits = kw.get_bool("from_logits", false);
  const std::optional<std::int64_t> ignore_class = kw.get_optional_int("ignore_class");
  const std::int64_t axis = kw.get_int("axis", -1);
  const DType dtype = kw.dtype();
  return {
      [=](const TensorView& t, const TensorView& p) {
        return sparse_categorical_crossentropy(t, p, from_logits, ignore_class, axis, dtype);
      },
      Json{
          {"from_logits", from_logits}, {"ignore_class", ignore_class ? Json(*ignore_class) : Json()}, {"axis", axis}}};
}

BoundFunction bind_kl_divergence(ConfigReader& kw) {
  const DType dtype = kw.dtype();
  return {[=](const TensorView& t, const TensorView& p) { return kl_divergence(t, p, dtype); }, Json::object()};
}

BoundFunction bind_poisson(ConfigReader& kw) {
  const DType dtype = kw.dtype();
  return {[=](const TensorView& t, const TensorView& p) { return poisson(t, p, dtype); }, Json::object()};
}

BoundFunction bind_binary_focal_crossentropy(ConfigReader& kw) {
  const bool balance = kw.get_bool("apply_class_balancing", false);
  const double alpha = kw.get_double("alpha", 0.25);
  const double gamma = kw.get_double("gamma", 2.0);
  const bool from_logits = kw.get_bool("from_logits", false);
  const double ls = kw.get_double("label_smoothing", 0.0);
  const std::int64_t axis = kw.get_int("axis", -1);
  const DType dtype = kw.dtype();
  check_label_smoothing(kw.owner(), ls);
  check_focal(kw.owner(), alpha, gamma);
  return {[=](const TensorView& t, const TensorView& p) {
            return binary_focal_crossentropy(t, p, balance, alpha, gamma, from_logits, ls, axis, dtype);
          },
          Json{{"apply_class_balancing", balance},
               {"alpha", alpha},
               {"gamma", gamma},
               {"from_logits", from_logits},
               {"label_smoothing", ls},
               {"axis", axis}}};
}

BoundFunction bind_categorical_focal_crossentropy(ConfigReader& kw) {
  const double alpha = kw.get_double("alpha", 0.25);
  const double gamma = kw.get_double("gamma", 2.0);
  const bool from_logits = kw.get_bool("from_logits", false);
  const double ls = kw.get_double("label_smoothing", 0.0);
  const std::int64_t axis = kw.get_int("axis", -1);
  const DType dtype = kw.dtype();
  check_label_smoothing(kw.owner(), ls);
  check_focal(kw.owner(), alpha, gamma);
  return {
      [=](const TensorView& t, const TensorView& p) {
        return categorical_focal_crossentropy(t, p, alpha, gamma, from_logits, ls, axis, dtype);
      },
      Json{{"alpha", alpha}, {"gamma", gamma}, {"from_logits", from_logits}, {"label_smoothing", ls}, {"axis", axis}}};
}

}  // namespace bindings
}  // namespace functional
}  // namespace tally::metrics
