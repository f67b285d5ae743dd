#pragma once
// The Keras regression family (keras/src/metrics/regression_metrics.py).
//
// Per-sample values are the mean over the last axis of an elementwise error (Keras
// losses). tally decision 9: a rank-1 y_true / y_pred of length N is N samples of one
// output, as Keras treats shape [N, 1] (Keras itself would reduce it to ONE value).
// CosineSimilarity keeps Keras's meaning: the last axis is the vector, so a rank-1 input
// is one vector. R2Score has its own state (per-output sums).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tally/metrics/reduction.h"

namespace tally::metrics {

/// The elementwise error a regression metric averages.
enum class RegressionError : std::uint8_t {
  kSquared,             ///< (y_true - y_pred)^2
  kAbsolute,            ///< |y_true - y_pred|
  kAbsolutePercentage,  ///< 100 |y_true - y_pred| / max(|y_true|, eps)
  kSquaredLogarithmic,  ///< (log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2
  kLogCosh,             ///< log(cosh(y_pred - y_true)), computed stably
};

/// Base of MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
/// MeanSquaredLogarithmicError, LogCoshError and RootMeanSquaredError.
class ElementwiseErrorMetric : public Metric {
 public:
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
  Direction direction() const override { return Direction::kLowerIsBetter; }
  RegressionError error() const { return error_; }

 protected:
  ElementwiseErrorMetric(std::string name, DType dtype, RegressionError error, bool root);

 private:
  RegressionError error_;
  bool root_;  // RootMeanSquaredError: sqrt of the mean
};

/// Keras MeanSquaredError (name "mean_squared_error"; also mse, MSE).
class MeanSquaredError : public MetricWithClone<MeanSquaredError, ElementwiseErrorMetric> {
 public:
  explicit MeanSquaredError(std::string name = "mean_squared_error", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "MeanSquaredError"; }
};

/// Keras MeanAbsoluteError (name "mean_absolute_error"; also mae, MAE).
class MeanAbsoluteError : public MetricWithClone<MeanAbsoluteError, ElementwiseErrorMetric> {
 public:
  explicit MeanAbsoluteError(std::string name = "mean_absolute_error", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "MeanAbsoluteError"; }
};

/// Keras MeanAbsolutePercentageError: 100 · mean(|y - p| / max(|y|, eps)).
class MeanAbsolutePercentageError : public MetricWithClone<MeanAbsolutePercentageError, ElementwiseErrorMetric> {
 public:
  explicit MeanAbsolutePercentageError(std::string name = "mean_absolute_percentage_error",
                                       DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "MeanAbsolutePercentageError"; }
};

/// Keras MeanSquaredLogarithmicError: negatives are clamped to eps, not rejected.
class MeanSquaredLogarithmicError : public MetricWithClone<MeanSquaredLogarithmicError, ElementwiseErrorMetric> {
 public:
  explicit MeanSquaredLogarithmicError(std::string name = "mean_squared_logarithmic_error",
                                       DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "MeanSquaredLogarithmicError"; }
};

/// Keras RootMeanSquaredError: sqrt of the weighted mean of squared errors.
class RootMeanSquaredError : public MetricWithClone<RootMeanSquaredError, ElementwiseErrorMetric> {
 public:
  explicit RootMeanSquaredError(std::string name = "root_mean_squared_error", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "RootMeanSquaredError"; }
};

/// Keras LogCoshError (default name "logcosh"): mean of log(cosh(y_pred - y_true)).
class LogCoshError : public MetricWithClone<LogCoshError, ElementwiseErrorMetric> {
 public:
  explicit LogCoshError(std::string name = "logcosh", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "LogCoshError"; }
};

/// Keras CosineSimilarity: Σ over `axis` of the L2-normalised y_true · y_pred (a zero vector
/// gives 0), averaged over the other positions; config omits axis, as Keras does.
class CosineSimilarity : public MeanBasedMetric<CosineSimilarity> {
 public:
  /// name defaults to "cosine_similarity"; axis (default -1) is the vector axis.
  explicit CosineSimilarity(std::string name = "cosine_similarity", DType dtype = DType::kFloat32,
                            std::int64_t axis = -1);
  /// Builds from a Keras config {"name", "dtype", "axis"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "CosineSimilarity"; }
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;

 private:
  std::int64_t axis_;
};

/// How R2Score combines the per-output scores.
enum class ClassAggregation : std::uint8_t {
  kUniformAverage,           ///< "uniform_average": plain mean
  kVarianceWeightedAverage,  ///< "variance_weighted_average": weighted by each output's variance
  kNone,                     ///< null: the per-output vector
};

/// Keras R2Score over inputs [N, K] (rank 1 is [N, 1]). State per output: squared_sum,
/// sum, residual, count (float64) plus num_samples (int64: rows with a non-zero weight,
/// tally decision 5). As in Keras, without `num_outputs` the first batch fixes K (the
/// state is empty until then; a later batch with another K is a ShapeError naming both;
/// reset_state keeps K), the rule FBetaScore follows for its classes. The tally extension
/// `num_outputs` fixes K at construction so the state size never depends on data: needed
/// to merge or all-reduce states of workers that may not all see data. get_config lists
/// it only when given.
class R2Score : public MetricWithClone<R2Score> {
 public:
  /// num_regressors >= 0 enables the adjusted R²; num_outputs, when given, >= 1.
  explicit R2Score(ClassAggregation aggregation = ClassAggregation::kUniformAverage, std::int64_t num_regressors = 0,
                   std::string name = "r2_score", DType dtype = DType::kFloat32,
                   std::optional<std::int64_t> num_outputs = std::nullopt);
  /// Builds from a Keras config {"class_aggregation", "num_regressors", "name", "dtype"}
  /// plus the tally key "num_outputs".
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "R2Score"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;

 private:
  ClassAggregation aggregation_;
  std::int64_t num_regressors_;
  std::optional<std::int64_t> num_outputs_;
};

}  // namespace tally::metrics
