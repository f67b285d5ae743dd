#include "tally/metrics/regression.h"

#include <cmath>
#include <limits>

#include "internal/parallel.h"
#include "metrics/kernels/grouped_mean.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/real_pair.h"
#include "metrics/kernels/regression_math.h"
#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Aligned, contiguous inputs viewed as rows of `width` values (docs/keras-differences.md §9: rank <= 1 is
// one value per row); `leading` is the per-sample shape.
struct ErrorInputs {
  Tensor t_holder, p_holder;
  TensorView t, p;
  std::int64_t rows = 0, width = 1;
  Shape leading;
};

void prepare(ErrorInputs& in, std::string_view me, const TensorView& y_true, const TensorView& y_pred) {
  TensorView t = y_true, p = y_pred;
  kernels::align_same_shape(me, t, p);
  in.t = kernels::contiguous(t, in.t_holder);
  in.p = kernels::contiguous(p, in.p_holder);
  if (p.ndim() <= 1) {
    in.width = 1;
    in.rows = p.numel();
    in.leading = p.shape();
  } else {
    in.width = p.shape().back();
    in.rows = p.numel() / std::max<std::int64_t>(in.width, 1);
    in.leading = Shape(p.shape().begin(), p.shape().end() - 1);
  }
}

template <RegressionError E, class T, class P>
double row_error(const T* t, const P* p, std::int64_t width, double param) {
  double s = 0.0;
  for (std::int64_t k = 0; k < width; ++k) s += kernels::elementwise_error<E>(to_double(t[k]), to_double(p[k]), param);
  return s / static_cast<double>(width);
}

// Σ of the per-row mean errors of `rows` rows (one parallel chunk), unweighted.
template <RegressionError E, class T, class P>
double chunk_error_sum(const T* t, const P* p, std::int64_t rows, std::int64_t width, double param) {
  if (width == 1) {
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::int64_t i = 0;
    for (; i + 8 <= rows; i += 8) {
      for (int k = 0; k < 8; ++k) {
        a[k] += kernels::elementwise_error<E>(to_double(t[i + k]), to_double(p[i + k]), param);
      }
    }
    for (; i < rows; ++i) a[0] += kernels::elementwise_error<E>(to_double(t[i]), to_double(p[i]), param);
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  }
  double s = 0.0;
  for (std::int64_t r = 0; r < rows; ++r) s += row_error<E>(t + r * width, p + r * width, width, param);
  return s;
}

// Rows per parallel chunk: about kChunkSize elements, whole rows.
std::int64_t chunk_rows(std::int64_t width) {
  return width == 1 ? internal::kChunkSize : std::max<std::int64_t>(1, internal::kChunkSize / width);
}

// Σ over rows of the per-row mean error (unweighted), chunked for thread invariance.
template <RegressionError E>
double sum_errors(const ErrorInputs& in, double param) {
  return internal::chunked_reduce(
      in.rows, 0.0,
      [&](std::int64_t b, std::int64_t e, double& acc) {
        acc += kernels::with_real_pair(in.t, in.p, b * in.width, e * in.width, [&](const auto* t, const auto* p) {
          return chunk_error_sum<E>(t, p, e - b, in.width, param);
        });
      },
      [](double& total, double part) { total += part; }, chunk_rows(in.width));
}

// Per-row mean errors as a tensor of the per-sample shape.
template <RegressionError E>
Tensor error_values(const ErrorInputs& in, double param) {
  Tensor values(DType::kFloat64, in.leading);
  double* out = values.data_as<double>();
  internal::parallel_for_chunks(
      in.rows,
      [&](std::int64_t b, std::int64_t e) {
        kernels::with_real_pair(in.t, in.p, b * in.width, e * in.width, [&](const auto* t, const auto* p) {
          for (std::int64_t r = 0; r < e - b; ++r) {
            out[b + r] = row_error<E>(t + r * in.width, p + r * in.width, in.width, param);
          }
        });
      },
      chunk_rows(in.width));
  return values;
}

template <class Fn>
decltype(auto) visit_error(RegressionError e, Fn&& fn) {
  switch (e) {
    case RegressionError::kSquared:
      return fn(std::integral_constant<RegressionError, RegressionError::kSquared>{});
    case RegressionError::kAbsolute:
      return fn(std::integral_constant<RegressionError, RegressionError::kAbsolute>{});
    case RegressionError::kAbsolutePercentage:
      return fn(std::integral_constant<RegressionError, RegressionError::kAbsolutePercentage>{});
    case RegressionError::kSquaredLogarithmic:
      return fn(std::integral_constant<RegressionError, RegressionError::kSquaredLogarithmic>{});
    case RegressionError::kPinball:
      return fn(std::integral_constant<RegressionError, RegressionError::kPinball>{});
    case RegressionError::kLogCosh:
      break;
  }
  return fn(std::integral_constant<RegressionError, RegressionError::kLogCosh>{});
}

Tensor per_sample_errors(std::string_view me, RegressionError error, double param, const TensorView& y_true,
                         const TensorView& y_pred) {
  ErrorInputs in;
  prepare(in, me, y_true, y_pred);
  return visit_error(error, [&](auto kind) { return error_values<decltype(kind)::value>(in, param); });
}

}  // namespace

// --- elementwise errors ----------------------------------------------------------------

ElementwiseErrorMetric::ElementwiseErrorMetric(std::string name, DType dtype, RegressionError error, bool root,
                                               double param)
    : MeanBasedMetric(std::move(name), dtype), error_(error), root_(root), param_(param) {}

void ElementwiseErrorMetric::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const double eps = error_ == RegressionError::kPinball ? param_ : kernels::keras_epsilon(dtype());
  const TensorView& w = batch.sample_weight;
  if (!w.has_value()) {
    ErrorInputs in;
    prepare(in, me, batch.y_true, batch.y_pred);
    const double total = visit_error(error_, [&](auto kind) { return sum_errors<decltype(kind)::value>(in, eps); });
    add_totals(vars, total, in.leading.empty() ? 1.0 : static_cast<double>(in.rows));
    return;
  }
  kernels::add_samplewise(vars, me, per_sample_errors(me, error_, eps, batch.y_true, batch.y_pred), w);
}

std::unique_ptr<GroupedKernel> ElementwiseErrorMetric::grouped_kernel(const Batch& batch,
                                                                      std::span<const std::int32_t> group,
                                                                      std::size_t groups,
                                                                      std::int64_t chunk_rows) const {
  const double eps = error_ == RegressionError::kPinball ? param_ : kernels::keras_epsilon(dtype());
  return visit_error(error_, [&](auto kind) {
    if constexpr (decltype(kind)::value == RegressionError::kSquared) {
      // The same value, with a SIMD block form for float32 inputs (grouped_mean.h).
      return kernels::grouped_mean(who(*this), batch, group, groups, chunk_rows, kernels::SquaredErrorValue{});
    } else {
      return kernels::grouped_mean(who(*this), batch, group, groups, chunk_rows, [eps](auto t, auto p) {
        return kernels::elementwise_error<decltype(kind)::value>(to_double(t), to_double(p), eps);
      });
    }
  });
}

Tensor ElementwiseErrorMetric::result_from(const Variables& vars) const {
  const double mean = mean_of(vars);
  return Tensor::scalar(root_ ? std::sqrt(mean) : mean);
}

namespace {

// The spec of an elementwise error metric: regression inputs of any rank, lower is better.
MetricSpec<BasicOptions> error_spec(std::string class_name, std::string default_name, std::string doc) {
  return {std::move(class_name),
          std::move(default_name),
          std::move(doc),
          Direction::kLowerIsBetter,
          InputContract{"values", "values", {1, 2, 3}},
          "scalar",
          OptionTable<BasicOptions>{}};
}

}  // namespace

const MetricSpec<BasicOptions>& MeanSquaredError::spec() {
  static const MetricSpec<BasicOptions> spec =
      error_spec("MeanSquaredError", "mean_squared_error", "Mean of (y_true - y_pred)^2.");
  return spec;
}

MeanSquaredError::MeanSquaredError(const Options& options)
    : ConfiguredMetric(options, RegressionError::kSquared, false) {}

const MetricSpec<BasicOptions>& MeanAbsoluteError::spec() {
  static const MetricSpec<BasicOptions> spec =
      error_spec("MeanAbsoluteError", "mean_absolute_error", "Mean of |y_true - y_pred|.");
  return spec;
}

MeanAbsoluteError::MeanAbsoluteError(const Options& options)
    : ConfiguredMetric(options, RegressionError::kAbsolute, false) {}

const MetricSpec<BasicOptions>& MeanAbsolutePercentageError::spec() {
  static const MetricSpec<BasicOptions> spec =
      error_spec("MeanAbsolutePercentageError", "mean_absolute_percentage_error",
                 "100 x mean of |y_true - y_pred| / max(|y_true|, eps).");
  return spec;
}

MeanAbsolutePercentageError::MeanAbsolutePercentageError(const Options& options)
    : ConfiguredMetric(options, RegressionError::kAbsolutePercentage, false) {}

const MetricSpec<BasicOptions>& MeanSquaredLogarithmicError::spec() {
  static const MetricSpec<BasicOptions> spec = error_spec(
      "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "Mean of squared log(1 + x) differences.");
  return spec;
}

MeanSquaredLogarithmicError::MeanSquaredLogarithmicError(const Options& options)
    : ConfiguredMetric(options, RegressionError::kSquaredLogarithmic, false) {}

const MetricSpec<BasicOptions>& RootMeanSquaredError::spec() {
  static const MetricSpec<BasicOptions> spec =
      error_spec("RootMeanSquaredError", "root_mean_squared_error", "Square root of the mean squared error.");
  return spec;
}

RootMeanSquaredError::RootMeanSquaredError(const Options& options)
    : ConfiguredMetric(options, RegressionError::kSquared, true) {}

const MetricSpec<BasicOptions>& LogCoshError::spec() {
  static const MetricSpec<BasicOptions> spec =
      error_spec("LogCoshError", "logcosh", "Mean of log(cosh(y_pred - y_true)).");
  return spec;
}

LogCoshError::LogCoshError(const Options& options) : ConfiguredMetric(options, RegressionError::kLogCosh, false) {}

const MetricSpec<MeanPinballLossOptions>& MeanPinballLoss::spec() {
  using O = MeanPinballLossOptions;
  static const MetricSpec<O> spec{
      "MeanPinballLoss",
      "mean_pinball_loss",
      "Mean pinball (quantile) loss, as scikit-learn's mean_pinball_loss.",
      Direction::kLowerIsBetter,
      InputContract{"values", "values", {1, 2, 3}},
      "scalar",
      OptionTable<O>{field("alpha", &O::alpha, "The quantile the prediction targets.", rules::in_range(0.0, 1.0)),
                     name_and_dtype<O>()}};
  return spec;
}

MeanPinballLoss::MeanPinballLoss(const Options& options)
    : ConfiguredMetric(options, RegressionError::kPinball, false, options.alpha) {}

// --- CosineSimilarity --------------------------------------------------------------------

namespace {

Tensor cosine_values(std::string_view me, const TensorView& y_true, const TensorView& y_pred, std::int64_t axis,
                     double eps) {
  const kernels::AxisRows in = kernels::rows_along_axis(me, y_true, y_pred, axis);
  const Tensor& tc = in.y_true;
  const Tensor& pc = in.y_pred;
  const std::int64_t width = in.width, rows = in.rows;
  Tensor values(DType::kFloat64, in.leading);
  double* out = values.data_as<double>();
  internal::parallel_for_chunks(
      rows,
      [&](std::int64_t b, std::int64_t e) {
        kernels::with_real_pair(tc, pc, b * width, e * width, [&](const auto* tp, const auto* pp) {
          for (std::int64_t r = 0; r < e - b; ++r) {
            double tt = 0.0, pp2 = 0.0, tp2 = 0.0;
            for (std::int64_t k = 0; k < width; ++k) {
              const double x = to_double(tp[r * width + k]), y = to_double(pp[r * width + k]);
              tt += x * x;
              pp2 += y * y;
              tp2 += x * y;
            }
            // Keras l2-normalises each vector by max(norm, eps).
            out[b + r] = tp2 / (std::fmax(std::sqrt(tt), eps) * std::fmax(std::sqrt(pp2), eps));
          }
        });
      },
      chunk_rows(width));
  return values;
}

}  // namespace

const MetricSpec<CosineSimilarityOptions>& CosineSimilarity::spec() {
  using O = CosineSimilarityOptions;
  static const MetricSpec<O> spec{
      "CosineSimilarity", "cosine_similarity", "Mean cosine similarity along the last axis.",
      Direction::kHigherIsBetter, InputContract{"values", "values", {1, 2, 3}}, "scalar",
      // Keras's config has no axis; it is listed only when it is not -1, so that it survives a round trip.
      OptionTable<O>{name_and_dtype<O>(), listed_when_set(field("axis", &O::axis, "The vector axis."))}};
  return spec;
}

CosineSimilarity::CosineSimilarity(const Options& options) : ConfiguredMetric(options) {}

void CosineSimilarity::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(
      vars, me, cosine_values(me, batch.y_true, batch.y_pred, options().axis, kernels::keras_epsilon(dtype())),
      batch.sample_weight);
}

// --- R2Score -------------------------------------------------------------------------------

namespace {

constexpr std::size_t kNumSamples = 0, kSquaredSum = 1, kSum = 2, kResidual = 3, kCount = 4;

}  // namespace

const MetricSpec<R2ScoreOptions>& R2Score::spec() {
  using O = R2ScoreOptions;
  constexpr std::int64_t kMaxOutputs = kMaxStateElements / 4;
  static const MetricSpec<O> spec{
      "R2Score", "r2_score", "Coefficient of determination (optionally adjusted).", Direction::kHigherIsBetter,
      InputContract{"values", "values", {1, 2}}, "scalar|vector",
      OptionTable<O>{
          enum_field("class_aggregation", &O::class_aggregation,
                     "How per-output scores combine; null returns one score per output.",
                     std::vector<Spelling<ClassAggregation>>{
                         {"uniform_average", ClassAggregation::kUniformAverage},
                         {"variance_weighted_average", ClassAggregation::kVarianceWeightedAverage}},
                     "one of null, \"uniform_average\", \"variance_weighted_average\"", CaseFold::kExact,
                     RuleError::kConfig, std::optional<ClassAggregation>(ClassAggregation::kNone)),
          // Keras: "Invalid value for argument `num_regressors`. Expected a value >= 0."
          field("num_regressors", &O::num_regressors, "Regressors of the adjusted R^2 (0: plain R^2).",
                rules::at_least(0)),
          name_and_dtype<O>(),
          listed_when_set(
              field("num_outputs", &O::num_outputs,
                    "tally extension: fixes the number of outputs up front (needed to all-reduce before any update).",
                    rules::at_least(1),
                    OptionRule{"at most " + std::to_string(kMaxOutputs),
                               [](const Json& v) { return v.is_number() && v.get<double>() <= kMaxOutputs; }}))},
      // A fixed width, so that a fresh metric can take any state (an unbuilt one holds nothing).
      Json{{"num_outputs", 2}}};
  return spec;
}

R2Score::R2Score(const Options& options) : ConfiguredMetric(options) {
  // Without num_outputs every variable holds nothing until the first batch fixes K (then
  // num_samples holds one count): an empty state is what lets a state file or a merge size
  // an unbuilt metric, as for FBetaScore.
  const std::optional<std::int64_t> k = options.num_outputs;
  const Shape per_output{k.value_or(0)};
  add_variable("num_samples", {k ? 1 : 0}, DType::kInt64);
  add_variable("squared_sum", per_output);
  add_variable("sum", per_output);
  add_variable("residual", per_output);
  add_variable("count", per_output, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
}

void R2Score::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  TensorView t = batch.y_true, p = batch.y_pred;
  kernels::align_same_shape(me, t, p);
  if (p.ndim() == 1) {
    t = t.expand_dims(-1);
    p = p.expand_dims(-1);
  }
  if (p.ndim() != 2) {
    throw ShapeError(internal::str_cat(me,
                                       ": R2Score expects 2D inputs with shape (batch_size, output_dim); received "
                                       "y_pred shape ",
                                       shape_string(batch.y_pred.shape())));
  }
  const std::int64_t rows = p.shape()[0], k = p.shape()[1];
  const std::int64_t held = vars.layout()[kSum].shape[0];  // 0 until the first batch when num_outputs is not given
  if (options().num_outputs && k != *options().num_outputs) {
    throw ShapeError(internal::str_cat(me, ": inputs have ", k, " outputs but the metric was built with num_outputs=",
                                       *options().num_outputs, " (pass num_outputs=", k, ")"));
  }
  if (held > 0 && k != held) {
    throw ShapeError(internal::str_cat(me, ": the first batch fixed the number of outputs at ", held,
                                       "; this batch has ", k, " (y_pred shape ", shape_string(batch.y_pred.shape()),
                                       ")"));
  }
  if (k < 1 || k > kMaxStateElements / 4) {
    throw ShapeError(internal::str_cat(me, ": inputs must have between 1 and ", kMaxStateElements / 4,
                                       " outputs; received y_pred shape ", shape_string(batch.y_pred.shape())));
  }
  std::vector<double> w(static_cast<std::size_t>(rows), 1.0);
  if (batch.sample_weight.has_value()) {
    internal::check_sample_weight_values(me, batch.sample_weight);
    TensorView sw = batch.sample_weight;
    if (sw.ndim() == 0) {
      std::fill(w.begin(), w.end(), sw.value_at(std::int64_t{0}));
    } else {
      if (sw.ndim() == 2 && sw.shape()[1] == 1) sw = sw.squeeze(-1);
      if (sw.ndim() != 1 || sw.shape()[0] != rows) {
        throw ShapeError(internal::str_cat(me,
                                           ": argument `sample_weight` must have one weight per row; received "
                                           "shape ",
                                           shape_string(batch.sample_weight.shape()), " for ", rows, " rows"));
      }
      for (std::int64_t r = 0; r < rows; ++r) w[static_cast<std::size_t>(r)] = sw.value_at(r);
    }
  }
  struct Acc {
    std::vector<double> sq, sum, res, cnt;
    std::int64_t samples = 0;
  };
  Acc init{std::vector<double>(static_cast<std::size_t>(k)), std::vector<double>(static_cast<std::size_t>(k)),
           std::vector<double>(static_cast<std::size_t>(k)), std::vector<double>(static_cast<std::size_t>(k)), 0};
  Tensor th, ph;
  const TensorView tc = kernels::contiguous(t, th), pc = kernels::contiguous(p, ph);
  const Acc acc = internal::chunked_reduce(
      rows, init,
      [&](std::int64_t b, std::int64_t e, Acc& a) {
        kernels::with_real_pair(tc, pc, b * k, e * k, [&](const auto* tp, const auto* pp) {
          for (std::int64_t r = b; r < e; ++r) {
            const double wr = w[static_cast<std::size_t>(r)];
            a.samples += wr != 0.0 ? 1 : 0;
            for (std::int64_t j = 0; j < k; ++j) {
              const double y = to_double(tp[(r - b) * k + j]), yhat = to_double(pp[(r - b) * k + j]);
              const auto jj = static_cast<std::size_t>(j);
              a.sum[jj] += wr * y;
              a.sq[jj] += wr * y * y;
              a.res[jj] += wr * (y - yhat) * (y - yhat);
              a.cnt[jj] += wr;
            }
          }
        });
      },
      [](Acc& total, const Acc& part) {
        for (std::size_t j = 0; j < total.sum.size(); ++j) {
          total.sum[j] += part.sum[j];
          total.sq[j] += part.sq[j];
          total.res[j] += part.res[j];
          total.cnt[j] += part.cnt[j];
        }
        total.samples += part.samples;
      },
      std::max<std::int64_t>(1, internal::kChunkSize / k));
  if (held == 0) {
    // The first batch fixes K: rebuild the (empty) state with one count and K entries per output.
    auto layout = std::make_shared<VariableLayout>(vars.layout());
    (*layout)[kNumSamples].shape = Shape{1};
    for (std::size_t v = kSquaredSum; v <= kCount; ++v) (*layout)[v].shape = Shape{k};
    vars = Variables(layout);
  }
  vars.i64(kNumSamples)[0] += acc.samples;
  for (std::int64_t j = 0; j < k; ++j) {
    const auto jj = static_cast<std::size_t>(j);
    vars.f64(kSquaredSum)[jj] += acc.sq[jj];
    vars.f64(kSum)[jj] += acc.sum[jj];
    vars.f64(kResidual)[jj] += acc.res[jj];
    vars.f64(kCount)[jj] += acc.cnt[jj];
  }
}

Tensor R2Score::result_from(const Variables& vars) const {
  const auto k = static_cast<std::size_t>(vars.layout()[kSum].shape[0]);
  if (k == 0) {  // no batch yet and no num_outputs: nothing to score
    if (options().class_aggregation == ClassAggregation::kNone) return Tensor::from_vector(std::vector<double>{});
    return Tensor::scalar(std::numeric_limits<double>::quiet_NaN());
  }
  std::vector<double> raw(k), total(k);
  for (std::size_t j = 0; j < k; ++j) {
    const double mean = vars.f64(kSum)[j] / vars.f64(kCount)[j];
    total[j] = vars.f64(kSquaredSum)[j] - vars.f64(kSum)[j] * mean;
    raw[j] = 1.0 - vars.f64(kResidual)[j] / total[j];
    if (std::isinf(raw[j])) raw[j] = 0.0;  // Keras: constant targets with errors score 0; 0/0 stays NaN
  }
  if (options().class_aggregation == ClassAggregation::kNone) {
    if (options().num_regressors != 0) {
      const double n = static_cast<double>(vars.i64(kNumSamples)[0]);
      const double p = static_cast<double>(options().num_regressors);
      if (p < n - 1) {
        for (double& r : raw) r = 1.0 - (1.0 - r) * (n - 1.0) / (n - p - 1.0);
      }
    }
    return Tensor::from_vector(raw);
  }
  double score = 0.0;
  if (options().class_aggregation == ClassAggregation::kUniformAverage) {
    for (const double r : raw) score += r;
    score /= static_cast<double>(k);
  } else {
    double weighted = 0.0, weights = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      weighted += total[j] * raw[j];
      weights += total[j];
    }
    score = weighted / weights;
  }
  if (options().num_regressors != 0) {
    // Adjusted R²; Keras warns and returns the plain score when p >= n - 1.
    const double n = static_cast<double>(vars.i64(kNumSamples)[0]);
    const double p = static_cast<double>(options().num_regressors);
    if (p < n - 1) score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0);
  }
  return Tensor::scalar(score);
}

// --- functions ---------------------------------------------------------------------------

namespace functional {

namespace {
const double kEps32 = kernels::keras_epsilon(DType::kFloat32);
}  // namespace

Tensor mean_squared_error(const TensorView& y_true, const TensorView& y_pred) {
  return per_sample_errors("mean_squared_error", RegressionError::kSquared, kEps32, y_true, y_pred);
}

Tensor mean_absolute_error(const TensorView& y_true, const TensorView& y_pred) {
  return per_sample_errors("mean_absolute_error", RegressionError::kAbsolute, kEps32, y_true, y_pred);
}

Tensor mean_absolute_percentage_error(const TensorView& y_true, const TensorView& y_pred) {
  return per_sample_errors("mean_absolute_percentage_error", RegressionError::kAbsolutePercentage, kEps32, y_true,
                           y_pred);
}

Tensor mean_squared_logarithmic_error(const TensorView& y_true, const TensorView& y_pred) {
  return per_sample_errors("mean_squared_logarithmic_error", RegressionError::kSquaredLogarithmic, kEps32, y_true,
                           y_pred);
}

Tensor log_cosh(const TensorView& y_true, const TensorView& y_pred) {
  return per_sample_errors("log_cosh", RegressionError::kLogCosh, kEps32, y_true, y_pred);
}

Tensor huber(const TensorView& y_true, const TensorView& y_pred, double delta) {
  if (!(delta >= 0.0) || std::isinf(delta)) {
    throw InvalidArgument(internal::str_cat("huber: argument `delta` must be finite and >= 0; received ", delta));
  }
  ErrorInputs in;
  prepare(in, "huber", y_true, y_pred);
  Tensor values(DType::kFloat64, in.leading);
  double* out = values.data_as<double>();
  const Tensor t = Tensor::copy_of(in.t), p = Tensor::copy_of(in.p);
  const std::vector<double> tv = t.to_doubles(), pv = p.to_doubles();
  for (std::int64_t r = 0; r < in.rows; ++r) {
    double s = 0.0;
    for (std::int64_t k = 0; k < in.width; ++k) {
      s += kernels::huber_error(tv[static_cast<std::size_t>(r * in.width + k)],
                                pv[static_cast<std::size_t>(r * in.width + k)], delta);
    }
    out[r] = s / static_cast<double>(in.width);
  }
  return values;
}

Tensor cosine_similarity(const TensorView& y_true, const TensorView& y_pred, std::int64_t axis) {
  return cosine_values("cosine_similarity", y_true, y_pred, axis, kEps32);
}

}  // namespace functional
}  // namespace tally::metrics
