#pragma once
// Per-element and per-row formulas of the accuracy family, written once for every caller.

#include <cmath>
#include <cstdint>

#include "tally/tensor.h"

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// Keras binary_accuracy: (y_pred > threshold) cast to the label's type, compared with it.
TALLY_HD inline double binary_match(double y_true, double y_pred, double threshold) {
  return (y_pred > threshold ? 1.0 : 0.0) == y_true ? 1.0 : 0.0;
}

/// Index of the first largest element of a row (Keras argmax ties go to the first index).
template <class T>
TALLY_HD inline std::int64_t argmax_row(const T* row, std::int64_t width) {
  std::int64_t best = 0;
  double best_value = to_double(row[0]);
  for (std::int64_t c = 1; c < width; ++c) {
    const double v = to_double(row[c]);
    if (v > best_value) {
      best_value = v;
      best = c;
    }
  }
  return best;
}

/// Keras in_top_k: the target is a hit when fewer than k scores are strictly larger than
/// its own (ties count as hits); targets outside [0, width) and non-finite target scores miss.
template <class T>
TALLY_HD inline bool in_top_k(const T* row, std::int64_t width, std::int64_t target, std::int64_t k) {
  if (target < 0 || target >= width) return false;
  const double score = to_double(row[target]);
  if (!std::isfinite(score)) return false;
  std::int64_t larger = 0;
  for (std::int64_t c = 0; c < width; ++c) larger += to_double(row[c]) > score ? 1 : 0;
  return larger < k;
}

/// An integer class label from a stored value, or -1 when it is not a whole number.
TALLY_HD inline std::int64_t label_of(double value) {
  if (!(value == std::floor(value)) || std::fabs(value) > 9.0e15) return -1;
  return static_cast<std::int64_t>(value);
}

}  // namespace tally::metrics::kernels
