// The issue 17 regression scores: ExplainedVariance, MaxError, SMAPE, WMAPE and
// TweedieDeviance (docs/metrics.md, "Beyond Keras: regression").

#include <cmath>
#include <limits>

#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/regression_more_math.h"
#include "metrics/kernels/row_inputs.h"
#include "tally/metrics/regression.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Per-row means of f(y_true, y_pred) over the K outputs, as a [N] tensor for add_samplewise.
template <class F>
Tensor row_means(const kernels::ValueRows& in, F f) {
  Tensor values(DType::kFloat64, {in.rows});
  double* out = values.data_as<double>();
  for (std::int64_t r = 0; r < in.rows; ++r) {
    double s = 0.0;
    for (std::int64_t k = 0; k < in.width; ++k) {
      const auto i = static_cast<std::size_t>(r * in.width + k);
      s += f(in.y_true[i], in.y_pred[i]);
    }
    out[r] = s / static_cast<double>(in.width);
  }
  return values;
}

const InputContract kValues{"values", "values", {1, 2}};

}  // namespace

// --- ExplainedVariance ---------------------------------------------------------------------

namespace {
constexpr std::size_t kWeight = 0, kSumY = 1, kSumY2 = 2, kSumE = 3, kSumE2 = 4;
}  // namespace

const MetricSpec<ExplainedVarianceOptions>& ExplainedVariance::spec() {
  using O = ExplainedVarianceOptions;
  constexpr std::int64_t kMaxOutputs = kMaxStateElements / 4;
  static const MetricSpec<O> spec{
      "ExplainedVariance", "explained_variance",
      "Explained variance score, as scikit-learn's explained_variance_score.", Direction::kHigherIsBetter, kValues,
      "scalar|vector",
      OptionTable<O>{
          enum_field("multioutput", &O::multioutput,
                     "How per-output scores combine (scikit-learn's multioutput); raw_values returns one per output.",
                     std::vector<Spelling<Multioutput>>{{"uniform_average", Multioutput::kUniformAverage},
                                                        {"variance_weighted", Multioutput::kVarianceWeighted},
                                                        {"raw_values", Multioutput::kRawValues}},
                     "one of \"uniform_average\", \"variance_weighted\", \"raw_values\""),
          field("num_outputs", &O::num_outputs, "K, the number of outputs of [N, K] inputs (fixes the state size).",
                rules::at_least(1),
                OptionRule{"at most " + std::to_string(kMaxOutputs),
                           [](const Json& v) { return v.is_number() && v.get<double>() <= kMaxOutputs; }}),
          name_and_dtype<O>()},
      // The catalog walk feeds [N, 2] values.
      Json{{"num_outputs", 2}}};
  return spec;
}

ExplainedVariance::ExplainedVariance(const Options& options) : ConfiguredMetric(options) {
  const Shape k{options.num_outputs};
  add_variable("weight", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);     // Σ w
  add_variable("sum_y", k);                                                                 // Σ w y
  add_variable("sum_y2", k, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);      // Σ w y²
  add_variable("sum_error", k);                                                             // Σ w e
  add_variable("sum_error2", k, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);  // Σ w e²
}

void ExplainedVariance::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const kernels::ValueRows in = kernels::value_rows(me, batch.y_true, batch.y_pred);
  const std::int64_t k = options().num_outputs;
  if (in.width != k) {
    throw ShapeError(internal::str_cat(me, ": inputs have ", in.width,
                                       " outputs but the metric was built with num_outputs=", k,
                                       " (pass num_outputs=", in.width, ")"));
  }
  const std::vector<double> w = kernels::row_weights(me, batch.sample_weight, in.rows);
  std::vector<double> sy(static_cast<std::size_t>(k)), sy2(sy), se(sy), se2(sy);
  double sw = 0.0;
  for (std::int64_t r = 0; r < in.rows; ++r) {
    const double wr = w[static_cast<std::size_t>(r)];
    sw += wr;
    for (std::int64_t j = 0; j < k; ++j) {
      const auto i = static_cast<std::size_t>(r * k + j);
      const auto jj = static_cast<std::size_t>(j);
      const double y = in.y_true[i], e = y - in.y_pred[i];
      sy[jj] += wr * y;
      sy2[jj] += wr * y * y;
      se[jj] += wr * e;
      se2[jj] += wr * e * e;
    }
  }
  vars.f64(kWeight)[0] += sw;
  for (std::size_t j = 0; j < sy.size(); ++j) {
    vars.f64(kSumY)[j] += sy[j];
    vars.f64(kSumY2)[j] += sy2[j];
    vars.f64(kSumE)[j] += se[j];
    vars.f64(kSumE2)[j] += se2[j];
  }
}

Tensor ExplainedVariance::result_from(const Variables& vars) const {
  const auto k = static_cast<std::size_t>(options().num_outputs);
  const double n = vars.f64(kWeight)[0];
  std::vector<double> raw(k), denominator(k);
  bool any_variance = false;
  for (std::size_t j = 0; j < k; ++j) {
    // Var_w(e) and Var_w(y) from the moments; rounding can leave a tiny negative, which is 0
    // (not fmax, which would turn the NaN of NaN inputs into 0).
    const auto non_negative = [](double x) { return x < 0.0 ? 0.0 : x; };
    const double me = vars.f64(kSumE)[j] / n, my = vars.f64(kSumY)[j] / n;
    const double num = non_negative(vars.f64(kSumE2)[j] / n - me * me);
    const double den = non_negative(vars.f64(kSumY2)[j] / n - my * my);
    denominator[j] = den;
    any_variance = any_variance || den != 0.0;
    // scikit-learn force_finite: 0/0 is a perfect 1, x/0 scores 0.
    if (n == 0.0) {
      raw[j] = std::numeric_limits<double>::quiet_NaN();
    } else if (den != 0.0) {
      raw[j] = num != 0.0 ? 1.0 - num / den : 1.0;
    } else {
      raw[j] = num != 0.0 ? 0.0 : 1.0;
    }
  }
  switch (options().multioutput) {
    case Multioutput::kRawValues:
      return Tensor::from_vector(raw);
    case Multioutput::kVarianceWeighted:
      if (any_variance) {
        double weighted = 0.0, weights = 0.0;
        for (std::size_t j = 0; j < k; ++j) {
          weighted += denominator[j] * raw[j];
          weights += denominator[j];
        }
        return Tensor::scalar(weighted / weights);
      }
      break;  // every output constant: scikit-learn falls back to the plain mean
    case Multioutput::kUniformAverage:
      break;
  }
  double mean = 0.0;
  for (const double r : raw) mean += r;
  return Tensor::scalar(mean / static_cast<double>(k));
}

// --- MaxError ------------------------------------------------------------------------------

const MetricSpec<BasicOptions>& MaxError::spec() {
  static const MetricSpec<BasicOptions> spec{"MaxError",
                                             "max_error",
                                             "Largest absolute error, as scikit-learn's max_error.",
                                             Direction::kLowerIsBetter,
                                             kValues,
                                             "scalar",
                                             OptionTable<BasicOptions>{}};
  return spec;
}

MaxError::MaxError(const Options& options) : ConfiguredMetric(options) {
  add_variable("max_error", {}, DType::kFloat64, Aggregation::kMax);
}

void MaxError::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const kernels::ValueRows in = kernels::value_rows(me, batch.y_true, batch.y_pred);
  const std::vector<double> w = kernels::row_weights(me, batch.sample_weight, in.rows);
  double m = vars.f64(0)[0];
  for (std::int64_t r = 0; r < in.rows; ++r) {
    if (w[static_cast<std::size_t>(r)] == 0.0) continue;  // a weight of 0 removes the row
    for (std::int64_t j = 0; j < in.width; ++j) {
      const auto i = static_cast<std::size_t>(r * in.width + j);
      const double d = std::fabs(in.y_true[i] - in.y_pred[i]);
      // NaN propagates (as numpy's max does) and then stays: no comparison with NaN is true.
      if (d > m || std::isnan(d)) m = d;
    }
  }
  vars.f64(0)[0] = m;
}

Tensor MaxError::result_from(const Variables& vars) const {
  const double m = vars.f64(0)[0];
  return Tensor::scalar(m == -std::numeric_limits<double>::infinity() ? 0.0 : m);
}

// --- SMAPE and WMAPE -------------------------------------------------------------------------

const MetricSpec<BasicOptions>& SymmetricMeanAbsolutePercentageError::spec() {
  static const MetricSpec<BasicOptions> spec{
      "SymmetricMeanAbsolutePercentageError",
      "symmetric_mean_absolute_percentage_error",
      "Mean of 2|y_true - y_pred| / max(|y_true| + |y_pred|, 1.17e-6), as TorchMetrics' SMAPE.",
      Direction::kLowerIsBetter,
      kValues,
      "scalar",
      OptionTable<BasicOptions>{}};
  return spec;
}

SymmetricMeanAbsolutePercentageError::SymmetricMeanAbsolutePercentageError(const Options& options)
    : ConfiguredMetric(options) {}

void SymmetricMeanAbsolutePercentageError::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const kernels::ValueRows in = kernels::value_rows(me, batch.y_true, batch.y_pred);
  kernels::add_samplewise(vars, me, row_means(in, kernels::symmetric_percentage_error), batch.sample_weight);
}

const MetricSpec<BasicOptions>& WeightedMeanAbsolutePercentageError::spec() {
  static const MetricSpec<BasicOptions> spec{
      "WeightedMeanAbsolutePercentageError",
      "weighted_mean_absolute_percentage_error",
      "Sum of |y_true - y_pred| over max(sum of |y_true|, 1.17e-6), as TorchMetrics' WMAPE.",
      Direction::kLowerIsBetter,
      kValues,
      "scalar",
      OptionTable<BasicOptions>{}};
  return spec;
}

WeightedMeanAbsolutePercentageError::WeightedMeanAbsolutePercentageError(const Options& options)
    : ConfiguredMetric(options) {
  add_variable("sum_abs_error", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
  add_variable("sum_abs_target", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
}

void WeightedMeanAbsolutePercentageError::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const kernels::ValueRows in = kernels::value_rows(me, batch.y_true, batch.y_pred);
  const std::vector<double> w = kernels::row_weights(me, batch.sample_weight, in.rows);
  double error = 0.0, scale = 0.0;
  for (std::int64_t r = 0; r < in.rows; ++r) {
    const double wr = w[static_cast<std::size_t>(r)];
    for (std::int64_t j = 0; j < in.width; ++j) {
      const auto i = static_cast<std::size_t>(r * in.width + j);
      error += wr * std::fabs(in.y_pred[i] - in.y_true[i]);
      scale += wr * std::fabs(in.y_true[i]);
    }
  }
  vars.f64(0)[0] += error;
  vars.f64(1)[0] += scale;
}

Tensor WeightedMeanAbsolutePercentageError::result_from(const Variables& vars) const {
  return Tensor::scalar(vars.f64(0)[0] / std::fmax(vars.f64(1)[0], kernels::kTorchMetricsPercentEps));
}

// --- TweedieDeviance -------------------------------------------------------------------------

const MetricSpec<TweedieDevianceOptions>& TweedieDeviance::spec() {
  using O = TweedieDevianceOptions;
  static const MetricSpec<O> spec{
      "TweedieDeviance",
      "tweedie_deviance",
      "Mean Tweedie deviance of a power, as scikit-learn's mean_tweedie_deviance.",
      Direction::kLowerIsBetter,
      kValues,
      "scalar",
      OptionTable<O>{// scikit-learn: "Tweedie deviance is only defined for power<=0 and power>=1."
                     field("power", &O::power, "The Tweedie power: 0 normal, 1 Poisson, 2 Gamma; (0, 1) is undefined.",
                           OptionRule{"<= 0 or >= 1 (Tweedie deviance is undefined for 0 < power < 1)",
                                      [](const Json& v) {
                                        if (!v.is_number()) return false;
                                        const double p = v.get<double>();
                                        return std::isfinite(p) && (p <= 0.0 || p >= 1.0);
                                      }}),
                     name_and_dtype<O>()}};
  return spec;
}

TweedieDeviance::TweedieDeviance(const Options& options) : ConfiguredMetric(options) {}

void TweedieDeviance::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const kernels::ValueRows in = kernels::value_rows(me, batch.y_true, batch.y_pred);
  const double p = options().power;
  // scikit-learn's domain checks and wording (_regression.py, mean_tweedie_deviance).
  for (std::size_t i = 0; i < in.y_pred.size(); ++i) {
    const double t = in.y_true[i], y = in.y_pred[i];
    const char* what = nullptr;
    if (p < 0.0) {
      if (!(y > 0.0)) what = "strictly positive y_pred.";
    } else if (p >= 1.0 && p < 2.0) {
      if (!(t >= 0.0) || !(y > 0.0)) what = "non-negative y and strictly positive y_pred.";
    } else if (p >= 2.0) {
      if (!(t > 0.0) || !(y > 0.0)) what = "strictly positive y and y_pred.";
    }
    if (what != nullptr) {
      throw InvalidArgument(internal::str_cat(me, ": Mean Tweedie deviance error with power=", p,
                                              " can only be used on ", what, " Received y_true ", t, " and y_pred ", y,
                                              " at flat index ", i));
    }
  }
  kernels::add_samplewise(vars, me,
                          row_means(in, [p](double t, double y) { return kernels::tweedie_deviance(t, y, p); }),
                          batch.sample_weight);
}

}  // namespace tally::metrics
