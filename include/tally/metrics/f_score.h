#pragma once
// F-scores (Keras f_score_metrics.py): FBetaScore and F1Score over rank-2 inputs
// (batch, classes), multi-class or multi-label, with soft labels.
//
// Predictions are binarised per element: with a threshold, p > threshold; without one,
// p >= the row's maximum and |p| > 1e-9 (ties give several ones; an all-zero row gives
// none). Comparisons are made after rounding p and the threshold to the metric dtype, as
// Keras casts y_pred to it. Counts are float64 even without sample weights, because soft
// labels make them fractional; float64 counts stay exact for integers below 2^53.
//
// Class count. Keras has no num_classes argument: it builds its variables from the first
// batch's last dimension. tally does the same by default (the state is empty until the
// first update, which fixes C; a later batch with another C is a ShapeError; reset_state
// keeps C). Before that first update to_vector() is empty, from_vector() accepts only an
// empty vector and merge_state() with a built metric is a StateError (the layouts
// differ). Pass the tally extension `num_classes` (config key "num_classes", written only
// when given) to fix the state at construction: needed when states are merged or
// all-reduced across workers that may not all see data. average="micro" holds scalars, so
// its state never depends on C.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tally/metric.h"

namespace tally::metrics {

/// How per-class F-scores are combined (Keras `average`).
enum class FScoreAverage : std::uint8_t {
  kNone,      ///< one score per class (result shape [C])
  kMicro,     ///< one score from counts summed over classes
  kMacro,     ///< unweighted mean of the per-class scores
  kWeighted,  ///< mean of the per-class scores weighted by support (Σ weight·y_true per class)
};

/// Keras's spelling of an average: null for kNone, else "micro", "macro" or "weighted".
Json f_score_average_to_json(FScoreAverage average);
/// Parses Keras's `average` (null, "micro", "macro", "weighted"); InvalidArgument naming `owner` otherwise.
FScoreAverage f_score_average_from_json(const Json& value, std::string_view owner);

/// Keras FBetaScore: (1+β²)·p·r / (β²·p + r + ε) with p = tp/(tp+fp+ε), r = tp/(tp+fn+ε).
/// Variables true_positives, false_positives, false_negatives, intermediate_weights
/// (float64, shape [C], or [] for micro). Direction up.
class FBetaScore : public MetricWithClone<FBetaScore> {
 public:
  /// beta must be > 0; threshold, when given, in (0, 1]; num_classes (tally extension) >= 1.
  explicit FBetaScore(FScoreAverage average = FScoreAverage::kNone, double beta = 1.0,
                      std::optional<double> threshold = std::nullopt, std::string name = "fbeta_score",
                      DType dtype = DType::kFloat32, std::optional<std::int64_t> num_classes = std::nullopt);
  /// Builds from a Keras config {name, dtype, average, beta, threshold} (+ tally's num_classes).
  static std::unique_ptr<Metric> from_config(const Json& config);

  std::string class_name() const override { return class_name_; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  /// y_true and y_pred of shape [N, C]; sample_weight scalar, [N], [N, 1] or [N, C].
  void accumulate(Variables& vars, const Batch& batch) const override;
  /// Shape [C] for average None (shape [0] before the first update), else a scalar.
  Tensor result_from(const Variables& vars) const override;

  FScoreAverage average() const { return average_; }
  double beta() const { return beta_; }
  std::optional<double> threshold() const { return threshold_; }
  /// The tally extension num_classes, when given.
  std::optional<std::int64_t> num_classes() const { return num_classes_; }

 protected:
  /// For F1Score: the same metric under another class name and default name.
  FBetaScore(std::string class_name, FScoreAverage average, double beta, std::optional<double> threshold,
             std::string name, DType dtype, std::optional<std::int64_t> num_classes);

 private:
  std::string class_name_;
  FScoreAverage average_;
  double beta_;
  std::optional<double> threshold_;
  std::optional<std::int64_t> num_classes_;
};

/// Keras F1Score: FBetaScore with beta = 1; its config has no "beta" key.
class F1Score : public MetricWithClone<F1Score, FBetaScore> {
 public:
  /// threshold, when given, in (0, 1]; num_classes (tally extension) >= 1.
  explicit F1Score(FScoreAverage average = FScoreAverage::kNone, std::optional<double> threshold = std::nullopt,
                   std::string name = "f1_score", DType dtype = DType::kFloat32,
                   std::optional<std::int64_t> num_classes = std::nullopt);
  /// Builds from a Keras config {name, dtype, average, threshold} (+ tally's num_classes).
  static std::unique_ptr<Metric> from_config(const Json& config);

  Json get_config() const override;
};

}  // namespace tally::metrics
