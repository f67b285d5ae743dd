// Hinge metrics and functions. Reference values are re-typed from Keras 3
// keras/src/metrics/hinge_metrics_test.py; sklearn values come from
// tests/fixtures/probabilistic.json (tests/fixtures/gen_probabilistic.py).
#include "tally/metrics/hinge.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/metrics/functional.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

using Vec = std::vector<double>;

Json fixture() {
  std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/probabilistic.json");
  return Json::parse(in);
}

double eval(Metric& m, const TensorView& y_true, const TensorView& y_pred, const TensorView& w = {}) {
  m.update_state(y_true, y_pred, w);
  return m.value();
}

const Vec kPred{-0.3, 0.2, -0.1, 1.6, -0.25, -1.0, 0.5, 0.6};

TEST(Hinge, KerasReferenceValues) {
  Hinge m;
  EXPECT_NEAR(eval(m, TensorView(Vec{0, 1, 0, 1, 0, 0, 1, 1}, {2, 4}), TensorView(kPred, {2, 4})), 0.506, 1e-3);
  // Exactly: labels mapped to ±1, rows (0.7 + 0.8 + 0.9 + 0) / 4 and (0.75 + 0 + 0.5 + 0.4) / 4.
  EXPECT_NEAR(m.value(), (2.4 / 4 + 1.65 / 4) / 2, 1e-12);
  Hinge w;
  EXPECT_NEAR(eval(w, TensorView(Vec{-1, 1, -1, 1, -1, -1, 1, 1}, {2, 4}), TensorView(kPred, {2, 4}), Vec{1.5, 2.0}),
              0.493, 1e-3);
  EXPECT_EQ(m.get_config(), (Json{{"name", "hinge"}, {"dtype", "float32"}}));
  EXPECT_EQ(m.direction(), Direction::kLowerIsBetter);
}

TEST(SquaredHinge, KerasReferenceValues) {
  SquaredHinge m;
  EXPECT_NEAR(eval(m, TensorView(std::vector<float>{0, 1, 0, 1, 0, 0, 1, 1}, {2, 4}), TensorView(kPred, {2, 4})), 0.364,
              1e-3);
  SquaredHinge w;
  EXPECT_NEAR(eval(w, TensorView(Vec{-1, 1, -1, 1, -1, -1, 1, 1}, {2, 4}), TensorView(kPred, {2, 4}), Vec{1.5, 2.0}),
              0.347, 1e-3);
}

TEST(CategoricalHinge, KerasReferenceValues) {
  const Vec yt{0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1};
  const Vec yp{0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1};
  CategoricalHinge m;
  EXPECT_NEAR(eval(m, TensorView(yt, {4, 5}), TensorView(yp, {4, 5})), 0.5, 1e-12);
  CategoricalHinge w;
  EXPECT_NEAR(eval(w, TensorView(yt, {4, 5}), TensorView(yp, {4, 5}), Vec{1.0, 1.5, 2.0, 2.5}), 0.5, 1e-12);
  // Rank 1 is one vector.
  CategoricalHinge r;
  EXPECT_NEAR(eval(r, Vec{0, 1, 0}, Vec{0.3, 0.5, 0.9}), 0.9 - 0.5 + 1, 1e-12);
}

TEST(Hinge, LabelsAreMappedPerUpdateCall) {
  // Keras convert_binary_labels_to_hinge: {0, 1} -> {-1, 1} only when every label of the
  // call is 0 or 1 (a batch-level rule, documented).
  Hinge mapped;
  mapped.update_state(Vec{0, 1}, Vec{0.5, 0.5});  // labels -1, 1
  EXPECT_NEAR(mapped.value(), (1.5 + 0.5) / 2, 1e-12);
  Hinge mixed;
  mixed.update_state(Vec{0, 1, -1}, Vec{0.5, 0.5, 0.5});  // a -1 present: 0 stays 0
  EXPECT_NEAR(mixed.value(), (1.0 + 0.5 + 1.5) / 3, 1e-12);
  // The same {-1, 0, 1} data split into two calls: the first call holds only {0, 1} and is
  // mapped, so the result depends on batching exactly as in Keras.
  Hinge split;
  split.update_state(Vec{0, 1}, Vec{0.5, 0.5});
  split.update_state(Vec{-1}, Vec{0.5});
  EXPECT_NEAR(split.value(), (1.5 + 0.5 + 1.5) / 3, 1e-12);
  // The functions follow the same rule per call.
  const Tensor f = functional::squared_hinge(Vec{0, 1}, Vec{0.5, 0.5});
  EXPECT_NEAR(f.data_as<double>()[0], 2.25, 1e-12);
}

TEST(Hinge, MatchesSklearnHingeLoss) {
  const Json f = fixture();
  const Json b = f["hinge"];
  const Vec yt = b["y_true"].get<Vec>();
  const Vec yp = b["y_pred"].get<Vec>();
  const Vec w = b["sample_weight"].get<Vec>();
  Hinge m;
  EXPECT_NEAR(eval(m, yt, yp), b["hinge_loss"].get<double>(), 1e-12);
  Hinge mw;
  EXPECT_NEAR(eval(mw, yt, yp, w), b["hinge_loss_weighted"].get<double>(), 1e-12);

  const Json c = f["categorical_hinge"];
  const auto k = c["classes"].get<std::int64_t>();
  const auto labels = c["labels"].get<std::vector<std::int64_t>>();
  const auto n = static_cast<std::int64_t>(labels.size());
  Vec onehot(static_cast<std::size_t>(n * k), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    onehot[static_cast<std::size_t>(i * k + labels[static_cast<std::size_t>(i)])] = 1;
  const Vec d = c["y_pred"].get<Vec>();
  CategoricalHinge ch;
  EXPECT_NEAR(eval(ch, TensorView(onehot, {n, k}), TensorView(d, {n, k})), c["hinge_loss"].get<double>(), 1e-12);
  CategoricalHinge chw;
  EXPECT_NEAR(eval(chw, TensorView(onehot, {n, k}), TensorView(d, {n, k}), c["sample_weight"].get<Vec>()),
              c["hinge_loss_weighted"].get<double>(), 1e-12);
}

TEST(HingeFunctions, WrapperAgreesWithClasses) {
  const Tensor yt = testing::random_labels({200, 3}, 3, 2, DType::kFloat64);
  const Tensor yp = testing::random_uniform({200, 3}, 4, -2.0, 2.0);
  for (const char* name : {"hinge", "squared_hinge", "categorical_hinge"}) {
    auto cls = get(name);
    auto fn = get(Json{{"class_name", "MeanMetricWrapper"}, {"config", {{"fn", name}}}});
    cls->update_state(yt, yp);
    fn->update_state(yt, yp);
    EXPECT_NEAR(cls->value(), fn->value(), 1e-12) << name;
  }
}

TEST(Hinge, EveryMetricPassesTheHarness) {
  // Labels in {-1, 1}: the per-call mapping never applies, so the harness runs in full.
  Tensor pm1 = testing::random_labels({1200, 3}, 31, 2, DType::kFloat64);
  for (std::int64_t i = 0; i < pm1.numel(); ++i) pm1.data_as<double>()[i] = 2 * pm1.data_as<double>()[i] - 1;
  Tensor pm1_flat = pm1.reshaped({3600});
  const Tensor scores = testing::random_uniform({1200, 3}, 32, -2.0, 2.0, DType::kFloat32);
  const Tensor scores_flat = testing::random_uniform({3600}, 33, -2.0, 2.0);
  const Tensor onehot = testing::random_labels({1200, 3}, 34, 2, DType::kInt64);
  struct Case {
    std::function<std::unique_ptr<Metric>()> factory;
    Tensor y_true;
    Tensor y_pred;
    std::vector<std::string> names;
  };
  std::vector<Case> cases;
  cases.push_back({[] { return std::make_unique<Hinge>(); }, pm1, scores, {"Hinge", "hinge"}});
  cases.push_back({[] { return std::make_unique<Hinge>(); }, pm1_flat, scores_flat, {}});
  cases.push_back({[] { return std::make_unique<SquaredHinge>(); }, pm1, scores, {"SquaredHinge", "squared_hinge"}});
  cases.push_back(
      {[] { return std::make_unique<CategoricalHinge>(); }, onehot, scores, {"CategoricalHinge", "categorical_hinge"}});
  for (const Case& k : cases) {
    for (const bool weighted : {false, true}) {
      SCOPED_TRACE(k.factory()->class_name() + (weighted ? " weighted" : ""));
      testing::HarnessCase c;
      c.factory = k.factory;
      c.y_true = k.y_true;
      c.y_pred = k.y_pred;
      if (weighted) c.sample_weight = testing::random_uniform({k.y_pred.shape()[0]}, 35);
      c.names = k.names;
      testing::check_metric_properties(c);
    }
  }
}

}  // namespace
}  // namespace tally::metrics
