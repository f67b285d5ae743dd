// The accuracy family. Keras reference values are re-typed from
// keras/src/metrics/accuracy_metrics_test.py (Keras 3); scikit-learn references come from
// tests/fixtures/gen_accuracy.py (accuracy.json).
#include "tally/metrics/accuracy.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "support/dtype_cast.h"
#include "support/fixture_tensors.h"
#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/metrics/functional.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

using testing::tensor_of;

Json fixture() { return testing::read_fixture("accuracy.json"); }

TEST(Accuracy, KerasReferenceValues) {
  const std::vector<double> yt{1, 2, 3, 4}, yp{0, 2, 3, 4};
  Accuracy a;
  a.update_state(TensorView(yt, {4, 1}), TensorView(yp, {4, 1}));
  EXPECT_DOUBLE_EQ(a.value(), 0.75);  // test_accuracy
  Accuracy w;
  w.update_state(TensorView(yt, {4, 1}), TensorView(yp, {4, 1}), std::vector<double>{1, 1, 0, 0});
  EXPECT_DOUBLE_EQ(w.value(), 0.5);  // test_weighted
  Accuracy r1;
  r1.update_state(yt, yp, std::vector<double>{1, 1, 0, 0});
  EXPECT_DOUBLE_EQ(r1.value(), 0.5);  // test_weighted_rank_1
  Accuracy nd;
  nd.update_state(TensorView(yt, {2, 2}), TensorView(yp, {2, 2}), TensorView(std::vector<double>{1, 0, 0, 1}, {2, 2}));
  EXPECT_DOUBLE_EQ(nd.value(), 0.5);  // test_weighted_nd_weights
  Accuracy bc;
  bc.update_state(TensorView(yt, {2, 2}), TensorView(yp, {2, 2}), TensorView(std::vector<double>{1, 0}, {1, 2}));
  EXPECT_DOUBLE_EQ(bc.value(), 0.5);  // test_weighted_nd_broadcast_weights
  EXPECT_EQ(a.get_config(), (Json{{"name", "accuracy"}, {"dtype", "float32"}}));
}

TEST(BinaryAccuracy, KerasReferenceValues) {
  const std::vector<double> yt{1, 1, 0, 0}, yp{0.98, 1, 0, 0.6};
  BinaryAccuracy a;
  a.update_state(TensorView(yt, {4, 1}), TensorView(yp, {4, 1}));
  EXPECT_DOUBLE_EQ(a.value(), 0.75);  // test_unweighted
  BinaryAccuracy w;
  w.update_state(TensorView(yt, {4, 1}), TensorView(yp, {4, 1}), std::vector<double>{1, 0, 0, 1});
  EXPECT_DOUBLE_EQ(w.value(), 0.5);  // test_weighted
  const std::vector<double> yp2{0.98, 0.5, 0.1, 0.2};
  BinaryAccuracy t3("a", DType::kFloat32, 0.3), t9("b", DType::kFloat32, 0.9);
  t3.update_state(TensorView(yt, {4, 1}), TensorView(yp2, {4, 1}));
  t9.update_state(TensorView(yt, {4, 1}), TensorView(yp2, {4, 1}));
  EXPECT_DOUBLE_EQ(t3.value(), 1.0);   // test_threshold
  EXPECT_DOUBLE_EQ(t9.value(), 0.75);  // only 0.98 > 0.9: matches 1, 0, 1, 1
  EXPECT_EQ(t3.get_config()["threshold"], 0.3);
  EXPECT_THROW(BinaryAccuracy("x", DType::kFloat32, -0.5), InvalidArgument);  // test_invalid_threshold
  EXPECT_THROW(BinaryAccuracy("x", DType::kFloat32, 1.5), InvalidArgument);
  // Strict >: a prediction equal to the threshold is negative; labels other than 0/1 never match.
  BinaryAccuracy edge;
  edge.update_state(std::vector<double>{0, 1, 0.5}, std::vector<double>{0.5, 0.5, 0.9});
  EXPECT_DOUBLE_EQ(edge.value(), 1.0 / 3.0);
  // Rank alignment: y_true [N] with y_pred [N, 1].
  BinaryAccuracy aligned;
  aligned.update_state(yt, TensorView(yp, {4, 1}));
  EXPECT_DOUBLE_EQ(aligned.value(), 0.75);
  EXPECT_THROW(aligned.update_state(yt, std::vector<double>{0.1, 0.2}), ShapeError);
}

TEST(CategoricalAccuracy, KerasReferenceValues) {
  const std::vector<double> yt{0, 0, 1, 0, 1, 0}, yp{0.1, 0.9, 0.8, 0.05, 0.95, 0};
  CategoricalAccuracy a;
  a.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}));
  EXPECT_DOUBLE_EQ(a.value(), 0.5);
  CategoricalAccuracy w;
  w.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), std::vector<double>{0.7, 0.3});
  EXPECT_NEAR(w.value(), 0.3, 1e-15);
  // argmax ties go to the first index: [0.5, 0.5] predicts class 0.
  CategoricalAccuracy tie;
  tie.update_state(TensorView(std::vector<double>{1, 0}, {1, 2}), TensorView(std::vector<double>{0.5, 0.5}, {1, 2}));
  EXPECT_DOUBLE_EQ(tie.value(), 1.0);
}

TEST(SparseCategoricalAccuracy, KerasReferenceValues) {
  const std::vector<double> yt{2, 1}, yp{0.1, 0.6, 0.3, 0.05, 0.95, 0};
  SparseCategoricalAccuracy a;
  a.update_state(TensorView(yt, {2, 1}), TensorView(yp, {2, 3}));
  EXPECT_DOUBLE_EQ(a.value(), 0.5);
  SparseCategoricalAccuracy w;
  w.update_state(TensorView(yt, {2, 1}), TensorView(yp, {2, 3}), TensorView(std::vector<double>{0.7, 0.3}, {2, 1}));
  EXPECT_NEAR(w.value(), 0.3, 1e-15);
  SparseCategoricalAccuracy frac;  // a non-integral label never matches
  frac.update_state(std::vector<double>{1.5}, TensorView(std::vector<double>{0.1, 0.9}, {1, 2}));
  EXPECT_DOUBLE_EQ(frac.value(), 0.0);
  EXPECT_THROW(frac.update_state(std::vector<double>{1, 0, 1}, TensorView(yp, {2, 3})), ShapeError);
}

TEST(TopKCategoricalAccuracy, KerasReferenceValuesAndTies) {
  const std::vector<double> yt{0, 0, 1, 0, 1, 0}, yp{0.1, 0.9, 0.8, 0.05, 0.95, 0};
  TopKCategoricalAccuracy k1(1);
  k1.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}));
  EXPECT_DOUBLE_EQ(k1.value(), 0.5);
  TopKCategoricalAccuracy k1w(1);
  k1w.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), std::vector<double>{0.7, 0.3});
  EXPECT_NEAR(k1w.value(), 0.3, 1e-15);  // test_weighted
  TopKCategoricalAccuracy k2(2);
  k2.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}));
  EXPECT_DOUBLE_EQ(k2.value(), 1.0);
  // Ties count as hits: no score is strictly larger than the target's.
  TopKCategoricalAccuracy tie(1);
  tie.update_state(TensorView(std::vector<double>{0, 0, 1}, {1, 3}),
                   TensorView(std::vector<double>{0.5, 0.5, 0.5}, {1, 3}));
  EXPECT_DOUBLE_EQ(tie.value(), 1.0);
  EXPECT_EQ(k2.get_config()["k"], 2);
  EXPECT_THROW(TopKCategoricalAccuracy(0), InvalidArgument);
  EXPECT_THROW(get(R"({"class_name": "TopKCategoricalAccuracy", "config": {"k": 0}})"), ConfigError);
}

TEST(SparseTopKCategoricalAccuracy, ScoresAndSortedIds) {
  const std::vector<double> yp{0.1, 0.9, 0.8, 0.05, 0.95, 0};
  SparseTopKCategoricalAccuracy k1(1);
  k1.update_state(std::vector<double>{2, 1}, TensorView(yp, {2, 3}));
  EXPECT_DOUBLE_EQ(k1.value(), 0.5);  // test_unweighted
  SparseTopKCategoricalAccuracy k1w(1);
  k1w.update_state(std::vector<double>{2, 1}, TensorView(yp, {2, 3}), std::vector<double>{0.7, 0.3});
  EXPECT_NEAR(k1w.value(), 0.3, 1e-15);  // test_weighted
  SparseTopKCategoricalAccuracy sorted(1, PredictionKind::kSortedIds);
  sorted.update_state(std::vector<int>{2, 1}, TensorView(std::vector<int>{1, 2, 0, 1, 0, 2}, {2, 3}));
  EXPECT_DOUBLE_EQ(sorted.value(), 0.5);
  EXPECT_EQ(sorted.get_config()["from_sorted_ids"], true);
  EXPECT_FALSE(k1.get_config().contains("from_sorted_ids"));
  SparseTopKCategoricalAccuracy out_of_range(5);  // a label outside the classes is a miss
  out_of_range.update_state(std::vector<int>{7}, TensorView(std::vector<double>{0.1, 0.9}, {1, 2}));
  EXPECT_DOUBLE_EQ(out_of_range.value(), 0.0);
}

TEST(AccuracyFamily, MatchesScikitLearn) {
  const Json f = fixture();
  const Json& b = f["binary"];
  const Tensor yt = tensor_of(b["y_true"]), yp = tensor_of(b["y_pred"]), w = tensor_of(b["sample_weight"]);
  BinaryAccuracy a, aw, a3("t3", DType::kFloat32, 0.3);
  a.update_state(yt, yp);
  aw.update_state(yt, yp, w);
  a3.update_state(yt, yp);
  EXPECT_NEAR(a.value(), b["accuracy"].get<double>(), 1e-12);
  EXPECT_NEAR(aw.value(), b["weighted_accuracy"].get<double>(), 1e-12);
  EXPECT_NEAR(a3.value(), b["accuracy_threshold_0.3"].get<double>(), 1e-12);
  const Json& m = f["multiclass"];
  const Tensor labels = tensor_of(m["y_true"]), scores = tensor_of(m["y_pred"]), mw = tensor_of(m["sample_weight"]);
  SparseCategoricalAccuracy s, sw;
  s.update_state(labels, scores);
  sw.update_state(labels, scores, mw);
  EXPECT_NEAR(s.value(), m["accuracy"].get<double>(), 1e-12);
  EXPECT_NEAR(sw.value(), m["weighted_accuracy"].get<double>(), 1e-12);
  SparseTopKCategoricalAccuracy t3(3), t3w(3);
  t3.update_state(labels, scores);
  t3w.update_state(labels, scores, mw);
  EXPECT_NEAR(t3.value(), m["top_3"].get<double>(), 1e-12);
  EXPECT_NEAR(t3w.value(), m["weighted_top_3"].get<double>(), 1e-12);
}

TEST(AccuracyFamily, PassesTheHarness) {
  const std::int64_t n = 3000;
  const Tensor labels = testing::random_labels({n}, 1, 5, DType::kInt64);
  const Tensor scores = testing::random_uniform({n, 5}, 2);
  const Tensor onehot = [&] {
    Tensor t(DType::kFloat64, {n, 5});
    for (std::int64_t i = 0; i < n; ++i) t.data_as<double>()[i * 5 + labels.data_as<std::int64_t>()[i]] = 1.0;
    return t;
  }();
  const Tensor weights = testing::random_uniform({n}, 3);
  struct Case {
    std::function<std::unique_ptr<Metric>()> factory;
    Tensor y_true, y_pred;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {[] { return std::make_unique<Accuracy>(); },
       testing::random_labels({n}, 4, 3),
       testing::random_labels({n}, 5, 3),
       {"Accuracy", "accuracy"}},
      {[] { return std::make_unique<BinaryAccuracy>(); },
       testing::random_labels({n}, 6, 2, DType::kFloat32),
       testing::random_uniform({n}, 7, 0.0, 1.0, DType::kFloat32),
       {"BinaryAccuracy", "binary_accuracy"}},
      {[] { return std::make_unique<CategoricalAccuracy>(); },
       onehot,
       scores,
       {"CategoricalAccuracy", "categorical_accuracy"}},
      {[] { return std::make_unique<SparseCategoricalAccuracy>(); },
       labels,
       scores,
       {"SparseCategoricalAccuracy", "sparse_categorical_accuracy"}},
      {[] { return std::make_unique<TopKCategoricalAccuracy>(2); },
       onehot,
       scores,
       {"TopKCategoricalAccuracy", "top_k_categorical_accuracy"}},
      {[] { return std::make_unique<SparseTopKCategoricalAccuracy>(2); },
       labels,
       scores,
       {"SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy"}},
  };
  for (const Case& c : cases) {
    for (const bool weighted : {false, true}) {
      testing::HarnessCase h;
      h.factory = c.factory;
      h.y_true = c.y_true;
      h.y_pred = c.y_pred;
      if (weighted) h.sample_weight = weights;
      h.names = c.names;
      SCOPED_TRACE(c.names.front() + (weighted ? " weighted" : ""));
      testing::check_metric_properties(h);
    }
  }
}

TEST(AccuracyFamily, FunctionsAreMetricsByName) {
  auto m = get(R"({"class_name": "MeanMetricWrapper", "config": {"fn": "binary_accuracy", "threshold": 0.3}})");
  m->update_state(std::vector<double>{1, 1, 0, 0}, std::vector<double>{0.98, 0.5, 0.1, 0.2});
  EXPECT_DOUBLE_EQ(m->value(), 1.0);
  EXPECT_EQ(serialize(*m)["config"]["fn"], "binary_accuracy");
  EXPECT_EQ(get(serialize(*m))->get_config(), m->get_config());
  const Tensor v = functional::sparse_top_k_categorical_accuracy(
      std::vector<double>{2, 1}, TensorView(std::vector<double>{0.1, 0.9, 0.8, 0.05, 0.95, 0}, {2, 3}), 1);
  EXPECT_EQ(v.to_doubles(), (std::vector<double>{0.0, 1.0}));
}

// The match loops read labels in counting_dtypes.h's 5 element types and scores in every
// dtype but bool (read as bytes): every dtype pair must give what the same values give as
// float64, weighted and not. Scores are exact in every dtype, away from the threshold's
// rounding in float16 (multiples of 1/16 against 0.5).
TEST(AccuracyFamily, EveryDtypePairMatchesItsFloat64Values) {
  const std::int64_t n = 1001;
  std::mt19937_64 rng(3);
  std::vector<double> labels(static_cast<std::size_t>(n)), ids(labels.size()), weights(labels.size());
  for (auto& x : labels) x = static_cast<double>(rng() % 2);
  for (auto& x : ids) x = static_cast<double>(rng() % 2);
  for (auto& x : weights) x = 0.25 * static_cast<double>(1 + rng() % 8);
  const Tensor w = Tensor::from_vector(weights);
  int compared = 0;
  for (const DType pd : testing::kEveryDtype) {
    const bool floating =
        pd == DType::kFloat16 || pd == DType::kBFloat16 || pd == DType::kFloat32 || pd == DType::kFloat64;
    std::vector<double> scores(labels.size());
    for (auto& x : scores) x = floating ? static_cast<double>(rng() % 17) / 16.0 : static_cast<double>(rng() % 2);
    for (const DType td : testing::kEveryDtype) {
      for (const bool weighted : {false, true}) {
        SCOPED_TRACE(std::string("labels ") + std::string(dtype_name(td)) + " predictions " +
                     std::string(dtype_name(pd)) + (weighted ? " weighted" : ""));
        const TensorView sw = weighted ? w.view() : TensorView();
        for (const auto& [spec, pred] : {std::pair{"accuracy", &ids}, std::pair{"binary_accuracy", &scores}}) {
          std::unique_ptr<Metric> expected = get(spec), actual = get(spec);
          expected->update_state(Tensor::from_vector(labels), Tensor::from_vector(*pred), sw);
          actual->update_state(testing::values_as(labels, td, {n}), testing::values_as(*pred, pd, {n}), sw);
          EXPECT_TRUE(testing::same_state(*expected, *actual)) << spec;
          ++compared;
        }
      }
    }
  }
  EXPECT_EQ(compared, 8 * 8 * 2 * 2);
}

}  // namespace
}  // namespace tally::metrics
