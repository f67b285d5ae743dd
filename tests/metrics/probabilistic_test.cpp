// Probabilistic metrics and functions. Reference values are re-typed from Keras 3:
// keras/src/metrics/probabilistic_metrics_test.py (metric classes and their docstrings in
// probabilistic_metrics.py) and keras/src/losses/losses_test.py (per-sample function
// values, test_no_reduction, and the focal losses); sklearn values come from
// tests/fixtures/probabilistic.json (tests/fixtures/gen_probabilistic.py).
#include "tally/metrics/probabilistic.h"

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

// Keras's float32 clip constants: 1 - 1e-7 rounds to 0.99999988.
const double kHi32 = static_cast<double>(1.0f - 1e-7f);
const double kLo32 = static_cast<double>(1e-7f);

// --- BinaryCrossentropy -------------------------------------------------------------------

TEST(BinaryCrossentropy, KerasDocstringExample) {
  const Vec yt{0, 1, 0, 0};
  const Vec yp{0.6, 0.4, 0.4, 0.6};
  BinaryCrossentropy m;
  EXPECT_NEAR(eval(m, TensorView(yt, {2, 2}), TensorView(yp, {2, 2})), 0.81492424, 1e-6);
  BinaryCrossentropy w;
  EXPECT_NEAR(eval(w, TensorView(yt, {2, 2}), TensorView(yp, {2, 2}), Vec{1, 0}), 0.9162905, 1e-6);
}

TEST(BinaryCrossentropy, KerasSaturatedTermsFollowTheMetricDType) {
  // probabilistic_metrics_test.py test_unweighted: 3.9855 (losses_test.py: 3.98559).
  const Vec yt{1, 0, 1, 0};
  const Vec yp{1, 1, 1, 0};
  BinaryCrossentropy m;
  const double v = eval(m, TensorView(yt, {2, 2}), TensorView(yp, {2, 2}));
  EXPECT_NEAR(v, 3.98559, 1e-5);
  // Exactly: row 1 holds the saturated wrong term -ln(1 - 0.99999988) = 15.942385.
  const double wrong = -std::log(1.0 - kHi32);
  EXPECT_NEAR(wrong, 15.942385, 1e-6);
  const double expected = ((-std::log(kHi32) + wrong) / 2 + (-std::log(kHi32) - std::log(1.0 - kLo32)) / 2) / 2;
  EXPECT_NEAR(v, expected, 1e-12);
  // With dtype float64 the same term is -ln(1e-7) = 16.118 (docs/keras-differences.md §11).
  BinaryCrossentropy m64(false, 0.0, "bce64", DType::kFloat64);
  m64.update_state(Vec{0}, Vec{1});
  EXPECT_NEAR(m64.value(), 16.118095, 1e-6);
  // With float16, 1 − ε rounds to 1, so the saturated wrong term is infinite, as Keras gives
  // for half-precision inputs (documented).
  BinaryCrossentropy m16(false, 0.0, "bce16", DType::kFloat16);
  m16.update_state(Vec{0}, Vec{1});
  EXPECT_TRUE(std::isinf(m16.value()));
  // Weighted (test_weighted): 3.4162.
  BinaryCrossentropy w;
  EXPECT_NEAR(eval(w, TensorView(yt, {2, 2}), TensorView(yp, {2, 2}), Vec{1.5, 2.0}), 3.4162, 1e-4);
}

TEST(BinaryCrossentropy, KerasFromLogits) {
  const Vec yt{1, 0, 1, 0, 1, 1};
  const Vec x{10, -10, 10, 10, 10, -10};
  BinaryCrossentropy m(true);
  EXPECT_NEAR(eval(m, TensorView(yt, {2, 3}), TensorView(x, {2, 3})), 3.333, 1e-3);  // test_unweighted_with_logits
  BinaryCrossentropy w(true);
  EXPECT_NEAR(eval(w, TensorView(yt, {2, 3}), TensorView(x, {2, 3}), Vec{2.0, 2.5}), 3.7037, 1e-4);
  // Exact log-sigmoid (docs/keras-differences.md §6): row 2 is (10 + 3·ln(1 + e^-10) + 10) / 3, no clipping at 16.
  const Tensor per = functional::binary_crossentropy(TensorView(yt, {2, 3}), TensorView(x, {2, 3}), true);
  EXPECT_NEAR(per.data_as<double>()[0], std::log1p(std::exp(-10.0)), 1e-15);
  EXPECT_NEAR(per.data_as<double>()[1], (20.0 + 3 * std::log1p(std::exp(-10.0))) / 3, 1e-13);
  // losses_test.py test_no_reduction: [0.0, 6.666].
  EXPECT_NEAR(per.data_as<double>()[1], 6.666, 1e-3);
  // A logit of 40 with label 0 costs 40, where sigmoid-then-clip would give 15.94.
  BinaryCrossentropy big(true);
  big.update_state(Vec{0}, Vec{40});
  EXPECT_NEAR(big.value(), 40.0, 1e-12);
}

TEST(BinaryCrossentropy, KerasLabelSmoothing) {
  // test_label_smoothing: (10 + 5·ls) / 3 for a rank-1 batch of 3 (here 3 samples, same mean).
  BinaryCrossentropy m(true, 0.1);
  EXPECT_NEAR(eval(m, Vec{1, 0, 1}, Vec{10, -10, -10}), (10.0 + 5.0 * 0.1) / 3.0, 1e-3);
  // Exactly: smoothed labels 0.95, 0.05, 0.95.
  double e = 0;
  for (auto [y, x] : {std::pair{0.95, 10.0}, {0.05, -10.0}, {0.95, -10.0}}) {
    e += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
  }
  EXPECT_NEAR(m.value(), e / 3, 1e-13);
  EXPECT_THROW(BinaryCrossentropy(false, 1.5), InvalidArgument);
}

TEST(BinaryCrossentropy, RankOneInputsAreSamples) {
  // Decision 9: [N] is N samples of one output, the same as [N, 1]; per-sample weights act.
  const Vec yt{1, 0, 1, 1};
  const Vec yp{0.9, 0.2, 0.4, 0.7};
  const Vec w{1, 2, 0, 3};
  BinaryCrossentropy a;
  BinaryCrossentropy b;
  const double ra = eval(a, yt, yp, w);
  const double rb = eval(b, TensorView(yt, {4, 1}), TensorView(yp, {4, 1}), w);
  EXPECT_DOUBLE_EQ(ra, rb);
  const double e = (-std::log(0.9) * 1 - std::log(0.8) * 2 - std::log(0.7) * 3) / 6;
  EXPECT_NEAR(ra, e, 1e-12);
  // [N] against [N, 1] aligns.
  BinaryCrossentropy c;
  EXPECT_NEAR(eval(c, yt, TensorView(yp, {4, 1}), w), e, 1e-12);
}

TEST(BinaryCrossentropy, ScalarWeightCountsTheBatchAsOneSample) {
  BinaryCrossentropy m;
  m.update_state(Vec{1, 0}, Vec{0.9, 0.2}, TensorView(std::vector<double>{3.0}, {}));
  m.update_state(Vec{1}, Vec{0.5});
  const double batch = (-std::log(0.9) - std::log(0.8)) / 2;
  EXPECT_NEAR(m.value(), (3 * batch - std::log(0.5)) / 4, 1e-12);
}

TEST(BinaryCrossentropy, MatchesSklearnLogLoss) {
  const Json f = fixture()["binary"];
  const Vec yt = f["y_true"].get<Vec>();
  const Vec yp = f["y_pred"].get<Vec>();
  const Vec w = f["sample_weight"].get<Vec>();
  BinaryCrossentropy m;
  EXPECT_NEAR(eval(m, yt, yp), f["log_loss"].get<double>(), 1e-12);
  BinaryCrossentropy mw;
  EXPECT_NEAR(eval(mw, yt, yp, w), f["log_loss_weighted"].get<double>(), 1e-12);
  // The same data as logits: ln(p / (1 - p)).
  Vec x(yp.size());
  for (std::size_t i = 0; i < yp.size(); ++i) x[i] = std::log(yp[i] / (1 - yp[i]));
  BinaryCrossentropy ml(true);
  EXPECT_NEAR(eval(ml, yt, x, w), f["log_loss_weighted"].get<double>(), 1e-10);
}

TEST(BinaryCrossentropy, ConfigAndErrors) {
  BinaryCrossentropy m(true, 0.2, "bce");
  EXPECT_EQ(m.get_config(),
            (Json{{"name", "bce"}, {"dtype", "float32"}, {"from_logits", true}, {"label_smoothing", 0.2}}));
  EXPECT_EQ(m.direction(), Direction::kLowerIsBetter);
  EXPECT_EQ(get("bce")->class_name(), "BinaryCrossentropy");
  EXPECT_EQ(get("BCE")->class_name(), "BinaryCrossentropy");
  EXPECT_THROW(get(Json::parse(R"({"class_name": "BinaryCrossentropy", "config": {"axis": -1}})")), ConfigError);
  const Vec v{0.1, 0.2, 0.3};
  try {
    m.update_state(TensorView(v, {3}), TensorView(Vec{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {3, 2}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("BinaryCrossentropy \"bce\""), std::string::npos) << e.what();
  }
}

// --- CategoricalCrossentropy --------------------------------------------------------------

TEST(CategoricalCrossentropy, KerasReferenceValues) {
  const Vec yt{0, 1, 0, 0, 0, 1};
  const Vec yp{0.05, 0.95, 0, 0.1, 0.8, 0.1};
  CategoricalCrossentropy m;
  EXPECT_NEAR(eval(m, TensorView(yt, {2, 3}), TensorView(yp, {2, 3})), 1.1769392, 1e-6);  // docstring
  CategoricalCrossentropy w;
  EXPECT_NEAR(eval(w, TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), Vec{0.3, 0.7}), 1.6271976, 1e-6);
  CategoricalCrossentropy w2;
  EXPECT_NEAR(eval(w2, TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), Vec{1.5, 2.0}), 1.338, 1e-3);  // test_weighted
  const Vec x{1, 9, 0, 1, 8, 1};
  CategoricalCrossentropy l(true);
  EXPECT_NEAR(eval(l, TensorView(yt, {2, 3}), TensorView(x, {2, 3})), 3.5011, 1e-4);  // test_unweighted_from_logits
  CategoricalCrossentropy lw(true);
  EXPECT_NEAR(eval(lw, TensorView(yt, {2, 3}), TensorView(x, {2, 3}), Vec{1.5, 2.0}), 4.0012, 1e-4);
  CategoricalCrossentropy ls(true, 0.1);
  EXPECT_NEAR(eval(ls, TensorView(yt, {2, 3}), TensorView(x, {2, 3})), 3.667, 1e-3);  // test_label_smoothing
}

TEST(CategoricalCrossentropy, KerasLossFunctionValues) {
  // losses_test.py CategoricalCrossentropyTest.
  const Vec eye{1, 0, 0, 0, 1, 0, 0, 0, 1};
  const Vec x{8, 1, 1, 0, 9, 1, 2, 3, 5};
  const Tensor per = functional::categorical_crossentropy(TensorView(eye, {3, 3}), TensorView(x, {3, 3}), true);
  const Vec expected{0.001822, 0.000459, 0.169846};  // test_no_reduction
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(per.data_as<double>()[i], expected[i], 1e-6);
  const Vec p{0.9, 0.05, 0.05, 0.5, 0.89, 0.6, 0.05, 0.01, 0.94};
  CategoricalCrossentropy m;
  EXPECT_NEAR(eval(m, TensorView(eye, {3, 3}), TensorView(p, {3, 3})), 0.3239, 1e-4);  // renormalised rows
  // test_label_smoothing: logits ±100, ls 0.1 -> 400·ls/3.
  CategoricalCrossentropy s(true, 0.1);
  EXPECT_NEAR(eval(s, TensorView(Vec{1, 0, 0}, {1, 3}), TensorView(Vec{100, -100, -100}, {1, 3})), 40.0 / 3.0, 1e-9);
}

TEST(CategoricalCrossentropy, KerasLabelSmoothingWithAxis) {
  // losses_test.py test_label_smoothing_with_axis: (batch, classes, spatial), axis 1.
  const Vec yt{1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0};
  const Vec yp{0.8, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.8, 0.1, 0.1, 0.1};
  const double ls = 0.1;
  double expected = 0;
  for (int b = 0; b < 2; ++b) {
    for (int s = 0; s < 2; ++s) {
      for (int c = 0; c < 3; ++c) {
        const int i = b * 6 + c * 2 + s;
        expected -= (yt[i] * (1 - ls) + ls / 3) * std::log(yp[i]);
      }
    }
  }
  expected /= 4;
  CategoricalCrossentropy m(false, ls, 1);
  EXPECT_NEAR(eval(m, TensorView(yt, {2, 3, 2}), TensorView(yp, {2, 3, 2})), expected, 1e-6);
  const Tensor per =
      functional::categorical_crossentropy(TensorView(yt, {2, 3, 2}), TensorView(yp, {2, 3, 2}), false, ls, 1);
  EXPECT_EQ(per.shape(), (Shape{2, 2}));
  // Per-position weights of the loss shape [2, 2].
  CategoricalCrossentropy pw(false, ls, 1);
  pw.update_state(TensorView(yt, {2, 3, 2}), TensorView(yp, {2, 3, 2}), TensorView(Vec{1, 0, 0, 1}, {2, 2}));
  const double* v = per.data_as<double>();
  EXPECT_NEAR(pw.value(), (v[0] + v[3]) / 2, 1e-12);
}

TEST(CategoricalCrossentropy, RankOneIsOneVector) {
  CategoricalCrossentropy m;
  m.update_state(Vec{0, 1, 0}, Vec{0.2, 0.5, 0.3});
  EXPECT_NEAR(m.value(), -std::log(0.5), 1e-12);
  EXPECT_EQ(m.variable_values().f64(1)[0], 1.0);
}

TEST(CategoricalCrossentropy, MatchesSklearnLogLoss) {
  const Json f = fixture()["multiclass"];
  const auto c = f["classes"].get<std::int64_t>();
  const auto labels = f["labels"].get<std::vector<std::int64_t>>();
  const Vec yp = f["y_pred"].get<Vec>();
  const Vec w = f["sample_weight"].get<Vec>();
  const auto n = static_cast<std::int64_t>(labels.size());
  Vec onehot(static_cast<std::size_t>(n * c), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    onehot[static_cast<std::size_t>(i * c + labels[static_cast<std::size_t>(i)])] = 1;
  CategoricalCrossentropy m;
  EXPECT_NEAR(eval(m, TensorView(onehot, {n, c}), TensorView(yp, {n, c})), f["log_loss"].get<double>(), 1e-12);
  CategoricalCrossentropy mw;
  EXPECT_NEAR(eval(mw, TensorView(onehot, {n, c}), TensorView(yp, {n, c}), w), f["log_loss_weighted"].get<double>(),
              1e-12);
  // The same rows as logits ln p: log-softmax gives back ln p (rows sum to 1).
  Vec x(yp.size());
  for (std::size_t i = 0; i < yp.size(); ++i) x[i] = std::log(yp[i]);
  CategoricalCrossentropy ml(true);
  EXPECT_NEAR(eval(ml, TensorView(onehot, {n, c}), TensorView(x, {n, c}), w), f["log_loss_weighted"].get<double>(),
              1e-12);
  SparseCategoricalCrossentropy s;
  EXPECT_NEAR(eval(s, labels, TensorView(yp, {n, c}), w), f["log_loss_weighted"].get<double>(), 1e-12);
  SparseCategoricalCrossentropy sl(true);
  EXPECT_NEAR(eval(sl, labels, TensorView(x, {n, c}), w), f["log_loss_weighted"].get<double>(), 1e-12);
}

// --- SparseCategoricalCrossentropy --------------------------------------------------------

TEST(SparseCategoricalCrossentropy, KerasReferenceValues) {
  const Vec yp{0.05, 0.95, 0, 0.1, 0.8, 0.1};
  const Vec x{1, 9, 0, 1, 8, 1};
  SparseCategoricalCrossentropy m;
  EXPECT_NEAR(eval(m, Vec{1, 2}, TensorView(yp, {2, 3})), 1.1769392, 1e-6);
  SparseCategoricalCrossentropy w;
  EXPECT_NEAR(eval(w, Vec{1, 2}, TensorView(yp, {2, 3}), Vec{0.3, 0.7}), 1.6271976, 1e-6);
  SparseCategoricalCrossentropy l(true);
  EXPECT_NEAR(eval(l, std::vector<std::int64_t>{1, 2}, TensorView(x, {2, 3})), 3.5011, 1e-4);
  SparseCategoricalCrossentropy lw(true);
  EXPECT_NEAR(eval(lw, std::vector<std::int32_t>{1, 2}, TensorView(x, {2, 3}), Vec{1.5, 2.0}), 4.0012, 1e-4);
  // y_true [N, 1] is squeezed.
  SparseCategoricalCrossentropy sq;
  EXPECT_NEAR(eval(sq, TensorView(Vec{1, 2}, {2, 1}), TensorView(yp, {2, 3})), 1.1769392, 1e-6);
}

TEST(SparseCategoricalCrossentropy, IgnoreClassLeavesTotalAndCount) {
  const Vec yt{0, 1, 2};
  const Vec yp{0.8, 0.1, 0.1, 0.05, 0.95, 0, 0.1, 0.8, 0.1};
  const double l1 = -std::log(0.95 / 1.0);
  const double l2 = -std::log(0.1);
  // Keras test_ignore_class gives 0.78462 = (l1 + l2) / 3 (it counts the ignored row when
  // unweighted); docs/keras-differences.md §12 excludes it: (l1 + l2) / 2.
  SparseCategoricalCrossentropy m(false, 0);
  EXPECT_NEAR(eval(m, yt, TensorView(yp, {3, 3})), (l1 + l2) / 2, 1e-6);
  EXPECT_NEAR((l1 + l2) / 3, 0.78462, 1e-4);
  // test_ignore_class_weighted: 1.33774646, the same in Keras and tally.
  SparseCategoricalCrossentropy w(false, 0);
  EXPECT_NEAR(eval(w, yt, TensorView(yp, {3, 3}), Vec{0.5, 1.5, 2.0}), 1.33774646, 1e-6);
  // A scalar weight with ignore_class weights the valid rows (Keras apply_mask).
  SparseCategoricalCrossentropy s(false, 0);
  EXPECT_NEAR(eval(s, yt, TensorView(yp, {3, 3}), TensorView(std::vector<double>{2.0}, {})), (l1 + l2) / 2, 1e-6);
  // test_ignore_class_from_logits: Keras 2.33409 = sum / 3; tally sum / 2.
  SparseCategoricalCrossentropy l(true, 0);
  const double r = eval(l, yt, TensorView(Vec{10, 1, 1, 1, 9, 0, 1, 8, 1}, {3, 3}));
  EXPECT_NEAR(r * 2 / 3, 2.33409, 1e-5);
  // An ignore class outside [0, C) (e.g. 255, -1) is accepted.
  SparseCategoricalCrossentropy v(false, -1);
  EXPECT_NEAR(eval(v, Vec{-1, 1, 2}, TensorView(yp, {3, 3})), (l1 + l2) / 2, 1e-6);
  // All ignored: count 0, result 0.
  SparseCategoricalCrossentropy all(false, 1);
  EXPECT_EQ(eval(all, Vec{1}, TensorView(Vec{0.3, 0.7}, {1, 2})), 0.0);
}

TEST(SparseCategoricalCrossentropy, RankThreeAndAxis) {
  // y_pred (batch, classes, spatial) with axis 1; labels (batch, spatial).
  const Vec yp{0.7, 0.2, 0.3, 0.8, 0.6, 0.1, 0.4, 0.9};
  const Vec yt{0, 1, 1, 1};
  SparseCategoricalCrossentropy m(false, std::nullopt, 1);
  const double e = (-std::log(0.7) - std::log(0.8) - std::log(0.4) - std::log(0.9)) / 4;
  EXPECT_NEAR(eval(m, TensorView(yt, {2, 2}), TensorView(yp, {2, 2, 2})), e, 1e-12);
  // With ignore_class and per-sample weights: position weights w[b]·mask.
  SparseCategoricalCrossentropy g(false, 0, 1);
  EXPECT_NEAR(eval(g, TensorView(yt, {2, 2}), TensorView(yp, {2, 2, 2}), Vec{1.0, 3.0}),
              (-std::log(0.8) * 1 - std::log(0.4) * 3 - std::log(0.9) * 3) / 7, 1e-12);
}

TEST(SparseCategoricalCrossentropy, ErrorsLeaveStateUnchanged) {
  SparseCategoricalCrossentropy m;
  m.update_state(Vec{0}, TensorView(Vec{0.5, 0.5}, {1, 2}));
  const auto before = m.to_vector();
  EXPECT_THROW(m.update_state(Vec{0, 2}, TensorView(Vec{0.5, 0.5, 0.5, 0.5}, {2, 2})), InvalidArgument);
  EXPECT_THROW(m.update_state(Vec{0, 0.5}, TensorView(Vec{0.5, 0.5, 0.5, 0.5}, {2, 2})), InvalidArgument);
  EXPECT_THROW(m.update_state(Vec{0, 1, 1}, TensorView(Vec{0.5, 0.5, 0.5, 0.5}, {2, 2})), ShapeError);
  EXPECT_EQ(before, m.to_vector());
  EXPECT_EQ(SparseCategoricalCrossentropy(false, 3).get_config()["ignore_class"], 3);
  EXPECT_TRUE(SparseCategoricalCrossentropy().get_config()["ignore_class"].is_null());
}

// --- KLDivergence, Poisson ----------------------------------------------------------------

TEST(KLDivergence, KerasReferenceValues) {
  KLDivergence d;
  EXPECT_NEAR(eval(d, TensorView(Vec{0, 1, 0, 0}, {2, 2}), TensorView(Vec{0.6, 0.4, 0.4, 0.6}, {2, 2})), 0.45814306,
              1e-6);  // docstring
  KLDivergence dw;
  EXPECT_NEAR(eval(dw, TensorView(Vec{0, 1, 0, 0}, {2, 2}), TensorView(Vec{0.6, 0.4, 0.4, 0.6}, {2, 2}), Vec{1, 0}),
              0.9162892, 1e-6);
  const Vec yt{0.5, 0.8, 0.12, 0.7, 0.43, 0.8};
  const Vec yp{0.4, 0.9, 0.12, 0.36, 0.3, 0.4};
  double r0 = 0;
  double r1 = 0;
  for (int k = 0; k < 3; ++k) {
    r0 += yt[k] * std::log(yt[k] / yp[k]);
    r1 += yt[3 + k] * std::log(yt[3 + k] / yp[3 + k]);
  }
  KLDivergence m;
  EXPECT_NEAR(eval(m, TensorView(yt, {2, 3}), TensorView(yp, {2, 3})), (r0 + r1) / 2, 1e-12);  // test_unweighted
  KLDivergence w;
  EXPECT_NEAR(eval(w, TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), TensorView(Vec{1.2, 3.4}, {2, 1})),
              (1.2 * r0 + 3.4 * r1) / 4.6, 1e-12);  // test_weighted
  EXPECT_EQ(m.direction(), Direction::kLowerIsBetter);
  EXPECT_EQ(get("kld")->class_name(), "KLDivergence");
}

TEST(Poisson, KerasReferenceValues) {
  Poisson d;
  EXPECT_NEAR(eval(d, TensorView(Vec{0, 1, 0, 0}, {2, 2}), TensorView(Vec{1, 1, 0, 0}, {2, 2})), 0.49999997, 1e-6);
  Poisson dw;
  EXPECT_NEAR(eval(dw, TensorView(Vec{0, 1, 0, 0}, {2, 2}), TensorView(Vec{1, 1, 0, 0}, {2, 2}), Vec{1, 0}), 0.99999994,
              1e-6);
  const Vec yt{4, 8, 12, 8, 1, 3};
  const Vec yp{1, 9, 2, 5, 2, 6};
  double r0 = 0;
  double r1 = 0;
  for (int k = 0; k < 3; ++k) {
    r0 += yp[k] - yt[k] * std::log(yp[k] + kLo32);
    r1 += yp[3 + k] - yt[3 + k] * std::log(yp[3 + k] + kLo32);
  }
  Poisson m;
  EXPECT_NEAR(eval(m, TensorView(yt, {2, 3}), TensorView(yp, {2, 3})), (r0 + r1) / 6, 1e-12);
  Poisson w;
  EXPECT_NEAR(eval(w, TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), TensorView(Vec{1.2, 3.4}, {2, 1})),
              (1.2 * r0 + 3.4 * r1) / 3 / 4.6, 1e-12);
  // Rank 1: N samples.
  Poisson s;
  EXPECT_NEAR(eval(s, Vec{4, 8}, Vec{1, 9}, Vec{1, 3}),
              ((1 - 4 * std::log(1 + kLo32)) + 3 * (9 - 8 * std::log(9 + kLo32))) / 4, 1e-12);
}

// --- focal functions ----------------------------------------------------------------------

TEST(BinaryFocalCrossentropy, KerasLossFunctionValues) {
  const Vec yt{1, 0, 1, 0};
  const Vec yp{0.9, 0.8, 0.7, 0.2};
  // losses_test.py test_no_reduction: (0.515547, 0.020513); test_unweighted: 0.268.
  const Tensor per = functional::binary_focal_crossentropy(TensorView(yt, {2, 2}), TensorView(yp, {2, 2}));
  EXPECT_NEAR(per.data_as<double>()[0], 0.515547, 1e-6);
  EXPECT_NEAR(per.data_as<double>()[1], 0.020513, 1e-6);
  // Logits, gamma 3: 0.799.
  const Vec yl{1, 1, 0, 0, 1, 0};
  const Vec x{1.5, -2.7, 2.9, -3.8, 1.2, -4.5};
  const Tensor pl =
      functional::binary_focal_crossentropy(TensorView(yl, {2, 3}), TensorView(x, {2, 3}), false, 0.25, 3.0, true);
  EXPECT_NEAR((pl.data_as<double>()[0] + pl.data_as<double>()[1]) / 2, 0.799, 1e-3);
  // Docstring (binary_focal_crossentropy): [0.330, 0.206] with gamma 2.
  const Tensor d = functional::binary_focal_crossentropy(TensorView(Vec{0, 1, 0, 0}, {2, 2}),
                                                         TensorView(Vec{0.6, 0.4, 0.4, 0.6}, {2, 2}));
  EXPECT_NEAR(d.data_as<double>()[0], 0.330, 1e-3);
  EXPECT_NEAR(d.data_as<double>()[1], 0.206, 1e-3);
  // Class balancing multiplies by alpha for y = 1 and 1 - alpha for y = 0.
  const Tensor b = functional::binary_focal_crossentropy(TensorView(yt, {2, 2}), TensorView(yp, {2, 2}), true, 0.25);
  const double t00 = -std::log(0.9) * 0.01 * 0.25;
  const double t01 = -std::log(0.2) * 0.64 * 0.75;
  EXPECT_NEAR(b.data_as<double>()[0], (t00 + t01) / 2, 1e-12);
  // As a metric by name, with per-sample weights: Σ w·v / Σ w.
  auto m = get("binary_focal_crossentropy");
  m->update_state(TensorView(yt, {2, 2}), TensorView(yp, {2, 2}), Vec{1.2, 3.4});
  EXPECT_NEAR(m->value(), (1.2 * 0.515547 + 3.4 * 0.020513) / 4.6, 1e-6);
  EXPECT_EQ(m->get_config()["fn"], "binary_focal_crossentropy");
  EXPECT_EQ(m->direction(), Direction::kLowerIsBetter);
}

TEST(CategoricalFocalCrossentropy, KerasLossFunctionValues) {
  const Vec eye{1, 0, 0, 0, 1, 0, 0, 0, 1};
  const Vec p{0.9, 0.05, 0.05, 0.5, 0.89, 0.6, 0.05, 0.01, 0.94};
  const Vec x{8, 1, 1, 0, 9, 1, 2, 3, 5};
  const Tensor a = functional::categorical_focal_crossentropy(TensorView(eye, {3, 3}), TensorView(p, {3, 3}));
  const double* av = a.data_as<double>();
  EXPECT_NEAR((av[0] + av[1] + av[2]) / 3, 0.02059, 1e-5);  // test_unweighted
  const Tensor l =
      functional::categorical_focal_crossentropy(TensorView(eye, {3, 3}), TensorView(x, {3, 3}), 0.25, 2.0, true);
  const Vec expected{1.5096224e-09, 2.4136547e-11, 1.0360638e-03};  // test_no_reduction
  // Keras computes 1 − o in float32, where o within 1e-7 of 1 is quantised: the two tiny
  // values agree to 1e-3 relative (Keras's own test uses atol 1e-6), the third to 1e-6.
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(l.data_as<double>()[i], expected[i], 1e-3 * expected[i]);
  EXPECT_NEAR(l.data_as<double>()[2], expected[2], 1e-6 * expected[2]);
  // test_label_smoothing: 0.06685.
  const Tensor s = functional::categorical_focal_crossentropy(
      TensorView(Vec{1, 0, 0}, {1, 3}), TensorView(Vec{4.9, -0.5, 2.05}, {1, 3}), 0.25, 2.0, true, 0.1);
  EXPECT_NEAR(s.data_as<double>()[0], 0.06685, 1e-5);
  // The registry path with kwargs.
  auto m = get(Json::parse(
      R"({"class_name": "MeanMetricWrapper", "config": {"fn": "categorical_focal_crossentropy", "from_logits": true}})"));
  m->update_state(TensorView(eye, {3, 3}), TensorView(x, {3, 3}));
  EXPECT_NEAR(m->value(), (expected[0] + expected[1] + expected[2]) / 3, 1e-9);
}

// --- per-sample functions through MeanMetricWrapper -----------------------------------------

TEST(ProbabilisticFunctions, WrapperAgreesWithClasses) {
  const Tensor yt = testing::random_labels({300, 4}, 5, 2, DType::kFloat64);
  const Tensor yp = testing::random_uniform({300, 4}, 6, 0.01, 0.99);
  const Tensor w = testing::random_uniform({300}, 7);
  for (const char* name : {"binary_crossentropy", "poisson", "kl_divergence", "categorical_crossentropy"}) {
    auto cls = get(name);
    auto fn = get(Json{{"class_name", "MeanMetricWrapper"}, {"config", {{"fn", name}}}});
    cls->update_state(yt, yp, w);
    fn->update_state(yt, yp, w);
    EXPECT_NEAR(cls->value(), fn->value(), 1e-12) << name;
  }
  auto scce = functional::find_function("sparse_categorical_crossentropy");
  ASSERT_TRUE(scce.has_value());
  EXPECT_EQ(scce->direction, Direction::kLowerIsBetter);
}

// --- the property harness -----------------------------------------------------------------

TEST(Probabilistic, EveryMetricPassesTheHarness) {
  const Tensor labels01 = testing::random_labels({900, 3}, 11, 2, DType::kFloat32);
  const Tensor probs = testing::random_uniform({900, 3}, 12, 0.0, 1.0, DType::kFloat32);
  const Tensor logits = testing::random_uniform({900, 3}, 13, -6.0, 6.0);
  const Tensor weights = testing::random_uniform({900}, 14);
  const Tensor sparse = testing::random_labels({900}, 15, 3);
  const Tensor labels1 = testing::random_labels({2000}, 16, 2, DType::kFloat64);
  const Tensor probs1 = testing::random_uniform({2000}, 17);
  const Tensor weights1 = testing::random_uniform({2000}, 18);
  struct Case {
    std::function<std::unique_ptr<Metric>()> factory;
    Tensor y_true;
    Tensor y_pred;
    std::vector<std::string> names;
  };
  std::vector<Case> cases;
  cases.push_back({[] { return std::make_unique<BinaryCrossentropy>(); },
                   labels01,
                   probs,
                   {"BinaryCrossentropy", "binary_crossentropy", "bce", "BCE"}});
  cases.push_back({[] { return std::make_unique<BinaryCrossentropy>(true, 0.1); }, labels01, logits, {}});
  cases.push_back({[] { return std::make_unique<BinaryCrossentropy>(); }, labels1, probs1, {}});  // rank 1
  cases.push_back({[] { return std::make_unique<CategoricalCrossentropy>(); },
                   labels01,
                   probs,
                   {"CategoricalCrossentropy", "categorical_crossentropy"}});
  cases.push_back({[] { return std::make_unique<CategoricalCrossentropy>(true, 0.2); }, labels01, logits, {}});
  cases.push_back({[] { return std::make_unique<SparseCategoricalCrossentropy>(); },
                   sparse,
                   probs,
                   {"SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"}});
  cases.push_back({[] { return std::make_unique<SparseCategoricalCrossentropy>(true, 1); }, sparse, logits, {}});
  cases.push_back({[] { return std::make_unique<KLDivergence>(); },
                   probs,
                   testing::random_uniform({900, 3}, 19, 0.0, 1.0, DType::kFloat32),
                   {"KLDivergence", "kl_divergence", "kld", "KLD", "kullback_leibler_divergence"}});
  cases.push_back({[] { return std::make_unique<Poisson>(); }, labels01, probs, {"Poisson", "poisson"}});
  cases.push_back({[] { return std::make_unique<Poisson>(); }, labels1, probs1, {}});
  for (const Case& k : cases) {
    for (const bool weighted : {false, true}) {
      SCOPED_TRACE(k.factory()->class_name() + (weighted ? " weighted" : ""));
      testing::HarnessCase c;
      c.factory = k.factory;
      c.y_true = k.y_true;
      c.y_pred = k.y_pred;
      if (weighted) c.sample_weight = k.y_pred.ndim() == 1 ? weights1 : weights;
      c.names = k.names;
      testing::check_metric_properties(c);
    }
  }
}

TEST(Probabilistic, FocalFunctionsPassTheHarness) {
  const Tensor labels01 = testing::random_labels({600, 4}, 21, 2, DType::kFloat64);
  const Tensor probs = testing::random_uniform({600, 4}, 22);
  const Tensor weights = testing::random_uniform({600}, 23);
  for (const char* name : {"binary_focal_crossentropy", "categorical_focal_crossentropy"}) {
    SCOPED_TRACE(name);
    testing::HarnessCase c;
    c.factory = [name] { return get(name); };
    c.y_true = labels01;
    c.y_pred = probs;
    c.sample_weight = weights;
    c.names = {name};
    testing::check_metric_properties(c);
  }
}

}  // namespace
}  // namespace tally::metrics
