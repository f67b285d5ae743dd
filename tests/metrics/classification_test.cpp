// The classification family (ConfusionMatrix, MatthewsCorrelationCoefficient, CohenKappa,
// BalancedAccuracy, Specificity, HammingLoss, ExactMatch). Reference values from
// tests/fixtures/classification.json (scikit-learn, tests/fixtures/gen_classification.py).
#include "tally/metrics/classification.h"

#include "tally/metrics/confusion.h"
#include "tally/metrics/f_score.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "support/dtype_cast.h"
#include "tally/collection.h"
#include "tally/error.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

MultilabelCountOptions labels(std::int64_t L) {
  MultilabelCountOptions o;
  o.num_labels = L;
  return o;
}

ClassCountOptions classes(std::int64_t C) {
  ClassCountOptions o;
  o.num_classes = C;
  return o;
}

const Json& fixtures() {
  static const Json all = [] {
    std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/classification.json");
    EXPECT_TRUE(in.good()) << "missing fixture; run tests/fixtures/gen_classification.py";
    return Json::parse(in);
  }();
  return all;
}

// The fixture's arrays as tensors.
Tensor ids(const Json& v) {
  const auto x = v.get<std::vector<std::int64_t>>();
  return Tensor::from_vector(std::span<const std::int64_t>(x));
}
Tensor doubles(const Json& v) {
  const auto x = v.get<std::vector<double>>();
  return Tensor::from_vector(std::span<const double>(x));
}
Tensor matrix(const Json& v) {
  std::vector<double> flat;
  for (const Json& row : v) {
    for (const double x : row.get<std::vector<double>>()) flat.push_back(x);
  }
  const auto rows = static_cast<std::int64_t>(v.size());
  return Tensor::from_vector(std::span<const double>(flat), Shape{rows, static_cast<std::int64_t>(flat.size()) / rows});
}

void expect_tensor_near(const Tensor& got, const std::vector<double>& want, double tol) {
  const std::vector<double> g = got.to_doubles();
  ASSERT_EQ(g.size(), want.size());
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], tol) << "entry " << i;
}

std::vector<double> flatten(const Json& v) {
  std::vector<double> out;
  if (v.is_number()) return {v.get<double>()};
  for (const Json& x : v) {
    const std::vector<double> inner = flatten(x);
    out.insert(out.end(), inner.begin(), inner.end());
  }
  return out;
}

// One metric by config, fed the multi-class fixture (ids + scores, or ids + predicted ids).
Tensor multiclass_result(const Json& config, const std::string& cls, bool weighted, bool predicted_ids = false) {
  const Json& mc = fixtures()["multiclass"];
  auto m = get(Json{{"class_name", cls}, {"config", config}});
  const Tensor y = ids(mc["y_true"]);
  const Tensor p = predicted_ids ? ids(mc["y_pred"]) : matrix(mc["y_score"]);
  const Tensor w = doubles(mc["sample_weight"]);
  // Two batches, to exercise accumulation.
  const std::int64_t half = y.shape()[0] / 2;
  for (const auto& [b, e] : {std::pair<std::int64_t, std::int64_t>{0, half}, {half, y.shape()[0]}}) {
    m->update_state(y.view().slice_rows(b, e), p.view().slice_rows(b, e),
                    weighted ? w.view().slice_rows(b, e) : TensorView());
  }
  return m->result();
}

TEST(ConfusionMatrix, MulticlassMatchesScikitLearn) {
  const Json& mc = fixtures()["multiclass"];
  const std::int64_t C = mc["num_classes"];
  for (const bool weighted : {false, true}) {
    const std::string tag = weighted ? "_weighted" : "";
    SCOPED_TRACE(tag);
    const Tensor r = multiclass_result(Json{{"num_classes", C}}, "ConfusionMatrix", weighted);
    EXPECT_EQ(r.shape(), (Shape{C, C}));
    expect_tensor_near(r, flatten(mc["confusion_matrix" + tag]), 1e-9);
    // Predicted ids give the same matrix as the scores they come from.
    expect_tensor_near(multiclass_result(Json{{"num_classes", C}}, "ConfusionMatrix", weighted, true),
                       flatten(mc["confusion_matrix" + tag]), 1e-9);
    for (const std::string norm : {"true", "pred", "all"}) {
      expect_tensor_near(multiclass_result(Json{{"num_classes", C}, {"normalize", norm}}, "ConfusionMatrix", weighted),
                         flatten(mc["confusion_matrix_" + norm + tag]), 1e-12);
    }
  }
}

TEST(ClassificationFamily, MulticlassScoresMatchScikitLearn) {
  const Json& mc = fixtures()["multiclass"];
  const std::int64_t C = mc["num_classes"];
  for (const bool weighted : {false, true}) {
    const std::string tag = weighted ? "_weighted" : "";
    SCOPED_TRACE(tag);
    const Json base{{"num_classes", C}};
    EXPECT_NEAR(multiclass_result(base, "MatthewsCorrelationCoefficient", weighted).item(),
                mc["mcc" + tag].get<double>(), 1e-12);
    EXPECT_NEAR(multiclass_result(base, "BalancedAccuracy", weighted).item(),
                mc["balanced_accuracy" + tag].get<double>(), 1e-12);
    for (const std::string kw : {"None", "linear", "quadratic"}) {
      Json config = base;
      config["weights"] = kw == "None" ? Json() : Json(kw);
      EXPECT_NEAR(multiclass_result(config, "CohenKappa", weighted).item(), mc["kappa_" + kw + tag].get<double>(),
                  1e-12)
          << kw;
    }
    for (const std::string avg : {"None", "micro", "macro", "weighted"}) {
      Json config = base;
      config["average"] = avg == "None" ? Json() : Json(avg);
      expect_tensor_near(multiclass_result(config, "Specificity", weighted), flatten(mc["specificity_" + avg + tag]),
                         1e-12);
    }
  }
}

// Feeds the binary fixture (ids + probabilities of class 1) to a metric.
Tensor binary_result(Metric& m, bool weighted) {
  const Json& bi = fixtures()["binary"];
  m.update_state(ids(bi["y_true"]), doubles(bi["y_prob"]),
                 weighted ? doubles(bi["sample_weight"]).view() : TensorView());
  return m.result();
}

TEST(ClassificationFamily, BinaryProbabilitiesMatchScikitLearn) {
  const Json& bi = fixtures()["binary"];
  for (const bool weighted : {false, true}) {
    const std::string tag = weighted ? "_weighted" : "";
    SCOPED_TRACE(tag);
    ConfusionMatrixOptions co;
    co.num_classes = 2;
    ConfusionMatrix cm(co);
    expect_tensor_near(binary_result(cm, weighted), flatten(bi["confusion_matrix" + tag]), 1e-9);
    MatthewsCorrelationCoefficient mcc;
    EXPECT_NEAR(binary_result(mcc, weighted).item(), bi["mcc" + tag].get<double>(), 1e-12);
    CohenKappa kappa;
    EXPECT_NEAR(binary_result(kappa, weighted).item(), bi["kappa" + tag].get<double>(), 1e-12);
    BalancedAccuracy ba;
    EXPECT_NEAR(binary_result(ba, weighted).item(), bi["balanced_accuracy" + tag].get<double>(), 1e-12);
    Specificity spec;
    EXPECT_NEAR(binary_result(spec, weighted).item(), bi["specificity" + tag].get<double>(), 1e-12);
  }
}

TEST(ClassificationFamily, MultilabelMatchesScikitLearn) {
  const Json& ml = fixtures()["multilabel"];
  const std::int64_t L = ml["num_labels"];
  const Tensor y = matrix(ml["y_true"]);
  const Tensor s = matrix(ml["y_score"]);
  const Tensor w = doubles(ml["sample_weight"]);
  for (const bool weighted : {false, true}) {
    const std::string tag = weighted ? "_weighted" : "";
    SCOPED_TRACE(tag);
    const TensorView wv = weighted ? w.view() : TensorView();
    ConfusionMatrixOptions co;
    co.num_classes = L;
    co.multilabel = true;
    ConfusionMatrix cm(co);
    cm.update_state(y, s, wv);
    EXPECT_EQ(cm.result().shape(), (Shape{L, 2, 2}));
    expect_tensor_near(cm.result(), flatten(ml["multilabel_confusion_matrix" + tag]), 1e-9);
    HammingLoss hl(labels(L));
    hl.update_state(y, s, wv);
    EXPECT_NEAR(hl.value(), ml["hamming_loss" + tag].get<double>(), 1e-12);
    ExactMatch em(labels(L));
    em.update_state(y, s, wv);
    EXPECT_NEAR(em.value(), ml["exact_match" + tag].get<double>(), 1e-12);
  }
}

TEST(ClassificationFamily, CollectionCountsOnceForAll) {
  // Metrics with the same classes and threshold share one count (shared_work_key), and the
  // shared path gives the results of separate updates.
  const Json& mc = fixtures()["multiclass"];
  const std::int64_t C = mc["num_classes"];
  MatthewsCorrelationCoefficient mcc(classes(C));
  BalancedAccuracy ba(classes(C));
  EXPECT_EQ(mcc.shared_work_key(), ba.shared_work_key());
  EXPECT_NE(mcc.shared_work_key(), MatthewsCorrelationCoefficient(classes(C + 1)).shared_work_key());
  MetricCollection collection;
  collection.add(mcc.clone());
  collection.add(ba.clone());
  collection.update_state(ids(mc["y_true"]), matrix(mc["y_score"]));
  const auto results = collection.result();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].first, "matthews_correlation_coefficient");
  EXPECT_NEAR(results[0].second.item(), mc["mcc"].get<double>(), 1e-12);
  EXPECT_NEAR(results[1].second.item(), mc["balanced_accuracy"].get<double>(), 1e-12);
}

TEST(ClassificationFamily, BadInputsNameTheArgumentAndLeaveStateAlone) {
  ConfusionMatrixOptions co;
  co.num_classes = 3;
  ConfusionMatrix cm(co);
  const std::vector<std::int64_t> y{0, 1, 2};
  cm.update_state(y, std::vector<std::int64_t>{0, 2, 2});
  const std::vector<double> before = cm.result().to_doubles();
  try {
    cm.update_state(std::vector<std::int64_t>{0, 3, 1}, std::vector<std::int64_t>{0, 1, 1});
    FAIL() << "label 3 accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "ConfusionMatrix \"confusion_matrix\": argument `y_true` must hold class ids in [0, 3); received 3 at "
              "position 1");
  }
  try {
    cm.update_state(y, std::vector<double>{0, 1.5, 1});
    FAIL() << "fractional predicted id accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("argument `y_pred` must hold class ids in [0, 3); received 1.5"),
              std::string::npos)
        << e.what();
  }
  const std::vector<float> scores{0.1f, 0.2f, 0.7f, 0.5f, 0.4f, 0.1f};  // 2 rows of 3: one row short
  EXPECT_THROW(cm.update_state(y, TensorView(scores.data(), DType::kFloat32, {2, 3})), ShapeError);
  EXPECT_THROW(cm.update_state(y, y, std::vector<double>{1, -1, 1}), InvalidArgument);
  EXPECT_EQ(cm.result().to_doubles(), before);
  EXPECT_EQ(before, (std::vector<double>{1, 0, 0, 0, 0, 1, 0, 0, 1}));
  // Options: C x C must fit the state, "binary" specificity needs two classes.
  EXPECT_THROW(get(Json{{"class_name", "ConfusionMatrix"}, {"config", {{"num_classes", 9000}}}}), Error);
  EXPECT_THROW(get(Json{{"class_name", "ConfusionMatrix"}, {"config", Json::object()}}), ConfigError);
  SpecificityOptions so;
  so.num_classes = 3;
  try {
    Specificity s(so);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("average \"binary\" needs num_classes = 2"), std::string::npos);
  }
}

TEST(ClassificationFamily, EmptyStateGivesZeros) {
  EXPECT_EQ(MatthewsCorrelationCoefficient().value(), 0.0);
  EXPECT_EQ(CohenKappa().value(), 0.0);
  EXPECT_EQ(BalancedAccuracy().value(), 0.0);
  EXPECT_EQ(HammingLoss(labels(3)).value(), 0.0);
  // Perfect agreement on one class: sklearn's kappa is NaN (0/0); tally reports 0.
  CohenKappa k;
  k.update_state(std::vector<std::int64_t>{1, 1}, std::vector<std::int64_t>{1, 1});
  EXPECT_EQ(k.value(), 0.0);
}

// --- integer labels for the confusion family (docs/keras-differences.md) -----------------------

TEST(IntegerLabels, PrecisionRecallFScoresMatchScikitLearn) {
  const Json& mc = fixtures()["multiclass"];
  const std::int64_t C = mc["num_classes"];
  for (const bool weighted : {false, true}) {
    for (const bool predicted_ids : {false, true}) {
      const std::string tag = weighted ? "_weighted" : "";
      SCOPED_TRACE(tag + (predicted_ids ? " predicted ids" : " scores"));
      for (const std::string avg : {"None", "micro", "macro", "weighted"}) {
        SCOPED_TRACE(avg);
        Json config{{"num_classes", C}, {"average", avg == "None" ? Json() : Json(avg)}};
        expect_tensor_near(multiclass_result(config, "Precision", weighted, predicted_ids),
                           flatten(mc["precision_" + avg + tag]), 1e-12);
        expect_tensor_near(multiclass_result(config, "Recall", weighted, predicted_ids),
                           flatten(mc["recall_" + avg + tag]), 1e-12);
        // Keras's F-score formula carries 1e-7 epsilons: scikit-learn's value within 1e-6.
        expect_tensor_near(multiclass_result(config, "F1Score", weighted, predicted_ids),
                           flatten(mc["f1_" + avg + tag]), 1e-6);
        config["beta"] = 2.0;
        expect_tensor_near(multiclass_result(config, "FBetaScore", weighted, predicted_ids),
                           flatten(mc["f2_" + avg + tag]), 1e-6);
      }
    }
  }
}

TEST(IntegerLabels, OptionsAreCheckedAndRoundTrip) {
  PrecisionRecallOptions o;
  o.num_classes = 3;
  o.average = ClassAverage::kMacro;
  Precision p(o);
  const Json config = p.get_config();
  EXPECT_EQ(config["num_classes"], 3);
  EXPECT_EQ(config["average"], "macro");
  EXPECT_EQ(get(Json{{"class_name", "Precision"}, {"config", config}})->get_config(), config);
  // Keras configs are unchanged: the extension keys are written only when set.
  EXPECT_FALSE(Precision().get_config().contains("num_classes"));
  EXPECT_FALSE(AUC().get_config().contains("multi_class"));
  o.top_k = 2;
  EXPECT_THROW(Precision{o}, InvalidArgument);
  PrecisionRecallOptions no_classes;
  no_classes.average = ClassAverage::kMicro;
  EXPECT_THROW(Recall{no_classes}, InvalidArgument);
  AucOptions a;
  a.multi_class = AucMultiClass::kOvr;
  EXPECT_THROW(AUC{a}, InvalidArgument);  // needs num_classes
  // A label outside [0, C) names y_true; the state is untouched.
  PrecisionRecallOptions three;
  three.num_classes = 3;
  Precision q(three);
  q.update_state(std::vector<std::int64_t>{0, 1, 2}, std::vector<std::int64_t>{0, 1, 1});
  const std::vector<double> before = q.result().to_doubles();
  try {
    q.update_state(std::vector<std::int64_t>{0, 5}, std::vector<std::int64_t>{0, 1});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("argument `y_true` must hold class ids in [0, 3); received 5"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(q.result().to_doubles(), before);
  EXPECT_EQ(before, (std::vector<double>{1.0, 0.5, 0.0}));
}

TEST(IntegerLabels, OneVsRestAucMatchesScikitLearnWithinBinning) {
  // sklearn's ovr AUC needs every class in y_true: the fixture's C - 1 present classes, their
  // scores renormalised. 10001 thresholds: the binning error is below 1e-3 (docs/metrics.md).
  const Json& mc = fixtures()["multiclass"];
  const std::int64_t C = mc["num_classes"].get<std::int64_t>() - 1;
  std::vector<double> s;
  for (const Json& row : mc["y_score"]) {
    const auto r = row.get<std::vector<double>>();
    double sum = 0.0;
    for (std::int64_t c = 0; c < C; ++c) sum += r[static_cast<std::size_t>(c)];
    for (std::int64_t c = 0; c < C; ++c) s.push_back(r[static_cast<std::size_t>(c)] / sum);
  }
  const Tensor scores =
      Tensor::from_vector(std::span<const double>(s), Shape{static_cast<std::int64_t>(s.size()) / C, C});
  for (const bool weighted : {false, true}) {
    for (const std::string avg : {"macro", "weighted"}) {
      SCOPED_TRACE(avg + (weighted ? " weighted" : ""));
      auto m = get(
          Json{{"class_name", "AUC"},
               {"config", {{"multi_class", "ovr"}, {"num_classes", C}, {"average", avg}, {"num_thresholds", 10001}}}});
      m->update_state(ids(mc["y_true"]), scores, weighted ? doubles(mc["sample_weight"]).view() : TensorView());
      EXPECT_NEAR(m->value(), mc["roc_auc_ovr_" + avg + (weighted ? "_weighted" : "")].get<double>(), 1e-3);
    }
  }
}

TEST(Curves, PointsAreScikitLearnConfusionCountsAtEachThreshold) {
  const Json& bi = fixtures()["binary"];
  CurveOptions o;
  o.num_thresholds = bi["curve_thresholds"];
  ROCCurve roc(o);
  PrecisionRecallCurve pr(o);
  roc.update_state(ids(bi["y_true"]), doubles(bi["y_prob"]));
  pr.update_state(ids(bi["y_true"]), doubles(bi["y_prob"]));
  const Tensor r = roc.result();
  ASSERT_EQ(r.shape(), (Shape{3, o.num_thresholds}));
  std::vector<double> want_roc(3 * static_cast<std::size_t>(o.num_thresholds)), want_pr(want_roc.size());
  const std::size_t T = static_cast<std::size_t>(o.num_thresholds);
  for (std::size_t i = 0; i < T; ++i) {
    for (std::size_t k = 0; k < 3; ++k) {
      want_roc[k * T + i] = bi["roc_curve"][i][k].get<double>();
      want_pr[k * T + i] = bi["pr_curve"][i][k].get<double>();
    }
  }
  expect_tensor_near(r, want_roc, 1e-12);
  expect_tensor_near(pr.result(), want_pr, 1e-12);
  // The area under the ROC points (trapezoids) is AUC's value over the same grid.
  AucOptions a;
  a.num_thresholds = o.num_thresholds;
  AUC auc(a);
  auc.update_state(ids(bi["y_true"]), doubles(bi["y_prob"]));
  const std::vector<double> v = r.to_doubles();
  double area = 0.0;
  for (std::size_t i = 0; i + 1 < T; ++i) area += (v[T + i] - v[T + i + 1]) * (v[2 * T + i] + v[2 * T + i + 1]) / 2.0;
  EXPECT_NEAR(area, auc.value(), 1e-12);
}

// The class-confusion loops read 5 x 5 element types (counting_dtypes.h): float16 and
// bfloat16 are copied to float32 first and bool is read as bytes. Every dtype pair must count
// what the same values give as float64 (predicted scores) or int64 (ids), in each of the
// kernel's modes: ids against ids, argmax of scores, binary probabilities, multi-label.
TEST(ConfusionMatrix, EveryDtypePairCountsWhatItsValuesCount) {
  const std::int64_t n = 1001, c = 3;
  std::mt19937_64 rng(9);
  std::vector<double> ids(static_cast<std::size_t>(n)), pred_ids(ids.size()), bits(static_cast<std::size_t>(n * c)),
      binary(ids.size()), weights(ids.size());
  for (auto& x : ids) x = static_cast<double>(rng() % 3);
  for (auto& x : pred_ids) x = static_cast<double>(rng() % 3);
  for (auto& x : binary) x = static_cast<double>(rng() % 2);
  for (auto& x : bits) x = static_cast<double>(rng() % 2);
  for (auto& x : weights) x = 0.25 * static_cast<double>(1 + rng() % 8);
  const Tensor w = Tensor::from_vector(weights);
  const Json three = {{"class_name", "ConfusionMatrix"}, {"config", {{"num_classes", c}}}};
  const Json two = {{"class_name", "ConfusionMatrix"}, {"config", {{"num_classes", 2}}}};
  const Json multilabel = {{"class_name", "ConfusionMatrix"},
                           {"config", {{"num_classes", c}, {"multilabel", true}, {"threshold", 0.25}}}};
  int compared = 0;
  auto compare = [&](const Json& config, const Tensor& t64, const Tensor& p64, const Tensor& t, const Tensor& p,
                     const std::string& what) {
    for (const bool weighted : {false, true}) {
      SCOPED_TRACE(what + (weighted ? " weighted" : ""));
      const TensorView sw = weighted ? w.view() : TensorView();
      std::unique_ptr<Metric> expected = get(config), actual = get(config);
      expected->update_state(t64, p64, sw);
      actual->update_state(t, p, sw);
      EXPECT_TRUE(testing::same_state(*expected, *actual));
      EXPECT_EQ(expected->result().to_doubles(), actual->result().to_doubles());
      ++compared;
    }
  };
  for (const DType pd : testing::kEveryDtype) {
    // Scores every dtype holds exactly, with ties (argmax takes the first): integers for the
    // integer dtypes, multiples of 1/16 for the float ones.
    std::vector<double> scores(static_cast<std::size_t>(n * c));
    const bool floating =
        pd == DType::kFloat16 || pd == DType::kBFloat16 || pd == DType::kFloat32 || pd == DType::kFloat64;
    for (auto& x : scores) {
      x = pd == DType::kBool ? static_cast<double>(rng() % 2)
                             : (floating ? static_cast<double>(rng() % 17) / 16.0 : static_cast<double>(rng() % 4));
    }
    std::vector<double> probability(static_cast<std::size_t>(n));
    for (auto& x : probability) x = static_cast<double>(rng() % 17) / 16.0;
    for (const DType td : testing::kEveryDtype) {
      const std::string what =
          std::string("labels ") + std::string(dtype_name(td)) + " predictions " + std::string(dtype_name(pd));
      const bool ids_fit = td != DType::kBool;  // class 2 is no bool
      if (ids_fit && pd != DType::kBool) {
        compare(three, testing::values_as(ids, DType::kInt64, {n}), testing::values_as(pred_ids, DType::kInt64, {n}),
                testing::values_as(ids, td, {n}), testing::values_as(pred_ids, pd, {n}), what + " ids");
      }
      if (ids_fit) {
        compare(three, testing::values_as(ids, DType::kInt64, {n}), Tensor::from_vector(scores, {n, c}),
                testing::values_as(ids, td, {n}), testing::values_as(scores, pd, {n, c}), what + " argmax");
      }
      if (floating) {
        compare(two, testing::values_as(binary, DType::kInt64, {n}), Tensor::from_vector(probability),
                testing::values_as(binary, td, {n}), testing::values_as(probability, pd, {n}), what + " probability");
      }
      compare(multilabel, Tensor::from_vector(bits, {n, c}), Tensor::from_vector(scores, {n, c}),
              testing::values_as(bits, td, {n, c}), testing::values_as(scores, pd, {n, c}), what + " multilabel");
    }
  }
  EXPECT_EQ(compared, 2 * (7 * 7 + 7 * 8 + 4 * 8 + 8 * 8));
}

}  // namespace
}  // namespace tally::metrics
