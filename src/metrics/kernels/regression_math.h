#pragma once
// Per-element formulas of the regression family (Keras losses), written once for the
// fused kernels and the per-sample functions.

#include <cmath>

#include "metrics/kernels/keras_constants.h"
#include "tally/metrics/regression.h"
#include "tally/tensor.h"

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// log(cosh(x)) = x + softplus(-2x) - log 2, stable for large |x| (Keras log_cosh).
TALLY_HD inline double log_cosh(double x) {
  const double z = -2.0 * x;
  const double softplus = z > 0.0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
  return x + softplus - 0.6931471805599453;
}

/// The elementwise error of kind E; `param` is eps (percentage, logarithmic), alpha
/// (pinball) or unused.
template <RegressionError E>
TALLY_HD inline double elementwise_error(double t, double p, double param) {
  if constexpr (E == RegressionError::kSquared) {
    const double d = t - p;
    return d * d;
  } else if constexpr (E == RegressionError::kAbsolute) {
    return std::fabs(t - p);
  } else if constexpr (E == RegressionError::kAbsolutePercentage) {
    return 100.0 * std::fabs((t - p) / std::fmax(std::fabs(t), param));
  } else if constexpr (E == RegressionError::kSquaredLogarithmic) {
    // Keras's ops.maximum propagates NaN; std::fmax would turn a NaN into eps.
    const auto clip = [param](double x) { return x != x ? x : std::fmax(x, param); };
    const double d = std::log(clip(p) + 1.0) - std::log(clip(t) + 1.0);
    return d * d;
  } else if constexpr (E == RegressionError::kPinball) {
    // scikit-learn mean_pinball_loss: alpha weighs under-prediction, 1 - alpha over-prediction.
    const double d = t - p;
    return d >= 0.0 ? param * d : (param - 1.0) * d;
  } else {
    return log_cosh(p - t);
  }
}

/// Keras huber: 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2.
TALLY_HD inline double huber_error(double t, double p, double delta) {
  const double e = p - t;
  const double a = std::fabs(e);
  return a <= delta ? 0.5 * e * e : delta * a - 0.5 * delta * delta;
}

}  // namespace tally::metrics::kernels
