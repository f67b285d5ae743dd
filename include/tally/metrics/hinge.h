#pragma once
// Hinge metrics (Keras hinge_metrics.py): Hinge, SquaredHinge and CategoricalHinge, each the
// weighted mean of a Keras loss over samples (variables `total`, `count`, float64).
// Direction down.
//
// Label mapping (a batch-level rule, docs/keras-differences.md §4): Hinge and SquaredHinge map labels
// {0, 1} to {−1, 1} only if EVERY label of the update call is 0 or 1, as Keras's
// convert_binary_labels_to_hinge decides per call. Data labelled only with {0, 1} or only
// with {−1, 1} gives the same result for any batching; data mixing 0 with other values
// (e.g. {−1, 0, 1}) is mapped in the batches that happen to hold only 0s and 1s and not in
// the others, exactly as in Keras.
//
// Shapes: Hinge and SquaredHinge average over the last axis; a rank-1 input of length N is
// N samples (docs/keras-differences.md §9). CategoricalHinge reduces the last (class) axis; a rank-1
// input is one vector.

#include <memory>
#include <string>

#include "tally/metric.h"
#include "tally/metrics/reduction.h"
#include "tally/options.h"

namespace tally::metrics {

/// Keras Hinge: mean over the last axis of max(1 − y·p, 0).
class Hinge : public ConfiguredMetric<Hinge, BasicOptions, MeanBasedMetric> {
 public:
  explicit Hinge(const Options& options);
  /// An empty name means "hinge".
  explicit Hinge(std::string name = {}, DType dtype = DType::kFloat32) : Hinge(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  /// y_true (labels in {−1, 1}, or {0, 1} for the whole call) and y_pred of the same shape.
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras SquaredHinge: mean over the last axis of max(1 − y·p, 0)².
class SquaredHinge : public ConfiguredMetric<SquaredHinge, BasicOptions, MeanBasedMetric> {
 public:
  explicit SquaredHinge(const Options& options);
  /// An empty name means "squared_hinge".
  explicit SquaredHinge(std::string name = {}, DType dtype = DType::kFloat32)
      : SquaredHinge(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  /// As Hinge.
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras CategoricalHinge: max(neg − pos + 1, 0) with pos = Σ y·p and neg = max (1 − y)·p
/// over the last axis (no label mapping).
class CategoricalHinge : public ConfiguredMetric<CategoricalHinge, BasicOptions, MeanBasedMetric> {
 public:
  explicit CategoricalHinge(const Options& options);
  /// An empty name means "categorical_hinge".
  explicit CategoricalHinge(std::string name = {}, DType dtype = DType::kFloat32)
      : CategoricalHinge(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  /// y_true (one-hot) and y_pred of the same shape; rank 1 is one sample.
  void accumulate(Variables& vars, const Batch& batch) const override;
};

}  // namespace tally::metrics
