#pragma once
// Classification metrics from confusion counts (tally extensions, docs/metrics.md
// "Classification from confusion counts"): ConfusionMatrix, MatthewsCorrelationCoefficient,
// CohenKappa, BalancedAccuracy, Specificity, HammingLoss and ExactMatch. Each keeps one
// count table whose size is fixed by its options — C x C for multi-class (and binary)
// inputs, (tn, fp, fn, tp) per label plus exact and total rows for multi-label inputs — as an
// int64 variable for unweighted batches and a float64 "weighted_" variable for weighted
// ones; results read their sum (as the Keras confusion family does, docs/keras-differences.md
// §1). All of them fill the table with one shared kernel, so a MetricCollection counts each
// batch once for all metrics with the same classes, task and threshold (shared_work_key).
//
// Inputs (multi-class): y_true class ids [N] or [N, 1]; y_pred [N, C] scores (argmax) or
// [N] / [N, 1] predicted ids; with num_classes = 2 a floating [N] / [N, 1] y_pred is the
// probability of class 1, positive when strictly above `threshold`.
// Inputs (multi-label): y_true [N, L] in {0, 1}, y_pred [N, L] scores, positive above `threshold`.
// sample_weight: a scalar, [N] or [N, 1].

#include <cstdint>
#include <string>
#include <vector>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// Base of the family: declares the count table and fills it with the shared kernel.
class ClassConfusionMetric : public Metric {
 public:
  std::string shared_work_key() const override;
  std::shared_ptr<const SharedWork> prepare_shared(const Batch& batch) const override;
  void accumulate_shared(Variables& vars, const Batch& batch, const SharedWork& work) const override;
  void accumulate(Variables& vars, const Batch& batch) const override;
  /// Classes (multi-class) or labels (multi-label) counted.
  std::int64_t classes() const { return classes_; }
  /// Whether inputs are multi-label rows of 0/1 labels.
  bool multilabel() const { return multilabel_; }

 protected:
  /// `owner` (the class name) prefixes the message of a table past the state limit.
  ClassConfusionMetric(std::string name, DType dtype, const std::string& owner, std::int64_t classes, bool multilabel,
                       double threshold);
  /// The count table: unweighted and weighted counts summed (C * C, or 4 L + 2).
  std::vector<double> table(const Variables& vars) const;

 private:
  std::int64_t classes_;
  bool multilabel_;
  double threshold_;
};

/// How ConfusionMatrix normalises (scikit-learn's `normalize`).
enum class ConfusionNormalize : std::uint8_t { kNone, kTrue, kPred, kAll };

/// Options of ConfusionMatrix.
struct ConfusionMatrixOptions {
  std::int64_t num_classes = 2;  ///< required: classes (multi-class) or labels (multi-label)
  ConfusionNormalize normalize = ConfusionNormalize::kNone;
  double threshold = 0.5;  ///< binary probabilities and multi-label scores: positive iff > threshold
  bool multilabel = false;
  std::string name;  ///< empty: "confusion_matrix"
  DType dtype = DType::kFloat32;
};

/// The confusion matrix: [C, C] (rows true, columns predicted) or, multi-label, [L, 2, 2]
/// of [[tn, fp], [fn, tp]] per label; sklearn confusion_matrix / multilabel_confusion_matrix.
class ConfusionMatrix : public ConfiguredMetric<ConfusionMatrix, ConfusionMatrixOptions, ClassConfusionMetric> {
 public:
  explicit ConfusionMatrix(const Options& options);
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// Options shared by MatthewsCorrelationCoefficient and BalancedAccuracy.
struct ClassCountOptions {
  std::int64_t num_classes = 2;  ///< >= 2
  double threshold = 0.5;        ///< binary probabilities: positive iff > threshold
  std::string name;              ///< empty: the class's default name
  DType dtype = DType::kFloat32;
};

/// Matthews correlation coefficient (multi-class: Gorodkin's R_K), sklearn matthews_corrcoef.
class MatthewsCorrelationCoefficient
    : public ConfiguredMetric<MatthewsCorrelationCoefficient, ClassCountOptions, ClassConfusionMetric> {
 public:
  explicit MatthewsCorrelationCoefficient(const Options& options = {});
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// Mean per-class recall over classes with support, sklearn balanced_accuracy_score.
class BalancedAccuracy : public ConfiguredMetric<BalancedAccuracy, ClassCountOptions, ClassConfusionMetric> {
 public:
  explicit BalancedAccuracy(const Options& options = {});
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// CohenKappa's disagreement weights (scikit-learn's `weights`).
enum class KappaWeights : std::uint8_t { kNone, kLinear, kQuadratic };

/// Options of CohenKappa.
struct CohenKappaOptions {
  std::int64_t num_classes = 2;  ///< >= 2; class ids are the rating scale 0..C-1
  KappaWeights weights = KappaWeights::kNone;
  double threshold = 0.5;
  std::string name;  ///< empty: "cohen_kappa"
  DType dtype = DType::kFloat32;
};

/// Cohen's kappa, unweighted, linear or quadratic; sklearn cohen_kappa_score(labels=range(C)).
class CohenKappa : public ConfiguredMetric<CohenKappa, CohenKappaOptions, ClassConfusionMetric> {
 public:
  explicit CohenKappa(const Options& options = {});
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// How Specificity combines classes.
enum class SpecificityAverage : std::uint8_t { kBinary, kNone, kMicro, kMacro, kWeighted };

/// Options of Specificity.
struct SpecificityOptions {
  std::int64_t num_classes = 2;  ///< >= 2
  SpecificityAverage average = SpecificityAverage::kBinary;
  double threshold = 0.5;
  std::string name;  ///< empty: "specificity"
  DType dtype = DType::kFloat32;
};

/// tn / (tn + fp): of class 1 ("binary"), per class (null), or averaged (micro, macro, weighted by support).
class Specificity : public ConfiguredMetric<Specificity, SpecificityOptions, ClassConfusionMetric> {
 public:
  explicit Specificity(const Options& options = {});
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// Options of HammingLoss and ExactMatch (multi-label).
struct MultilabelCountOptions {
  std::int64_t num_labels = 1;  ///< required: label columns
  double threshold = 0.5;       ///< positive iff score > threshold
  std::string name;             ///< empty: the class's default name
  DType dtype = DType::kFloat32;
};

/// Fraction of wrong labels, sklearn hamming_loss on label indicator rows.
class HammingLoss : public ConfiguredMetric<HammingLoss, MultilabelCountOptions, ClassConfusionMetric> {
 public:
  explicit HammingLoss(const Options& options);
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

/// Fraction of rows whose labels all match (subset accuracy), sklearn accuracy_score on label sets.
class ExactMatch : public ConfiguredMetric<ExactMatch, MultilabelCountOptions, ClassConfusionMetric> {
 public:
  explicit ExactMatch(const Options& options);
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  Tensor result_from(const Variables& vars) const override;
};

}  // namespace tally::metrics
