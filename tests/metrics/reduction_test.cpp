// Mean, Sum, MeanMetricWrapper and LambdaMetric. Reference values are re-typed from
// keras/src/metrics/reduction_metrics_test.py (Keras 3).
#include "tally/metrics/reduction.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

// Keras's mse: per-sample mean over the last axis, used as the wrapped function.
Tensor mse_rows(const TensorView& y_true, const TensorView& y_pred) {
  const std::int64_t rows = y_true.shape()[0];
  const std::int64_t width = y_true.numel() / rows;
  Tensor out(DType::kFloat64, {rows});
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (std::int64_t k = 0; k < width; ++k) {
      const double d = y_true.value_at(r * width + k) - y_pred.value_at(r * width + k);
      s += d * d;
    }
    out.data_as<double>()[r] = s / static_cast<double>(width);
  }
  return out;
}

TEST(Sum, KerasReferenceValues) {
  Sum s;
  s.update_state(std::vector<double>{1, 3, 5, 7});
  EXPECT_DOUBLE_EQ(s.value(), 16.0);  // test_unweighted
  Sum w;
  w.update_state(std::vector<double>{1, 3, 5, 7}, std::vector<double>{1, 1, 0, 0});
  EXPECT_DOUBLE_EQ(w.value(), 4.0);  // test_weighted
  Sum nd;
  const std::vector<double> v{1, 3, 5, 7};
  const std::vector<double> wn{1, 1, 1, 0};
  nd.update_state(TensorView(v, {2, 2}), TensorView(wn, {2, 2}));
  EXPECT_DOUBLE_EQ(nd.value(), 9.0);  // test_weighted_nd
  Sum bc;
  const std::vector<double> wb{1, 0};
  bc.update_state(TensorView(v, {2, 2}), TensorView(wb, {1, 2}));
  EXPECT_DOUBLE_EQ(bc.value(), 6.0);  // test_weighted_nd_broadcast
  EXPECT_EQ(s.get_config(), (Json{{"name", "sum"}, {"dtype", "float32"}}));
}

TEST(Mean, KerasReferenceValues) {
  Mean m;
  m.update_state(std::vector<double>{1, 3, 5, 7});
  EXPECT_DOUBLE_EQ(m.value(), 4.0);  // test_unweighted
  Mean w;
  w.update_state(std::vector<double>{1, 3, 5, 7}, std::vector<double>{1, 1, 0, 0});
  EXPECT_DOUBLE_EQ(w.value(), 2.0);  // test_weighted
  const std::vector<double> v{1, 3, 5, 7};
  Mean nd;
  const std::vector<double> wn{1, 1, 1, 0};
  nd.update_state(TensorView(v, {2, 2}), TensorView(wn, {2, 2}));
  EXPECT_DOUBLE_EQ(nd.value(), 3.0);  // test_weighted_nd
  Mean bc;
  const std::vector<double> wb{1, 0};
  bc.update_state(TensorView(v, {2, 2}), TensorView(wb, {1, 2}));
  EXPECT_DOUBLE_EQ(bc.value(), 3.0);  // test_weighted_nd_broadcast
  Mean empty;
  EXPECT_DOUBLE_EQ(empty.value(), 0.0);  // divide_no_nan
}

TEST(Mean, ScalarSampleWeightWeightsTheBatchAsOneSample) {
  // Keras reduce_to_samplewise_values: the batch mean enters with weight w, not N * w.
  Mean m;
  m.update_state(std::vector<double>{1, 3, 5, 7},
                 std::vector<double>{2.0}.front() == 2.0 ? TensorView(std::vector<double>{2.0}, {}) : TensorView());
  m.update_state(std::vector<double>{10}, TensorView(std::vector<double>{1.0}, {}));
  EXPECT_DOUBLE_EQ(m.value(), (4.0 * 2.0 + 10.0) / 3.0);
}

TEST(Mean, RankAlignmentAndErrors) {
  Mean m;
  const std::vector<double> v{1, 2, 3, 4};
  const std::vector<double> w{1, 0, 1, 0};
  m.update_state(TensorView(v, {4, 1}), TensorView(w));  // [4,1] with [4]: expanded weight
  EXPECT_DOUBLE_EQ(m.value(), 2.0);
  const auto before = m.to_vector();
  EXPECT_THROW(m.update_state(v, std::vector<double>{1, 2, 3}), ShapeError);
  EXPECT_THROW(m.update_state(v, std::vector<double>{1, -2, 3, 1}), InvalidArgument);
  EXPECT_THROW(m.update_state(v, std::vector<double>{1, NAN, 3, 1}), InvalidArgument);
  EXPECT_THROW(m.update_state(std::vector<double>{}), InvalidArgument);
  EXPECT_EQ(before, m.to_vector());
  try {
    m.update_state(v, std::vector<double>{1, 2, 3});
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("Mean \"mean\": argument `sample_weight` of shape [3]"), std::string::npos)
        << e.what();
  }
}

TEST(Mean, AcceptsEveryInputDType) {
  const std::vector<std::uint8_t> u8{1, 2, 3};
  const std::vector<std::int32_t> i32{1, 2, 3};
  const std::vector<float> f32{1, 2, 3};
  const std::vector<Float16> f16{Float16(1.0f), Float16(2.0f), Float16(3.0f)};
  const std::vector<BFloat16> bf16{BFloat16(1.0f), BFloat16(2.0f), BFloat16(3.0f)};
  for (const TensorView& t : {TensorView(u8), TensorView(i32), TensorView(f32), TensorView(f16), TensorView(bf16)}) {
    Mean m;
    m.update_state(t);
    EXPECT_DOUBLE_EQ(m.value(), 2.0) << t.describe();
  }
}

TEST(Mean, PassesTheHarness) {
  for (const bool weighted : {false, true}) {
    testing::HarnessCase c;
    c.factory = [] { return std::make_unique<Mean>(); };
    c.y_true = testing::random_uniform({5000}, 1);
    c.y_pred = testing::random_uniform({5000}, 2, -3.0, 5.0, DType::kFloat32);
    if (weighted) c.sample_weight = testing::random_uniform({5000}, 3);
    c.names = {"Mean", "mean"};
    c.uses_y_true = false;
    testing::check_metric_properties(c);
  }
  testing::HarnessCase c2;
  c2.factory = [] { return std::make_unique<Sum>("total"); };
  c2.y_true = testing::random_uniform({3000, 3}, 1);
  c2.y_pred = testing::random_uniform({3000, 3}, 2);
  c2.sample_weight = testing::random_uniform({3000}, 3);
  c2.names = {"Sum", "sum"};
  c2.uses_y_true = false;
  testing::check_metric_properties(c2);
}

TEST(MeanMetricWrapper, KerasMseReferenceValues) {
  // reduction_metrics_test.py MetricWrapperTest
  const std::vector<double> y_true{0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1};
  const std::vector<double> y_pred{0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1};
  MeanMetricWrapper m(mse_rows, "mse", DType::kFloat32, "mean_squared_error");
  m.update_state(TensorView(y_true, {4, 5}), TensorView(y_pred, {4, 5}));
  EXPECT_NEAR(m.value(), 0.5, 1e-12);
  MeanMetricWrapper w(mse_rows, "mse");
  w.update_state(TensorView(y_true, {4, 5}), TensorView(y_pred, {4, 5}), std::vector<double>{1.0, 1.5, 2.0, 2.5});
  EXPECT_NEAR(w.value(), 0.54285, 1e-5);
  EXPECT_EQ(m.get_config()["fn"], "mean_squared_error");
  testing::HarnessCase c;
  c.factory = [] { return std::make_unique<MeanMetricWrapper>(mse_rows, "mse"); };
  c.y_true = testing::random_uniform({2000, 3}, 1);
  c.y_pred = testing::random_uniform({2000, 3}, 2);
  c.sample_weight = testing::random_uniform({2000}, 3);
  c.config_round_trip = false;
  testing::check_metric_properties(c);
}

TEST(LambdaMetric, CountsWithTwoLambdas) {
  LambdaMetric positives(
      "positives", {{"n", {}, DType::kInt64, Aggregation::kSum}},
      [](Variables& vars, const Batch& b) {
        std::int64_t n = 0;
        for (std::int64_t i = 0; i < b.y_pred.numel(); ++i) n += b.y_pred.value_at(i) > 0.5 ? 1 : 0;
        vars.i64(0)[0] += n;
      },
      [](const Variables& vars) { return Tensor::scalar(static_cast<double>(vars.i64(0)[0])); });
  positives.update_state({}, std::vector<double>{0.1, 0.7, 0.9});
  auto copy = positives.clone();
  copy->update_state({}, std::vector<double>{0.6});
  positives.merge_state(*copy);
  EXPECT_DOUBLE_EQ(positives.value(), 5.0);
}

}  // namespace
}  // namespace tally::metrics
