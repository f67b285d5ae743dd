#pragma once
// Per-element formulas of the probabilistic losses (Keras losses.py and the TF / JAX
// backends' nn.py), shared by the metric classes' fused loops and the per-sample functions.

#include <algorithm>
#include <cmath>

#include "metrics/kernels/keras_constants.h"
#include "tally/tensor.h"

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// Keras's clipping constants ε and 1 − ε as the metric dtype rounds them
/// (docs/keras-differences.md §11): with float32, 1 − 1e-7 is 0.99999988, so a saturated
/// wrong BCE term is 15.942.
struct ClipBounds {
  double lo = kKerasEpsilon;
  double hi = 1.0 - kKerasEpsilon;
};

/// ε and 1 − ε rounded to `dtype` (float16, bfloat16, float32 or float64).
inline ClipBounds clip_bounds(DType dtype) {
  return {round_to_dtype(kKerasEpsilon, dtype), round_to_dtype(1.0 - kKerasEpsilon, dtype)};
}

/// clip_by_value: NaN stays NaN, as in Keras.
TALLY_HD inline double clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

/// Binary label smoothing: y(1 − ls) + ls/2.
TALLY_HD inline double smooth_binary(double y, double ls) { return y * (1.0 - ls) + 0.5 * ls; }

/// Categorical label smoothing over C classes: y(1 − ls) + ls/C.
TALLY_HD inline double smooth_categorical(double y, double ls, double classes) { return y * (1.0 - ls) + ls / classes; }

/// −[y ln p + (1 − y) ln(1 − p)] with p clipped to [lo, hi]; one log for labels 0 and 1
/// (the other term is exactly 0 there, since the clipped log is finite). y·(1 − y) = 0 tests
/// "y is 0 or 1" with one comparison that is always true on hard labels (GCC turns
/// `y == 0 | y == 1` back into a branch on y == 0, which mispredicts half the time on random
/// labels and doubled the cost); p or 1 − p is then picked arithmetically, exactly.
TALLY_HD inline double bce_from_probability(double y, double p, ClipBounds c) {
  p = clip(p, c.lo, c.hi);
  if (y * (1.0 - y) == 0.0) return -std::log(y * p + (1.0 - y) * (1.0 - p));
  return -(y * std::log(p) + (1.0 - y) * std::log(1.0 - p));
}

/// −[y ln σ(x) + (1 − y) ln σ(−x)] in the exact form max(x, 0) − x·y + ln(1 + e^−|x|)
/// (tf.nn.sigmoid_cross_entropy_with_logits; docs/keras-differences.md §6).
TALLY_HD inline double bce_from_logit(double y, double x) {
  return std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
}

/// The logistic function.
TALLY_HD inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// One element of Keras binary_focal_crossentropy: (1 − p_t)^γ · bce(y, p) with
/// p_t = y·p + (1 − y)(1 − p) on the unclipped p, times y·α + (1 − y)(1 − α) when balancing.
TALLY_HD inline double binary_focal_term(double y, double p, double gamma, bool balance, double alpha, ClipBounds c) {
  const double bce = bce_from_probability(y, p, c);
  const double p_t = y * p + (1.0 - y) * (1.0 - p);
  double v = std::pow(1.0 - p_t, gamma) * bce;
  if (balance) v *= y * alpha + (1.0 - y) * (1.0 - alpha);
  return v;
}

/// One class of Keras categorical_focal_crossentropy: α(1 − o)^γ · (−y ln o), o the
/// normalised, clipped probability; 0 where y = 0.
TALLY_HD inline double categorical_focal_term(double y, double o, double gamma, double alpha) {
  if (y == 0.0) return 0.0;
  return alpha * std::pow(1.0 - o, gamma) * (-y * std::log(o));
}

/// One element of Keras kl_divergence: y·ln(y/p) with y and p clipped to [lo, 1].
TALLY_HD inline double kl_term(double y, double p, double lo) {
  y = clip(y, lo, 1.0);
  p = clip(p, lo, 1.0);
  return y * std::log(y / p);
}

/// One element of Keras poisson: p − y·ln(p + ε).
TALLY_HD inline double poisson_term(double y, double p, double eps) { return p - y * std::log(p + eps); }

}  // namespace tally::metrics::kernels
