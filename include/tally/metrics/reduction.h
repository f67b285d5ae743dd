#pragma once
// Reduction metrics (Keras reduction_metrics.py): Sum, Mean, MeanMetricWrapper, and
// LambdaMetric for custom metrics written as two lambdas.
//
// Sample weights follow Keras's reduce_to_samplewise_values: ranks are aligned
// (a trailing unit axis is squeezed or added), values with more dims than the
// weight are first averaged (Sum: summed) over the extra trailing dims, the weight
// is broadcast, and a weight of rank > 1 is averaged over its non-batch dims. A
// scalar sample_weight w therefore weights the whole batch as ONE sample of weight w.
// Weights must be finite and non-negative.

#include <functional>
#include <memory>
#include <string>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// The one base of every mean-like metric (accuracy, regression, probabilistic, hinge):
/// Keras Mean's state, float64 `total` (Σ value·weight) and `count` (Σ weight), both summed;
/// result = total / count, 0 before any update (Keras divide_no_nan).
class MeanBasedMetric : public Metric {
 public:
  Tensor result_from(const Variables& vars) const override { return Tensor::scalar(mean_of(vars)); }

 protected:
  /// Declares `total` and `count`.
  MeanBasedMetric(std::string name, DType dtype) : Metric(std::move(name), dtype) {
    add_variable("total", {});
    add_variable("count", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);  // a sum of weights
  }
  /// total / count, 0 when count is 0.
  static double mean_of(const Variables& vars) {
    const double count = vars.f64(1)[0];
    return count == 0.0 ? 0.0 : vars.f64(0)[0] / count;
  }
  /// Adds a batch's (total, count) contribution.
  static void add_totals(Variables& vars, double total, double count) {
    vars.f64(0)[0] += total;
    vars.f64(1)[0] += count;
  }
};

/// Keras Sum: the weighted sum of all values. Variable `total` (float64).
class Sum : public ConfiguredMetric<Sum, BasicOptions> {
 public:
  explicit Sum(const Options& options);
  /// An empty name means "sum"; dtype is the Keras dtype (float32).
  explicit Sum(std::string name = {}, DType dtype = DType::kFloat32) : Sum(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();

  /// Adds values (any shape) with an optional sample_weight broadcastable to them.
  void update_state(const TensorView& values, const TensorView& sample_weight = {}) {
    Metric::update_state({}, values, sample_weight);
  }
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

/// Keras Mean: total / count over all values (0 when count is 0). Variables `total`, `count`.
class Mean : public ConfiguredMetric<Mean, BasicOptions, MeanBasedMetric> {
 public:
  explicit Mean(const Options& options);
  /// An empty name means "mean".
  explicit Mean(std::string name = {}, DType dtype = DType::kFloat32) : Mean(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();

  /// Adds values (any shape) with an optional sample_weight broadcastable to them.
  void update_state(const TensorView& values, const TensorView& sample_weight = {}) {
    Metric::update_state({}, values, sample_weight);
  }
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// A per-sample function of (y_true, y_pred): returns a float64 tensor of values whose
/// first axis is the batch (e.g. shape [N] or [N, ...]); Mean then reduces them.
using PerSampleFn = std::function<Tensor(const TensorView& y_true, const TensorView& y_pred)>;

/// Keras MeanMetricWrapper: the weighted mean of a per-sample function's values.
class MeanMetricWrapper : public MetricWithClone<MeanMetricWrapper, MeanBasedMetric> {
 public:
  /// `fn_name` and `fn_kwargs` are reported by get_config() as "fn" and extra keys.
  MeanMetricWrapper(PerSampleFn fn, std::string name, DType dtype = DType::kFloat32, std::string fn_name = {},
                    Json fn_kwargs = Json::object(), Direction direction = Direction::kNone);

  std::string class_name() const override { return "MeanMetricWrapper"; }
  Json get_config() const override;
  Direction direction() const override { return direction_; }
  void accumulate(Variables& vars, const Batch& batch) const override;

 private:
  PerSampleFn fn_;
  std::string fn_name_;
  Json fn_kwargs_;
  Direction direction_;
};

/// A custom metric from two functions over declared variables (no subclass needed).
class LambdaMetric : public MetricWithClone<LambdaMetric> {
 public:
  /// Adds one batch into the variables; must validate before writing.
  using UpdateFn = std::function<void(Variables& vars, const Batch& batch)>;
  /// Computes the result from the variables.
  using ResultFn = std::function<Tensor(const Variables& vars)>;

  /// `variables` declares the state; `update` and `result` implement the metric.
  LambdaMetric(std::string name, const VariableLayout& variables, UpdateFn update, ResultFn result,
               Direction direction = Direction::kNone);

  std::string class_name() const override { return "LambdaMetric"; }
  Direction direction() const override { return direction_; }
  void accumulate(Variables& vars, const Batch& batch) const override { update_(vars, batch); }
  Tensor result_from(const Variables& vars) const override { return result_(vars); }

 private:
  UpdateFn update_;
  ResultFn result_;
  Direction direction_;
};

}  // namespace tally::metrics
