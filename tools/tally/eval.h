#pragma once
// `tally eval`: stream rows of label, prediction and weight files through a set of
// metrics, batch by batch, optionally over MPI ranks, and collect the results.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "readers.h"
#include "tally/metric.h"

namespace tally::cli {

/// What kind of problem the inputs describe; chooses default metrics and report panels.
enum class Task : std::uint8_t { kBinary, kMulticlass, kMultilabel, kRegression };

/// "binary", "multiclass", "multilabel" or "regression".
std::string_view task_name(Task task);

/// Which share of the rows this process evaluates (all of them by default); the caller
/// merges the ranks' metrics afterwards.
struct Participation {
  int rank = 0;
  int world_size = 1;
};

/// Options of one evaluation.
struct EvalOptions {
  std::string y_true;                ///< FILE or FILE:columns
  std::string y_pred;                ///< FILE or FILE:columns
  std::string sample_weight;         ///< empty: unweighted
  std::vector<std::string> metrics;  ///< specs; empty: defaults for the task
  std::int64_t batch_size = 1 << 16;
  bool progress = false;  ///< draw a progress bar on stderr (only when stderr is a terminal)
  /// Builds extra metrics fed the same batches (the report's data summary), not printed;
  /// called once the task and the number of prediction columns are known.
  std::function<std::vector<std::unique_ptr<Metric>>(Task task, std::int64_t columns)> make_extra;
};

/// The outcome: row count, the task inferred, each metric with its result.
struct EvalResult {
  std::int64_t samples = 0;
  Task task = Task::kRegression;
  std::vector<std::unique_ptr<Metric>> metrics;
  std::vector<std::unique_ptr<Metric>> extra;
  std::vector<std::string> default_specs;  ///< non-empty when defaults were chosen
};

/// Infers the task from shapes and the labels of the first rows (at most `probe_rows`).
Task infer_task(ArraySource& y_true, ArraySource& y_pred, std::int64_t probe_rows = 100000);

/// The default metric specs for a task.
std::vector<std::string> default_metrics(Task task, std::int64_t classes);

/// Runs the evaluation; throws tally::Error (InputError for files) on any bad input.
EvalResult run_eval(EvalOptions options, const Participation& participation = {});

}  // namespace tally::cli
