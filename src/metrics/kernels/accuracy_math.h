#pragma once
// Per-element and per-row formulas of the accuracy family, written once for every caller.

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tally/tensor.h"

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// The threshold in y_pred's precision: Keras casts it to y_pred's dtype before comparing.
template <class P>
inline auto threshold_in(double threshold) {
  if constexpr (std::is_same_v<P, double>) {
    return threshold;
  } else if constexpr (std::is_same_v<P, Float16> || std::is_same_v<P, BFloat16>) {
    return static_cast<float>(P(static_cast<float>(threshold)));
  } else {
    return static_cast<float>(threshold);
  }
}

/// Keras binary_accuracy: (y_pred > threshold) cast to the label's type, compared with it.
/// The label is compared in its own type: converting int64 labels to double costs more
/// than the rest of the pass.
template <class T, class P>
TALLY_HD inline bool binary_match(T y_true, P y_pred, double threshold) {
  const auto thr = threshold_in<P>(threshold);
  const bool positive = static_cast<decltype(thr)>(to_double(y_pred)) > thr;
  if constexpr (std::is_same_v<T, bool>) {
    return y_true == positive;
  } else if constexpr (std::is_integral_v<T>) {
    return y_true == static_cast<T>(positive);  // branch-free: random labels defeat prediction
  } else {
    return to_double(y_true) == static_cast<double>(positive);
  }
}

/// Counts binary_match over [b, e) with four independent counters and comparisons in
/// y_pred's precision: branch-free, so random labels cost nothing extra.
template <class T, class P>
inline std::int64_t count_binary_matches(const T* t, const P* p, std::int64_t b, std::int64_t e, double threshold) {
  const auto thr = threshold_in<P>(threshold);
  using C = decltype(thr);
  auto one = [&](std::int64_t i) -> std::int64_t {
    const bool positive = static_cast<C>(to_double(p[i])) > thr;
    if constexpr (std::is_same_v<T, bool>) {
      return t[i] == positive;
    } else if constexpr (std::is_integral_v<T>) {
      return t[i] == static_cast<T>(positive);
    } else {
      const C label = static_cast<C>(to_double(t[i]));
      return static_cast<std::int64_t>((label == C(1)) & positive) |
             static_cast<std::int64_t>((label == C(0)) & !positive);
    }
  };
  std::int64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  std::int64_t i = b;
  for (; i + 4 <= e; i += 4) {
    c0 += one(i);
    c1 += one(i + 1);
    c2 += one(i + 2);
    c3 += one(i + 3);
  }
  for (; i < e; ++i) c0 += one(i);
  return (c0 + c1) + (c2 + c3);
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
