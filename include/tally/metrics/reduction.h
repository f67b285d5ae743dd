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

namespace tally::metrics {

/// Keras Sum: the weighted sum of all values. Variable `total` (float64).
class Sum : public MetricWithClone<Sum> {
 public:
  /// name defaults to "sum"; dtype is the Keras dtype (float32).
  explicit Sum(std::string name = "sum", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);

  /// Adds values (any shape) with an optional sample_weight broadcastable to them.
  void update_state(const TensorView& values, const TensorView& sample_weight = {}) {
    Metric::update_state({}, values, sample_weight);
  }
  std::string class_name() const override { return "Sum"; }
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

/// Keras Mean: total / count over all values (0 when count is 0). Variables `total`, `count`.
class Mean : public MetricWithClone<Mean> {
 public:
  /// name defaults to "mean".
  explicit Mean(std::string name = "mean", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);

  /// Adds values (any shape) with an optional sample_weight broadcastable to them.
  void update_state(const TensorView& values, const TensorView& sample_weight = {}) {
    Metric::update_state({}, values, sample_weight);
  }
  std::string class_name() const override { return "Mean"; }
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;
};

/// Base of metrics whose state is Keras Mean's (`total`, `count`, both float64 sums) and
/// whose result is total / count (0 before any update): the accuracy, regression,
/// probabilistic and hinge families.
template <class Derived>
class MeanBasedMetric : public MetricWithClone<Derived> {
 public:
  Tensor result_from(const Variables& vars) const override {
    const double count = vars.f64(1)[0];
    return Tensor::scalar(count == 0.0 ? 0.0 : vars.f64(0)[0] / count);
  }

 protected:
  /// Declares `total` and `count`.
  MeanBasedMetric(std::string name, DType dtype) : MetricWithClone<Derived>(std::move(name), dtype) {
    this->add_variable("total", {});
    this->add_variable("count", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);  // a sum of weights
  }
};

/// A per-sample function of (y_true, y_pred): returns a float64 tensor of values whose
/// first axis is the batch (e.g. shape [N] or [N, ...]); Mean then reduces them.
using PerSampleFn = std::function<Tensor(const TensorView& y_true, const TensorView& y_pred)>;

/// Keras MeanMetricWrapper: the weighted mean of a per-sample function's values.
class MeanMetricWrapper : public MetricWithClone<MeanMetricWrapper> {
 public:
  /// `fn_name` and `fn_kwargs` are reported by get_config() as "fn" and extra keys.
  MeanMetricWrapper(PerSampleFn fn, std::string name, DType dtype = DType::kFloat32, std::string fn_name = {},
                    Json fn_kwargs = Json::object(), Direction direction = Direction::kNone);

  std::string class_name() const override { return "MeanMetricWrapper"; }
  Json get_config() const override;
  Direction direction() const override { return direction_; }
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;

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
