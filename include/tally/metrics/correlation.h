#pragma once
// Keras PearsonCorrelation and ConcordanceCorrelation (keras/src/metrics/correlation_metrics.py).
//
// docs/keras-differences.md §3. For inputs of rank >= 2, Keras computes one correlation per row along
// `axis` and averages the rows (with sample weights): tally does the same, which is
// already independent of batching. For rank-1 inputs Keras computes one correlation per
// update call and averages the calls, so its result depends on batching; tally instead
// keeps the weighted sufficient statistics (Σw, Σwy, Σwp, Σwy², Σwp², Σwyp) and returns
// the correlation over all samples seen. A single rank-1 batch gives Keras's value.
// One metric instance takes either rank-1 or rank-2 updates, not both.

#include <cstdint>
#include <memory>
#include <string>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// Which coefficient a correlation metric computes.
enum class CorrelationKind : std::uint8_t {
  kPearson,      ///< covariance / (std_true · std_pred); a constant vector gives NaN
  kConcordance,  ///< 2 · covariance / (var_true + var_pred + (mean_true - mean_pred)^2 + eps)
};

/// Options of the correlation metrics.
struct CorrelationOptions {
  std::string name;  ///< empty: the class's default name
  DType dtype = DType::kFloat32;
  std::int64_t axis = -1;  ///< the axis along which the coefficient is computed
};

/// Shared implementation of the two correlation metrics.
class CorrelationMetric : public Metric {
 public:
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;

 protected:
  CorrelationMetric(std::string name, DType dtype, std::int64_t axis, CorrelationKind kind);

 private:
  std::int64_t axis_;
  CorrelationKind kind_;
};

/// Keras PearsonCorrelation (name "pearson_correlation", axis -1).
class PearsonCorrelation : public ConfiguredMetric<PearsonCorrelation, CorrelationOptions, CorrelationMetric> {
 public:
  explicit PearsonCorrelation(const Options& options);
  /// An empty name means "pearson_correlation".
  explicit PearsonCorrelation(std::string name = {}, DType dtype = DType::kFloat32, std::int64_t axis = Options{}.axis)
      : PearsonCorrelation(Options{std::move(name), dtype, axis}) {}
  static const MetricSpec<Options>& spec();
};

/// Keras ConcordanceCorrelation (name "concordance_correlation", axis -1).
class ConcordanceCorrelation : public ConfiguredMetric<ConcordanceCorrelation, CorrelationOptions, CorrelationMetric> {
 public:
  explicit ConcordanceCorrelation(const Options& options);
  /// An empty name means "concordance_correlation".
  explicit ConcordanceCorrelation(std::string name = {}, DType dtype = DType::kFloat32,
                                  std::int64_t axis = Options{}.axis)
      : ConcordanceCorrelation(Options{std::move(name), dtype, axis}) {}
  static const MetricSpec<Options>& spec();
};

}  // namespace tally::metrics
