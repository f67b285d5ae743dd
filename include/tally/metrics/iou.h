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
// State (tally decision 7). Keras keeps one int32 matrix and truncates fractional sample
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
  std::string class_name() const override { return class_name_; }
  Direction direction() const override { return Direction::kHigherIsBetter; }
  /// Adds one batch to the confusion matrix (one pass, chunked; see the file comment).
  void accumulate(Variables& vars, const Batch& batch) const override;
  /// The mean IoU over the valid target classes.
  Tensor result_from(const Variables& vars) const override;

  std::int64_t num_classes() const { return num_classes_; }
  const std::vector<std::int64_t>& target_class_ids() const { return target_class_ids_; }
  const IoUOptions& options() const { return options_; }
  /// The Keras dtype written to the config ("int32" by default); counts are int64/float64 regardless.
  DType config_dtype() const { return config_dtype_; }
  /// The confusion matrix accumulated so far (int64 counts plus float64 weights), C x C, float64.
  Tensor confusion_matrix() const;

 protected:
  /// `threshold` is set only for BinaryIoU (y_pred >= threshold is class 1).
  IoUBase(std::string class_name, std::string name, DType dtype, std::int64_t num_classes,
          std::vector<std::int64_t> target_class_ids, IoUOptions options, std::optional<double> threshold);
  /// The keys every IoU config shares: name and dtype.
  Json base_config() const;

 private:
  std::string class_name_;
  DType config_dtype_;
  std::int64_t num_classes_;
  std::vector<std::int64_t> target_class_ids_;
  IoUOptions options_;
  std::optional<double> threshold_;
};

/// Keras IoU: the mean IoU over `target_class_ids` (one id gives that class's IoU).
class IoU : public MetricWithClone<IoU, IoUBase> {
 public:
  /// num_classes >= 1; target ids non-empty, each in [0, num_classes). dtype: the Keras
  /// dtype for the config (int32 default; int64 or a float dtype also accepted).
  IoU(std::int64_t num_classes, std::vector<std::int64_t> target_class_ids, IoUOptions options = {},
      std::string name = "io_u", DType dtype = DType::kInt32);
  /// Builds from a Keras config (num_classes and target_class_ids required).
  static std::unique_ptr<Metric> from_config(const Json& config);
  Json get_config() const override;
};

/// Keras BinaryIoU: IoU over 2 classes with y_pred >= threshold (inclusive) as class 1.
class BinaryIoU : public MetricWithClone<BinaryIoU, IoUBase> {
 public:
  /// target ids within {0, 1}; threshold finite (it may apply to logits).
  explicit BinaryIoU(std::vector<std::int64_t> target_class_ids = {0, 1}, double threshold = 0.5,
                     std::string name = "binary_io_u", DType dtype = DType::kInt32);
  /// Builds from a Keras config {target_class_ids, threshold, name, dtype}.
  static std::unique_ptr<Metric> from_config(const Json& config);
  Json get_config() const override;
  double threshold() const { return threshold_; }

 private:
  double threshold_;
};

/// Keras MeanIoU: IoU over every class; the config has no target_class_ids.
class MeanIoU : public MetricWithClone<MeanIoU, IoUBase> {
 public:
  /// num_classes >= 1.
  explicit MeanIoU(std::int64_t num_classes, IoUOptions options = {}, std::string name = "mean_io_u",
                   DType dtype = DType::kInt32);
  /// Builds from a Keras config (num_classes required).
  static std::unique_ptr<Metric> from_config(const Json& config);
  Json get_config() const override;
};

/// Keras OneHotIoU: IoU with one-hot y_true (argmax over axis); config has no sparse_y_true.
class OneHotIoU : public MetricWithClone<OneHotIoU, IoUBase> {
 public:
  /// num_classes >= 1; target ids non-empty, each in [0, num_classes).
  OneHotIoU(std::int64_t num_classes, std::vector<std::int64_t> target_class_ids, OneHotIoUOptions options = {},
            std::string name = "one_hot_io_u", DType dtype = DType::kInt32);
  /// Builds from a Keras config (num_classes and target_class_ids required).
  static std::unique_ptr<Metric> from_config(const Json& config);
  Json get_config() const override;
};

/// Keras OneHotMeanIoU: MeanIoU with one-hot y_true; config has neither target_class_ids nor sparse_y_true.
class OneHotMeanIoU : public MetricWithClone<OneHotMeanIoU, IoUBase> {
 public:
  /// num_classes >= 1.
  explicit OneHotMeanIoU(std::int64_t num_classes, OneHotIoUOptions options = {},
                         std::string name = "one_hot_mean_io_u", DType dtype = DType::kInt32);
  /// Builds from a Keras config (num_classes required).
  static std::unique_ptr<Metric> from_config(const Json& config);
  Json get_config() const override;
};

}  // namespace tally::metrics
