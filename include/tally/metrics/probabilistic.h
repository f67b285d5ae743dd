#pragma once
// Probabilistic metrics (Keras probabilistic_metrics.py): BinaryCrossentropy,
// CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence and Poisson, each
// the weighted mean of a Keras loss over samples (variables `total`, `count`, float64).
//
// Shapes. BinaryCrossentropy and Poisson average over the last axis; a rank-1 y_true /
// y_pred of length N is N samples of one output, as Keras treats shape [N, 1] (tally
// decision 9; Keras would reduce the whole rank-1 batch to ONE value). The categorical
// losses and KLDivergence sum over a class axis; a rank-1 input is one vector (one sample).
// y_true [N] against y_pred [N, 1] (or the reverse) is aligned as in Keras.
//
// Clipping. ε = 1e-7 and 1 − ε are rounded to the metric dtype (tally decision 11): with
// the default float32, 1 − ε = 0.99999988 and a saturated wrong BCE term is 15.942, as in
// Keras's tests; with dtype float64 it is 16.118. Arithmetic is float64.
//
// Sample weights follow Keras's Mean: per-sample weights give Σ w·loss / Σ w; a scalar
// weight w makes the whole batch one sample of weight w; weights with more dims weight
// the loss values position by position. Weights must be finite and >= 0.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tally/metric.h"
#include "tally/metrics/row_loss_mean.h"

namespace tally::metrics {

/// Keras BinaryCrossentropy: mean over the last axis of −[y ln p + (1 − y) ln(1 − p)], p
/// clipped to [ε, 1 − ε], y smoothed to y(1 − ls) + ls/2. With from_logits the exact
/// log-sigmoid form max(x, 0) − x·y + ln(1 + e^−|x|) (tally decision 6). Direction down.
class BinaryCrossentropy : public MetricWithClone<BinaryCrossentropy, detail::RowLossMean> {
 public:
  /// label_smoothing must lie in [0, 1].
  explicit BinaryCrossentropy(bool from_logits = false, double label_smoothing = 0.0,
                              std::string name = "binary_crossentropy", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {name, dtype, from_logits, label_smoothing}.
  static std::unique_ptr<Metric> from_config(const Json& config);

  std::string class_name() const override { return "BinaryCrossentropy"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kLowerIsBetter; }
  /// y_true and y_pred of the same shape (rank >= 1; [N] and [N, 1] align).
  void accumulate(Variables& vars, const Batch& batch) const override;

  bool from_logits() const { return from_logits_; }
  double label_smoothing() const { return label_smoothing_; }

 private:
  bool from_logits_;
  double label_smoothing_;
};

/// Keras CategoricalCrossentropy: −Σ y ln p along `axis`, p renormalised to sum 1 along the
/// axis and clipped to [ε, 1 − ε] (log-softmax with from_logits), y smoothed to
/// y(1 − ls) + ls/C with C the size of the class axis. Direction down.
class CategoricalCrossentropy : public MetricWithClone<CategoricalCrossentropy, detail::RowLossMean> {
 public:
  /// label_smoothing in [0, 1]; axis is the class axis (negative counts from the end).
  explicit CategoricalCrossentropy(bool from_logits = false, double label_smoothing = 0.0, std::int64_t axis = -1,
                                   std::string name = "categorical_crossentropy", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {name, dtype, from_logits, label_smoothing, axis}.
  static std::unique_ptr<Metric> from_config(const Json& config);

  std::string class_name() const override { return "CategoricalCrossentropy"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kLowerIsBetter; }
  /// y_true (one-hot or soft labels) and y_pred of the same shape; rank 1 is one sample.
  void accumulate(Variables& vars, const Batch& batch) const override;

  bool from_logits() const { return from_logits_; }
  double label_smoothing() const { return label_smoothing_; }
  std::int64_t axis() const { return axis_; }

 private:
  bool from_logits_;
  double label_smoothing_;
  std::int64_t axis_;
};

/// Keras SparseCategoricalCrossentropy: −ln p[label] with p renormalised and clipped as in
/// CategoricalCrossentropy (log-softmax with from_logits). Positions whose label equals
/// `ignore_class` contribute neither loss nor count, with or without sample weights (tally
/// decision 12; Keras still counts them when no weights are passed). Direction down.
class SparseCategoricalCrossentropy : public MetricWithClone<SparseCategoricalCrossentropy, detail::RowLossMean> {
 public:
  /// axis is y_pred's class axis; ignore_class is any integer (e.g. -1 or 255) or none.
  explicit SparseCategoricalCrossentropy(bool from_logits = false, std::optional<std::int64_t> ignore_class = {},
                                         std::int64_t axis = -1, std::string name = "sparse_categorical_crossentropy",
                                         DType dtype = DType::kFloat32);
  /// Builds from a Keras config {name, dtype, from_logits, ignore_class, axis}.
  static std::unique_ptr<Metric> from_config(const Json& config);

  std::string class_name() const override { return "SparseCategoricalCrossentropy"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kLowerIsBetter; }
  /// y_true integer labels (any numeric dtype, integral values) of y_pred's shape without
  /// the class axis (or with it of size 1); labels other than ignore_class lie in [0, C).
  void accumulate(Variables& vars, const Batch& batch) const override;

  bool from_logits() const { return from_logits_; }
  std::optional<std::int64_t> ignore_class() const { return ignore_class_; }
  std::int64_t axis() const { return axis_; }

 private:
  bool from_logits_;
  std::optional<std::int64_t> ignore_class_;
  std::int64_t axis_;
};

/// Keras KLDivergence: Σ over the last axis of y·ln(y/p), y and p clipped to [ε, 1].
/// Direction down (Keras's MeanMetricWrapper marks every wrapped loss "down").
class KLDivergence : public MetricWithClone<KLDivergence, detail::RowLossMean> {
 public:
  explicit KLDivergence(std::string name = "kl_divergence", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {name, dtype}.
  static std::unique_ptr<Metric> from_config(const Json& config);

  std::string class_name() const override { return "KLDivergence"; }
  Direction direction() const override { return Direction::kLowerIsBetter; }
  /// y_true and y_pred of the same shape; rank 1 is one distribution.
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras Poisson: mean over the last axis of p − y·ln(p + ε). Direction down (as above).
class Poisson : public MetricWithClone<Poisson, detail::RowLossMean> {
 public:
  explicit Poisson(std::string name = "poisson", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {name, dtype}.
  static std::unique_ptr<Metric> from_config(const Json& config);

  std::string class_name() const override { return "Poisson"; }
  Direction direction() const override { return Direction::kLowerIsBetter; }
  /// y_true and y_pred of the same shape (rank >= 1; rank 1 is N samples).
  void accumulate(Variables& vars, const Batch& batch) const override;
};

}  // namespace tally::metrics
