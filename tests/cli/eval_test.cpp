// The `tally eval` runner in-process: batch-size invariance, row checks, NaN rejection,
// task inference, duplicate names, and the HTML report's content.
#include "eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

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

std::string temp_csv(const std::string& name, const std::string& text) {
  const auto path = (std::filesystem::temp_directory_path() / ("tally_eval_" + name)).string();
  std::ofstream(path) << text;
  return path;
}

std::string eval_error(EvalOptions o) {
  try {
    run_eval(std::move(o));
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Eval, MultiOutputRegressionDefaultsReportPerOutput) {
  // (4, 2) outputs: R² per output 1 - 0.75/5 and 1 - 10/568.75 (sklearn raw_values).
  const std::string path = temp_csv("reg2.csv", "t0,t1,p0,p1\n1,10,1.5,11\n2,20,2,18\n3,35,2.5,33\n4,40,4.5,41\n");
  EvalOptions o;
  o.y_true = path + ":t0,t1";
  o.y_pred = path + ":p0,p1";
  std::vector<std::string> notices;
  o.notice = [&](const std::string& line) { notices.push_back(line); };
  const EvalResult r = run_eval(std::move(o));
  EXPECT_EQ(r.task, Task::kRegression);
  ASSERT_EQ(r.metrics.size(), 5u);
  EXPECT_EQ(r.metrics[3]->name(), "r2_score");
  EXPECT_NEAR(r.metrics[3]->value(), (0.85 + (1.0 - 10.0 / 568.75)) / 2.0, 1e-12);
  EXPECT_EQ(r.metrics[4]->name(), "r2_score_per_output");
  const std::vector<double> per = r.metrics[4]->result().to_doubles();
  ASSERT_EQ(per.size(), 2u);
  EXPECT_NEAR(per[0], 0.85, 1e-12);
  EXPECT_NEAR(per[1], 1.0 - 10.0 / 568.75, 1e-12);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].rfind("no --metric given; regression task, using mean_squared_error", 0), 0u) << notices[0];
}

TEST(Eval, IntegerLabelsGetMacroF1AndOneVsRestAuc) {
  // Issue 20.3. Scores: the defaults add the integer-label macro F1 and one-vs-rest AUC.
  const std::string scores = temp_csv("ids_scores.csv",
                                      "y,p0,p1,p2\n0,0.8,0.1,0.1\n1,0.2,0.7,0.1\n2,0.2,0.5,0.3\n0,0.6,0.3,0.1\n"
                                      "1,0.1,0.3,0.6\n2,0.1,0.2,0.7\n");
  EvalOptions o;
  o.y_true = scores + ":y";
  o.y_pred = scores + ":p0,p1,p2";
  std::vector<std::string> notices;
  o.notice = [&](const std::string& line) { notices.push_back(line); };
  const EvalResult r = run_eval(o);
  EXPECT_EQ(r.task, Task::kMulticlass);
  std::vector<std::string> names;
  for (const auto& m : r.metrics) names.push_back(m->name());
  EXPECT_EQ(names, (std::vector<std::string>{"sparse_categorical_accuracy", "sparse_categorical_crossentropy",
                                             "f1_score_macro", "auc_ovr"}));
  // argmax predictions 0 1 1 0 2 2 against 0 1 2 0 1 2: sklearn f1_score(average="macro") = 2/3.
  EXPECT_NEAR(r.metrics[2]->value(), 2.0 / 3.0, 1e-6);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0],
            "no --metric given; multiclass task, using sparse_categorical_accuracy, sparse_categorical_crossentropy, "
            "f1_score_macro, auc_ovr");
  // --num-classes must agree with the score columns.
  o.num_classes = 4;
  const std::string mismatch = eval_error(o);
  EXPECT_EQ(mismatch.rfind("--num-classes 4 but ", 0), 0u) << mismatch;
  EXPECT_NE(mismatch.find(" has 3 score columns"), std::string::npos) << mismatch;
  // Predicted ids (one column) with --num-classes: accuracy, macro F1 and MCC (sklearn: 0.5).
  const std::string ids = temp_csv("ids_ids.csv", "y,p\n0,0\n1,1\n2,1\n0,0\n1,2\n2,2\n");
  EvalOptions i;
  i.y_true = ids + ":y";
  i.y_pred = ids + ":p";
  i.num_classes = 3;
  const EvalResult r2 = run_eval(i);
  ASSERT_EQ(r2.metrics.size(), 3u);
  EXPECT_EQ(r2.metrics[0]->name(), "accuracy");
  EXPECT_NEAR(r2.metrics[0]->value(), 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(r2.metrics[1]->value(), 2.0 / 3.0, 1e-6);
  EXPECT_EQ(r2.metrics[2]->name(), "matthews_correlation_coefficient");
  EXPECT_NEAR(r2.metrics[2]->value(), 0.5, 1e-12);
  // Without --num-classes the same files are a regression (labels are not all 0/1).
  i.num_classes = 0;
  EXPECT_EQ(run_eval(i).task, Task::kRegression);
}

TEST(Eval, MetricErrorsNameTheFilesAndTheGlobalRow) {
  std::string text = "y,p0,p1\n";
  for (int r = 0; r < 30; ++r) text += (r == 23 ? "5" : std::to_string(r % 2)) + ",0.4,0.6\n";
  const std::string path = temp_csv("row.csv", text);
  std::set<std::string> messages;
  for (const std::int64_t batch : {1 << 16, 10, 7, 1}) {
    EvalOptions o;
    o.y_true = path + ":y";
    o.y_pred = path + ":p0,p1";
    o.metrics = {"sparse_categorical_accuracy", "sparse_categorical_crossentropy"};
    o.batch_size = batch;
    const std::string message = eval_error(std::move(o));
    EXPECT_NE(message.find(path + ", " + path + " at row 23: "), std::string::npos) << message;
    messages.insert(message);
  }
  EXPECT_EQ(messages.size(), 1u);  // the same text whatever the batch size
  // Default metrics: labels beyond the score columns are reported, not taken for regression.
  EvalOptions d;
  d.y_true = path + ":y";
  d.y_pred = path + ":p0,p1";
  EXPECT_NE(eval_error(std::move(d)).find("labels look like class indices (integers, up to 5), but"),
            std::string::npos);
}

TEST(Eval, RejectsNaNLabelsAndEmptyFiles) {
  const std::string nan_labels = temp_csv("nanl.csv", "y,p\n1,0.5\nnan,0.5\n");
  EvalOptions n;
  n.y_true = nan_labels + ":y";
  n.y_pred = nan_labels + ":p";
  n.metrics = {"mean"};
  EXPECT_NE(eval_error(std::move(n)).find("NaN in labels at row 1"), std::string::npos);
  const std::string header_only = temp_csv("header.csv", "y,p\n");
  EvalOptions e;
  e.y_true = header_only + ":y";
  e.y_pred = header_only + ":p";
  EXPECT_NE(eval_error(std::move(e)).find("header.csv: no rows"), std::string::npos);
}

TEST(Eval, FromLogitsMatchesProbabilities) {
  std::string logits = "y,s\n", probs = "y,s\n";
  const double z[] = {-2.0, 0.5, 1.5, -0.3, 3.0, -1.0, 0.2, 2.2};
  const int y[] = {0, 1, 1, 0, 1, 0, 0, 1};
  for (int i = 0; i < 8; ++i) {
    logits += fmt::format("{},{}\n", y[i], z[i]);
    probs += fmt::format("{},{:.17g}\n", y[i], 1.0 / (1.0 + std::exp(-z[i])));
  }
  const std::string lp = temp_csv("logits.csv", logits), pp = temp_csv("probs.csv", probs);
  auto run = [](const std::string& file, bool from_logits, std::vector<std::string>* notices) {
    EvalOptions o;
    o.y_true = file + ":y";
    o.y_pred = file + ":s";
    o.metrics = {"auc", "binary_accuracy", "binary_crossentropy"};
    o.from_logits = from_logits;
    o.notice = [notices](const std::string& line) { notices->push_back(line); };
    return run_eval(std::move(o));
  };
  std::vector<std::string> a, b, c;
  const EvalResult from_logits = run(lp, true, &a);
  const EvalResult from_probs = run(pp, false, &b);
  const EvalResult misread = run(lp, false, &c);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(from_logits.metrics[i]->value(), from_probs.metrics[i]->value(), 1e-6) << i;
  }
  EXPECT_EQ(from_logits.metrics[0]->get_config()["from_logits"], true);
  EXPECT_TRUE(b.empty());
  ASSERT_EQ(c.size(), 1u);
  EXPECT_NE(c[0].find("range over [-2, 3], outside [0, 1]"), std::string::npos) << c[0];
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], "--from-logits: set from_logits=true for auc, binary_crossentropy");
  EXPECT_EQ(a[1], "--from-logits: applied sigmoid to the scores for binary_accuracy (no from_logits option)");
}

TEST(Report, RegressionHasDensityResidualsAndPerOutputTables) {
  const auto regression = eval("diabetes", {"mean"});
  const std::string html = render_html_report(regression, "t");
  EXPECT_NE(html.find("Predicted vs true (density)"), std::string::npos);
  EXPECT_NE(html.find("Residuals (predicted - true)"), std::string::npos);
  EXPECT_NE(html.find("<h2>Per output</h2>"), std::string::npos);
  const auto* summary = dynamic_cast<const DataSummary*>(regression.extra.at(0).get());
  ASSERT_NE(summary, nullptr);
  // Every row lands in the density plot and the residual histogram once.
  const Variables& v = summary->variable_values();
  double density = 0.0, residuals = 0.0;
  for (const double x : v.f64(3)) density += x;
  for (const double x : v.f64(4)) residuals += x;
  EXPECT_DOUBLE_EQ(density, 442.0);
  EXPECT_DOUBLE_EQ(residuals, 442.0);
  const auto binary = render_html_report(eval("breast_cancer", {"mean"}), "t");
  EXPECT_NE(binary.find("Reliability (calibration)"), std::string::npos);
  EXPECT_NE(binary.find("row total"), std::string::npos);
}

}  // namespace
}  // namespace tally::cli
