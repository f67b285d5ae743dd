#pragma once
// BootstrapInterval: a confidence interval for any metric whose state is a sum over rows,
// by the Poisson bootstrap (docs/metrics.md, "Confidence intervals").
//
// Resample r weights row i by a Poisson(1) count drawn from Philox4x32-10 keyed by
// (seed, global row index i, r): a row's weights depend on nothing but its index, so the
// interval is the same for any batch split, thread count and number of workers. The global
// row index is the auxiliary input `index` when given (tally/metric.h, AuxInputs), else a
// running offset: the rows this metric has counted (state variable `rows_seen`) plus a
// starting offset, which a worker sets to the start of its share (`set_row_offset`, e.g.
// from DistributedContext::distribute_range).
//
// The state is num_resamples + 1 copies of the wrapped metric's variables (copy 0 is the
// unresampled state, copies 1..R the resamples) plus `rows_seen`: a fixed size, all sums, so
// it merges and all-reduces like any other state. The result is [value, lower, upper, std]
// (followed by the wrapped metric's result shape): the wrapped metric's value, the
// percentile interval at `confidence` and the standard deviation over the resamples.

#include <cstdint>
#include <memory>
#include <string>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// Options of BootstrapInterval.
struct BootstrapOptions {
  std::string name;  ///< empty: "bootstrap_interval"
  DType dtype = DType::kFloat32;
  Json metric;                        ///< the wrapped metric: a name, an alias or a JSON spec
  std::int64_t num_resamples = 1000;  ///< R, the number of Poisson resamples
  double confidence = 0.95;           ///< level of the percentile interval
  std::int64_t seed = 0;              ///< Philox key: the same seed gives the same interval
};

/// The Poisson bootstrap of a wrapped metric whose variables are all sums.
class BootstrapInterval : public ConfiguredMetric<BootstrapInterval, BootstrapOptions> {
 public:
  explicit BootstrapInterval(const Options& options);
  /// Wraps `metric` (a name or spec); throws ConfigError when its variables are not all sums.
  explicit BootstrapInterval(Json metric, std::int64_t num_resamples = 1000, double confidence = 0.95,
                             std::int64_t seed = 0, std::string name = {})
      : BootstrapInterval(
            Options{std::move(name), DType::kFloat32, std::move(metric), num_resamples, confidence, seed}) {}
  static const MetricSpec<Options>& spec();

  void accumulate(Variables& vars, const Batch& batch) const override;
  /// float64 [4, ...]: value, lower, upper, std (the wrapped result's shape after the 4).
  Tensor result_from(const Variables& vars) const override;

  /// The global index of the first row this metric counts when no `index` input is given
  /// (a worker's start: distribute_range(n).first). Not part of the config or the state;
  /// copies and clones keep it. Set it before the first update: unlike the verbs of the
  /// thread contract (tally/metric.h) it is not synchronized with concurrent updates.
  void set_row_offset(std::int64_t offset);
  /// The starting offset set by set_row_offset (0 by default).
  std::int64_t row_offset() const { return row_offset_; }
  /// The wrapped metric (configuration only; its own state is unused).
  const Metric& wrapped() const { return *inner_; }

  /// Poisson(1) count of row `index` in resample `r` under `seed` (what accumulate uses).
  static int poisson_weight(std::int64_t seed, std::int64_t index, std::int64_t r);

 private:
  std::shared_ptr<const Metric> inner_;
  std::int64_t row_offset_ = 0;
};

}  // namespace tally::metrics
