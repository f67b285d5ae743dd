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
#include "tally/options.h"

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

/// Shared machinery of F1Score and FBetaScore: (1+β²)·p·r / (β²·p + r + ε) with
/// p = tp/(tp+fp+ε), r = tp/(tp+fn+ε). Variables true_positives, false_positives,
/// false_negatives, intermediate_weights (float64, shape [C], or [] for micro).
class FScoreMetric : public Metric {
 public:
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
  /// The options are validated by the subclass's option table before this runs.
  FScoreMetric(std::string name, DType dtype, FScoreAverage average, double beta, std::optional<double> threshold,
               std::optional<std::int64_t> num_classes);

 private:
  /// Sample weights broadcast to [rows, classes] (Keras's trailing unit axes) and checked.
  TensorView broadcast_weight(const std::string& me, const TensorView& sample_weight, std::int64_t rows,
                              std::int64_t classes) const;
  /// Totals [tp | fp | fn | support] of an integer-label batch counted from its ids; nullopt
  /// when the one-hot path must take it (it then throws, or counts what the id path does not).
  std::optional<std::vector<double>> id_totals(const std::string& me, const Batch& input, std::int64_t held) const;
  /// Adds totals [tp | fp | fn | support] into the state (the first batch fixes C).
  void add_totals(Variables& vars, const std::vector<double>& total, std::int64_t classes, std::int64_t held) const;

  FScoreAverage average_;
  double beta_;
  std::optional<double> threshold_;
  std::optional<std::int64_t> num_classes_;
};

/// Options of FBetaScore, in Keras's constructor order (num_classes is tally's extension).
struct FBetaScoreOptions {
  FScoreAverage average = FScoreAverage::kNone;  ///< null, "micro", "macro" or "weighted"
  double beta = 1.0;                             ///< finite and > 0
  std::optional<double> threshold;               ///< in (0, 1]; null: the row's maximum
  std::string name;                              ///< empty: "fbeta_score"
  DType dtype = DType::kFloat32;
  std::optional<std::int64_t> num_classes;  ///< >= 1: fixes the state up front (listed in configs only when set)
};

/// Keras FBetaScore. Direction up.
class FBetaScore : public ConfiguredMetric<FBetaScore, FBetaScoreOptions, FScoreMetric> {
 public:
  explicit FBetaScore(const Options& options);
  /// An empty name means "fbeta_score".
  explicit FBetaScore(FScoreAverage average = Options{}.average, double beta = Options{}.beta,
                      std::optional<double> threshold = std::nullopt, std::string name = {},
                      DType dtype = DType::kFloat32, std::optional<std::int64_t> num_classes = std::nullopt)
      : FBetaScore(Options{average, beta, threshold, std::move(name), dtype, num_classes}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
};

/// Options of F1Score: FBetaScore's without beta.
struct F1ScoreOptions {
  FScoreAverage average = FScoreAverage::kNone;  ///< null, "micro", "macro" or "weighted"
  std::optional<double> threshold;               ///< in (0, 1]; null: the row's maximum
  std::string name;                              ///< empty: "f1_score"
  DType dtype = DType::kFloat32;
  std::optional<std::int64_t> num_classes;  ///< >= 1: fixes the state up front (listed in configs only when set)
};

/// Keras F1Score: FBetaScore with beta = 1; its config has no "beta" key.
class F1Score : public ConfiguredMetric<F1Score, F1ScoreOptions, FScoreMetric> {
 public:
  explicit F1Score(const Options& options);
  /// An empty name means "f1_score".
  explicit F1Score(FScoreAverage average = Options{}.average, std::optional<double> threshold = std::nullopt,
                   std::string name = {}, DType dtype = DType::kFloat32,
                   std::optional<std::int64_t> num_classes = std::nullopt)
      : F1Score(Options{average, threshold, std::move(name), dtype, num_classes}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
};

}  // namespace tally::metrics
