#pragma once
// Model selection on a metric (ashpy's Metric model selection): keep the best value, call
// the user's checkpoint callback when it improves, and record it in
// <logdir>/best/<metric name>/<metric name>.json, written atomically so a crash leaves
// either the old record or the new one. A new selector over the same logdir continues
// from the recorded best.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tally/metric.h"

namespace tally {

/// Compares a new value with the best so far: true when `candidate` is better.
using SelectionOperator = std::function<bool(double candidate, double best)>;

/// Model selection on one metric.
class ModelSelector {
 public:
  /// Greater is better.
  static SelectionOperator greater();
  /// Less is better.
  static SelectionOperator less();
  /// greater() or less() from a metric's direction; throws InvalidArgument for metrics
  /// without one (counts, plain reductions).
  static SelectionOperator from_direction(const Metric& metric);

  /// `op` empty: no selection (update only reports). Reads an existing record in `logdir`;
  /// a corrupt record or one for another metric is an error and is left untouched.
  ModelSelector(std::string metric_name, SelectionOperator op, std::string logdir);

  /// Offers a value at a step; when it beats the best (the first value always does, NaN
  /// never does, ties do not), calls `checkpoint(best_folder())` and then records it.
  /// Returns whether it improved.
  bool update(double value, std::int64_t step, const std::function<void(const std::string&)>& checkpoint = {});
  /// Offers a scalar metric's value.
  bool update(const Metric& metric, std::int64_t step, const std::function<void(const std::string&)>& checkpoint = {});

  /// <logdir>/best/<metric name>/
  std::string best_folder() const;
  /// <logdir>/best/<metric name>/<metric name>.json
  std::string best_model_sel_file() const;
  /// The best value so far (nullopt before any).
  std::optional<double> best_value() const { return best_value_; }
  /// The step of the best value (nullopt before any).
  std::optional<std::int64_t> best_step() const { return best_step_; }
  const std::string& metric_name() const { return metric_name_; }

  /// Reads a JSON file; throws IOError or ConfigError naming the file.
  static Json json_read(const std::string& path);
  /// Writes a JSON file atomically (temporary file, fsync, rename).
  static void json_write(const std::string& path, const Json& object);

 private:
  std::string metric_name_;
  SelectionOperator op_;
  std::string logdir_;
  std::optional<double> best_value_;
  std::optional<std::int64_t> best_step_;
};

}  // namespace tally
