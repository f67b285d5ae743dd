// FBetaScore and F1Score. Reference values are re-typed from
// keras/src/metrics/f_score_metrics_test.py and the class docstrings (Keras 3), and read
// from tests/fixtures/f_score_iou.json (scikit-learn, tests/fixtures/gen_f_score_iou.py).
#include "tally/metrics/f_score.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "support/id_inputs.h"
#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/memory.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

using Avg = FScoreAverage;

// The inputs shared by several Keras tests (test_fbeta_random_score_none and friends).
const std::vector<double> kTrue6 = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1};
const std::vector<double> kPred6 = {0.9, 0.1, 0, 0.2, 0.6, 0.2, 0, 0, 1, 0.4, 0.3, 0.3, 0, 0.9, 0.1, 0, 0, 1};
// test_fbeta_random_score / perfect / worst.
const std::vector<double> kPred3 = {0.7, 0.7, 0.7, 1, 0, 0, 0.9, 0.8, 0};

std::vector<double> run(Avg average, double beta, std::optional<double> threshold, const std::vector<double>& y_true,
                        const std::vector<double>& y_pred, std::int64_t classes, const TensorView& weight = {}) {
  FBetaScore m(average, beta, threshold);
  const std::int64_t rows = static_cast<std::int64_t>(y_true.size()) / classes;
  m.update_state(TensorView(y_true, {rows, classes}), TensorView(y_pred, {rows, classes}), weight);
  return m.result().to_doubles();
}

void expect_values(const std::vector<double>& expected, const std::vector<double>& actual, double atol,
                   const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(expected[i], actual[i], atol) << what << " [" << i << "]";
}

TEST(FBetaScore, KerasPerfectAndWorstScores) {
  // test_fbeta_perfect_score and test_fbeta_worst_score, threshold 0.66.
  const std::vector<double> perfect = {1, 1, 1, 1, 0, 0, 1, 1, 0};
  const std::vector<double> worst = {0, 0, 0, 0, 1, 0, 0, 0, 1};
  for (const Avg avg : {Avg::kMicro, Avg::kMacro, Avg::kWeighted}) {
    for (const double beta : {0.5, 1.0, 2.0}) {
      expect_values({1.0}, run(avg, beta, 0.66, perfect, kPred3, 3), 1e-6, "perfect");
      expect_values({0.0}, run(avg, beta, 0.66, worst, kPred3, 3), 1e-6, "worst");
    }
  }
}

TEST(FBetaScore, KerasRandomScoreWithThreshold) {
  // test_fbeta_random_score: y_true [[0,0,1],[1,1,0],[1,1,1]], threshold 0.66.
  const std::vector<double> y_true = {0, 0, 1, 1, 1, 0, 1, 1, 1};
  expect_values({0.71428573, 0.5, 0.833334}, run(Avg::kNone, 0.5, 0.66, y_true, kPred3, 3), 1e-5, "none 0.5");
  expect_values({0.8, 0.5, 0.6666667}, run(Avg::kNone, 1.0, 0.66, y_true, kPred3, 3), 1e-5, "none 1");
  expect_values({0.9090904, 0.5, 0.555556}, run(Avg::kNone, 2.0, 0.66, y_true, kPred3, 3), 1e-5, "none 2");
  for (const double beta : {0.5, 1.0, 2.0}) {
    expect_values({0.6666667}, run(Avg::kMicro, beta, 0.66, y_true, kPred3, 3), 1e-5, "micro");
  }
  expect_values({0.6825397}, run(Avg::kMacro, 0.5, 0.66, y_true, kPred3, 3), 1e-5, "macro 0.5");
  expect_values({0.6555555}, run(Avg::kMacro, 1.0, 0.66, y_true, kPred3, 3), 1e-5, "macro 1");
  expect_values({0.6548822}, run(Avg::kMacro, 2.0, 0.66, y_true, kPred3, 3), 1e-5, "macro 2");
  expect_values({0.6825397}, run(Avg::kWeighted, 0.5, 0.66, y_true, kPred3, 3), 1e-5, "weighted 0.5");
  expect_values({0.6555555}, run(Avg::kWeighted, 1.0, 0.66, y_true, kPred3, 3), 1e-5, "weighted 1");
  expect_values({0.6548822}, run(Avg::kWeighted, 2.0, 0.66, y_true, kPred3, 3), 1e-5, "weighted 2");
}

TEST(FBetaScore, KerasRandomScoreArgmax) {
  // test_fbeta_random_score_none: threshold None (argmax rule).
  expect_values({0.9090904, 0.555556, 1.0}, run(Avg::kNone, 0.5, std::nullopt, kTrue6, kPred6, 3), 1e-5, "none 0.5");
  expect_values({0.8, 0.6666667, 1.0}, run(Avg::kNone, 1.0, std::nullopt, kTrue6, kPred6, 3), 1e-5, "none 1");
  expect_values({0.71428573, 0.833334, 1.0}, run(Avg::kNone, 2.0, std::nullopt, kTrue6, kPred6, 3), 1e-5, "none 2");
  for (const double beta : {0.5, 1.0, 2.0}) {
    expect_values({0.833334}, run(Avg::kMicro, beta, std::nullopt, kTrue6, kPred6, 3), 1e-5, "micro");
  }
  expect_values({0.821549}, run(Avg::kMacro, 0.5, std::nullopt, kTrue6, kPred6, 3), 1e-5, "macro 0.5");
  expect_values({0.822222}, run(Avg::kMacro, 1.0, std::nullopt, kTrue6, kPred6, 3), 1e-5, "macro 1");
  expect_values({0.849206}, run(Avg::kMacro, 2.0, std::nullopt, kTrue6, kPred6, 3), 1e-5, "macro 2");
  expect_values({0.880471}, run(Avg::kWeighted, 0.5, std::nullopt, kTrue6, kPred6, 3), 1e-5, "weighted 0.5");
  expect_values({0.844445}, run(Avg::kWeighted, 1.0, std::nullopt, kTrue6, kPred6, 3), 1e-5, "weighted 1");
  expect_values({0.829365}, run(Avg::kWeighted, 2.0, std::nullopt, kTrue6, kPred6, 3), 1e-5, "weighted 2");
}

TEST(FBetaScore, KerasWeightedRandomScore) {
  // test_fbeta_weighted_random_score_none: (average, beta, sample_weights, result).
  struct Row {
    Avg avg;
    double beta;
    std::vector<double> w;
    std::vector<double> expected;
  };
  const std::vector<double> ones = {1, 1, 1, 1, 1, 1};
  const std::vector<double> mask = {1, 0, 1, 1, 0, 1};
  const std::vector<double> half = {0.5, 1, 1, 1, 0.5, 1};
  const std::vector<Row> rows = {
      {Avg::kNone, 0.5, ones, {0.909091, 0.555556, 1.0}},
      {Avg::kNone, 0.5, mask, {1.0, 0.0, 1.0}},
      {Avg::kNone, 0.5, half, {0.9375, 0.714286, 1.0}},
      {Avg::kNone, 1.0, ones, {0.8, 0.666667, 1.0}},
      {Avg::kNone, 1.0, mask, {1.0, 0.0, 1.0}},
      {Avg::kNone, 1.0, half, {0.857143, 0.8, 1.0}},
      {Avg::kNone, 2.0, ones, {0.714286, 0.833333, 1.0}},
      {Avg::kNone, 2.0, mask, {1.0, 0.0, 1.0}},
      {Avg::kNone, 2.0, half, {0.789474, 0.909091, 1.0}},
      {Avg::kMicro, 0.5, ones, {0.833333}},
      {Avg::kMicro, 0.5, mask, {1.0}},
      {Avg::kMicro, 0.5, half, {0.9}},
      {Avg::kMicro, 1.0, ones, {0.833333}},
      {Avg::kMicro, 1.0, mask, {1.0}},
      {Avg::kMicro, 1.0, half, {0.9}},
      {Avg::kMicro, 2.0, ones, {0.833333}},
      {Avg::kMicro, 2.0, mask, {1.0}},
      {Avg::kMicro, 2.0, half, {0.9}},
      {Avg::kMacro, 0.5, ones, {0.821549}},
      {Avg::kMacro, 0.5, mask, {0.666667}},
      {Avg::kMacro, 0.5, half, {0.883929}},
      {Avg::kMacro, 1.0, ones, {0.822222}},
      {Avg::kMacro, 1.0, mask, {0.666667}},
      {Avg::kMacro, 1.0, half, {0.885714}},
      {Avg::kMacro, 2.0, ones, {0.849206}},
      {Avg::kMacro, 2.0, mask, {0.666667}},
      {Avg::kMacro, 2.0, half, {0.899522}},
      {Avg::kWeighted, 0.5, ones, {0.880471}},
      {Avg::kWeighted, 0.5, mask, {1.0}},
      {Avg::kWeighted, 0.5, half, {0.917857}},
      {Avg::kWeighted, 1.0, ones, {0.844444}},
      {Avg::kWeighted, 1.0, mask, {1.0}},
      {Avg::kWeighted, 1.0, half, {0.902857}},
      {Avg::kWeighted, 2.0, ones, {0.829365}},
      {Avg::kWeighted, 2.0, mask, {1.0}},
      {Avg::kWeighted, 2.0, half, {0.897608}},
  };
  for (const Row& r : rows) {
    expect_values(r.expected, run(r.avg, r.beta, std::nullopt, kTrue6, kPred6, 3, r.w), 1e-5,
                  "beta " + std::to_string(r.beta));
  }
}

TEST(FBetaScore, KerasScalarAnd2dWeights) {
  const std::vector<double> y_true = {1, 1, 1, 0};
  const std::vector<double> y_pred = {0.2, 0.6, 0.2, 0.6};
  // test_fbeta_scalar_weight: a scalar weight multiplies every element.
  const std::vector<double> scalar = {0.5};
  expect_values({0.0, 0.6666665}, run(Avg::kNone, 1.0, 0.5, y_true, y_pred, 2, TensorView(scalar, {})), 1e-5,
                "scalar weight");
  // test_fbeta_2d_weight: a weight per element.
  const std::vector<double> w2 = {0.5, 0.2, 0.3, 0.8};
  expect_values({0.0, 0.333333}, run(Avg::kNone, 1.0, 0.5, y_true, y_pred, 2, TensorView(w2, {2, 2})), 1e-5,
                "2d weight");
}

TEST(FBetaScore, KerasDocstringExamples) {
  // FBetaScore and F1Score class docstrings (threshold 0.5).
  const std::vector<double> y_true = {1, 1, 1, 1, 0, 0, 1, 1, 0};
  const std::vector<double> y_pred = {0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0};
  expect_values({0.3846154, 0.90909094, 0.8333334}, run(Avg::kNone, 2.0, 0.5, y_true, y_pred, 3), 1e-6, "fbeta");
  F1Score f1(Avg::kNone, 0.5);
  f1.update_state(TensorView(y_true, {3, 3}), TensorView(y_pred, {3, 3}));
  expect_values({0.5, 0.8, 0.6666667}, f1.result().to_doubles(), 1e-6, "f1");
}

TEST(F1Score, KerasCorrectnessEqualsFBetaOne) {
  // F1ScoreTest.test_correctness.
  F1Score f1;
  FBetaScore fbeta(Avg::kNone, 1.0);
  f1.update_state(TensorView(kTrue6, {6, 3}), TensorView(kPred6, {6, 3}));
  fbeta.update_state(TensorView(kTrue6, {6, 3}), TensorView(kPred6, {6, 3}));
  EXPECT_EQ(f1.result().to_doubles(), fbeta.result().to_doubles());
  EXPECT_EQ(f1.class_name(), "F1Score");
  EXPECT_EQ(f1.name(), "f1_score");
  EXPECT_EQ(fbeta.name(), "fbeta_score");
}

TEST(FBetaScore, ConfigKeysAndRoundTrip) {
  // test_config: FBetaScore(beta=0.5, threshold=0.3, average=None).
  FBetaScore m(Avg::kNone, 0.5, 0.3);
  EXPECT_EQ(
      m.get_config(),
      (Json{{"name", "fbeta_score"}, {"dtype", "float32"}, {"average", nullptr}, {"beta", 0.5}, {"threshold", 0.3}}));
  const auto rebuilt = get(serialize(m));
  EXPECT_EQ(rebuilt->get_config(), m.get_config());
  // F1ScoreTest.test_config: no beta key.
  F1Score f1(Avg::kMacro);
  EXPECT_EQ(f1.get_config(),
            (Json{{"name", "f1_score"}, {"dtype", "float32"}, {"average", "macro"}, {"threshold", nullptr}}));
  EXPECT_THROW(F1Score::from_config(Json{{"beta", 1.0}}), ConfigError);  // F1Score has no beta
  // The tally extension key appears only when given.
  FBetaScore fixed(Avg::kWeighted, 2.0, std::nullopt, "f", DType::kFloat64, 4);
  EXPECT_EQ(fixed.get_config()["num_classes"], 4);
  EXPECT_EQ(get(serialize(fixed))->get_config(), fixed.get_config());
  EXPECT_EQ(get("f_beta_score")->class_name(), "FBetaScore");
  EXPECT_EQ(get("fbeta_score")->class_name(), "FBetaScore");
  EXPECT_EQ(get("f1_score")->class_name(), "F1Score");
  EXPECT_EQ(get("f1_score")->direction(), Direction::kHigherIsBetter);
}

TEST(FBetaScore, ConfigErrors) {
  // test_invalid_average_raises_value_error
  EXPECT_THROW(FBetaScore::from_config(Json{{"average", "invalid_average"}}), ConfigError);
  try {
    FBetaScore::from_config(Json{{"average", "invalid_average"}});
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("`average`"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("invalid_average"), std::string::npos) << e.what();
  }
  // test_beta_zero / negative_one / negative_half
  for (const double beta : {0.0, -1.0, -0.5, std::nan("")}) {
    EXPECT_THROW(FBetaScore(Avg::kMacro, beta), InvalidArgument) << beta;
  }
  EXPECT_THROW(FBetaScore::from_config(Json{{"beta", 0.0}}), InvalidArgument);
  EXPECT_THROW(FBetaScore::from_config(Json{{"beta", "1.0"}}), ConfigError);  // test_beta_string_type
  // test_threshold_above_one / zero / negative
  for (const double t : {1.1, 0.0, -0.5}) EXPECT_THROW(FBetaScore(Avg::kMacro, 1.0, t), InvalidArgument) << t;
  EXPECT_NO_THROW(FBetaScore(Avg::kMacro, 1.0, 1.0));                              // threshold 1 is allowed
  EXPECT_THROW(FBetaScore::from_config(Json{{"threshold", "0.5"}}), ConfigError);  // test_threshold_string
  EXPECT_THROW(FBetaScore::from_config(Json{{"thresholds", 0.5}}), ConfigError);   // unknown key
  EXPECT_THROW(FBetaScore(Avg::kNone, 1.0, std::nullopt, "f", DType::kFloat32, 0), InvalidArgument);
  try {
    FBetaScore(Avg::kMacro, 1.0, 1.1);
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("`threshold`"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1.1"), std::string::npos) << e.what();
  }
}

TEST(FBetaScore, InputShapeErrors) {
  // test_non_2d_input_shapes_raises_value_error
  FBetaScore m;
  const std::vector<double> v(24, 0.5);
  EXPECT_THROW(m.update_state(TensorView(v, {2, 3, 4}), TensorView(v, {2, 3, 4})), ShapeError);
  EXPECT_THROW(m.update_state(TensorView(v, {24}), TensorView(v, {24})), ShapeError);
  EXPECT_THROW(m.update_state(TensorView(v, {4, 6}), TensorView(v, {6, 4})), ShapeError);
  const std::vector<double> w(5, 1.0);
  EXPECT_THROW(m.update_state(TensorView(v, {4, 6}), TensorView(v, {4, 6}), w), ShapeError);
}

TEST(FBetaScore, FirstBatchFixesTheClassCount) {
  FBetaScore m;
  EXPECT_EQ(m.result().shape(), Shape{0});  // nothing seen, no class count yet
  EXPECT_TRUE(m.to_vector().empty());
  const std::vector<double> y3 = {1, 0, 0, 0, 1, 0};
  const std::vector<double> p3 = {0.9, 0.1, 0.0, 0.2, 0.7, 0.1};
  FBetaScore built;
  built.update_state(TensorView(y3, {2, 3}), TensorView(p3, {2, 3}));
  EXPECT_EQ(built.to_vector().size(), 12u);
  EXPECT_THROW(m.merge_state(built), StateError);  // layouts differ before the first update
  m.update_state(TensorView(y3, {2, 3}), TensorView(p3, {2, 3}));
  EXPECT_NO_THROW(m.merge_state(built));
  const std::vector<double> y4(8, 0.0);
  const auto before = m.to_vector();
  try {
    m.update_state(TensorView(y4, {2, 4}), TensorView(y4, {2, 4}));
    ADD_FAILURE() << "a batch with another class count was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("fixed the number of classes at 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(before, m.to_vector());
  m.reset_state();  // keeps C, as Keras keeps built variables
  EXPECT_EQ(m.to_vector(), std::vector<double>(12, 0.0));
  // A built metric equals one constructed with num_classes: they merge.
  FBetaScore fixed(Avg::kNone, 1.0, std::nullopt, "fbeta_score", DType::kFloat32, 3);
  EXPECT_NO_THROW(fixed.merge_state(built));
  EXPECT_THROW(fixed.update_state(TensorView(y4, {2, 4}), TensorView(y4, {2, 4})), ShapeError);
  // Micro keeps scalars: any class count, any order.
  FBetaScore micro(Avg::kMicro);
  micro.update_state(TensorView(y3, {2, 3}), TensorView(p3, {2, 3}));
  micro.update_state(TensorView(y4, {2, 4}), TensorView(y4, {2, 4}));
  EXPECT_EQ(micro.to_vector().size(), 4u);
}

TEST(FBetaScore, BinarisationRules) {
  // Ties with the row max all count; an all-zero row predicts nothing (|p| > 1e-9 guard).
  const std::vector<double> y_true = {1, 0, 1, 0, 0, 1};
  const std::vector<double> y_pred = {0.5, 0.5, 0.0, 0.0, 0.0, 0.0};
  FBetaScore m(Avg::kNone);
  m.update_state(TensorView(y_true, {2, 3}), TensorView(y_pred, {2, 3}));
  const Variables& v = m.variable_values();
  EXPECT_EQ(std::vector<double>(v.f64(0).begin(), v.f64(0).end()), (std::vector<double>{1, 0, 0}));  // tp
  EXPECT_EQ(std::vector<double>(v.f64(1).begin(), v.f64(1).end()), (std::vector<double>{0, 1, 0}));  // fp
  EXPECT_EQ(std::vector<double>(v.f64(2).begin(), v.f64(2).end()), (std::vector<double>{0, 0, 2}));  // fn
  // A threshold is strict, compared after rounding to the metric dtype (float32 here).
  const std::vector<double> one = {1.0};
  const std::vector<double> at = {0.5 + 1e-12};
  FBetaScore f32(Avg::kMicro, 1.0, 0.5);
  f32.update_state(TensorView(one, {1, 1}), TensorView(at, {1, 1}));
  EXPECT_EQ(f32.variable_values().f64(0)[0], 0.0);  // 0.5 + 1e-12 rounds to 0.5f: not > 0.5
  FBetaScore f64(Avg::kMicro, 1.0, 0.5, "f", DType::kFloat64);
  f64.update_state(TensorView(one, {1, 1}), TensorView(at, {1, 1}));
  EXPECT_EQ(f64.variable_values().f64(0)[0], 1.0);
  // Soft labels contribute fractionally.
  const std::vector<double> soft = {0.3, 0.7};
  const std::vector<double> pred = {0.9, 0.1};
  FBetaScore s(Avg::kNone, 1.0, 0.5);
  s.update_state(TensorView(soft, {1, 2}), TensorView(pred, {1, 2}));
  EXPECT_DOUBLE_EQ(s.variable_values().f64(0)[0], 0.3);  // tp
  EXPECT_DOUBLE_EQ(s.variable_values().f64(1)[0], 0.7);  // fp
  EXPECT_DOUBLE_EQ(s.variable_values().f64(2)[1], 0.7);  // fn
  EXPECT_DOUBLE_EQ(s.variable_values().f64(3)[1], 0.7);  // support
}

TEST(FBetaScore, NaNInputsAreRejectedWithoutChangingState) {
  FBetaScore m(Avg::kMacro, 1.0, std::nullopt, "f", DType::kFloat32, 2);
  const std::vector<double> y = {1, 0, 0, 1};
  const std::vector<double> p = {0.9, 0.1, 0.2, 0.8};
  m.update_state(TensorView(y, {2, 2}), TensorView(p, {2, 2}));
  const auto before = m.to_vector();
  const std::vector<double> bad = {0.9, std::nan(""), 0.2, 0.8};
  EXPECT_THROW(m.update_state(TensorView(y, {2, 2}), TensorView(bad, {2, 2})), InvalidArgument);
  EXPECT_THROW(m.update_state(TensorView(bad, {2, 2}), TensorView(p, {2, 2})), InvalidArgument);
  EXPECT_EQ(before, m.to_vector());
}

TEST(FBetaScore, StridedAndTypedInputs) {
  // float32 scores, int64 labels, and a transposed (strided) view give the same counts.
  const std::vector<float> pf = {0.9f, 0.2f, 0.1f, 0.8f};
  const std::vector<std::int64_t> yi = {1, 0, 0, 1};
  FBetaScore a(Avg::kNone);
  a.update_state(TensorView(yi, {2, 2}), TensorView(pf, {2, 2}));
  // The same data stored column-major and viewed with strides.
  const std::vector<float> pt = {0.9f, 0.1f, 0.2f, 0.8f};
  FBetaScore b(Avg::kNone);
  b.update_state(TensorView(yi, {2, 2}), TensorView(pt.data(), DType::kFloat32, {2, 2}, {1, 2}));
  EXPECT_EQ(a.to_vector(), b.to_vector());
  expect_values({1.0, 1.0}, a.result().to_doubles(), 1e-6, "perfect argmax");
}

TEST(FBetaScore, ConvertedInputTypes) {
  // Integer predictions, float64 scores under a float32 metric, and bool labels all take the
  // converting path and agree with the same values given as float32.
  const std::vector<std::int32_t> pi = {1, 0, 0, 1, 1, 0};
  const std::vector<float> pf = {1, 0, 0, 1, 1, 0};
  const std::vector<float> yf = {1, 0, 0, 1, 0, 1};
  bool yb[6] = {true, false, false, true, false, true};
  FBetaScore a(Avg::kNone, 1.0, 0.5);
  a.update_state(TensorView(yf, {3, 2}), TensorView(pf, {3, 2}));
  FBetaScore b(Avg::kNone, 1.0, 0.5);
  b.update_state(TensorView(yb, DType::kBool, {3, 2}), TensorView(pi, {3, 2}));
  EXPECT_EQ(a.to_vector(), b.to_vector());
  EXPECT_EQ(a.to_vector(), (std::vector<double>{1, 1, 1, 0, 0, 1, 1, 2}));  // tp, fp, fn, support
  // float16 dtype: 0.5002 rounds to 0.5 in binary16 (spacing 2^-11), so it is not above the threshold.
  const std::vector<double> near = {0.5002};
  const std::vector<double> one = {1.0};
  FBetaScore h(Avg::kMicro, 1.0, 0.5, "h", DType::kFloat16);
  h.update_state(TensorView(one, {1, 1}), TensorView(near, {1, 1}));
  EXPECT_EQ(h.variable_values().f64(0)[0], 0.0);
  FBetaScore s(Avg::kMicro, 1.0, 0.5);
  s.update_state(TensorView(one, {1, 1}), TensorView(near, {1, 1}));
  EXPECT_EQ(s.variable_values().f64(0)[0], 1.0);
}

// --- scikit-learn fixtures ------------------------------------------------------------

Json load_fixtures() {
  std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/f_score_iou.json");
  EXPECT_TRUE(in.good()) << "missing fixture file; run tests/fixtures/gen_f_score_iou.py";
  return Json::parse(in);
}

TEST(FBetaScore, MatchesScikitLearn) {
  const Json all = load_fixtures();
  const Json& fx = all["f_score"];
  int checked = 0;
  for (const Json& c : fx["cases"]) {
    const Json& d = fx["datasets"][c["dataset"].get<std::size_t>()];
    const std::int64_t n = d["n"];
    const std::int64_t k = d["classes"];
    const auto y_true = d["y_true"].get<std::vector<double>>();
    const auto y_pred = d["y_pred"].get<std::vector<double>>();
    const auto weights = d["sample_weight"].get<std::vector<double>>();
    const double beta = c["beta"];
    const std::optional<double> threshold =
        c["threshold"].is_null() ? std::nullopt : std::optional<double>(c["threshold"].get<double>());
    const bool weighted = c["weighted"];
    const std::string what = "dataset " + c["dataset"].dump() + " beta " + std::to_string(beta) + " threshold " +
                             c["threshold"].dump() + (weighted ? " weighted" : "");
    for (const auto& [key, avg] : std::vector<std::pair<std::string, Avg>>{
             {"none", Avg::kNone}, {"micro", Avg::kMicro}, {"macro", Avg::kMacro}, {"weighted", Avg::kWeighted}}) {
      FBetaScore m(avg, beta, threshold);
      m.update_state(TensorView(y_true, {n, k}), TensorView(y_pred, {n, k}),
                     weighted ? TensorView(weights) : TensorView());
      const std::vector<double> expected =
          avg == Avg::kNone ? c["f"][key].get<std::vector<double>>() : std::vector<double>{c["f"][key].get<double>()};
      // Keras's 1e-7 epsilons are the only difference from scikit-learn.
      expect_values(expected, m.result().to_doubles(), 2e-6, what + " average " + key);
      ++checked;
    }
    // Per-class precision and recall from the state.
    FBetaScore m(Avg::kNone, beta, threshold);
    m.update_state(TensorView(y_true, {n, k}), TensorView(y_pred, {n, k}),
                   weighted ? TensorView(weights) : TensorView());
    const Variables& v = m.variable_values();
    const auto precision = c["precision"].get<std::vector<double>>();
    const auto recall = c["recall"].get<std::vector<double>>();
    for (std::size_t j = 0; j < precision.size(); ++j) {
      const double tp = v.f64(0)[j];
      const double fp = v.f64(1)[j];
      const double fn = v.f64(2)[j];
      EXPECT_NEAR(precision[j], tp + fp > 0 ? tp / (tp + fp) : 0.0, 1e-12) << what;
      EXPECT_NEAR(recall[j], tp + fn > 0 ? tp / (tp + fn) : 0.0, 1e-12) << what;
    }
  }
  EXPECT_EQ(checked, 54 * 4);
}

// --- property harness ---------------------------------------------------------------

// One-hot labels (multi-class) or independent 0/1 labels (multi-label) for N x C.
Tensor labels(std::int64_t n, std::int64_t c, bool multilabel, std::uint64_t seed) {
  Tensor t(DType::kFloat32, {n, c});
  std::mt19937_64 rng(seed);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t hot = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(c));
    for (std::int64_t j = 0; j < c; ++j) {
      t.data_as<float>()[i * c + j] = multilabel ? static_cast<float>(rng() & 1u) : (j == hot ? 1.0f : 0.0f);
    }
  }
  return t;
}

TEST(FBetaScore, PassesPropertyHarness) {
  const std::int64_t n = 97;
  for (const Avg avg : {Avg::kNone, Avg::kMicro, Avg::kMacro, Avg::kWeighted}) {
    for (const bool weighted : {false, true}) {
      for (const bool multilabel : {false, true}) {
        testing::HarnessCase c;
        const std::optional<double> threshold = multilabel ? std::optional<double>(0.4) : std::nullopt;
        c.factory = [avg, threshold] {
          return std::make_unique<FBetaScore>(avg, 2.0, threshold, "fbeta_score", DType::kFloat32, 5);
        };
        c.y_true = labels(n, 5, multilabel, 11);
        c.y_pred = testing::random_uniform({n, 5}, 12, 0.0, 1.0, DType::kFloat32);
        if (weighted) c.sample_weight = testing::random_uniform({n}, 13, 0.0, 2.0);
        c.names = {"FBetaScore", "f_beta_score", "fbeta_score"};
        SCOPED_TRACE(std::string("average ") + f_score_average_to_json(avg).dump() + (weighted ? " weighted" : "") +
                     (multilabel ? " multilabel" : " multiclass"));
        testing::check_metric_properties(c);
      }
    }
  }
}

TEST(F1Score, PassesPropertyHarness) {
  testing::HarnessCase c;
  c.factory = [] {
    return std::make_unique<F1Score>(FScoreAverage::kWeighted, std::nullopt, "f1_score", DType::kFloat32, 10);
  };
  c.y_true = labels(120, 10, false, 21);
  c.y_pred = testing::random_uniform({120, 10}, 22, 0.0, 1.0, DType::kFloat32);
  c.sample_weight = testing::random_uniform({120}, 23, 0.0, 1.0);
  c.names = {"F1Score", "f1_score"};
  testing::check_metric_properties(c);
}

TEST(FBetaScore, LazyClassCountIsBatchAndThreadInvariant) {
  // Without num_classes the harness's from_vector-on-a-fresh-metric step cannot apply, so
  // check splits, merges of built shards and thread counts directly.
  const Tensor y = labels(3000, 7, true, 31);
  const Tensor p = testing::random_uniform({3000, 7}, 32, 0.0, 1.0, DType::kFloat32);
  FBetaScore once(Avg::kNone, 1.0, 0.5);
  once.update_state(y, p);
  FBetaScore split(Avg::kNone, 1.0, 0.5);
  FBetaScore other(Avg::kNone, 1.0, 0.5);
  split.update_state(y.view().slice_rows(0, 1234), p.view().slice_rows(0, 1234));
  other.update_state(y.view().slice_rows(1234, 3000), p.view().slice_rows(1234, 3000));
  split.merge_state(other);
  testing::expect_close(once.result(), split.result(), 1e-12, "split and merged");
  const Tensor yb = testing::repeat_rows(y, 40);
  const Tensor pb = testing::repeat_rows(p, 40);
  set_num_threads(1);
  FBetaScore one(Avg::kNone, 1.0, 0.5);
  one.update_state(yb, pb);
  set_num_threads(2);
  FBetaScore two(Avg::kNone, 1.0, 0.5);
  two.update_state(yb, pb);
  set_num_threads(0);
  EXPECT_EQ(one.to_vector(), two.to_vector());
}

// --- integer labels, counted from the ids --------------------------------------------

// Class ids [N] as a float32 one-hot [N, C]: the rows the metric counted integer labels as
// before it counted the ids directly; every id-path state must equal the state of these rows.
Tensor one_hot(const std::vector<std::int64_t>& ids, std::int64_t classes) {
  const auto n = static_cast<std::int64_t>(ids.size());
  Tensor t(DType::kFloat32, {n, classes});
  float* o = t.data_as<float>();
  std::fill(o, o + n * classes, 0.0f);
  for (std::int64_t i = 0; i < n; ++i) o[i * classes + ids[static_cast<std::size_t>(i)]] = 1.0f;
  return t;
}

using testing::id_tensor;
using testing::random_id_pair;
using testing::random_ids;
using testing::tied_scores;

TEST(FBetaScore, IntegerLabelsGiveTheOneHotState) {
  // Widths on both sides of the cell-table path (C <= 64), rows over several chunks of
  // 2^15 / C rows, weights of every accepted shape (non-dyadic, so a different addition
  // order would show), ids of several dtypes, predicted ids and float32/float64 scores.
  const DType truth_dtypes[] = {DType::kInt32, DType::kInt64, DType::kUInt8, DType::kFloat32, DType::kFloat64};
  int checked = 0;
  for (const std::int64_t c : {1, 3, 10, 100}) {
    const std::int64_t n = c == 100 ? 1000 : 12011;
    const std::vector<std::int64_t> truth = random_ids(n, c, 7 + static_cast<std::uint64_t>(c));
    std::vector<std::int64_t> argmax;
    const std::vector<float> scores = tied_scores(n, c, 11, argmax);
    const std::vector<double> scores64(scores.begin(), scores.end());
    const std::vector<std::int64_t> pred_ids = random_ids(n, c, 13);
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> u(0.0, 3.0);
    std::vector<double> w_rows(static_cast<std::size_t>(n)), w_cells(static_cast<std::size_t>(n * c));
    for (auto& x : w_rows) x = u(rng);
    for (auto& x : w_cells) x = u(rng);
    const double w_scalar = 0.3;
    const std::vector<TensorView> weights = {TensorView(), TensorView(w_rows), TensorView(w_rows, {n, 1}),
                                             TensorView(&w_scalar, DType::kFloat64, {}, {}),
                                             TensorView(w_cells, {n, c})};
    for (std::size_t wi = 0; wi < weights.size(); ++wi) {
      for (int pred_form = 0; pred_form < 3; ++pred_form) {
        const Tensor ids = id_tensor(truth, truth_dtypes[(wi + static_cast<std::size_t>(pred_form)) % 5]);
        const Tensor pred_id_tensor = id_tensor(pred_ids, DType::kInt32);
        const TensorView pred = pred_form == 0   ? TensorView(scores, {n, c})
                                : pred_form == 1 ? TensorView(scores64, {n, c})
                                                 : pred_id_tensor.view();
        const Tensor truth_rows = one_hot(truth, c);
        const Tensor pred_rows = one_hot(pred_form == 2 ? pred_ids : argmax, c);
        for (const Avg avg : {Avg::kNone, Avg::kMicro}) {
          FBetaScore direct(avg, 2.0, std::nullopt, "f", DType::kFloat32, c);
          FBetaScore rows(avg, 2.0, std::nullopt, "f", DType::kFloat32, c);
          direct.update_state(ids.view(), pred, weights[wi]);
          rows.update_state(truth_rows.view(), pred_rows.view(), weights[wi]);
          EXPECT_EQ(direct.to_vector(), rows.to_vector()) << "C " << c << " weight " << wi << " pred " << pred_form;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 5 * 3 * 2);
}

TEST(F1Score, IntegerLabelsWithThresholdsAndColumnForms) {
  // Predicted ids under a threshold are one-hot rows thresholded: positive unless the
  // threshold, rounded to the metric dtype, reaches 1 (0.9999 does in float16). Scores
  // with a threshold stay on the one-hot path; [N, 1] ids squeeze to [N].
  const std::int64_t n = 5000, c = 4;
  const std::vector<std::int64_t> truth = random_ids(n, c, 3);
  const std::vector<std::int64_t> pred = random_ids(n, c, 5);
  const Tensor t = id_tensor(truth, DType::kInt64);
  const Tensor p = id_tensor(pred, DType::kUInt8);
  for (const DType dt : {DType::kFloat32, DType::kFloat16}) {
    for (const double threshold : {0.5, 0.9999, 1.0}) {
      F1Score direct(Avg::kNone, threshold, "f", dt, c);
      F1Score rows(Avg::kNone, threshold, "f", dt, c);
      direct.update_state(t.view().expand_dims(1), p.view().expand_dims(1));
      rows.update_state(one_hot(truth, c).view(), one_hot(pred, c).view());
      EXPECT_EQ(direct.to_vector(), rows.to_vector()) << dtype_name(dt) << " threshold " << threshold;
      const double predicted = direct.variable_values().f64(0)[0] + direct.variable_values().f64(1)[0];
      EXPECT_EQ(predicted > 0.0, threshold < 1.0 && !(dt == DType::kFloat16 && threshold == 0.9999));
    }
  }
  std::vector<std::int64_t> argmax;
  const std::vector<float> scores = tied_scores(n, c, 9, argmax);
  F1Score direct(Avg::kMacro, 0.5, "f", DType::kFloat32, c);
  F1Score rows(Avg::kMacro, 0.5, "f", DType::kFloat32, c);
  direct.update_state(t.view(), TensorView(scores, {n, c}));
  rows.update_state(one_hot(truth, c).view(), TensorView(scores, {n, c}));
  EXPECT_EQ(direct.to_vector(), rows.to_vector());
}

TEST(F1Score, IntegerLabelsAreBatchSplitInvariant) {
  // Unweighted counts, and dyadic weights (sums exact in any order), do not depend on how
  // the rows are split into batches.
  const std::int64_t n = 40000, c = 10;
  const std::vector<std::int64_t> truth = random_ids(n, c, 21);
  std::vector<std::int64_t> argmax;
  const std::vector<float> scores = tied_scores(n, c, 23, argmax);
  std::vector<double> w(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<double>(i % 7) / 4.0;
  const Tensor t = id_tensor(truth, DType::kInt32);
  for (const bool weighted : {false, true}) {
    F1Score whole(Avg::kNone, std::nullopt, "f", DType::kFloat32, c);
    whole.update_state(t.view(), TensorView(scores, {n, c}), weighted ? TensorView(w) : TensorView());
    F1Score split(Avg::kNone, std::nullopt, "f", DType::kFloat32, c);
    const std::int64_t cuts[] = {0, 1, 9000, 33333, n};
    for (int k = 0; k + 1 < 5; ++k) {
      const std::int64_t b = cuts[k], e = cuts[k + 1];
      split.update_state(TensorView(t.data_as<std::int32_t>() + b, DType::kInt32, {e - b}, {1}),
                         TensorView(scores.data() + b * c, DType::kFloat32, {e - b, c}, {c, 1}),
                         weighted ? TensorView(w.data() + b, DType::kFloat64, {e - b}, {1}) : TensorView());
    }
    EXPECT_EQ(whole.to_vector(), split.to_vector()) << (weighted ? "weighted" : "unweighted");
  }
}

TEST(F1Score, IntegerLabelsAreCountedWithoutOneHotRows) {
  // Under a 1 MiB memory limit, ids of 10 classes (the cell-table path) and of 100 classes
  // are counted (their one-hot rows would be 1.6 and 8 MB of scratch); scores with a
  // threshold still take the one-hot rows and are refused.
  for (const std::int64_t c : {10, 100}) {
    const std::int64_t n = c == 10 ? 40000 : 20000;
    const std::vector<std::int64_t> truth = random_ids(n, c, 31);
    const std::vector<std::int64_t> pred = random_ids(n, c, 37);
    const std::vector<float> scores(static_cast<std::size_t>(n * c), 0.5f);
    set_memory_limit(std::int64_t{1} << 20);
    F1Score m(Avg::kNone, std::nullopt, "f", DType::kFloat32, c);
    m.update_state(TensorView(truth), TensorView(pred));
    m.update_state(TensorView(truth), TensorView(scores, {n, c}));  // all ties: class 0 predicted
    F1Score thresholded(Avg::kNone, 0.4, "f", DType::kFloat32, c);
    EXPECT_THROW(thresholded.update_state(TensorView(truth), TensorView(scores, {n, c})), InvalidArgument);
    set_memory_limit(0);
    double support = 0.0;
    for (std::int64_t k = 0; k < c; ++k) support += m.variable_values().f64(3)[static_cast<std::size_t>(k)];
    EXPECT_EQ(support, 2.0 * static_cast<double>(n)) << c;
    EXPECT_EQ(m.variable_values().f64(0)[0] + m.variable_values().f64(1)[0],
              static_cast<double>(n + std::count(pred.begin(), pred.end(), 0)))
        << c;
  }
}

TEST(F1Score, Int32IdsOnBothSidesGiveTheOneHotStateAndRefuseABadIdAnywhere) {
  // Unweighted int32 ids against int32 predicted ids of up to 16 classes are counted 64 rows at
  // a time by byte compares on AVX-512 (class_outcomes, row_argmax.h), the rest of a chunk by the
  // cell table: widths of that path and one past it, two chunks (65536 rows) and a ragged end,
  // and a bad id inside the byte-counted rows or in the ragged end.
  for (const std::int64_t c : {2, 10, 16, 17}) {
    const std::int64_t n = 70000;
    const auto [truth, pred, t, p] = random_id_pair(n, c, 41, 43);
    F1Score direct(Avg::kNone, std::nullopt, "f", DType::kFloat32, c);
    F1Score rows(Avg::kNone, std::nullopt, "f", DType::kFloat32, c);
    direct.update_state(t.view(), p.view());
    rows.update_state(one_hot(truth, c).view(), one_hot(pred, c).view());
    const std::vector<double> state = direct.to_vector();
    ASSERT_EQ(state, rows.to_vector()) << "C " << c;
    const std::pair<std::int64_t, std::int64_t> bad_ids[] = {{100, c}, {100, -1}, {100, 300}, {n - 1, c}};
    for (const auto& [at, bad] : bad_ids) {
      std::vector<std::int64_t> wrong = pred;
      wrong[static_cast<std::size_t>(at)] = bad;
      const Tensor q = id_tensor(wrong, DType::kInt32);
      try {
        direct.update_state(t.view(), q.view());
        ADD_FAILURE() << "no error for " << bad << " at " << at;
      } catch (const InvalidArgument& e) {
        EXPECT_EQ(std::string(e.what()), "F1Score \"f\": argument `y_pred` must hold class ids in [0, " +
                                             std::to_string(c) + "); received " + std::to_string(bad) +
                                             " at position " + std::to_string(at));
      }
      EXPECT_EQ(direct.to_vector(), state);
    }
  }
}

TEST(F1Score, BadIntegerLabelsLeaveTheStateUnchanged) {
  const std::int64_t c = 3;
  F1Score m(Avg::kNone, std::nullopt, "f", DType::kFloat32, c);
  const std::vector<std::int32_t> good = {0, 1, 2, 1};
  const std::vector<float> scores = {0.9f, 0.1f, 0, 0, 1, 0, 0, 0.2f, 0.7f, 0.5f, 0.5f, 0};
  m.update_state(TensorView(good), TensorView(scores, {4, c}));
  const std::vector<double> before = m.to_vector();
  EXPECT_EQ(before, (std::vector<double>{1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 2, 1}));  // tp, fp, fn, support
  auto expect_error = [&](const TensorView& y_true, const TensorView& y_pred, const std::string& message) {
    try {
      m.update_state(y_true, y_pred);
      ADD_FAILURE() << "no error for " << message;
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
    EXPECT_EQ(m.to_vector(), before) << message;
  };
  const std::vector<std::int64_t> high = {0, 1, 3, 1};
  const std::vector<double> fractional = {0, 1.5, 2, 1};
  const std::vector<std::int64_t> negative = {0, 1, 2, -1};
  expect_error(TensorView(high), TensorView(scores, {4, c}),
               "F1Score \"f\": argument `y_true` must hold class ids in [0, 3); received 3 at position 2");
  expect_error(TensorView(fractional), TensorView(scores, {4, c}),
               "F1Score \"f\": argument `y_true` must hold class ids in [0, 3); received 1.5 at position 1");
  expect_error(TensorView(good), TensorView(negative),
               "F1Score \"f\": argument `y_pred` must hold class ids in [0, 3); received -1 at position 3");
  std::vector<float> nan_scores = scores;
  nan_scores[7] = std::nanf("");
  try {
    m.update_state(TensorView(good), TensorView(nan_scores, {4, c}));
    ADD_FAILURE() << "no error for a NaN score";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m.to_vector(), before);
  // A scalar y_pred is refused as before (the one-hot path's shape error).
  const float scalar = 1.0f;
  EXPECT_THROW(m.update_state(TensorView(good), TensorView(&scalar, DType::kFloat32, {}, {})), ShapeError);
  EXPECT_EQ(m.to_vector(), before);
  // A wide table (C > 64) validates in its own loop.
  F1Score wide(Avg::kNone, std::nullopt, "f", DType::kFloat32, 100);
  const std::vector<std::int64_t> wide_bad = {5, 100};
  const std::vector<std::int64_t> wide_good = {5, 7};
  try {
    wide.update_state(TensorView(wide_good), TensorView(wide_bad), TensorView(std::vector<double>{1.0, 2.0}));
    ADD_FAILURE() << "no error for id 100 of 100 classes";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "F1Score \"f\": argument `y_pred` must hold class ids in [0, 100); received 100 at position 1");
  }
  EXPECT_EQ(wide.to_vector(), std::vector<double>(400, 0.0));
}

// The description comes from each class's spec; F1Score has no beta.
TEST(F1Score, DescribedFromItsSpec) {
  auto keys = [](const Json& d) {
    std::vector<std::string> out;
    for (const Json& o : d["options"]) out.push_back(o["key"].get<std::string>());
    return out;
  };
  const Json f1 = describe("f1_score");
  EXPECT_EQ(keys(f1), (std::vector<std::string>{"average", "threshold", "name", "dtype", "num_classes"}));
  EXPECT_EQ(f1["options"][0]["nullable"], true);
  EXPECT_TRUE(f1["options"][0]["default"].is_null());
  EXPECT_EQ(f1["options"][0]["choices"], Json::parse(R"(["micro", "macro", "weighted"])"));
  EXPECT_EQ(f1["options"][1]["rule"], "in (0, 1]");
  const Json fbeta = describe("fbeta_score");
  EXPECT_EQ(keys(fbeta), (std::vector<std::string>{"average", "beta", "threshold", "name", "dtype", "num_classes"}));
  EXPECT_EQ(fbeta["options"][1]["rule"], "> 0 and finite");
}

}  // namespace
}  // namespace tally::metrics
