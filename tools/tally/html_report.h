#pragma once
// The self-contained HTML report of `tally eval --report`: the metric table, ROC and
// precision-recall curves as inline SVG, a confusion-matrix heat map, class balance and a
// score histogram. The data behind the pictures is gathered by DataSummary, itself a
// mergeable metric, so it streams in fixed memory and all-reduces across MPI ranks.

#include <memory>
#include <string>

#include "eval.h"
#include "tally/metric.h"

namespace tally::cli {

/// Fixed-size histograms and counts for the report (not a catalog metric).
class DataSummary : public MetricWithClone<DataSummary> {
 public:
  /// Score bins for the curves; more bins give smoother curves at the cost of memory.
  static constexpr std::int64_t kCurveBins = 1000;
  /// Bins of the score histogram drawn in the report.
  static constexpr std::int64_t kHistogramBins = 40;
  /// Largest class count that gets per-class curves and a confusion matrix.
  static constexpr std::int64_t kMaxClasses = 50;

  DataSummary(Task task, std::int64_t columns);
  std::string class_name() const override { return "DataSummary"; }
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;

  Task task() const { return task_; }
  /// Classes tracked: 2 for binary, the prediction columns otherwise (0 for regression).
  std::int64_t classes() const { return classes_; }

 private:
  Task task_;
  std::int64_t classes_;
  std::int64_t curves_;  // 1 for binary, classes for multiclass one-vs-rest, 0 otherwise
};

/// Builds the report's extra metric for a task (empty for tasks it cannot summarise).
std::vector<std::unique_ptr<Metric>> make_report_summary(Task task, std::int64_t columns);

/// The whole HTML document for an evaluation (uses the DataSummary in result.extra if any).
std::string render_html_report(const EvalResult& result, const std::string& title);

/// Writes the report atomically (temporary file, then rename); throws IOError.
void write_html_report(const EvalResult& result, const std::string& path, const std::string& title);

}  // namespace tally::cli
