#pragma once
// The common base of the loss-type metric classes of the probabilistic and hinge families:
// a Keras MeanMetricWrapper over a loss, held as float64 `total` (Σ loss·weight) and
// `count` (Σ weight), both summed. result = total / count, 0 when count is 0
// (Keras divide_no_nan).

#include <string>

#include "tally/metric.h"

namespace tally::metrics::detail {

/// Declares `total` and `count` and computes total / count.
class RowLossMean : public Metric {
 public:
  Tensor result_from(const Variables& vars) const override {
    const double count = vars.f64(1)[0];
    return Tensor::scalar(count == 0.0 ? 0.0 : vars.f64(0)[0] / count);
  }

 protected:
  /// Declares the two variables.
  RowLossMean(std::string name, DType dtype) : Metric(std::move(name), dtype) {
    add_variable("total", {});
    add_variable("count", {}, DType::kFloat64, Aggregation::kSum, Domain::kNonNegative);  // a sum of weights
  }
  /// Adds a batch's (total, count) contribution.
  static void add_totals(Variables& vars, double total, double count) {
    vars.f64(0)[0] += total;
    vars.f64(1)[0] += count;
  }
};

}  // namespace tally::metrics::detail
