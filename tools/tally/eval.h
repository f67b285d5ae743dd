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
#include "slices.h"
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

/// What the labels and scores look like, as read from shapes and the first rows; chooses
/// the task. New label kinds (e.g. integer labels with (N, C) scores for integer-label F1
/// and one-vs-rest AUC) are added here and in default_metrics.
struct TaskInference {
  Task task = Task::kRegression;
  std::int64_t classes = 0;     ///< score columns of a classification task
  bool sparse_labels = false;   ///< one integer label per row with (N, C) scores
  bool integer_labels = false;  ///< every probed label is a whole number >= 0
  bool predicted_ids = false;   ///< y_pred holds class ids (one column), set by --num-classes
  /// Non-empty when the files fit no task (e.g. integer labels beyond the score columns):
  /// what was seen, said instead of guessing when default metrics are asked for.
  std::string conflict;
};

/// Options of one evaluation.
struct EvalOptions {
  std::string y_true;                ///< FILE or FILE:columns
  std::string y_pred;                ///< FILE or FILE:columns
  std::string sample_weight;         ///< empty: unweighted
  std::string query;                 ///< empty: no query ids (ranking metrics need them)
  std::vector<std::string> metrics;  ///< specs; empty: defaults for the task
  std::int64_t batch_size = 1 << 16;
  char delimiter = '\0';     ///< CSV delimiter; '\0' detects it
  bool from_logits = false;  ///< --y-pred holds logits (see run_eval)
  /// --num-classes: the classes of integer labels; 0: read from the score columns. With one
  /// y_pred column of integers it makes the task multiclass with predicted ids.
  std::int64_t num_classes = 0;
  bool progress = false;  ///< draw a progress bar on stderr (only when stderr is a terminal)
  /// Receives one-line notices for stderr (defaults chosen, logits handled, scores outside
  /// [0, 1]); called before the progress bar starts, except the score-range warning.
  std::function<void(const std::string&)> notice;
  /// Builds extra metrics fed the same batches (the report's data summary), not printed;
  /// called once the task and the number of prediction columns are known, with the files.
  std::function<std::vector<std::unique_ptr<Metric>>(Task task, std::int64_t columns, ArraySource& y_true,
                                                     ArraySource& y_pred)>
      make_extra;
  /// --slice FILE[:column] arguments (one slicing feature each) and --cross "a,b" crosses;
  /// with any, every metric is also evaluated per slice (docs/cli.md, "Sliced evaluation").
  std::vector<std::string> slices;
  std::vector<std::string> crosses;
  std::int64_t max_slices = kDefaultMaxSlices;
};

/// The outcome: row count, the task inferred, each metric with its result.
struct EvalResult {
  std::int64_t samples = 0;
  Task task = Task::kRegression;
  std::vector<std::unique_ptr<Metric>> metrics;
  std::vector<std::unique_ptr<Metric>> extra;
  std::vector<std::string> default_specs;  ///< non-empty when defaults were chosen
  /// Range of the finite scores seen by this process, and whether a chosen metric (or the
  /// report) reads them as probabilities: under MPI the caller merges the ranges and warns
  /// (score_range_warning) once for all ranks.
  double score_low = 0.0, score_high = 0.0;
  bool reads_probabilities = false;
  std::string y_pred_path;
  /// The per-slice metrics when --slice was given (each feature alone, then the crosses).
  std::shared_ptr<SlicedCollection> sliced;
  /// How the slices are shown (--min-slice-size, --sort-slices).
  SliceDisplay slice_display;
};

/// The warning for scores outside [0, 1] read as probabilities, or "" when there is none.
std::string score_range_warning(const EvalResult& result, bool from_logits);

/// Infers the task from shapes and the labels of the first rows (at most `probe_rows`).
TaskInference infer(ArraySource& y_true, ArraySource& y_pred, std::int64_t probe_rows = 100000);

/// --num-classes: checks it against score columns, or (one y_pred column, integer labels)
/// turns the task into multiclass with predicted class ids; InputError when it fits neither.
void apply_num_classes(TaskInference& inferred, std::int64_t num_classes, std::int64_t pred_cols, ArraySource& y_true,
                       ArraySource& y_pred);

/// The integer-label defaults added for class ids: macro F1 and one-vs-rest AUC over (N, C)
/// scores; accuracy, macro F1 and MCC over predicted ids.
std::vector<std::string> integer_label_metrics(const TaskInference& inferred);

/// infer(...).task.
Task infer_task(ArraySource& y_true, ArraySource& y_pred, std::int64_t probe_rows = 100000);

/// The default metric specs for a task; `outputs` is the score columns (classes, or
/// regression outputs: more than one adds per-output R²).
std::vector<std::string> default_metrics(Task task, std::int64_t outputs);

/// Runs the evaluation; throws tally::Error (InputError for files) on any bad input. An
/// error inside a metric names the input files and the global row at fault. With
/// from_logits, metrics that have a `from_logits` option get it set; other classification
/// metrics get sigmoid (binary, multi-label) or softmax (multiclass) scores.
EvalResult run_eval(EvalOptions options, const Participation& participation = {});

}  // namespace tally::cli
