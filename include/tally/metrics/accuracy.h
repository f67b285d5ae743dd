#pragma once
// The Keras accuracy family (keras/src/metrics/accuracy_metrics.py). Each is the weighted
// mean of per-sample matches, with Keras's rank alignment and sample-weight rules (see
// reduction.h); state `total`, `count`.

#include <cstdint>
#include <memory>
#include <string>

#include "tally/metrics/reduction.h"
#include "tally/options.h"

namespace tally::metrics {

/// Keras Accuracy: how often y_true == y_pred, element by element.
class Accuracy : public ConfiguredMetric<Accuracy, BasicOptions, MeanBasedMetric> {
 public:
  explicit Accuracy(const Options& options);
  /// An empty name means "accuracy".
  explicit Accuracy(std::string name = {}, DType dtype = DType::kFloat32) : Accuracy(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  std::unique_ptr<GroupedKernel> grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                std::size_t groups, std::int64_t chunk_rows) const override;
};

/// Options of BinaryAccuracy.
struct BinaryAccuracyOptions {
  std::string name;  ///< empty: "binary_accuracy"
  DType dtype = DType::kFloat32;
  double threshold = 0.5;  ///< a score is positive when strictly above it; in [0, 1]
};

/// Keras BinaryAccuracy: how often (y_pred > threshold) equals y_true (strict; labels other
/// than 0 and 1 never match), element by element.
class BinaryAccuracy : public ConfiguredMetric<BinaryAccuracy, BinaryAccuracyOptions, MeanBasedMetric> {
 public:
  explicit BinaryAccuracy(const Options& options);
  /// An empty name means "binary_accuracy".
  explicit BinaryAccuracy(std::string name = {}, DType dtype = DType::kFloat32, double threshold = Options{}.threshold)
      : BinaryAccuracy(Options{std::move(name), dtype, threshold}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  std::unique_ptr<GroupedKernel> grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                std::size_t groups, std::int64_t chunk_rows) const override;
  double threshold() const { return options().threshold; }
};

/// Keras CategoricalAccuracy: argmax(y_true) == argmax(y_pred) along the last axis
/// (ties resolve to the first index).
class CategoricalAccuracy : public ConfiguredMetric<CategoricalAccuracy, BasicOptions, MeanBasedMetric> {
 public:
  explicit CategoricalAccuracy(const Options& options);
  /// An empty name means "categorical_accuracy".
  explicit CategoricalAccuracy(std::string name = {}, DType dtype = DType::kFloat32)
      : CategoricalAccuracy(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras SparseCategoricalAccuracy: integer y_true == argmax(y_pred) (a trailing unit axis
/// of y_true is squeezed; a non-integral label never matches).
class SparseCategoricalAccuracy : public ConfiguredMetric<SparseCategoricalAccuracy, BasicOptions, MeanBasedMetric> {
 public:
  explicit SparseCategoricalAccuracy(const Options& options);
  /// An empty name means "sparse_categorical_accuracy".
  explicit SparseCategoricalAccuracy(std::string name = {}, DType dtype = DType::kFloat32)
      : SparseCategoricalAccuracy(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Options of TopKCategoricalAccuracy.
struct TopKOptions {
  std::int64_t k = 5;  ///< how many top scores count as a hit; >= 1
  std::string name;    ///< empty: the class's default name
  DType dtype = DType::kFloat32;
};

/// Keras TopKCategoricalAccuracy: the target argmax(y_true) is a hit when fewer than k
/// classes score strictly higher than it (ties count as hits). Inputs of rank > 2 are rows.
class TopKCategoricalAccuracy : public ConfiguredMetric<TopKCategoricalAccuracy, TopKOptions, MeanBasedMetric> {
 public:
  explicit TopKCategoricalAccuracy(const Options& options);
  /// An empty name means "top_k_categorical_accuracy".
  explicit TopKCategoricalAccuracy(std::int64_t k = Options{}.k, std::string name = {}, DType dtype = DType::kFloat32)
      : TopKCategoricalAccuracy(Options{k, std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// How SparseTopKCategoricalAccuracy reads y_pred.
enum class PredictionKind : std::uint8_t {
  kScores,     ///< y_pred holds one score per class
  kSortedIds,  ///< y_pred holds class ids sorted by decreasing score (Keras from_sorted_ids)
};

/// Options of SparseTopKCategoricalAccuracy.
struct SparseTopKOptions {
  std::int64_t k = 5;  ///< how many top scores count as a hit; >= 1
  std::string name;    ///< empty: "sparse_top_k_categorical_accuracy"
  DType dtype = DType::kFloat32;
  bool from_sorted_ids = false;  ///< y_pred holds class ids by decreasing score (listed in configs only when true)
};

/// Keras SparseTopKCategoricalAccuracy: integer targets in the top k (ties count as hits),
/// or, with sorted ids, the target among the first k ids.
class SparseTopKCategoricalAccuracy
    : public ConfiguredMetric<SparseTopKCategoricalAccuracy, SparseTopKOptions, MeanBasedMetric> {
 public:
  explicit SparseTopKCategoricalAccuracy(const Options& options);
  /// An empty name means "sparse_top_k_categorical_accuracy".
  explicit SparseTopKCategoricalAccuracy(std::int64_t k = Options{}.k, PredictionKind kind = PredictionKind::kScores,
                                         std::string name = {}, DType dtype = DType::kFloat32)
      : SparseTopKCategoricalAccuracy(Options{k, std::move(name), dtype, kind == PredictionKind::kSortedIds}) {}
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
};

}  // namespace tally::metrics
