#pragma once
// Intersection-over-union metrics (Keras iou_metrics.py): IoU, BinaryIoU, MeanIoU,
// OneHotIoU, OneHotMeanIoU, all computed from one num_classes x num_classes confusion
// matrix (rows = true class, columns = predicted class) built in one pass per batch.
//
// Labels and predictions are flattened (after an argmax over `axis` for dense inputs);
// a pair whose label or prediction lies outside [0, num_classes), or whose label equals
// `ignore_class`, gets weight 0, as in Keras. Float labels are truncated toward zero as
// Keras's cast to its default "int" dtype does (with a float `dtype`, the range check sees
// the float value first, as in Keras). NaN labels or predictions are an error.
//
// State (docs/keras-differences.md §7). Keras keeps one int32 matrix and truncates fractional sample
// weights toward zero. tally keeps two matrices of fixed size C x C: the int64
// `total_confusion_matrix` counts batches given without sample_weight exactly, and the
// float64 `weighted_confusion_matrix` sums the weights of batches given with one (no
// truncation). The result reads their sum. Sample weights: a scalar (every pair), one per
// pair (same number of elements as the flattened labels), or, as a tally extension, one
// per row of the first axis; finite and >= 0.
//
// Result: for each target class c, denominator_c = row_c + column_c - diagonal_c; classes
// with denominator <= 1e-9 are skipped; IoU = Σ diagonal_c / (denominator_c + ε) over the
// valid targets, divided by (number valid + ε) (0 when none is valid).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// Options of IoU and MeanIoU beyond num_classes (Keras keyword arguments, same defaults).
struct IoUOptions {
  /// A label id whose pairs are skipped (e.g. -1 or 255 for "void"); none by default.
  std::optional<std::int64_t> ignore_class;
  /// true: y_true holds class ids; false: class scores, reduced by argmax over `axis`.
  bool sparse_y_true = true;
  /// true: y_pred holds class ids; false: class scores, reduced by argmax over `axis`.
  bool sparse_y_pred = true;
  /// The class axis of dense inputs (negative counts from the end).
  std::int64_t axis = -1;
};

/// Options of OneHotIoU and OneHotMeanIoU (y_true is always one-hot, i.e. dense).
struct OneHotIoUOptions {
  /// A label id whose pairs are skipped; none by default.
  std::optional<std::int64_t> ignore_class;
  /// true: y_pred holds class ids; false (default): class scores reduced by argmax.
  bool sparse_y_pred = false;
  /// The class axis of dense inputs.
  std::int64_t axis = -1;
};

/// Shared machinery of the IoU family: the confusion-matrix state, update and result.
class IoUBase : public Metric {
 public:
  /// Adds one batch to the confusion matrix (one pass, chunked; see the file comment).
  void accumulate(Variables& vars, const Batch& batch) const override;
  /// The mean IoU over the valid target classes.
  Tensor result_from(const Variables& vars) const override;

  std::int64_t num_classes() const { return num_classes_; }
  const std::vector<std::int64_t>& target_class_ids() const { return target_class_ids_; }
  /// How labels and predictions are read (ignore_class, sparse_y_true, sparse_y_pred, axis).
  const IoUOptions& iou_options() const { return iou_; }
  /// The Keras dtype written to the config ("int32" by default); counts are int64/float64 regardless.
  DType config_dtype() const { return config_dtype_; }
  /// The confusion matrix accumulated so far (int64 counts plus float64 weights), C x C, float64.
  Tensor confusion_matrix() const;

 protected:
  /// `owner` (the class name) prefixes constructor messages; `threshold` is set only for
  /// BinaryIoU (y_pred >= threshold is class 1). Single-key rules are checked by the
  /// subclass's option table before this runs; here: the dtype and the target ids' range.
  IoUBase(std::string name, DType dtype, const std::string& owner, std::int64_t num_classes,
          std::vector<std::int64_t> target_class_ids, IoUOptions options, std::optional<double> threshold);

 private:
  DType config_dtype_;
  std::int64_t num_classes_;
  std::vector<std::int64_t> target_class_ids_;
  IoUOptions iou_;
  std::optional<double> threshold_;
};

/// Options of IoU, in Keras's constructor order (IoUOptions holds the defaults of the last four).
struct IoUMetricOptions {
  std::int64_t num_classes = 0;                ///< required; 1 to 8192
  std::vector<std::int64_t> target_class_ids;  ///< required; non-empty, each in [0, num_classes)
  std::string name;                            ///< empty: "io_u"
  DType dtype = DType::kInt32;                 ///< Keras's int dtype (int32, int64 or a floating dtype)
  std::optional<std::int64_t> ignore_class = IoUOptions{}.ignore_class;
  bool sparse_y_true = IoUOptions{}.sparse_y_true;
  bool sparse_y_pred = IoUOptions{}.sparse_y_pred;
  std::int64_t axis = IoUOptions{}.axis;
};

/// Keras IoU: the mean IoU over `target_class_ids` (one id gives that class's IoU).
class IoU : public ConfiguredMetric<IoU, IoUMetricOptions, IoUBase> {
 public:
  explicit IoU(const Options& options);
  /// num_classes >= 1; target ids non-empty, each in [0, num_classes). dtype: the Keras
  /// dtype for the config (int32 default; int64 or a float dtype also accepted). An empty
  /// name means "io_u".
  IoU(std::int64_t num_classes, std::vector<std::int64_t> target_class_ids, IoUOptions options = {},
      std::string name = {}, DType dtype = Options{}.dtype)
      : IoU(Options{num_classes, std::move(target_class_ids), std::move(name), dtype, options.ignore_class,
                    options.sparse_y_true, options.sparse_y_pred, options.axis}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
};

/// Options of BinaryIoU, in Keras's constructor order.
struct BinaryIoUOptions {
  std::vector<std::int64_t> target_class_ids{0, 1};  ///< within {0, 1}
  double threshold = 0.5;                            ///< finite (it may apply to logits)
  std::string name;                                  ///< empty: "binary_io_u"
  DType dtype = DType::kInt32;                       ///< Keras's int dtype (int32, int64 or a floating dtype)
};

/// Keras BinaryIoU: IoU over 2 classes with y_pred >= threshold (inclusive) as class 1.
class BinaryIoU : public ConfiguredMetric<BinaryIoU, BinaryIoUOptions, IoUBase> {
 public:
  explicit BinaryIoU(const Options& options);
  /// target ids within {0, 1}; threshold finite (it may apply to logits). An empty name means "binary_io_u".
  explicit BinaryIoU(std::vector<std::int64_t> target_class_ids = Options{}.target_class_ids,
                     double threshold = Options{}.threshold, std::string name = {}, DType dtype = Options{}.dtype)
      : BinaryIoU(Options{std::move(target_class_ids), threshold, std::move(name), dtype}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
  double threshold() const { return options().threshold; }
};

/// Options of MeanIoU, in Keras's constructor order (no target_class_ids: every class).
struct MeanIoUOptions {
  std::int64_t num_classes = 0;  ///< required; 1 to 8192
  std::string name;              ///< empty: "mean_io_u"
  DType dtype = DType::kInt32;   ///< Keras's int dtype (int32, int64 or a floating dtype)
  std::optional<std::int64_t> ignore_class = IoUOptions{}.ignore_class;
  bool sparse_y_true = IoUOptions{}.sparse_y_true;
  bool sparse_y_pred = IoUOptions{}.sparse_y_pred;
  std::int64_t axis = IoUOptions{}.axis;
};

/// Keras MeanIoU: IoU over every class; the config has no target_class_ids.
class MeanIoU : public ConfiguredMetric<MeanIoU, MeanIoUOptions, IoUBase> {
 public:
  explicit MeanIoU(const Options& options);
  /// num_classes >= 1. An empty name means "mean_io_u".
  explicit MeanIoU(std::int64_t num_classes, IoUOptions options = {}, std::string name = {},
                   DType dtype = Options{}.dtype)
      : MeanIoU(Options{num_classes, std::move(name), dtype, options.ignore_class, options.sparse_y_true,
                        options.sparse_y_pred, options.axis}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
};

/// Options of OneHotIoU, in Keras's constructor order (y_true is one-hot: no sparse_y_true).
struct OneHotIoUMetricOptions {
  std::int64_t num_classes = 0;                ///< required; 1 to 8192
  std::vector<std::int64_t> target_class_ids;  ///< required; non-empty, each in [0, num_classes)
  std::string name;                            ///< empty: "one_hot_io_u"
  DType dtype = DType::kInt32;                 ///< Keras's int dtype (int32, int64 or a floating dtype)
  std::optional<std::int64_t> ignore_class = OneHotIoUOptions{}.ignore_class;
  bool sparse_y_pred = OneHotIoUOptions{}.sparse_y_pred;
  std::int64_t axis = OneHotIoUOptions{}.axis;
};

/// Keras OneHotIoU: IoU with one-hot y_true (argmax over axis); config has no sparse_y_true.
class OneHotIoU : public ConfiguredMetric<OneHotIoU, OneHotIoUMetricOptions, IoUBase> {
 public:
  explicit OneHotIoU(const Options& options);
  /// num_classes >= 1; target ids non-empty, each in [0, num_classes). An empty name means "one_hot_io_u".
  OneHotIoU(std::int64_t num_classes, std::vector<std::int64_t> target_class_ids, OneHotIoUOptions options = {},
            std::string name = {}, DType dtype = Options{}.dtype)
      : OneHotIoU(Options{num_classes, std::move(target_class_ids), std::move(name), dtype, options.ignore_class,
                          options.sparse_y_pred, options.axis}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
};

/// Options of OneHotMeanIoU, in Keras's constructor order.
struct OneHotMeanIoUOptions {
  std::int64_t num_classes = 0;  ///< required; 1 to 8192
  std::string name;              ///< empty: "one_hot_mean_io_u"
  DType dtype = DType::kInt32;   ///< Keras's int dtype (int32, int64 or a floating dtype)
  std::optional<std::int64_t> ignore_class = OneHotIoUOptions{}.ignore_class;
  bool sparse_y_pred = OneHotIoUOptions{}.sparse_y_pred;
  std::int64_t axis = OneHotIoUOptions{}.axis;
};

/// Keras OneHotMeanIoU: MeanIoU with one-hot y_true; config has neither target_class_ids nor sparse_y_true.
class OneHotMeanIoU : public ConfiguredMetric<OneHotMeanIoU, OneHotMeanIoUOptions, IoUBase> {
 public:
  explicit OneHotMeanIoU(const Options& options);
  /// num_classes >= 1. An empty name means "one_hot_mean_io_u".
  explicit OneHotMeanIoU(std::int64_t num_classes, OneHotIoUOptions options = {}, std::string name = {},
                         DType dtype = Options{}.dtype)
      : OneHotMeanIoU(
            Options{num_classes, std::move(name), dtype, options.ignore_class, options.sparse_y_pred, options.axis}) {}
  /// Class name, default name, doc, direction, inputs and options, declared once.
  static const MetricSpec<Options>& spec();
};

}  // namespace tally::metrics
