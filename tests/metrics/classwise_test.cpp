// Classwise (TorchMetrics' ClasswiseWrapper): per-class results keyed "<name>_<label>", with
// the wrapped metric's values and state.
#include "tally/metrics/classwise.h"

#include <gtest/gtest.h>

#include "tally/metrics/confusion.h"
#include "tally/metrics/f_score.h"
#include "tally/metrics/regression.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

// Keras F1Score docstring data (3 rows, 3 classes, threshold 0.5).
const std::vector<double> kTrue{1, 1, 1, 1, 0, 0, 1, 1, 0};
const std::vector<double> kPred{0.2, 0.6, 0.7, 0.2, 0.6, 0.6, 0.6, 0.8, 0.0};

TEST(Classwise, KeysTheWrappedVectorByLabel) {
  F1Score plain(FScoreAverage::kNone, 0.5);
  plain.update_state(TensorView(kTrue, {3, 3}), TensorView(kPred, {3, 3}));
  Classwise wrapped(F1Score(FScoreAverage::kNone, 0.5), {"cat", "dog", "bird"});
  wrapped.update_state(TensorView(kTrue, {3, 3}), TensorView(kPred, {3, 3}));
  const std::vector<double> expected = plain.result().to_doubles();
  EXPECT_EQ(wrapped.result().to_doubles(), expected);
  // Keras docstring: [0.5, 0.8, 0.6666667].
  EXPECT_NEAR(expected[0], 0.5, 1e-7);
  EXPECT_NEAR(expected[1], 0.8, 1e-7);
  EXPECT_NEAR(expected[2], 2.0 / 3.0, 1e-7);
  const auto keyed = wrapped.keyed_result();
  ASSERT_EQ(keyed.size(), 3u);
  EXPECT_EQ(keyed[0].first, "f1_score_cat");
  EXPECT_EQ(keyed[1].first, "f1_score_dog");
  EXPECT_EQ(keyed[2].first, "f1_score_bird");
  EXPECT_EQ(keyed[2].second, expected[2]);
  EXPECT_EQ(wrapped.name(), "f1_score");
  EXPECT_EQ(wrapped.variables(), plain.variables());  // the wrapped metric's state, as is
  EXPECT_EQ(wrapped.to_vector(), plain.to_vector());
  EXPECT_TRUE(keyed_result(plain).empty());
  EXPECT_EQ(keyed_result(wrapped), keyed);
}

TEST(Classwise, BuildsFromANestedConfigAndRoundTrips) {
  const Json spec = Json::parse(R"({"class_name": "classwise", "config": {
      "metric": {"class_name": "R2Score", "config": {"class_aggregation": null, "num_outputs": 2}},
      "labels": ["height", "weight"], "name": "r2"}})");
  const std::unique_ptr<Metric> m = metrics::get(spec);
  EXPECT_EQ(m->class_name(), "Classwise");
  const Json config = m->get_config();
  EXPECT_EQ(config["metric"]["class_name"], "R2Score");
  EXPECT_EQ(config["labels"], Json({"height", "weight"}));
  EXPECT_EQ(metrics::from_config("Classwise", config)->get_config(), config);
  const std::vector<double> t{1, 10, 2, 20, 3, 30}, p{1.5, 11, 2, 19, 2.5, 30};
  m->update_state(TensorView(t, {3, 2}), TensorView(p, {3, 2}));
  const auto keyed = keyed_result(*m);
  ASSERT_EQ(keyed.size(), 2u);
  EXPECT_EQ(keyed[0].first, "r2_height");
  EXPECT_EQ(keyed[1].first, "r2_weight");
  EXPECT_NEAR(keyed[0].second, 1.0 - 0.5 / 2.0, 1e-12);  // residual 0.5, total 2
  EXPECT_NEAR(keyed[1].second, 1.0 - 2.0 / 200.0, 1e-12);
  // Without labels the keys are the class ids; a name is the wrapped metric's by default.
  const std::unique_ptr<Metric> ids =
      metrics::get(Json::parse(R"({"class_name": "Classwise", "config": {"metric": "f1_score"}})"));
  ids->update_state(TensorView(kTrue, {3, 3}), TensorView(kPred, {3, 3}));
  const auto by_id = keyed_result(*ids);
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_EQ(by_id[0].first, "f1_score_0");
  EXPECT_EQ(by_id[2].first, "f1_score_2");
}

TEST(Classwise, RefusesWhatHasNoPerClassVector) {
  try {
    metrics::get(Json::parse(
        R"({"class_name": "Classwise", "config": {"metric": {"class_name": "F1Score", "config": {"average": "macro"}}}})"));
    FAIL() << "accepted a scalar metric";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "Classwise \"f1_score\": argument `metric` must have a per-class vector result; F1Score "
                 "\"f1_score\" returns shape [] (for F1Score, FBetaScore: average=null)");
  }
  EXPECT_THROW(metrics::get(Json::parse(R"({"class_name": "Classwise", "config": {"metric": "no_such_metric"}})")),
               ConfigError);
  EXPECT_THROW(metrics::get(Json::parse(R"({"class_name": "Classwise", "config": {}})")), ConfigError);
  EXPECT_THROW(metrics::get(Json::parse(R"({"class_name": "Classwise", "config": {"metric": "f1_score",
      "labels": ["a", "a"]}})")),
               ConfigError);
  // Labels that do not match the classes of a batch: refused, state unchanged.
  Classwise two(F1Score(), {"a", "b"});
  const std::vector<double> before = two.to_vector();
  try {
    two.update_state(TensorView(kTrue, {3, 3}), TensorView(kPred, {3, 3}));
    FAIL() << "accepted 3 classes for 2 labels";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "Classwise \"f1_score\": argument `labels` names 2 classes but this batch gives F1Score 3 (y_pred "
                 "shape [3, 3])");
  }
  EXPECT_EQ(two.to_vector(), before);
}

TEST(Classwise, WrapsAScalarMetricOncePerClassId) {
  // Keras Precision/Recall count one column with class_id: Classwise builds one per label.
  const std::unique_ptr<Metric> m = metrics::get(Json::parse(R"({"class_name": "Classwise", "config": {
      "metric": "precision", "labels": ["cat", "dog", "bird"]}})"));
  // Precision's four variables (true/false positives, int64 and weighted) once per copy.
  ASSERT_EQ(m->variables().size(), 12u);
  EXPECT_EQ(m->variables()[4].name, "class_1/true_positives");
  EXPECT_EQ(m->variables()[11].name, "class_2/weighted_false_positives");
  m->update_state(TensorView(kTrue, {3, 3}).slice_rows(0, 1), TensorView(kPred, {3, 3}).slice_rows(0, 1));
  m->update_state(TensorView(kTrue, {3, 3}).slice_rows(1, 3), TensorView(kPred, {3, 3}).slice_rows(1, 3));
  std::vector<double> want;
  for (std::int64_t c = 0; c < 3; ++c) {
    Precision p({}, std::nullopt, c);
    p.update_state(TensorView(kTrue, {3, 3}), TensorView(kPred, {3, 3}));
    want.push_back(p.value());
  }
  // Columns: predictions above 0.5 are (0,1,1), (0,1,1), (1,1,0) against labels (1,1,1), (1,0,0), (1,1,0).
  EXPECT_EQ(want, (std::vector<double>{1.0, 2.0 / 3.0, 0.5}));
  EXPECT_EQ(m->result().to_doubles(), want);
  const auto keyed = keyed_result(*m);
  EXPECT_EQ(keyed[1].first, "precision_dog");
  EXPECT_EQ(metrics::from_config("Classwise", m->get_config())->get_config(), m->get_config());
  EXPECT_THROW(metrics::get(Json::parse(R"({"class_name": "Classwise", "config": {"metric": "recall"}})")),
               ConfigError);  // no labels: the number of copies is unknown
}

TEST(Classwise, MergesAsTheWrappedMetric) {
  Classwise a(F1Score(FScoreAverage::kNone, 0.5, {}, DType::kFloat32, 3), {"x", "y", "z"});
  Classwise b = a;
  F1Score whole(FScoreAverage::kNone, 0.5, {}, DType::kFloat32, 3);
  a.update_state(TensorView(kTrue, {3, 3}).slice_rows(0, 1), TensorView(kPred, {3, 3}).slice_rows(0, 1));
  b.update_state(TensorView(kTrue, {3, 3}).slice_rows(1, 3), TensorView(kPred, {3, 3}).slice_rows(1, 3));
  whole.update_state(TensorView(kTrue, {3, 3}), TensorView(kPred, {3, 3}));
  a.merge_state(b);
  EXPECT_EQ(a.result().to_doubles(), whole.result().to_doubles());
}

}  // namespace
}  // namespace tally::metrics
