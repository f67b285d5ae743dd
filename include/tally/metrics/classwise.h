#pragma once
// Classwise (issue 17, beyond Keras): TorchMetrics' ClasswiseWrapper. Wraps a metric whose
// result is a per-class vector (F1Score with average=None, IoU-style per-class scores,
// R2Score per output, ...) and names each element "<name>_<label>".
//
// Config: {"metric": <a metric spec: a name or {"class_name": ..., "config": {...}}>,
//          "labels": [<one string per class>] or null (class ids 0, 1, ...),
//          "name": <default: the wrapped metric's name>}
// The state is the wrapped metric's state (same variables, same merge), so a Classwise
// merges, all-reduces and saves exactly as the metric it wraps. A metric with a scalar
// result and a `class_id` option (Precision, Recall, the confusion counts) is wrapped once
// per label instead, with class_id 0, 1, ...: the state is then the copies' variables side
// by side ("class_<i>/<variable>"). docs/metrics.md, "Classwise".

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tally/metric.h"
#include "tally/options.h"

namespace tally::metrics {

/// Options of Classwise.
struct ClasswiseOptions {
  Json metric;       ///< the wrapped metric's spec (required); get_config writes {"class_name", "config"}
  Json labels;       ///< null: class ids; else one string (or integer) per element of the result
  std::string name;  ///< empty: the wrapped metric's name
  DType dtype = DType::kFloat32;
};

/// A per-class result with class names (TorchMetrics' ClasswiseWrapper). result() is the
/// wrapped metric's vector; keyed_result() pairs it with "<name>_<label>" keys, which the
/// Python (dict), R (named list) and CLI front ends use.
class Classwise : public ConfiguredMetric<Classwise, ClasswiseOptions> {
 public:
  explicit Classwise(const Options& options);
  /// Wraps a copy of `metric` (its config, not its state); empty `labels` means class ids.
  explicit Classwise(const Metric& metric, std::vector<std::string> labels = {}, std::string name = {});
  static const MetricSpec<Options>& spec();
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;

  /// The wrapped metric (configuration only; the state lives in this metric).
  const Metric& wrapped() const { return *inner_; }
  /// The class labels given in the config; empty when the result is keyed by class id.
  const std::vector<std::string>& labels() const { return labels_; }
  /// "<name>_<label>" for each of `count` elements (label: the configured one or the class id).
  std::vector<std::string> result_keys(std::int64_t count) const;
  /// The result as (key, value) pairs in class order.
  std::vector<std::pair<std::string, double>> keyed_result() const;

 private:
  std::shared_ptr<const Metric> inner_;
  std::vector<std::string> labels_;
  // One copy per label with class_id = its index, when the wrapped result is a scalar; empty otherwise.
  std::vector<std::shared_ptr<const Metric>> per_class_;
};

/// The (key, value) pairs of `metric`'s result when it is a Classwise; empty otherwise (the
/// front ends' one test for a keyed result).
std::vector<std::pair<std::string, double>> keyed_result(const Metric& metric);

}  // namespace tally::metrics
