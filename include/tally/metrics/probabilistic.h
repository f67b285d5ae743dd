#pragma once
// Probabilistic metrics (Keras probabilistic_metrics.py): BinaryCrossentropy,
// CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence and Poisson, each
// the weighted mean of a Keras loss over samples (variables `total`, `count`, float64).
//
// Shapes. BinaryCrossentropy and Poisson average over the last axis; a rank-1 y_true /
// y_pred of length N is N samples of one output, as Keras treats shape [N, 1] (tally
// docs/keras-differences.md §9; Keras would reduce the whole rank-1 batch to ONE value). The categorical
// losses and KLDivergence sum over a class axis; a rank-1 input is one vector (one sample).
// y_true [N] against y_pred [N, 1] (or the reverse) is aligned as in Keras.
//
// Clipping. ε = 1e-7 and 1 − ε are rounded to the metric dtype (docs/keras-differences.md §11): with
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
#include "tally/metrics/reduction.h"
#include "tally/options.h"

namespace tally::metrics {

/// Options of BinaryCrossentropy.
struct BinaryCrossentropyOptions {
  std::string name;  ///< empty: "binary_crossentropy"
  DType dtype = DType::kFloat32;
  bool from_logits = false;      ///< y_pred holds logits
  double label_smoothing = 0.0;  ///< in [0, 1]
};

/// Keras BinaryCrossentropy: mean over the last axis of −[y ln p + (1 − y) ln(1 − p)], p
/// clipped to [ε, 1 − ε], y smoothed to y(1 − ls) + ls/2. With from_logits the exact
/// log-sigmoid form max(x, 0) − x·y + ln(1 + e^−|x|) (docs/keras-differences.md §6).
class BinaryCrossentropy : public ConfiguredMetric<BinaryCrossentropy, BinaryCrossentropyOptions, MeanBasedMetric> {
 public:
  explicit BinaryCrossentropy(const Options& options);
  /// An empty name means "binary_crossentropy".
  explicit BinaryCrossentropy(bool from_logits = false, double label_smoothing = Options{}.label_smoothing,
                              std::string name = {}, DType dtype = DType::kFloat32)
      : BinaryCrossentropy(Options{std::move(name), dtype, from_logits, label_smoothing}) {}
  static const MetricSpec<Options>& spec();
  /// y_true and y_pred of the same shape (rank >= 1; [N] and [N, 1] align).
  void accumulate(Variables& vars, const Batch& batch) const override;
  std::unique_ptr<GroupedKernel> grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                std::size_t groups, std::int64_t chunk_rows) const override;
  bool from_logits() const { return options().from_logits; }
  double label_smoothing() const { return options().label_smoothing; }
};

/// Options of CategoricalCrossentropy.
struct CategoricalCrossentropyOptions {
  std::string name;  ///< empty: "categorical_crossentropy"
  DType dtype = DType::kFloat32;
  bool from_logits = false;      ///< y_pred holds logits
  double label_smoothing = 0.0;  ///< in [0, 1]
  std::int64_t axis = -1;        ///< the class axis
};

/// Keras CategoricalCrossentropy: −Σ y ln p along `axis`, p renormalised to sum 1 along the
/// axis and clipped to [ε, 1 − ε] (log-softmax with from_logits), y smoothed to
/// y(1 − ls) + ls/C with C the size of the class axis.
class CategoricalCrossentropy
    : public ConfiguredMetric<CategoricalCrossentropy, CategoricalCrossentropyOptions, MeanBasedMetric> {
 public:
  explicit CategoricalCrossentropy(const Options& options);
  /// An empty name means "categorical_crossentropy".
  explicit CategoricalCrossentropy(bool from_logits = false, double label_smoothing = Options{}.label_smoothing,
                                   std::int64_t axis = Options{}.axis, std::string name = {},
                                   DType dtype = DType::kFloat32)
      : CategoricalCrossentropy(Options{std::move(name), dtype, from_logits, label_smoothing, axis}) {}
  static const MetricSpec<Options>& spec();
  /// y_true (one-hot or soft labels) and y_pred of the same shape; rank 1 is one sample.
  void accumulate(Variables& vars, const Batch& batch) const override;
  bool from_logits() const { return options().from_logits; }
  double label_smoothing() const { return options().label_smoothing; }
  std::int64_t axis() const { return options().axis; }
};

/// Options of SparseCategoricalCrossentropy.
struct SparseCategoricalCrossentropyOptions {
  std::string name;  ///< empty: "sparse_categorical_crossentropy"
  DType dtype = DType::kFloat32;
  bool from_logits = false;                  ///< y_pred holds logits
  std::optional<std::int64_t> ignore_class;  ///< a label excluded from loss and count
  std::int64_t axis = -1;                    ///< y_pred's class axis
};

/// Keras SparseCategoricalCrossentropy: −ln p[label] with p renormalised and clipped as in
/// CategoricalCrossentropy (log-softmax with from_logits). Positions whose label equals
/// `ignore_class` contribute neither loss nor count, with or without sample weights
/// (docs/keras-differences.md §12; Keras still counts them when no weights are passed).
class SparseCategoricalCrossentropy
    : public ConfiguredMetric<SparseCategoricalCrossentropy, SparseCategoricalCrossentropyOptions, MeanBasedMetric> {
 public:
  explicit SparseCategoricalCrossentropy(const Options& options);
  /// An empty name means "sparse_categorical_crossentropy".
  explicit SparseCategoricalCrossentropy(bool from_logits = false, std::optional<std::int64_t> ignore_class = {},
                                         std::int64_t axis = Options{}.axis, std::string name = {},
                                         DType dtype = DType::kFloat32)
      : SparseCategoricalCrossentropy(Options{std::move(name), dtype, from_logits, ignore_class, axis}) {}
  static const MetricSpec<Options>& spec();
  /// y_true integer labels (any numeric dtype, integral values) of y_pred's shape without
  /// the class axis (or with it of size 1); labels other than ignore_class lie in [0, C).
  void accumulate(Variables& vars, const Batch& batch) const override;
  bool from_logits() const { return options().from_logits; }
  std::optional<std::int64_t> ignore_class() const { return options().ignore_class; }
  std::int64_t axis() const { return options().axis; }
};

/// Keras KLDivergence: Σ over the last axis of y·ln(y/p), y and p clipped to [ε, 1].
/// Direction down (Keras's MeanMetricWrapper marks every wrapped loss "down").
class KLDivergence : public ConfiguredMetric<KLDivergence, BasicOptions, MeanBasedMetric> {
 public:
  explicit KLDivergence(const Options& options);
  /// An empty name means "kl_divergence".
  explicit KLDivergence(std::string name = {}, DType dtype = DType::kFloat32)
      : KLDivergence(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  /// y_true and y_pred of the same shape; rank 1 is one distribution.
  void accumulate(Variables& vars, const Batch& batch) const override;
};

/// Keras Poisson: mean over the last axis of p − y·ln(p + ε). Direction down (as above).
class Poisson : public ConfiguredMetric<Poisson, BasicOptions, MeanBasedMetric> {
 public:
  explicit Poisson(const Options& options);
  /// An empty name means "poisson".
  explicit Poisson(std::string name = {}, DType dtype = DType::kFloat32) : Poisson(Options{std::move(name), dtype}) {}
  static const MetricSpec<Options>& spec();
  /// y_true and y_pred of the same shape (rank >= 1; rank 1 is N samples).
  void accumulate(Variables& vars, const Batch& batch) const override;
};

}  // namespace tally::metrics
