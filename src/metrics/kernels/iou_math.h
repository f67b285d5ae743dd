#pragma once
// Per-element rules of the IoU family (Keras iou_metrics.py): how a label or prediction
// value becomes a class id of the confusion matrix, and the per-class IoU.

#include <cmath>
#include <cstdint>

#include "metrics/kernels/keras_constants.h"

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// Keras backend.epsilon().
/// The id of a pair that gets weight 0 (out of range or ignored).
inline constexpr std::int32_t kSkip = -1;

/// A sparse label or prediction value as a class id, or kSkip. With `truncate_first`
/// (Keras's default "int" dtype) the value is cast toward zero before the range check, so
/// -0.5 is class 0; otherwise (a float dtype) the range check and ignore_class see the
/// float value. `ignore` applies to labels only (pass has_ignore = false for predictions).
TALLY_HD inline std::int32_t class_id_of(double v, std::int64_t classes, bool truncate_first, bool has_ignore,
                                         std::int64_t ignore) {
  if (truncate_first) {
    if (!(v > -1.0 && v < static_cast<double>(classes))) return kSkip;
    const auto id = static_cast<std::int64_t>(v);  // truncation toward zero
    return has_ignore && id == ignore ? kSkip : static_cast<std::int32_t>(id);
  }
  if (!(v >= 0.0 && v < static_cast<double>(classes))) return kSkip;
  if (has_ignore && v == static_cast<double>(ignore)) return kSkip;
  return static_cast<std::int32_t>(static_cast<std::int64_t>(v));
}

/// IoU of one class from its true count (row), predicted count (column) and hits (diagonal).
/// Returns false when the class is absent (denominator <= 1e-9) and must be skipped.
TALLY_HD inline bool class_iou(double row, double column, double diagonal, double& iou) {
  const double denominator = row + column - diagonal;
  if (!(denominator > 1e-9)) return false;
  iou = diagonal / (denominator + kKerasEpsilon);
  return true;
}

}  // namespace tally::metrics::kernels
