#pragma once
// The self-contained HTML report of `tally eval --report`: the metric table; for
// classification ROC and precision-recall curves, a reliability diagram, the confusion
// matrix (counts and row rates), class balance and a score histogram; for regression a
// predicted-vs-true density plot, a residual histogram and per-output tables. Charts are
// inline SVG with tick labels, axes and legends. The data behind them is gathered by
// DataSummary, itself a mergeable metric, so it streams in fixed memory and all-reduces
// across MPI ranks.

#include <memory>
#include <string>

#include "eval.h"
#include "tally/metric.h"

namespace tally::cli {

/// Value ranges of a regression report's histograms. Every rank derives them from the same
/// first rows of the files, so the histograms of all ranks have the same bins and merge.
struct ReportRanges {
  double low = 0.0, high = 1.0;  ///< both axes of the density plot
  double residual_low = -1.0, residual_high = 1.0;
};

/// Fixed-size histograms and counts for the report (not a catalog metric).
class DataSummary : public MetricWithClone<DataSummary> {
 public:
  /// Score bins for the curves; more bins give smoother curves at the cost of memory.
  static constexpr std::int64_t kCurveBins = 1000;
  /// Bins of the score and residual histograms and of each axis of the density plot.
  static constexpr std::int64_t kHistogramBins = 40;
  /// Confidence bins of the reliability diagram.
  static constexpr std::int64_t kCalibrationBins = 10;
  /// Largest class count that gets per-class curves and a confusion matrix.
  static constexpr std::int64_t kMaxClasses = 50;
  /// Rows of the files read to fix the regression histograms' ranges.
  static constexpr std::int64_t kRangeProbeRows = 100000;

  DataSummary(Task task, std::int64_t columns, ReportRanges ranges = {});
  std::string class_name() const override { return "DataSummary"; }
  void accumulate(Variables& vars, const Batch& batch) const override;
  Tensor result_from(const Variables& vars) const override;

  Task task() const { return task_; }
  /// Classes tracked: 2 for binary, the prediction columns otherwise (0 for regression).
  std::int64_t classes() const { return classes_; }
  /// Regression outputs (the prediction columns; 0 for classification).
  std::int64_t outputs() const { return outputs_; }
  /// The histogram ranges of a regression summary.
  const ReportRanges& ranges() const { return ranges_; }

 private:
  Task task_;
  std::int64_t classes_;
  std::int64_t curves_;  // 1 for binary, classes for multiclass one-vs-rest, 0 otherwise
  std::int64_t outputs_ = 0;
  ReportRanges ranges_;
};

/// Builds the report's extra metric for a task; reads the first rows of the files for the
/// regression histograms' ranges.
std::vector<std::unique_ptr<Metric>> make_report_summary(Task task, std::int64_t columns, ArraySource& y_true,
                                                         ArraySource& y_pred);

/// The whole HTML document for an evaluation (uses the DataSummary in result.extra if any).
std::string render_html_report(const EvalResult& result, const std::string& title);

/// Writes the report atomically (temporary file, then rename); throws IOError.
void write_html_report(const EvalResult& result, const std::string& path, const std::string& title);

}  // namespace tally::cli
