#pragma once
// The Keras regression family (keras/src/metrics/regression_metrics.py).
//
// Per-sample values are the mean over the last axis of an elementwise error (Keras
// losses). docs/keras-differences.md §9: a rank-1 y_true / y_pred of length N is N samples of one
// output, as Keras treats shape [N, 1] (Keras itself would reduce it to ONE value).
// CosineSimilarity keeps Keras's meaning: the last axis is the vector, so a rank-1 input
// is one vector. R2Score has its own state (per-output sums).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tally/metrics/reduction.h"
#include "tally/options.h"

namespace tally::metrics {

/// The elementwise error a regression metric averages.
enum class RegressionError : std::uint8_t {
  kSquared,             ///< (y_true - y_pred)^2
  kAbsolute,            ///< |y_true - y_pred|
  kAbsolutePercentage,  ///< 100 |y_true - y_pred| / max(|y_true|, eps)
  kSquaredLogarithmic,  ///< (log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2
  kLogCosh,             ///< log(cosh(y_pred - y_true)), computed stably
  kPinball,             ///< alpha·max(y_true − y_pred, 0) + (1 − alpha)·max(y_pred − y_true, 0)
};

/// Base of MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
/// MeanSquaredLogarithmicError, LogCoshError and RootMeanSquaredError.
class ElementwiseErrorMetric : public MeanBasedMetric {
 public:
  void accumulate(Variables& vars, const Batch& batch) const override;
  std::unique_ptr<GroupedKernel> grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                std::size_t groups, std::int64_t chunk_rows) const override;
  Tensor result_from(const Variables& vars) const override;
  RegressionError error() const { return error_; }

 protected:
  /// `param` is the error's parameter (the pinball loss's alpha); eps for the others.
  ElementwiseErrorMetric(std::string name, DType dtype, RegressionError error, bool root, double param = 0.0);

 private:
  RegressionError error_;
  bool root_;     // RootMeanSquaredError: sqrt of the mean
  double param_;  // kPinball: alpha
};

/// Keras MeanSquaredError (also mse, MSE).
class MeanSquaredError : public ConfiguredMetric<MeanSquaredError, BasicOptions, ElementwiseErrorMetric> {
 public:
  explicit MeanSquaredError(const Options& options);
  /// An empty name means "mean_squared_error".
  explicit MeanSquaredError(std::string name = {}, DType dtype = DType::kFloat32)
      : MeanSquaredError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
};

/// Keras MeanAbsoluteError (also mae, MAE).
class MeanAbsoluteError : public ConfiguredMetric<MeanAbsoluteError, BasicOptions, ElementwiseErrorMetric> {
 public:
  explicit MeanAbsoluteError(const Options& options);
  /// An empty name means "mean_absolute_error".
  explicit MeanAbsoluteError(std::string name = {}, DType dtype = DType::kFloat32)
      : MeanAbsoluteError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
};

/// Keras MeanAbsolutePercentageError: 100 · mean(|y - p| / max(|y|, eps)).
class MeanAbsolutePercentageError
    : public ConfiguredMetric<MeanAbsolutePercentageError, BasicOptions, ElementwiseErrorMetric> {
 public:
  explicit MeanAbsolutePercentageError(const Options& options);
  /// An empty name means "mean_absolute_percentage_error".
  explicit MeanAbsolutePercentageError(std::string name = {}, DType dtype = DType::kFloat32)
      : MeanAbsolutePercentageError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
};

/// Keras MeanSquaredLogarithmicError: negatives are clamped to eps, not rejected.
class MeanSquaredLogarithmicError
    : public ConfiguredMetric<MeanSquaredLogarithmicError, BasicOptions, ElementwiseErrorMetric> {
 public:
  explicit MeanSquaredLogarithmicError(const Options& options);
  /// An empty name means "mean_squared_logarithmic_error".
  explicit MeanSquaredLogarithmicError(std::string name = {}, DType dtype = DType::kFloat32)
      : MeanSquaredLogarithmicError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
};

/// Keras RootMeanSquaredError: sqrt of the weighted mean of squared errors.
class RootMeanSquaredError : public ConfiguredMetric<RootMeanSquaredError, BasicOptions, ElementwiseErrorMetric> {
 public:
  explicit RootMeanSquaredError(const Options& options);
  /// An empty name means "root_mean_squared_error".
  explicit RootMeanSquaredError(std::string name = {}, DType dtype = DType::kFloat32)
      : RootMeanSquaredError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
};

/// Keras LogCoshError (default name "logcosh"): mean of log(cosh(y_pred - y_true)).
class LogCoshError : public ConfiguredMetric<LogCoshError, BasicOptions, ElementwiseErrorMetric> {
 public:
  explicit LogCoshError(const Options& options);
  /// An empty name means "logcosh".
  explicit LogCoshError(std::string name = {}, DType dtype = DType::kFloat32)
      : LogCoshError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
};

/// Options of MeanPinballLoss.
struct MeanPinballLossOptions {
  double alpha = 0.5;  ///< the quantile the prediction targets, in [0, 1]
  std::string name;    ///< empty: "mean_pinball_loss"
  DType dtype = DType::kFloat32;
};

/// scikit-learn's mean_pinball_loss (tally extension, not in Keras): the weighted mean of
/// alpha·max(y − p, 0) + (1 − alpha)·max(p − y, 0), averaged over outputs; alpha = 0.5 is
/// half the mean absolute error.
class MeanPinballLoss : public ConfiguredMetric<MeanPinballLoss, MeanPinballLossOptions, ElementwiseErrorMetric> {
 public:
  explicit MeanPinballLoss(const Options& options);
  /// An empty name means "mean_pinball_loss".
  explicit MeanPinballLoss(double alpha = Options{}.alpha, std::string name = {}, DType dtype = DType::kFloat32)
      : MeanPinballLoss(Options{alpha, std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
};

/// Options of CosineSimilarity.
struct CosineSimilarityOptions {
  std::string name;  ///< empty: "cosine_similarity"
  DType dtype = DType::kFloat32;
  std::int64_t axis = -1;  ///< the vector axis
};

/// Keras CosineSimilarity: Σ over `axis` of the L2-normalised y_true · y_pred (a zero vector
/// gives 0), averaged over the other positions.
class CosineSimilarity : public ConfiguredMetric<CosineSimilarity, CosineSimilarityOptions, MeanBasedMetric> {
 public:
  explicit CosineSimilarity(const Options& options);
  /// An empty name means "cosine_similarity".
  explicit CosineSimilarity(std::string name = {}, DType dtype = DType::kFloat32, std::int64_t axis = Options{}.axis)
      : CosineSimilarity(Options{std::move(name), dtype, axis}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// How R2Score combines the per-output scores.
enum class ClassAggregation : std::uint8_t {
  kUniformAverage,           ///< "uniform_average": plain mean
  kVarianceWeightedAverage,  ///< "variance_weighted_average": weighted by each output's variance
  kNone,                     ///< null: the per-output vector
};

/// Keras R2Score over inputs [N, K] (rank 1 is [N, 1]). State per output: squared_sum,
/// sum, residual, count (float64) plus num_samples (int64: rows with a non-zero weight,
/// docs/keras-differences.md §5). As in Keras, without `num_outputs` the first batch fixes K (the
/// state is empty until then; a later batch with another K is a ShapeError naming both;
/// reset_state keeps K), the rule FBetaScore follows for its classes. The tally extension
/// `num_outputs` fixes K at construction so the state size never depends on data: needed
/// to merge or all-reduce states of workers that may not all see data. get_config lists
/// it only when given.
/// Options of R2Score.
struct R2ScoreOptions {
  ClassAggregation class_aggregation = ClassAggregation::kUniformAverage;  ///< how outputs combine (null: per output)
  std::int64_t num_regressors = 0;                                         ///< > 0 gives the adjusted R²
  std::string name;                                                        ///< empty: "r2_score"
  DType dtype = DType::kFloat32;
  std::optional<std::int64_t> num_outputs;  ///< tally extension: K fixed up front; absent: the first batch fixes it
};

class R2Score : public ConfiguredMetric<R2Score, R2ScoreOptions> {
 public:
  explicit R2Score(const Options& options);
  /// num_regressors >= 0 enables the adjusted R²; num_outputs, when given, >= 1. An empty name means "r2_score".
  explicit R2Score(ClassAggregation aggregation = Options{}.class_aggregation,
                   std::int64_t num_regressors = Options{}.num_regressors, std::string name = {},
                   DType dtype = DType::kFloat32, std::optional<std::int64_t> num_outputs = std::nullopt)
      : R2Score(Options{aggregation, num_regressors, std::move(name), dtype, num_outputs}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

// --- Beyond Keras (issue 17): scikit-learn / TorchMetrics regression scores ------------------

/// How ExplainedVariance combines per-output scores (scikit-learn's `multioutput`).
enum class Multioutput : std::uint8_t {
  kUniformAverage,    ///< "uniform_average": plain mean of the per-output scores
  kVarianceWeighted,  ///< "variance_weighted": weighted by each output's variance of y_true
  kRawValues,         ///< "raw_values": the per-output vector
};

/// Options of ExplainedVariance.
struct ExplainedVarianceOptions {
  Multioutput multioutput = Multioutput::kUniformAverage;  ///< how per-output scores combine
  std::int64_t num_outputs = 1;                            ///< K: the width of [N, K] inputs (fixes the state)
  std::string name;                                        ///< empty: "explained_variance"
  DType dtype = DType::kFloat32;
};

/// scikit-learn's explained_variance_score (force_finite=True): per output,
/// 1 - Var_w(y - p) / Var_w(y), from weighted sums (Σw, Σwy, Σwy², Σwe, Σwe² with e = y - p)
/// so that states merge by addition. A constant target scores 1 when predicted exactly, else 0.
class ExplainedVariance : public ConfiguredMetric<ExplainedVariance, ExplainedVarianceOptions> {
 public:
  explicit ExplainedVariance(const Options& options);
  /// An empty name means "explained_variance".
  explicit ExplainedVariance(Multioutput multioutput = Options{}.multioutput,
                             std::int64_t num_outputs = Options{}.num_outputs, std::string name = {},
                             DType dtype = DType::kFloat32)
      : ExplainedVariance(Options{multioutput, num_outputs, std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

/// scikit-learn's max_error: the largest |y_true - y_pred| seen, held in one max-aggregated
/// variable (merging takes the larger). Rows of weight 0 are skipped; 0 before any data.
/// tally extension: [N, K] inputs give the largest error over all outputs (scikit-learn
/// refuses multi-output).
class MaxError : public ConfiguredMetric<MaxError, BasicOptions> {
 public:
  explicit MaxError(const Options& options);
  /// An empty name means "max_error".
  explicit MaxError(std::string name = {}, DType dtype = DType::kFloat32) : MaxError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

/// TorchMetrics' SymmetricMeanAbsolutePercentageError: the weighted mean of
/// 2 |y - p| / max(|y| + |p|, 1.17e-6) (a fraction in [0, 2], not a percentage).
class SymmetricMeanAbsolutePercentageError
    : public ConfiguredMetric<SymmetricMeanAbsolutePercentageError, BasicOptions, MeanBasedMetric> {
 public:
  explicit SymmetricMeanAbsolutePercentageError(const Options& options);
  /// An empty name means "symmetric_mean_absolute_percentage_error".
  explicit SymmetricMeanAbsolutePercentageError(std::string name = {}, DType dtype = DType::kFloat32)
      : SymmetricMeanAbsolutePercentageError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// TorchMetrics' WeightedMeanAbsolutePercentageError: Σ w|y - p| / max(Σ w|y|, 1.17e-6),
/// from two summed variables.
class WeightedMeanAbsolutePercentageError : public ConfiguredMetric<WeightedMeanAbsolutePercentageError, BasicOptions> {
 public:
  explicit WeightedMeanAbsolutePercentageError(const Options& options);
  /// An empty name means "weighted_mean_absolute_percentage_error".
  explicit WeightedMeanAbsolutePercentageError(std::string name = {}, DType dtype = DType::kFloat32)
      : WeightedMeanAbsolutePercentageError(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

/// Options of TweedieDeviance.
struct TweedieDevianceOptions {
  double power = 0.0;  ///< the Tweedie power: <= 0 or >= 1
  std::string name;    ///< empty: "tweedie_deviance"
  DType dtype = DType::kFloat32;
};

/// scikit-learn's mean_tweedie_deviance: the weighted mean of the unit deviance of power p
/// (0: squared error, 1: Poisson, 2: Gamma). Inputs outside the power's domain
/// (p < 0: y_pred > 0; 1 <= p < 2: y_true >= 0, y_pred > 0; p >= 2: both > 0) are an
/// InvalidArgument with scikit-learn's wording, and the state is unchanged.
class TweedieDeviance : public ConfiguredMetric<TweedieDeviance, TweedieDevianceOptions, MeanBasedMetric> {
 public:
  explicit TweedieDeviance(const Options& options);
  /// An empty name means "tweedie_deviance".
  explicit TweedieDeviance(double power = Options{}.power, std::string name = {}, DType dtype = DType::kFloat32)
      : TweedieDeviance(Options{power, std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

}  // namespace tally::metrics
