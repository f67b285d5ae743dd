#pragma once
// The Keras confusion-matrix family (keras/src/metrics/confusion_metrics.py):
// TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
// SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision.
//
// A label is positive iff it is non-zero; a prediction is positive at threshold t iff
// y_pred > t (strict). Counts per threshold are kept twice, with the state size fixed by
// the config: an int64 variable under the Keras name for unweighted batches, and a float64
// "weighted_<name>" variable for batches with sample weights; results read their sum
// (docs/keras-differences.md §1). Evenly spaced thresholds (AUC's default grid and the X-at-Y metrics)
// are bucketed with Keras's float32 arithmetic, ceil(p·(T−1)) − 1 after clipping p to
// [0, 1], so every prediction lands where Keras puts it (docs/keras-differences.md §2); other threshold lists
// use a binary search with strict >. Both are O(N + T) or O(N log T) per batch.
//
// Metrics of a MetricCollection with the same thresholds, top_k and class_id compute their
// counts once per batch (shared_work_key).
//
// tally extensions: integer labels for Precision / Recall (num_classes, average) and
// one-vs-rest AUC (multi_class="ovr"), counted as one-hot rows by the same kernel (Precision
// and Recall count the ids straight into the counts those rows give; docs/keras-differences.md §18); ROCCurve and
// PrecisionRecallCurve return the [3, T] curve over AUC's grid (docs/metrics.md, "Curves").

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tally/metric.h"
#include "tally/options.h"

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
  /// > 0 (tally extension): y_true holds class ids in [0, class_ids), counted one-vs-rest per
  /// class as one-hot rows (with multi_label and num_labels = class_ids; with argmax_pred
  /// counted from the ids, to the same counts); y_pred is [N, C] scores or [N] predicted ids
  /// (docs/keras-differences.md §18).
  std::int64_t class_ids = 0;
  bool argmax_pred = false;  ///< with class_ids: [N, C] scores count as the one-hot of their argmax
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
  std::unique_ptr<GroupedKernel> grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                std::size_t groups, std::int64_t chunk_rows) const override;
  /// How this metric counts (thresholds, grid, top_k, class_id, labels).
  const ConfusionOptions& confusion_options() const { return confusion_; }

 protected:
  /// `counts` lists which of TP, FP, TN, FN this metric keeps, in variable order; the
  /// four count metrics name their one variable "accumulator", as Keras does.
  ConfusionMetric(std::string name, DType dtype, ConfusionOptions options, std::vector<ConfusionCount> counts,
                  bool keras_accumulator = false);
  /// Count `which` at every threshold (and label), unweighted + weighted variables summed.
  std::vector<double> count(const Variables& vars, ConfusionCount which) const;

 private:
  ConfusionOptions confusion_;
  std::vector<ConfusionCount> counts_;
};

/// Options of TruePositives, FalsePositives, TrueNegatives and FalseNegatives.
struct ConfusionCountOptions {
  std::optional<std::vector<double>> thresholds;  ///< each in [0, 1]; null: 0.5
  std::string name;                               ///< empty: the class's default name
  DType dtype = DType::kFloat32;
};

/// TruePositives, FalsePositives, TrueNegatives, FalseNegatives (variable `accumulator`).
class ConfusionCountMetric : public ConfusionMetric {
 public:
  Tensor result_from(const Variables& vars) const override;

 protected:
  /// `owner` (the class name) prefixes the messages of invalid thresholds.
  ConfusionCountMetric(std::string name, DType dtype, const std::string& owner,
                       const std::optional<std::vector<double>>& thresholds, ConfusionCount which);

 private:
  ConfusionCount which_;
};

// Keras Class: the count at each threshold (scalar for one threshold). An empty name
// means the spec's default name.
#define TALLY_CONFUSION_COUNT_CLASS(Class)                                                              \
  class Class : public ConfiguredMetric<Class, ConfusionCountOptions, ConfusionCountMetric> {           \
   public:                                                                                              \
    explicit Class(const Options& options);                                                             \
    explicit Class(std::optional<std::vector<double>> thresholds = std::nullopt, std::string name = {}, \
                   DType dtype = DType::kFloat32)                                                       \
        : Class(Options{std::move(thresholds), std::move(name), dtype}) {}                              \
    static const MetricSpec<Options>& spec();                                                           \
  };

TALLY_CONFUSION_COUNT_CLASS(TruePositives)
TALLY_CONFUSION_COUNT_CLASS(FalsePositives)
TALLY_CONFUSION_COUNT_CLASS(TrueNegatives)
TALLY_CONFUSION_COUNT_CLASS(FalseNegatives)
#undef TALLY_CONFUSION_COUNT_CLASS

/// How Precision and Recall over integer labels combine their classes (tally extension).
enum class ClassAverage : std::uint8_t { kNone, kMicro, kMacro, kWeighted };

/// Options of Precision and Recall.
struct PrecisionRecallOptions {
  std::optional<std::vector<double>> thresholds;  ///< each in [0, 1]; null: 0.5, or "in the top k" with top_k
  std::optional<std::int64_t> top_k;              ///< >= 1: only the k highest scores of a row count
  std::optional<std::int64_t> class_id;           ///< >= 0: count only this column
  std::string name;                               ///< empty: the class's default name
  DType dtype = DType::kFloat32;
  /// tally extension: y_true holds class ids in [0, num_classes), y_pred [N, C] scores (argmax)
  /// or [N] ids; listed in configs only when set.
  std::optional<std::int64_t> num_classes;
  ClassAverage average = ClassAverage::kNone;  ///< with num_classes: null (per class), micro, macro, weighted
};

/// Keras Precision: tp / (tp + fp) per threshold (0 where nothing is predicted positive).
class Precision : public ConfiguredMetric<Precision, PrecisionRecallOptions, ConfusionMetric> {
 public:
  explicit Precision(const Options& options);
  /// thresholds default to 0.5, or to "in the top k" when top_k is given; an empty name means "precision".
  explicit Precision(std::optional<std::vector<double>> thresholds = std::nullopt,
                     std::optional<std::int64_t> top_k = std::nullopt,
                     std::optional<std::int64_t> class_id = std::nullopt, std::string name = {},
                     DType dtype = DType::kFloat32)
      : Precision(Options{std::move(thresholds), top_k, class_id, std::move(name), dtype, std::nullopt,
                          ClassAverage::kNone}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// Keras Recall: tp / (tp + fn) per threshold (0 where there are no positives).
class Recall : public ConfiguredMetric<Recall, PrecisionRecallOptions, ConfusionMetric> {
 public:
  explicit Recall(const Options& options);
  /// thresholds default to 0.5, or to "in the top k" when top_k is given; an empty name means "recall".
  explicit Recall(std::optional<std::vector<double>> thresholds = std::nullopt,
                  std::optional<std::int64_t> top_k = std::nullopt, std::optional<std::int64_t> class_id = std::nullopt,
                  std::string name = {}, DType dtype = DType::kFloat32)
      : Recall(Options{std::move(thresholds), top_k, class_id, std::move(name), dtype, std::nullopt,
                       ClassAverage::kNone}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// The curve AUC integrates.
enum class AucCurve : std::uint8_t { kROC, kPR, kPRGain };
/// How AUC sums rectangles between thresholds.
enum class AucSummation : std::uint8_t { kInterpolation, kMinoring, kMajoring };

/// AUC over integer labels (tally extension): none (Keras) or one-vs-rest.
enum class AucMultiClass : std::uint8_t { kNone, kOvr };

/// Options of AUC, one field per Keras config key.
struct AucOptions {
  std::int64_t num_thresholds = 200;  ///< >= 2 (tally extension: up to millions, still O(N + T))
  AucCurve curve = AucCurve::kROC;
  AucSummation summation_method = AucSummation::kInterpolation;
  std::string name;  ///< empty: "auc"
  DType dtype = DType::kFloat32;
  std::optional<std::vector<double>> thresholds;  ///< interior thresholds in [0, 1]; overrides num_thresholds
  bool multi_label = false;
  std::optional<std::int64_t> num_labels;  ///< required to fix the state of a multi-label AUC up front
  std::optional<std::vector<double>> label_weights;
  bool from_logits = false;
  /// tally extension: "ovr" counts integer labels one-vs-rest (with num_classes), as
  /// scikit-learn's roc_auc_score(multi_class="ovr"); empty: Keras's binary / multi-label AUC.
  AucMultiClass multi_class = AucMultiClass::kNone;
  std::optional<std::int64_t> num_classes;      ///< with multi_class="ovr": classes of y_true
  ClassAverage average = ClassAverage::kMacro;  ///< with multi_class="ovr": macro or weighted (by support)
};

/// Keras AUC over ROC, PR (Davis-Goadrich interpolation) or PR-gain curves.
class AUC : public ConfiguredMetric<AUC, AucOptions, ConfusionMetric> {
 public:
  /// With explicit thresholds, num_thresholds becomes their count + 2, as in Keras.
  explicit AUC(const Options& options = {});
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// Options of ROCCurve and PrecisionRecallCurve.
struct CurveOptions {
  std::int64_t num_thresholds = 200;  ///< >= 2: AUC's grid, 0 - eps, i / (T - 1) inside, 1 + eps
  std::string name;                   ///< empty: the class's default name
  DType dtype = DType::kFloat32;
};

/// The ROC curve over AUC's threshold grid (tally extension): a [3, T] matrix whose rows are
/// the thresholds (ascending), the false positive rates and the true positive rates at
/// "score > threshold" (docs/metrics.md, "Curves"). Counted by the same kernel as AUC.
class ROCCurve : public ConfiguredMetric<ROCCurve, CurveOptions, ConfusionMetric> {
 public:
  explicit ROCCurve(const Options& options = {});
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// The precision-recall curve over AUC's threshold grid (tally extension): a [3, T] matrix of
/// thresholds, precision (1 where nothing is predicted positive, as scikit-learn's curve
/// ends) and recall.
class PrecisionRecallCurve : public ConfiguredMetric<PrecisionRecallCurve, CurveOptions, ConfusionMetric> {
 public:
  explicit PrecisionRecallCurve(const Options& options = {});
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
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
  Tensor result_from(const Variables& vars) const override;

 protected:
  /// `owner` (the class name) prefixes the message of a grid past the state limit.
  RateAtRateMetric(std::string name, DType dtype, const std::string& owner, RateAtRate kind, double target,
                   std::int64_t num_thresholds, std::optional<std::int64_t> class_id);

 private:
  RateAtRate kind_;
  double target_;
};

// Keras Class and its options, in Keras's constructor order: the required target key
// (in [0, 1]), num_thresholds = 200 (>= 1), class_id, name (empty: the spec's default
// name) and dtype.
#define TALLY_RATE_AT_RATE_CLASS(Class, target)                                                \
  struct Class##Options {                                                                      \
    double target = 0.0;                                                                       \
    std::int64_t num_thresholds = 200;                                                         \
    std::optional<std::int64_t> class_id;                                                      \
    std::string name;                                                                          \
    DType dtype = DType::kFloat32;                                                             \
  };                                                                                           \
  class Class : public ConfiguredMetric<Class, Class##Options, RateAtRateMetric> {             \
   public:                                                                                     \
    explicit Class(const Options& options);                                                    \
    explicit Class(double target, std::int64_t num_thresholds = Options{}.num_thresholds,      \
                   std::optional<std::int64_t> class_id = std::nullopt, std::string name = {}, \
                   DType dtype = DType::kFloat32)                                              \
        : Class(Options{target, num_thresholds, class_id, std::move(name), dtype}) {}          \
    static const MetricSpec<Options>& spec();                                                  \
  };

TALLY_RATE_AT_RATE_CLASS(SensitivityAtSpecificity, specificity)
TALLY_RATE_AT_RATE_CLASS(SpecificityAtSensitivity, sensitivity)
TALLY_RATE_AT_RATE_CLASS(PrecisionAtRecall, recall)
TALLY_RATE_AT_RATE_CLASS(RecallAtPrecision, precision)
#undef TALLY_RATE_AT_RATE_CLASS

}  // namespace tally::metrics
