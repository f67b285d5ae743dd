#include "tally/metrics/hinge.h"

#include <limits>

#include "internal/check.h"
#include "metrics/kernels/hinge_math.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/row_loss.h"
#include "metrics/loss_alignment.h"
#include "metrics/loss_function_bindings.h"
#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {

using kernels::who;
namespace {

using detail::Aligned;
using kernels::RowSpec;

using kernels::AccumulateSink;
using kernels::MaterializeSink;

// Keras convert_binary_labels_to_hinge: true when every label of the call is 0 or 1.
template <class Yt>
bool all_binary(const Yt* yt, std::int64_t n) {
  bool binary = true;
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = to_double(yt[i]);
    binary = binary && (v == 0.0 || v == 1.0);
  }
  return binary;
}

enum class HingeKind : std::uint8_t { kHinge, kSquared };

template <class Sink>
auto run_hinge(const Aligned& a, HingeKind kind, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const bool map = all_binary(yt, a.y_true.view.numel());
    if (kind == HingeKind::kSquared) {
      return kernels::mean_over_rows(
          a.spec, yt, yp,
          [map](double y, double p) { return kernels::squared_hinge_term(kernels::hinge_label(y, map), p); }, sink);
    }
    return kernels::mean_over_rows(
        a.spec, yt, yp, [map](double y, double p) { return kernels::hinge_term(kernels::hinge_label(y, map), p); },
        sink);
  });
}

template <class Sink>
auto run_categorical_hinge(const Aligned& a, const Sink& sink) {
  return kernels::dispatch_inputs(a.y_true.view, a.y_pred.view, [&](const auto* yt, const auto* yp) {
    const std::int64_t w = a.spec.width;
    auto row = [=](std::int64_t r, bool&) {
      double pos = 0.0;
      double neg = -std::numeric_limits<double>::infinity();
      for (std::int64_t k = r * w; k < (r + 1) * w; ++k) {
        const double y = to_double(yt[k]);
        const double p = to_double(yp[k]);
        pos += y * p;
        neg = std::max(neg, (1.0 - y) * p);
      }
      return kernels::categorical_hinge_value(pos, neg);
    };
    return sink(a.spec, row);
  });
}

// The spec of a hinge-family class: loss inputs of the same shape, lower is better.
MetricSpec<BasicOptions> hinge_spec(std::string class_name, std::string default_name, std::string doc,
                                    std::string y_true) {
  return {std::move(class_name),
          std::move(default_name),
          std::move(doc),
          Direction::kLowerIsBetter,
          InputContract{std::move(y_true), "scores", {1, 2, 3}},
          "scalar",
          OptionTable<BasicOptions>{}};
}

}  // namespace

const MetricSpec<BasicOptions>& Hinge::spec() {
  static const MetricSpec<BasicOptions> spec = hinge_spec(
      "Hinge", "hinge", "Mean hinge loss max(1 - y * p, 0); {0, 1} labels mapped to {-1, 1} per batch.", "binary");
  return spec;
}

Hinge::Hinge(const Options& options) : ConfiguredMetric(options) {}

void Hinge::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_elementwise(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t = run_hinge(a, HingeKind::kHinge, AccumulateSink{me, batch.sample_weight});
  add_totals(vars, t.total, t.count);
}

const MetricSpec<BasicOptions>& SquaredHinge::spec() {
  static const MetricSpec<BasicOptions> spec =
      hinge_spec("SquaredHinge", "squared_hinge",
                 "Mean squared hinge loss max(1 - y * p, 0)^2; {0, 1} labels mapped per batch.", "binary");
  return spec;
}

SquaredHinge::SquaredHinge(const Options& options) : ConfiguredMetric(options) {}

void SquaredHinge::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_elementwise(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t = run_hinge(a, HingeKind::kSquared, AccumulateSink{me, batch.sample_weight});
  add_totals(vars, t.total, t.count);
}

const MetricSpec<BasicOptions>& CategoricalHinge::spec() {
  static const MetricSpec<BasicOptions> spec = hinge_spec(
      "CategoricalHinge", "categorical_hinge", "Mean categorical hinge loss max(neg - pos + 1, 0).", "one_hot");
  return spec;
}

CategoricalHinge::CategoricalHinge(const Options& options) : ConfiguredMetric(options) {}

void CategoricalHinge::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const Aligned a = detail::align_classes(me, batch.y_true, batch.y_pred, -1);
  const internal::WeightedTotals t = run_categorical_hinge(a, AccumulateSink{me, batch.sample_weight});
  add_totals(vars, t.total, t.count);
}

namespace functional {

Tensor hinge(const TensorView& y_true, const TensorView& y_pred) {
  const Aligned a = metrics::detail::align_elementwise("hinge", y_true, y_pred, -1);
  return run_hinge(a, HingeKind::kHinge, MaterializeSink{});
}

Tensor squared_hinge(const TensorView& y_true, const TensorView& y_pred) {
  const Aligned a = metrics::detail::align_elementwise("squared_hinge", y_true, y_pred, -1);
  return run_hinge(a, HingeKind::kSquared, MaterializeSink{});
}

Tensor categorical_hinge(const TensorView& y_true, const TensorView& y_pred) {
  const Aligned a = metrics::detail::align_classes("categorical_hinge", y_true, y_pred, -1);
  return run_categorical_hinge(a, MaterializeSink{});
}

namespace bindings {

BoundFunction bind_hinge(ConfigReader&) {
  return {[](const TensorView& t, const TensorView& p) { return hinge(t, p); }};
}

BoundFunction bind_squared_hinge(ConfigReader&) {
  return {[](const TensorView& t, const TensorView& p) { return squared_hinge(t, p); }};
}

BoundFunction bind_categorical_hinge(ConfigReader&) {
  return {[](const TensorView& t, const TensorView& p) { return categorical_hinge(t, p); }};
}

}  // namespace bindings
}  // namespace functional
}  // namespace tally::metrics
