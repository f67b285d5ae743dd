// The calibration family. References: TorchMetrics' docstring examples of
// binary_calibration_error / multiclass_calibration_error (re-typed), and
// tests/fixtures/gen_beyond.py (beyond.json: scikit-learn's brier_score_loss, and TorchMetrics'
// binning formula in numpy).
#include "tally/metrics/calibration.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixture_tensors.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

using testing::feed_in_three_batches;
using testing::tensor_of;

Json fixture() { return testing::read_fixture("beyond.json"); }

const CalibrationNorm kNorms[3] = {CalibrationNorm::kL1, CalibrationNorm::kL2, CalibrationNorm::kMax};
const char* const kNormNames[3] = {"l1", "l2", "max"};

TEST(ExpectedCalibrationError, TorchMetricsDocstrings) {
  // binary_calibration_error(preds, target, n_bins=2, norm=...): 0.2900, 0.2918, 0.3167.
  const std::vector<double> bp{0.25, 0.25, 0.55, 0.75, 0.75}, bt{0, 0, 1, 1, 1};
  const double binary[3] = {0.2900, 0.2918, 0.3167};
  // multiclass_calibration_error(preds, target, num_classes=3, n_bins=3, norm=...): 0.2000, 0.2082, 0.2333.
  const std::vector<double> mp{0.25, 0.20, 0.55, 0.55, 0.05, 0.40, 0.10, 0.30, 0.60, 0.90, 0.05, 0.05};
  const std::vector<double> mt{0, 1, 2, 0};
  const double multi[3] = {0.2000, 0.2082, 0.2333};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(kNormNames[i]);
    ExpectedCalibrationError b(2, kNorms[i]);
    b.update_state(TensorView(bt), TensorView(bp));
    EXPECT_NEAR(b.value(), binary[i], 5e-5);
    ExpectedCalibrationError m(3, kNorms[i]);
    m.update_state(TensorView(mt), TensorView(mp, {4, 3}));
    EXPECT_NEAR(m.value(), multi[i], 5e-5);
  }
}

TEST(ExpectedCalibrationError, MatchesTheTorchMetricsBinning) {
  const Json f = fixture();
  const Tensor bt = tensor_of(f["binary_true"]), bp = tensor_of(f["binary_prob"]), w = tensor_of(f["sample_weight"]);
  const Tensor mt = tensor_of(f["multi_true"]), mp = tensor_of(f["multi_prob"]);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(kNormNames[i]);
    ExpectedCalibrationError binary(15, kNorms[i]), weighted(10, kNorms[i]), multi(15, kNorms[i]), multi7(7, kNorms[i]);
    feed_in_three_batches(binary, bt, bp);
    feed_in_three_batches(weighted, bt, bp, &w);
    feed_in_three_batches(multi, mt, mp);
    feed_in_three_batches(multi7, mt, mp);
    EXPECT_NEAR(binary.value(), f["ece_binary"][kNormNames[i]].get<double>(), 1e-12);
    EXPECT_NEAR(weighted.value(), f["ece_binary_10_weighted"][kNormNames[i]].get<double>(), 1e-12);
    EXPECT_NEAR(multi.value(), f["ece_multi"][kNormNames[i]].get<double>(), 1e-12);
    EXPECT_NEAR(multi7.value(), f["ece_multi_7"][kNormNames[i]].get<double>(), 1e-12);
  }
  // One-hot targets are the same task as class ids.
  std::vector<double> onehot;
  for (const double id : mt.to_doubles()) {
    for (int c = 0; c < 4; ++c) onehot.push_back(c == static_cast<int>(id) ? 1.0 : 0.0);
  }
  ExpectedCalibrationError from_one_hot;
  from_one_hot.update_state(TensorView(onehot, mp.shape()), mp.view());
  EXPECT_NEAR(from_one_hot.value(), f["ece_multi"]["l1"].get<double>(), 1e-12);
}

TEST(ExpectedCalibrationError, StateIsBinsOfSums) {
  ExpectedCalibrationError m(4);
  ASSERT_EQ(m.variables().size(), 3u);
  EXPECT_EQ(m.variables()[0].shape, Shape{5});  // 4 bins and the bin of confidence exactly 1
  // Confidence 1 sits in its own bin, as torch.bucketize(right=True) puts it.
  m.update_state(TensorView(std::vector<double>{1, 0}), TensorView(std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(m.variable_values().f64(0)[4], 1.0);
  EXPECT_EQ(m.variable_values().f64(0)[0], 1.0);
  EXPECT_EQ(m.value(), 0.0);
  // Logits go through a sigmoid with from_logits.
  ExpectedCalibrationError logits(15, CalibrationNorm::kL1, true), probs;
  logits.update_state(TensorView(std::vector<double>{1, 0, 1}), TensorView(std::vector<double>{2.0, -1.0, 0.3}));
  std::vector<double> sig;
  for (const double x : {2.0, -1.0, 0.3}) sig.push_back(1.0 / (1.0 + std::exp(-x)));
  probs.update_state(TensorView(std::vector<double>{1, 0, 1}), TensorView(sig));
  EXPECT_NEAR(logits.value(), probs.value(), 1e-15);
}

TEST(ExpectedCalibrationError, BadInputsAreClearErrors) {
  ExpectedCalibrationError m;
  const auto message = [&](const std::vector<double>& t, const std::vector<double>& p, Shape shape) {
    try {
      m.update_state(TensorView(t), TensorView(p, std::move(shape)));
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({0, 1}, {0.2, 1.2}, {2}),
            "ExpectedCalibrationError \"expected_calibration_error\": argument `y_pred` must hold probabilities in "
            "[0, 1] (pass from_logits=True for logits); received 1.2 at flat index 1");
  EXPECT_EQ(message({0, 2}, {0.2, 0.3}, {2}),
            "ExpectedCalibrationError \"expected_calibration_error\": argument `y_true` must hold labels 0 or 1; "
            "received 2 at row 1");
  EXPECT_EQ(message({0, 3}, {0.2, 0.8, 0.3, 0.7}, {2, 2}),
            "ExpectedCalibrationError \"expected_calibration_error\": argument `y_true` must hold class ids in [0, "
            "2); received 3 at row 1");
  EXPECT_EQ(m.to_vector(), ExpectedCalibrationError().to_vector());
  EXPECT_THROW(ExpectedCalibrationError(0), InvalidArgument);
  EXPECT_THROW(metrics::get(R"({"class_name": "ece", "config": {"norm": "l3"}})"), ConfigError);
}

TEST(BrierScore, MatchesScikitLearn) {
  // scikit-learn's docstring: brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) == 0.0375.
  BrierScore doc;
  doc.update_state(TensorView(std::vector<double>{0, 1, 1, 0}), TensorView(std::vector<double>{0.1, 0.9, 0.8, 0.3}));
  EXPECT_NEAR(doc.value(), 0.0375, 1e-15);
  const Json f = fixture();
  const Tensor bt = tensor_of(f["binary_true"]), bp = tensor_of(f["binary_prob"]), w = tensor_of(f["sample_weight"]);
  BrierScore binary, weighted, multi, multi_weighted;
  feed_in_three_batches(binary, bt, bp);
  feed_in_three_batches(weighted, bt, bp, &w);
  EXPECT_NEAR(binary.value(), f["brier_binary"].get<double>(), 1e-12);
  EXPECT_NEAR(weighted.value(), f["brier_binary_weighted"].get<double>(), 1e-12);
  const Tensor mt = tensor_of(f["multi_true"]), mp = tensor_of(f["multi_prob"]);
  feed_in_three_batches(multi, mt, mp);
  feed_in_three_batches(multi_weighted, mt, mp, &w);
  EXPECT_NEAR(multi.value(), f["brier_multi"].get<double>(), 1e-12);
  EXPECT_NEAR(multi_weighted.value(), f["brier_multi_weighted"].get<double>(), 1e-12);
  // Two classes as [N, 2] count both columns: twice the binary score.
  BrierScore two;
  two.update_state(TensorView(std::vector<double>{0, 1, 1, 0}),
                   TensorView(std::vector<double>{0.9, 0.1, 0.1, 0.9, 0.2, 0.8, 0.7, 0.3}, {4, 2}));
  EXPECT_NEAR(two.value(), 2 * 0.0375, 1e-15);
  EXPECT_EQ(metrics::get("brier_score_loss")->class_name(), "BrierScore");
}

}  // namespace
}  // namespace tally::metrics
