#pragma once
// The Keras confusion-matrix family (keras/src/metrics/confusion_metrics.py):
// TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
// SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision.
//
// A label is positive iff it is non-zero; a prediction is positive at threshold t iff
// y_pred > t (strict). Counts per threshold are kept twice, with the state size fixed by
// the config: an int64 variable under the Keras name for unweighted batches, and a float64
// "weighted_<name>" variable for batches with sample weights; results read their sum
// (tally decision 1). Evenly spaced thresholds (AUC's default grid and the X-at-Y metrics)
// are bucketed with Keras's float32 arithmetic, ceil(p·(T−1)) − 1 after clipping p to
// [0, 1], so every prediction lands where Keras puts it (decision 2); other threshold lists
// use a binary search with strict >. Both are O(N + T) or O(N log T) per batch.
//
// Metrics of a MetricCollection with the same thresholds, top_k and class_id compute their
// counts once per batch (shared_work_key).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tally/metric.h"

namespace tally::metrics {

/// How predictions and labels are turned into confusion counts (shared by the family).
struct ConfusionOptions {
  std::vector<double> thresholds;        ///< in the order counts are reported
  bool evenly_spaced = false;            ///< Keras's bucketed fast path
  bool epsilon_endpoints = false;        ///< AUC's grid: bucket -1 is raised to 0
  std::optional<std::int64_t> top_k;     ///< keep the k largest scores per row, others -1e10
  std::optional<std::int64_t> class_id;  ///< count only this column
  bool from_logits = false;              ///< apply a sigmoid first (AUC)
  std::vector<double> label_weights;     ///< per-column weights while counting (AUC, not multi-label)
  std::int64_t num_labels = 1;           ///< columns counted separately (AUC multi_label), 1 otherwise
  bool multi_label = false;
};

/// Which count a TruePositives-style metric accumulates.
enum class ConfusionCount : std::uint8_t { kTruePositives, kFalsePositives, kTrueNegatives, kFalseNegatives };

/// Base of the family: declares the count variables it needs and fills them.
class ConfusionMetric : public Metric {
 public:
  std::string shared_work_key() const override;
  std::shared_ptr<const SharedWork> prepare_shared(const Batch& batch) const override;
  void accumulate_shared(Variables& vars, const Batch& batch, const SharedWork& work) const override;
  void accumulate(Variables& vars, const Batch& batch) const override;
  const ConfusionOptions& options() const { return options_; }

 protected:
  /// `counts` lists which of TP, FP, TN, FN this metric keeps, in variable order; the
  /// four count metrics name their one variable "accumulator", as Keras does.
  ConfusionMetric(std::string name, DType dtype, ConfusionOptions options, std::vector<ConfusionCount> counts,
                  bool keras_accumulator = false);
  /// Count `which` at every threshold (and label), unweighted + weighted variables summed.
  std::vector<double> count(const Variables& vars, ConfusionCount which) const;

 private:
  ConfusionOptions options_;
  std::vector<ConfusionCount> counts_;
};

/// TruePositives, FalsePositives, TrueNegatives, FalseNegatives (variable `accumulator`).
class ConfusionCountMetric : public ConfusionMetric {
 public:
  Json get_config() const override;
  Tensor result_from(const Variables& vars) const override;

 protected:
  ConfusionCountMetric(std::string name, DType dtype, std::optional<std::vector<double>> thresholds,
                       ConfusionCount which);

 private:
  std::optional<std::vector<double>> thresholds_config_;
  ConfusionCount which_;
};

#define TALLY_CONFUSION_COUNT_CLASS(Class, snake)                                                          \
  /** Keras Class: the count at each threshold (scalar for one threshold). */                              \
  class Class : public MetricWithClone<Class, ConfusionCountMetric> {                                      \
   public:                                                                                                 \
    explicit Class(std::optional<std::vector<double>> thresholds = std::nullopt, std::string name = snake, \
                   DType dtype = DType::kFloat32);                                                         \
    /** Builds from a Keras config {"thresholds", "name", "dtype"}. */                                     \
    static std::unique_ptr<Metric> from_config(const Json& config);                                        \
    std::string class_name() const override { return #Class; }                                             \
  };

TALLY_CONFUSION_COUNT_CLASS(TruePositives, "true_positives")
TALLY_CONFUSION_COUNT_CLASS(FalsePositives, "false_positives")
TALLY_CONFUSION_COUNT_CLASS(TrueNegatives, "true_negatives")
TALLY_CONFUSION_COUNT_CLASS(FalseNegatives, "false_negatives")
#undef TALLY_CONFUSION_COUNT_CLASS

/// Keras Precision: tp / (tp + fp) per threshold (0 where nothing is predicted positive).
class Precision : public MetricWithClone<Precision, ConfusionMetric> {
 public:
  /// thresholds default to 0.5, or to "in the top k" when top_k is given.
  explicit Precision(std::optional<std::vector<double>> thresholds = std::nullopt,
                     std::optional<std::int64_t> top_k = std::nullopt,
                     std::optional<std::int64_t> class_id = std::nullopt, std::string name = "precision",
                     DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"thresholds", "top_k", "class_id", "name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "Precision"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  Tensor result_from(const Variables& vars) const override;

 private:
  std::optional<std::vector<double>> thresholds_config_;
};

/// Keras Recall: tp / (tp + fn) per threshold (0 where there are no positives).
class Recall : public MetricWithClone<Recall, ConfusionMetric> {
 public:
  /// thresholds default to 0.5, or to "in the top k" when top_k is given.
  explicit Recall(std::optional<std::vector<double>> thresholds = std::nullopt,
                  std::optional<std::int64_t> top_k = std::nullopt, std::optional<std::int64_t> class_id = std::nullopt,
                  std::string name = "recall", DType dtype = DType::kFloat32);
  /// Builds from a Keras config {"thresholds", "top_k", "class_id", "name", "dtype"}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "Recall"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  Tensor result_from(const Variables& vars) const override;

 private:
  std::optional<std::vector<double>> thresholds_config_;
};

/// The curve AUC integrates.
enum class AucCurve : std::uint8_t { kROC, kPR, kPRGain };
/// How AUC sums rectangles between thresholds.
enum class AucSummation : std::uint8_t { kInterpolation, kMinoring, kMajoring };

/// Options of AUC, one field per Keras config key.
struct AucOptions {
  std::int64_t num_thresholds = 200;  ///< >= 2 (tally extension: up to millions, still O(N + T))
  AucCurve curve = AucCurve::kROC;
  AucSummation summation_method = AucSummation::kInterpolation;
  std::string name = "auc";
  DType dtype = DType::kFloat32;
  std::optional<std::vector<double>> thresholds;  ///< interior thresholds in [0, 1]; overrides num_thresholds
  bool multi_label = false;
  std::optional<std::int64_t> num_labels;  ///< required to fix the state of a multi-label AUC up front
  std::optional<std::vector<double>> label_weights;
  bool from_logits = false;
};

/// Keras AUC over ROC, PR (Davis-Goadrich interpolation) or PR-gain curves.
class AUC : public MetricWithClone<AUC, ConfusionMetric> {
 public:
  explicit AUC(AucOptions options = {});
  /// Builds from a Keras config.
  static std::unique_ptr<Metric> from_config(const Json& config);
  std::string class_name() const override { return "AUC"; }
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  Tensor result_from(const Variables& vars) const override;

 private:
  AucOptions auc_;
};

/// Which X-at-Y metric: the constrained rate and the one maximised.
enum class RateAtRate : std::uint8_t {
  kSensitivityAtSpecificity,
  kSpecificityAtSensitivity,
  kPrecisionAtRecall,
  kRecallAtPrecision,
};

/// Base of the four X-at-Y metrics: the best dependent rate among thresholds whose
/// constrained rate reaches the target (0 if none).
class RateAtRateMetric : public ConfusionMetric {
 public:
  Json get_config() const override;
  Direction direction() const override { return Direction::kHigherIsBetter; }
  Tensor result_from(const Variables& vars) const override;

 protected:
  RateAtRateMetric(RateAtRate kind, double target, std::int64_t num_thresholds, std::optional<std::int64_t> class_id,
                   std::string name, DType dtype);

 private:
  RateAtRate kind_;
  double target_;
  std::int64_t num_thresholds_;
  std::optional<std::int64_t> class_id_;
};

#define TALLY_RATE_AT_RATE_CLASS(Class, snake, target_key)                                        \
  /** Keras Class (target key target_key, num_thresholds=200, class_id). */                       \
  class Class : public MetricWithClone<Class, RateAtRateMetric> {                                 \
   public:                                                                                        \
    explicit Class(double target, std::int64_t num_thresholds = 200,                              \
                   std::optional<std::int64_t> class_id = std::nullopt, std::string name = snake, \
                   DType dtype = DType::kFloat32);                                                \
    /** Builds from a Keras config. */                                                            \
    static std::unique_ptr<Metric> from_config(const Json& config);                               \
    std::string class_name() const override { return #Class; }                                    \
  };

TALLY_RATE_AT_RATE_CLASS(SensitivityAtSpecificity, "sensitivity_at_specificity", specificity)
TALLY_RATE_AT_RATE_CLASS(SpecificityAtSensitivity, "specificity_at_sensitivity", sensitivity)
TALLY_RATE_AT_RATE_CLASS(PrecisionAtRecall, "precision_at_recall", recall)
TALLY_RATE_AT_RATE_CLASS(RecallAtPrecision, "recall_at_precision", precision)
#undef TALLY_RATE_AT_RATE_CLASS

}  // namespace tally::metrics
