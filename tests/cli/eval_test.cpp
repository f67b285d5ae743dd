// The `tally eval` runner in-process: batch-size invariance, row checks, NaN rejection,
// task inference, duplicate names, and the HTML report's content.
#include "eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "html_report.h"
#include "report.h"

namespace tally::cli {
namespace {

const std::string kData = TALLY_EXAMPLES_DATA_DIR;

EvalResult eval(const std::string& name, std::vector<std::string> metrics, std::int64_t batch = 1 << 16) {
  EvalOptions o;
  o.y_true = kData + "/" + name + "_y_true.npy";
  o.y_pred = kData + "/" + name + "_y_pred.npy";
  o.metrics = std::move(metrics);
  o.batch_size = batch;
  o.make_extra = make_report_summary;
  return run_eval(std::move(o));
}

TEST(Eval, BatchSizeChangesNothing) {
  const auto whole = eval("diabetes", {"mean", R"({"class_name": "Sum", "config": {"name": "total"}})"});
  for (const std::int64_t batch : {1, 7, 100}) {
    const auto split = eval("diabetes", {"mean", R"({"class_name": "Sum", "config": {"name": "total"}})"}, batch);
    EXPECT_NEAR(split.metrics[0]->value(), whole.metrics[0]->value(), 1e-12 * std::fabs(whole.metrics[0]->value()));
    EXPECT_NEAR(split.metrics[1]->value(), whole.metrics[1]->value(), 1e-12 * std::fabs(whole.metrics[1]->value()));
  }
  EXPECT_EQ(whole.samples, 442);
  EXPECT_EQ(whole.task, Task::kRegression);
  // Mean reduces y_pred: the mean of the ridge predictions written by make_example_data.py.
  EXPECT_NEAR(whole.metrics[0]->value(), 151.746, 1e-3);
  EXPECT_EQ(results_json(whole)["samples"], 442);
}

TEST(Eval, InfersTasks) {
  EXPECT_EQ(eval("breast_cancer", {"mean"}).task, Task::kBinary);
  EXPECT_EQ(eval("digits", {"mean"}).task, Task::kMulticlass);
}

TEST(Eval, RejectsMismatchedRowsNaNAndDuplicateNames) {
  EvalOptions o;
  o.y_true = kData + "/diabetes_y_true.npy";
  o.y_pred = kData + "/digits_y_pred.npy";
  o.metrics = {"mean"};
  try {
    run_eval(std::move(o));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("digits_y_pred.npy: 1797 rows, but --y-true"), std::string::npos) << e.what();
  }
  const auto dir = std::filesystem::temp_directory_path();
  const auto nan_csv = (dir / "tally_eval_nan.csv").string();
  std::ofstream(nan_csv) << "y,p\n1,0.5\n0,nan\n";
  EvalOptions n;
  n.y_true = nan_csv + ":y";
  n.y_pred = nan_csv + ":p";
  n.metrics = {"mean"};
  try {
    run_eval(std::move(n));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("NaN in predictions at row 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(eval("diabetes", {"mean", "mean"}), InvalidArgument);
  EXPECT_THROW(eval("diabetes", {"mean"}, 0), InvalidArgument);
}

TEST(Report, HoldsCurvesConfusionMatrixAndMetrics) {
  const auto binary = eval("breast_cancer", {"mean"});
  const std::string html = render_html_report(binary, "t");
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_NE(html.find("Confusion matrix"), std::string::npos);
  EXPECT_NE(html.find("Class balance"), std::string::npos);
  // Binned ROC AUC of the held-out logistic regression: sklearn's exact value is 0.99 or more.
  const auto* summary = dynamic_cast<const DataSummary*>(binary.extra.at(0).get());
  ASSERT_NE(summary, nullptr);
  EXPECT_DOUBLE_EQ(summary->value(), 569.0);
  const std::size_t at = html.find("ROC AUC ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stod(html.substr(at + 8, 6)), 0.98);
  const auto multi = render_html_report(eval("digits", {"mean"}), "t");
  EXPECT_NE(multi.find("class 9"), std::string::npos);
  const auto regression = render_html_report(eval("diabetes", {"mean"}), "t");
  EXPECT_NE(regression.find("residual"), std::string::npos);
}

}  // namespace
}  // namespace tally::cli
