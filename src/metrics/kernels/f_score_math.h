#pragma once
// Per-element formulas of the F-scores (Keras f_score_metrics.py), shared by every loop
// that computes them.

#include <cmath>

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// Keras backend.epsilon().
inline constexpr double kFScoreEpsilon = 1e-7;

/// Adds one element to the per-class sums: tp += w·ŷ·y, fp += w·ŷ·(1−y), fn += w·(1−ŷ)·y,
/// support += w·y (Keras's four _weighted_sum terms; ŷ is 0 or 1).
TALLY_HD inline void f_score_add(double yhat, double y, double w, double& tp, double& fp, double& fn,
                                 double& support) {
  const double yw = w * y;
  tp += yhat * yw;
  fp += yhat * (w * (1.0 - y));
  fn += (1.0 - yhat) * yw;
  support += yw;
}

/// F-beta of one class from its counts, with Keras's three epsilons.
TALLY_HD inline double f_beta_from_counts(double tp, double fp, double fn, double beta2) {
  const double precision = tp / (tp + fp + kFScoreEpsilon);
  const double recall = tp / (tp + fn + kFScoreEpsilon);
  return (1.0 + beta2) * (precision * recall / (beta2 * precision + recall + kFScoreEpsilon));
}

}  // namespace tally::metrics::kernels
