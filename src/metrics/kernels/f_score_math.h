#pragma once
// Per-element formulas of the F-scores (Keras f_score_metrics.py), shared by every loop
// that computes them.

#include <bit>
#include <cmath>
#include <cstdint>

#include "metrics/kernels/keras_constants.h"

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// Keras backend.epsilon().

/// `x` where `keep` is true, else +0.0, without a branch (a data-dependent branch on the
/// binarised prediction mispredicts half the time at a 0.5 threshold).
TALLY_HD inline double keep_if(bool keep, double x) {
  return std::bit_cast<double>(std::bit_cast<std::uint64_t>(x) & (std::uint64_t{0} - static_cast<std::uint64_t>(keep)));
}

/// Adds one element to the per-class sums tp += w·ŷ·y, predicted += w·ŷ and support += w·y
/// (ŷ the binarised prediction). Keras's fp = Σ w·ŷ·(1−y) and fn = Σ w·(1−ŷ)·y are
/// predicted − tp and support − tp, formed once per batch (exact for integer counts).
TALLY_HD inline void f_score_add(bool yhat, double y, double w, double& tp, double& predicted, double& support) {
  const double yw = w * y;
  tp += keep_if(yhat, yw);
  predicted += keep_if(yhat, w);
  support += yw;
}

/// F-beta of one class from its counts, with Keras's three epsilons.
TALLY_HD inline double f_beta_from_counts(double tp, double fp, double fn, double beta2) {
  const double precision = tp / (tp + fp + kKerasEpsilon);
  const double recall = tp / (tp + fn + kKerasEpsilon);
  return (1.0 + beta2) * (precision * recall / (beta2 * precision + recall + kKerasEpsilon));
}

}  // namespace tally::metrics::kernels
