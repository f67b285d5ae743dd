#pragma once
// The Keras accuracy family (keras/src/metrics/accuracy_metrics.py). Each is the weighted
// mean of per-sample matches, with Keras's rank alignment and sample-weight rules (see
// reduction.h); state `total`, `count`.

#include <cstdint>
#include <memory>
#include <string>

#include "tally/metrics/reduction.h"

namespace tally::metrics {

/// Keras Accuracy: how often y_true == y_pred, element by element.
class Accuracy : public MeanBasedMetric<Accuracy> {
 public:
  /// name defaults to "accuracy".
  explicit Accuracy(std::string name = "accuracy", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "Accuracy"; }
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras BinaryAccuracy: how often (y_pred > threshold) equals y_true (strict; labels other
/// than 0 and 1 never match), element by element.
class BinaryAccuracy : public MeanBasedMetric<BinaryAccuracy> {
 public:
  /// name defaults to "binary_accuracy"; threshold (default 0.5) must be finite.
  explicit BinaryAccuracy(std::string name = "binary_accuracy", DType dtype = DType::kFloat32, double threshold = 0.5);
  /// Builds from a Keras config {"name", "dtype", "threshold"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "BinaryAccuracy"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;
  double threshold() const { return threshold_; }

 private:
  double threshold_;
};

/// Keras CategoricalAccuracy: argmax(y_true) == argmax(y_pred) along the last axis
/// (ties resolve to the first index).
class CategoricalAccuracy : public MeanBasedMetric<CategoricalAccuracy> {
 public:
  /// name defaults to "categorical_accuracy".
  explicit CategoricalAccuracy(std::string name = "categorical_accuracy", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "CategoricalAccuracy"; }
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras SparseCategoricalAccuracy: integer y_true == argmax(y_pred) (a trailing unit axis
/// of y_true is squeezed; a non-integral label never matches).
class SparseCategoricalAccuracy : public MeanBasedMetric<SparseCategoricalAccuracy> {
 public:
  /// name defaults to "sparse_categorical_accuracy".
  explicit SparseCategoricalAccuracy(std::string name = "sparse_categorical_accuracy", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "SparseCategoricalAccuracy"; }
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras TopKCategoricalAccuracy: the target argmax(y_true) is a hit when fewer than k
/// classes score strictly higher than it (ties count as hits). Inputs of rank > 2 are rows.
class TopKCategoricalAccuracy : public MeanBasedMetric<TopKCategoricalAccuracy> {
 public:
  /// name defaults to "top_k_categorical_accuracy"; k (default 5) must be >= 1.
  explicit TopKCategoricalAccuracy(std::int64_t k = 5, std::string name = "top_k_categorical_accuracy",
                                   DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype", "k"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "TopKCategoricalAccuracy"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;

 private:
  std::int64_t k_;
};

/// How SparseTopKCategoricalAccuracy reads y_pred.
enum class PredictionKind : std::uint8_t {
  kScores,     ///< y_pred holds one score per class
  kSortedIds,  ///< y_pred holds class ids sorted by decreasing score (Keras from_sorted_ids)
};

/// Keras SparseTopKCategoricalAccuracy: integer targets in the top k (ties count as hits),
/// or, with sorted ids, the target among the first k ids.
class SparseTopKCategoricalAccuracy : public MeanBasedMetric<SparseTopKCategoricalAccuracy> {
 public:
  /// name defaults to "sparse_top_k_categorical_accuracy"; k (default 5) must be >= 1.
  explicit SparseTopKCategoricalAccuracy(std::int64_t k = 5, PredictionKind kind = PredictionKind::kScores,
                                         std::string name = "sparse_top_k_categorical_accuracy",
                                         DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"name", "dtype", "k", "from_sorted_ids"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "SparseTopKCategoricalAccuracy"; }
  /// Lists from_sorted_ids only when true, as Keras does.
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  void accumulate(Variables& vars, const Batch& batch) const override;

 private:
  std::int64_t k_;
  PredictionKind kind_;
};

}  // namespace tally::metrics
