#include "tally/metrics/probabilistic.h"

#include <cmath>
#include <limits>

#include "internal/check.h"
#include "metrics/kernels/grouped_mean.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/probabilistic_kernels.h"
#include "metrics/loss_alignment.h"
#include "metrics/loss_function_bindings.h"
#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {

using kernels::who;
namespace {

using detail::Aligned;
using kernels::AccumulateSink;
using kernels::MaterializeSink;
using kernels::run_binary_crossentropy;
using kernels::run_binary_focal;
using kernels::run_categorical_crossentropy;
using kernels::run_categorical_focal;
using kernels::run_kl_divergence;
using kernels::run_poisson;
using kernels::run_sparse_categorical_crossentropy;

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

}  // namespace

// --- the classes -------------------------------------------------------------------------

namespace {

InputContract same_shape(std::string y_true, std::string y_pred) {
  return {std::move(y_true), std::move(y_pred), {1, 2, 3}};
}

}  // namespace

const MetricSpec<BinaryCrossentropyOptions>& BinaryCrossentropy::spec() {
  using O = BinaryCrossentropyOptions;
  static const MetricSpec<O> spec{
      "BinaryCrossentropy",
      "binary_crossentropy",
      "Mean binary crossentropy (clipped probabilities or exact log-sigmoid from logits).",
      Direction::kLowerIsBetter,
      same_shape("binary", "probabilities|logits"),
      "scalar",
      OptionTable<O>{name_and_dtype<O>(),
                     field("from_logits", &O::from_logits, "y_pred holds logits, not probabilities."),
                     field("label_smoothing", &O::label_smoothing, "Labels are smoothed to y(1 - ls) + ls/2.",
                           rules::in_range(0.0, 1.0))}};
  return spec;
}

BinaryCrossentropy::BinaryCrossentropy(const Options& options) : ConfiguredMetric(options) {}

void BinaryCrossentropy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_elementwise(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t =
      run_binary_crossentropy(a, from_logits(), label_smoothing(), kernels::clip_bounds(dtype()),
                              AccumulateSink{me, batch.sample_weight, false});
  add_totals(vars, t.total, t.count);
}

std::unique_ptr<GroupedKernel> BinaryCrossentropy::grouped_kernel(const Batch& batch,
                                                                  std::span<const std::int32_t> group,
                                                                  std::size_t groups, std::int64_t chunk_rows) const {
  const double ls = label_smoothing();
  if (from_logits()) {
    return kernels::grouped_mean(who(*this), batch, group, groups, chunk_rows, [ls](auto t, auto p) {
      return kernels::bce_from_logit(kernels::smooth_binary(to_double(t), ls), to_double(p));
    });
  }
  const kernels::ClipBounds clip = kernels::clip_bounds(dtype());
  return kernels::grouped_mean(who(*this), batch, group, groups, chunk_rows, [ls, clip](auto t, auto p) {
    return kernels::bce_from_probability(kernels::smooth_binary(to_double(t), ls), to_double(p), clip);
  });
}

const MetricSpec<CategoricalCrossentropyOptions>& CategoricalCrossentropy::spec() {
  using O = CategoricalCrossentropyOptions;
  static const MetricSpec<O> spec{
      "CategoricalCrossentropy",
      "categorical_crossentropy",
      "Mean crossentropy of one-hot or soft labels against class probabilities or logits.",
      Direction::kLowerIsBetter,
      same_shape("one_hot", "probabilities|logits"),
      "scalar",
      OptionTable<O>{name_and_dtype<O>(),
                     field("from_logits", &O::from_logits, "y_pred holds logits, not probabilities."),
                     field("label_smoothing", &O::label_smoothing, "Labels are smoothed to y(1 - ls) + ls/C.",
                           rules::in_range(0.0, 1.0)),
                     field("axis", &O::axis, "The class axis.")}};
  return spec;
}

CategoricalCrossentropy::CategoricalCrossentropy(const Options& options) : ConfiguredMetric(options) {}

void CategoricalCrossentropy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_classes(me, batch.y_true, batch.y_pred, axis());
  const internal::WeightedTotals t =
      run_categorical_crossentropy(a, from_logits(), label_smoothing(), kernels::clip_bounds(dtype()),
                                   AccumulateSink{me, batch.sample_weight, false});
  add_totals(vars, t.total, t.count);
}

const MetricSpec<SparseCategoricalCrossentropyOptions>& SparseCategoricalCrossentropy::spec() {
  using O = SparseCategoricalCrossentropyOptions;
  static const MetricSpec<O> spec{
      "SparseCategoricalCrossentropy",
      "sparse_categorical_crossentropy",
      "Mean crossentropy of integer labels against class probabilities or logits (ignore_class).",
      Direction::kLowerIsBetter,
      InputContract{"sparse_ids", "probabilities|logits", {1, 2, 3}},
      "scalar",
      OptionTable<O>{name_and_dtype<O>(),
                     field("from_logits", &O::from_logits, "y_pred holds logits, not probabilities."),
                     field("ignore_class", &O::ignore_class, "A label whose positions count neither loss nor weight."),
                     field("axis", &O::axis, "y_pred's class axis.")}};
  return spec;
}

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(const Options& options) : ConfiguredMetric(options) {}

void SparseCategoricalCrossentropy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_sparse(me, batch.y_true, batch.y_pred, axis());
  const internal::WeightedTotals t =
      run_sparse_categorical_crossentropy(me, a, from_logits(), ignore_class(), kernels::clip_bounds(dtype()),
                                          AccumulateSink{me, batch.sample_weight, ignore_class().has_value()});
  add_totals(vars, t.total, t.count);
}

const MetricSpec<BasicOptions>& KLDivergence::spec() {
  static const MetricSpec<BasicOptions> spec{"KLDivergence",
                                             "kl_divergence",
                                             "Mean Kullback-Leibler divergence sum(y * ln(y / p)) over the last axis.",
                                             Direction::kLowerIsBetter,
                                             same_shape("probabilities", "probabilities"),
                                             "scalar",
                                             OptionTable<BasicOptions>{}};
  return spec;
}

KLDivergence::KLDivergence(const Options& options) : ConfiguredMetric(options) {}

void KLDivergence::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_classes(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t =
      run_kl_divergence(a, kernels::clip_bounds(dtype()), AccumulateSink{me, batch.sample_weight, false});
  add_totals(vars, t.total, t.count);
}

const MetricSpec<BasicOptions>& Poisson::spec() {
  static const MetricSpec<BasicOptions> spec{"Poisson",
                                             "poisson",
                                             "Mean Poisson loss p - y * ln(p + eps).",
                                             Direction::kLowerIsBetter,
                                             same_shape("values", "values"),
                                             "scalar",
                                             OptionTable<BasicOptions>{}};
  return spec;
}

Poisson::Poisson(const Options& options) : ConfiguredMetric(options) {}

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
