#include "tally/metrics/regression.h"

#include <cmath>
#include <limits>

#include "internal/parallel.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/regression_math.h"
#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Aligned, contiguous inputs viewed as rows of `width` values (decision 9: rank <= 1 is
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

// Σ over rows of the per-row mean error (unweighted), chunked for thread invariance.
template <RegressionError E, class T, class P>
double sum_errors(const T* t, const P* p, std::int64_t rows, std::int64_t width, double param) {
  if (width == 1) {
    return internal::chunked_reduce(
        rows, 0.0,
        [&](std::int64_t b, std::int64_t e, double& acc) {
          double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
          std::int64_t i = b;
          for (; i + 8 <= e; i += 8) {
            for (int k = 0; k < 8; ++k) {
              a[k] += kernels::elementwise_error<E>(to_double(t[i + k]), to_double(p[i + k]), param);
            }
          }
          for (; i < e; ++i) a[0] += kernels::elementwise_error<E>(to_double(t[i]), to_double(p[i]), param);
          acc += ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        },
        [](double& total, double part) { total += part; });
  }
  return internal::chunked_reduce(
      rows, 0.0,
      [&](std::int64_t b, std::int64_t e, double& acc) {
        for (std::int64_t r = b; r < e; ++r) acc += row_error<E>(t + r * width, p + r * width, width, param);
      },
      [](double& total, double part) { total += part; }, std::max<std::int64_t>(1, internal::kChunkSize / width));
}

// Per-row mean errors as a tensor of the per-sample shape.
template <RegressionError E, class T, class P>
Tensor error_values(const T* t, const P* p, const ErrorInputs& in, double param) {
  Tensor values(DType::kFloat64, in.leading);
  double* out = values.data_as<double>();
  internal::parallel_for_chunks(in.rows, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) out[r] = row_error<E>(t + r * in.width, p + r * in.width, in.width, param);
  });
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
    case RegressionError::kLogCosh:
      break;
  }
  return fn(std::integral_constant<RegressionError, RegressionError::kLogCosh>{});
}

Tensor per_sample_errors(std::string_view me, RegressionError error, double param, const TensorView& y_true,
                         const TensorView& y_pred) {
  ErrorInputs in;
  prepare(in, me, y_true, y_pred);
  return visit_error(error, [&](auto kind) {
    return visit_dtype(in.t.dtype(), [&](auto ttag) {
      return visit_dtype(in.p.dtype(), [&](auto ptag) {
        using T = decltype(ttag);
        using P = decltype(ptag);
        return error_values<decltype(kind)::value>(static_cast<const T*>(in.t.data()),
                                                   static_cast<const P*>(in.p.data()), in, param);
      });
    });
  });
}

template <class M>
std::unique_ptr<Metric> simple_from_config(const char* owner, const char* default_name, const Json& config) {
  ConfigReader r(owner, config);
  auto m = std::make_unique<M>(r.name(default_name), r.dtype());
  r.finish();
  return m;
}

}  // namespace

// --- elementwise errors ----------------------------------------------------------------

ElementwiseErrorMetric::ElementwiseErrorMetric(std::string name, DType dtype, RegressionError error, bool root)
    : Metric(std::move(name), dtype), error_(error), root_(root) {
  add_variable("total", {});
  add_variable("count", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);  // a sum of weights
}

void ElementwiseErrorMetric::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  const double eps = kernels::keras_epsilon(dtype());
  const TensorView& w = batch.sample_weight;
  if (!w.has_value()) {
    ErrorInputs in;
    prepare(in, me, batch.y_true, batch.y_pred);
    const double total = visit_error(error_, [&](auto kind) {
      return visit_dtype(in.t.dtype(), [&](auto ttag) {
        return visit_dtype(in.p.dtype(), [&](auto ptag) {
          using T = decltype(ttag);
          using P = decltype(ptag);
          return sum_errors<decltype(kind)::value>(static_cast<const T*>(in.t.data()),
                                                   static_cast<const P*>(in.p.data()), in.rows, in.width, eps);
        });
      });
    });
    vars.f64(0)[0] += total;
    vars.f64(1)[0] += in.leading.empty() ? 1.0 : static_cast<double>(in.rows);
    return;
  }
  kernels::add_samplewise(vars, me, per_sample_errors(me, error_, eps, batch.y_true, batch.y_pred), w);
}

Tensor ElementwiseErrorMetric::result_from(const Variables& vars) const {
  const double count = vars.f64(1)[0];
  const double mean = count == 0.0 ? 0.0 : vars.f64(0)[0] / count;
  return Tensor::scalar(root_ ? std::sqrt(mean) : mean);
}

MeanSquaredError::MeanSquaredError(std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, RegressionError::kSquared, false) {}
std::unique_ptr<Metric> MeanSquaredError::from_config(const Json& c) {
  return simple_from_config<MeanSquaredError>("MeanSquaredError", "mean_squared_error", c);
}

MeanAbsoluteError::MeanAbsoluteError(std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, RegressionError::kAbsolute, false) {}
std::unique_ptr<Metric> MeanAbsoluteError::from_config(const Json& c) {
  return simple_from_config<MeanAbsoluteError>("MeanAbsoluteError", "mean_absolute_error", c);
}

MeanAbsolutePercentageError::MeanAbsolutePercentageError(std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, RegressionError::kAbsolutePercentage, false) {}
std::unique_ptr<Metric> MeanAbsolutePercentageError::from_config(const Json& c) {
  return simple_from_config<MeanAbsolutePercentageError>("MeanAbsolutePercentageError",
                                                         "mean_absolute_percentage_error", c);
}

MeanSquaredLogarithmicError::MeanSquaredLogarithmicError(std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, RegressionError::kSquaredLogarithmic, false) {}
std::unique_ptr<Metric> MeanSquaredLogarithmicError::from_config(const Json& c) {
  return simple_from_config<MeanSquaredLogarithmicError>("MeanSquaredLogarithmicError",
                                                         "mean_squared_logarithmic_error", c);
}

RootMeanSquaredError::RootMeanSquaredError(std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, RegressionError::kSquared, true) {}
std::unique_ptr<Metric> RootMeanSquaredError::from_config(const Json& c) {
  return simple_from_config<RootMeanSquaredError>("RootMeanSquaredError", "root_mean_squared_error", c);
}

LogCoshError::LogCoshError(std::string name, DType dtype)
    : MetricWithClone(std::move(name), dtype, RegressionError::kLogCosh, false) {}
std::unique_ptr<Metric> LogCoshError::from_config(const Json& c) {
  return simple_from_config<LogCoshError>("LogCoshError", "logcosh", c);
}

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
  visit_dtype(tc.dtype(), [&](auto ttag) {
    visit_dtype(pc.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = tc.data_as<T>();
      const P* pp = pc.data_as<P>();
      internal::parallel_for_chunks(rows, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t r = b; r < e; ++r) {
          double tt = 0.0, pp2 = 0.0, tp2 = 0.0;
          for (std::int64_t k = 0; k < width; ++k) {
            const double x = to_double(tp[r * width + k]), y = to_double(pp[r * width + k]);
            tt += x * x;
            pp2 += y * y;
            tp2 += x * y;
          }
          // Keras l2-normalises each vector by max(norm, eps).
          out[r] = tp2 / (std::fmax(std::sqrt(tt), eps) * std::fmax(std::sqrt(pp2), eps));
        }
      });
    });
  });
  return values;
}

}  // namespace

CosineSimilarity::CosineSimilarity(std::string name, DType dtype, std::int64_t axis)
    : MeanBasedMetric(std::move(name), dtype), axis_(axis) {}

std::unique_ptr<Metric> CosineSimilarity::from_config(const Json& config) {
  ConfigReader r("CosineSimilarity", config);
  const std::string name = r.name("cosine_similarity");
  const DType dtype = r.dtype();
  const std::int64_t axis = r.get_int("axis", -1);
  r.finish();
  return std::make_unique<CosineSimilarity>(name, dtype, axis);
}

void CosineSimilarity::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me,
                          cosine_values(me, batch.y_true, batch.y_pred, axis_, kernels::keras_epsilon(dtype())),
                          batch.sample_weight);
}

// --- R2Score -------------------------------------------------------------------------------

namespace {

constexpr std::size_t kNumSamples = 0, kSquaredSum = 1, kSum = 2, kResidual = 3, kCount = 4;

std::string aggregation_name(ClassAggregation a) {
  switch (a) {
    case ClassAggregation::kUniformAverage:
      return "uniform_average";
    case ClassAggregation::kVarianceWeightedAverage:
      return "variance_weighted_average";
    case ClassAggregation::kNone:
      break;
  }
  return "none";
}

}  // namespace

R2Score::R2Score(ClassAggregation aggregation, std::int64_t num_regressors, std::string name, DType dtype,
                 std::int64_t num_outputs)
    : MetricWithClone(std::move(name), dtype),
      aggregation_(aggregation),
      num_regressors_(num_regressors),
      num_outputs_(num_outputs) {
  if (num_regressors < 0) {
    throw InvalidArgument(internal::str_cat(
        "R2Score: Invalid value for argument `num_regressors`. Expected a value >= 0. Received: num_regressors=",
        num_regressors));
  }
  if (num_outputs < 1) {
    throw InvalidArgument(internal::str_cat("R2Score: argument `num_outputs` must be >= 1; received ", num_outputs));
  }
  add_variable("num_samples", {}, DType::kInt64);
  add_variable("squared_sum", {num_outputs});
  add_variable("sum", {num_outputs});
  add_variable("residual", {num_outputs});
  add_variable("count", {num_outputs}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);
}

std::unique_ptr<Metric> R2Score::from_config(const Json& config) {
  ConfigReader r("R2Score", config);
  const std::string name = r.name("r2_score");
  const DType dtype = r.dtype();
  ClassAggregation agg = ClassAggregation::kUniformAverage;
  const bool has_key = config.is_object() && config.contains("class_aggregation");
  const std::optional<std::string> a = r.get_optional_string("class_aggregation");
  if (has_key && !a) {
    agg = ClassAggregation::kNone;  // null: per-output scores
  } else if (a) {
    if (*a == "uniform_average")
      agg = ClassAggregation::kUniformAverage;
    else if (*a == "variance_weighted_average")
      agg = ClassAggregation::kVarianceWeightedAverage;
    else
      throw ConfigError(
          "R2Score: Invalid value for argument `class_aggregation`. Expected one of None, "
          "\"uniform_average\", \"variance_weighted_average\". Received: class_aggregation=" +
          *a);
  }
  const std::int64_t regressors = r.get_int("num_regressors", 0);
  const std::int64_t outputs = r.get_int("num_outputs", 1);
  r.finish();
  return std::make_unique<R2Score>(agg, regressors, name, dtype, outputs);
}

Json R2Score::get_config() const {
  Json c = Metric::get_config();
  c["class_aggregation"] = aggregation_ == ClassAggregation::kNone ? Json() : Json(aggregation_name(aggregation_));
  c["num_regressors"] = num_regressors_;
  if (num_outputs_ != 1) c["num_outputs"] = num_outputs_;
  return c;
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
  if (k != num_outputs_) {
    throw ShapeError(internal::str_cat(me, ": inputs have ", k, " outputs but the metric was built with num_outputs=",
                                       num_outputs_, " (pass num_outputs=", k, ")"));
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
  const Acc acc = visit_dtype(tc.dtype(), [&](auto ttag) {
    return visit_dtype(pc.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = static_cast<const T*>(tc.data());
      const P* pp = static_cast<const P*>(pc.data());
      return internal::chunked_reduce(
          rows, init,
          [&](std::int64_t b, std::int64_t e, Acc& a) {
            for (std::int64_t r = b; r < e; ++r) {
              const double wr = w[static_cast<std::size_t>(r)];
              a.samples += wr != 0.0 ? 1 : 0;
              for (std::int64_t j = 0; j < k; ++j) {
                const double y = to_double(tp[r * k + j]), yhat = to_double(pp[r * k + j]);
                const auto jj = static_cast<std::size_t>(j);
                a.sum[jj] += wr * y;
                a.sq[jj] += wr * y * y;
                a.res[jj] += wr * (y - yhat) * (y - yhat);
                a.cnt[jj] += wr;
              }
            }
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
    });
  });
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
  const auto k = static_cast<std::size_t>(num_outputs_);
  std::vector<double> raw(k), total(k);
  for (std::size_t j = 0; j < k; ++j) {
    const double mean = vars.f64(kSum)[j] / vars.f64(kCount)[j];
    total[j] = vars.f64(kSquaredSum)[j] - vars.f64(kSum)[j] * mean;
    raw[j] = 1.0 - vars.f64(kResidual)[j] / total[j];
    if (std::isinf(raw[j])) raw[j] = 0.0;  // Keras: constant targets with errors score 0; 0/0 stays NaN
  }
  if (aggregation_ == ClassAggregation::kNone) {
    if (num_regressors_ != 0) {
      const double n = static_cast<double>(vars.i64(kNumSamples)[0]);
      const double p = static_cast<double>(num_regressors_);
      if (p < n - 1) {
        for (double& r : raw) r = 1.0 - (1.0 - r) * (n - 1.0) / (n - p - 1.0);
      }
    }
    return Tensor::from_vector(raw);
  }
  double score = 0.0;
  if (aggregation_ == ClassAggregation::kUniformAverage) {
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
  if (num_regressors_ != 0) {
    // Adjusted R²; Keras warns and returns the plain score when p >= n - 1.
    const double n = static_cast<double>(vars.i64(kNumSamples)[0]);
    const double p = static_cast<double>(num_regressors_);
    if (p < n - 1) score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0);
  }
  return Tensor::scalar(score);
}

// --- functions ---------------------------------------------------------------------------

namespace functional {

namespace {
const double kEps32 = static_cast<double>(1e-7f);
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
