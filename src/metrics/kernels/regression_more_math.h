#pragma once
// Per-element formulas of the issue 17 regression scores (scikit-learn's
// mean_tweedie_deviance, TorchMetrics' SMAPE), written once for the classes and their tests.

#include <cmath>

namespace tally::metrics::kernels {

/// TorchMetrics' epsilon of SMAPE and WMAPE (regression/symmetric_mape.py, wmape.py).
inline constexpr double kTorchMetricsPercentEps = 1.17e-06;

/// 2 |t - p| / max(|t| + |p|, eps): TorchMetrics' symmetric absolute percentage error.
inline double symmetric_percentage_error(double t, double p) {
  return 2.0 * std::fabs(p - t) / std::fmax(std::fabs(t) + std::fabs(p), kTorchMetricsPercentEps);
}

/// x log(x / y) with 0 log 0 = 0 (scipy's xlogy(x, x / y)).
inline double x_log_x_over_y(double x, double y) { return x == 0.0 ? 0.0 : x * std::log(x / y); }

/// The unit Tweedie deviance of power `p` (scikit-learn _mean_tweedie_deviance); the inputs
/// are in the power's domain (checked by the caller).
inline double tweedie_deviance(double t, double y, double p) {
  if (p == 0.0) return (t - y) * (t - y);
  if (p == 1.0) return 2.0 * (x_log_x_over_y(t, y) - t + y);
  if (p == 2.0) return 2.0 * (std::log(y / t) + t / y - 1.0);
  // p < 0 ("extreme stable") clamps y_true at 0 in its first term; 1 < p < 2 and p > 2 do not need to.
  const double tt = p < 0.0 ? std::fmax(t, 0.0) : t;
  return 2.0 * (std::pow(tt, 2.0 - p) / ((1.0 - p) * (2.0 - p)) - t * std::pow(y, 1.0 - p) / (1.0 - p) +
                std::pow(y, 2.0 - p) / (2.0 - p));
}

}  // namespace tally::metrics::kernels
