#include "tally/metrics/correlation.h"

#include <cmath>

#include "internal/parallel.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/regression_math.h"
#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Variables: total, count (per-row mean, rank >= 2) and the sufficient statistics (rank 1).
enum Var : std::size_t { kTotal = 0, kCount, kW, kY, kP, kYY, kPP, kYP };

// Weighted moments of one set of pairs.
struct Moments {
  double w = 0, y = 0, p = 0, yy = 0, pp = 0, yp = 0;
};

// The coefficient from moments, as Keras computes it on one vector (population moments).
double coefficient(const Moments& m, CorrelationKind kind, double eps) {
  const double my = m.y / m.w, mp = m.p / m.w;
  const double vy = m.yy / m.w - my * my, vp = m.pp / m.w - mp * mp;
  const double cov = m.yp / m.w - my * mp;
  if (kind == CorrelationKind::kPearson) return cov / (std::sqrt(vy) * std::sqrt(vp));
  return 2.0 * cov / (vy + vp + (my - mp) * (my - mp) + eps);
}

// One correlation per row along `axis` (rank >= 2), as Keras's functions return.
Tensor row_values(std::string_view me, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis,
                  CorrelationKind kind, double eps) {
  const kernels::AxisRows in = kernels::rows_along_axis(me, y_true, y_pred, axis);
  const std::int64_t width = in.width, rows = in.rows;
  const std::vector<double> tv = in.y_true.to_doubles(), pv = in.y_pred.to_doubles();
  Tensor values(DType::kFloat64, in.leading);
  double* out = values.data_as<double>();
  internal::parallel_for_chunks(rows, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) {
      Moments m;
      for (std::int64_t k = 0; k < width; ++k) {
        const double y = tv[static_cast<std::size_t>(r * width + k)], q = pv[static_cast<std::size_t>(r * width + k)];
        m.w += 1;
        m.y += y;
        m.p += q;
        m.yy += y * y;
        m.pp += q * q;
        m.yp += y * q;
      }
      out[r] = coefficient(m, kind, eps);
    }
  });
  return values;
}

}  // namespace

CorrelationMetric::CorrelationMetric(std::string name, DType dtype, std::int64_t axis, CorrelationKind kind)
    : Metric(std::move(name), dtype), axis_(axis), kind_(kind) {
  for (const char* v :
       {"total", "count", "weight", "sum_true", "sum_pred", "sum_true_sq", "sum_pred_sq", "sum_true_pred"}) {
    add_variable(v, {});
  }
}

void CorrelationMetric::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const double eps = kernels::keras_epsilon(dtype());
  TensorView t = batch.y_true, p = batch.y_pred;
  kernels::align_same_shape(me, t, p);
  if (p.ndim() >= 2 && !(p.ndim() == 2 && p.shape()[1] == 1)) {
    if (vars.f64(kW)[0] != 0.0) {
      throw InvalidArgument(internal::str_cat(me, ": received `y_pred` of rank ", p.ndim(),
                                              " after rank-1 updates; use one metric per input rank"));
    }
    kernels::add_samplewise(vars, me, row_values(me, t, p, axis_, kind_, eps), batch.sample_weight);
    return;
  }
  if (vars.f64(kCount)[0] != 0.0) {
    throw InvalidArgument(internal::str_cat(me, ": received `y_pred` of rank ", p.ndim(),
                                            " after rank-2 updates; use one metric per input rank"));
  }
  // Rank 1 (or [N, 1]): weighted sufficient statistics over every sample.
  if (p.ndim() == 2) {
    t = t.squeeze(-1);
    p = p.squeeze(-1);
  }
  const std::int64_t n = p.numel();
  std::vector<double> w(static_cast<std::size_t>(n), 1.0);
  if (batch.sample_weight.has_value()) {
    internal::check_sample_weight_values(me, batch.sample_weight);
    TensorView sw = batch.sample_weight;
    if (sw.ndim() == 2 && sw.shape()[1] == 1) sw = sw.squeeze(-1);
    if (sw.ndim() == 0) {
      std::fill(w.begin(), w.end(), sw.value_at(std::int64_t{0}));
    } else if (sw.shape() == p.shape()) {
      for (std::int64_t i = 0; i < n; ++i) w[static_cast<std::size_t>(i)] = sw.value_at(i);
    } else {
      throw ShapeError(internal::str_cat(me, ": argument `sample_weight` of shape ",
                                         shape_string(batch.sample_weight.shape()), " does not match ", n, " samples"));
    }
  }
  Tensor th, ph;
  const std::vector<double> tv = Tensor::copy_of(t).to_doubles(), pv = Tensor::copy_of(p).to_doubles();
  const Moments m = internal::chunked_reduce(
      n, Moments{},
      [&](std::int64_t b, std::int64_t e, Moments& acc) {
        for (std::int64_t i = b; i < e; ++i) {
          const auto k = static_cast<std::size_t>(i);
          const double wi = w[k], y = tv[k], q = pv[k];
          acc.w += wi;
          acc.y += wi * y;
          acc.p += wi * q;
          acc.yy += wi * y * y;
          acc.pp += wi * q * q;
          acc.yp += wi * y * q;
        }
      },
      [](Moments& total, const Moments& part) {
        total.w += part.w;
        total.y += part.y;
        total.p += part.p;
        total.yy += part.yy;
        total.pp += part.pp;
        total.yp += part.yp;
      });
  vars.f64(kW)[0] += m.w;
  vars.f64(kY)[0] += m.y;
  vars.f64(kP)[0] += m.p;
  vars.f64(kYY)[0] += m.yy;
  vars.f64(kPP)[0] += m.pp;
  vars.f64(kYP)[0] += m.yp;
}

Tensor CorrelationMetric::result_from(const Variables& vars) const {
  if (vars.f64(kW)[0] > 0.0) {
    const Moments m{vars.f64(kW)[0],  vars.f64(kY)[0],  vars.f64(kP)[0],
                    vars.f64(kYY)[0], vars.f64(kPP)[0], vars.f64(kYP)[0]};
    return Tensor::scalar(coefficient(m, kind_, kernels::keras_epsilon(dtype())));
  }
  const double count = vars.f64(kCount)[0];
  return Tensor::scalar(count == 0.0 ? 0.0 : vars.f64(kTotal)[0] / count);
}

namespace {

// The spec of a correlation class; axis as Keras's constructor has it.
MetricSpec<CorrelationOptions> correlation_spec(std::string class_name, std::string default_name, std::string doc) {
  using O = CorrelationOptions;
  return {std::move(class_name),
          std::move(default_name),
          std::move(doc),
          Direction::kHigherIsBetter,
          InputContract{"values", "values", {1, 2}},
          "scalar",
          OptionTable<O>{name_and_dtype<O>(), field("axis", &O::axis, "The axis along which to correlate.")}};
}

}  // namespace

const MetricSpec<CorrelationOptions>& PearsonCorrelation::spec() {
  static const MetricSpec<CorrelationOptions> spec = correlation_spec(
      "PearsonCorrelation", "pearson_correlation", "Pearson correlation coefficient (per row, or over samples).");
  return spec;
}

PearsonCorrelation::PearsonCorrelation(const Options& options)
    : ConfiguredMetric(options, options.axis, CorrelationKind::kPearson) {}

const MetricSpec<CorrelationOptions>& ConcordanceCorrelation::spec() {
  static const MetricSpec<CorrelationOptions> spec = correlation_spec(
      "ConcordanceCorrelation", "concordance_correlation", "Lin's concordance correlation coefficient.");
  return spec;
}

ConcordanceCorrelation::ConcordanceCorrelation(const Options& options)
    : ConfiguredMetric(options, options.axis, CorrelationKind::kConcordance) {}

namespace functional {

Tensor pearson_correlation(const TensorView& y_true, const TensorView& y_pred, std::int64_t axis) {
  return row_values("pearson_correlation", y_true, y_pred, axis, CorrelationKind::kPearson, kernels::kKerasEpsilon);
}

Tensor concordance_correlation(const TensorView& y_true, const TensorView& y_pred, std::int64_t axis) {
  return row_values("concordance_correlation", y_true, y_pred, axis, CorrelationKind::kConcordance,
                    kernels::keras_epsilon(DType::kFloat32));
}

}  // namespace functional
}  // namespace tally::metrics
