// The regression family. Keras reference values are re-typed from
// keras/src/metrics/regression_metrics_test.py; scikit-learn references come from
// tests/fixtures/gen_regression.py (regression.json).
#include "tally/metrics/regression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "support/thread_context.h"
#include "tally/metrics/functional.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

const std::vector<double> kTrue{0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1};
const std::vector<double> kPred{0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1};
const std::vector<double> kWeights{1.0, 1.5, 2.0, 2.5};

double run(Metric& m, bool weighted) {
  m.update_state(TensorView(kTrue, {4, 5}), TensorView(kPred, {4, 5}), weighted ? TensorView(kWeights) : TensorView());
  return m.value();
}

TEST(Regression, KerasReferenceValues) {
  MeanSquaredError mse, mse_w;
  EXPECT_NEAR(run(mse, false), 0.5, 1e-12);
  EXPECT_NEAR(run(mse_w, true), 0.542857142857, 1e-10);
  MeanAbsoluteError mae, mae_w;
  EXPECT_NEAR(run(mae, false), 0.5, 1e-12);
  EXPECT_NEAR(run(mae_w, true), 0.542857142857, 1e-10);
  // MAPE divides by max(|y|, 1e-7 in float32): Keras's 35e7 and 40e7 within float32 eps.
  MeanAbsolutePercentageError mape, mape_w;
  EXPECT_NEAR(run(mape, false), 35e7, 35e7 * 1e-6);
  EXPECT_NEAR(run(mape_w, true), 40e7, 40e7 * 1e-6);
  MeanSquaredLogarithmicError msle, msle_w;
  EXPECT_NEAR(run(msle, false), 0.24022, 1e-5);
  EXPECT_NEAR(run(msle_w, true), 0.26082, 1e-5);
  RootMeanSquaredError rmse;
  EXPECT_NEAR(run(rmse, false), std::sqrt(0.5), 1e-12);
}

TEST(Regression, LogCoshAndCosineMatchTheirFormulas) {
  const std::vector<double> yt{1, 9, 2, -5, -2, 6}, yp{4, 8, 12, 8, 1, 3};
  double plain = 0.0, weighted = 0.0, wsum = 0.0;
  const double w[2] = {1.2, 3.4};
  for (int i = 0; i < 6; ++i) {
    const double e = yp[static_cast<std::size_t>(i)] - yt[static_cast<std::size_t>(i)];
    const double lc = std::log((std::exp(e) + std::exp(-e)) / 2.0);
    plain += lc / 6.0;
    weighted += lc * w[i / 3];
    wsum += w[i / 3];
  }
  LogCoshError lc;
  lc.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}));
  EXPECT_NEAR(lc.value(), plain, 1e-12);  // LogCoshErrorTest.test_unweighted
  LogCoshError lcw;
  lcw.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), TensorView(std::vector<double>{1.2, 3.4}, {2, 1}));
  EXPECT_NEAR(lcw.value(), weighted / wsum, 1e-12);  // test_weighted
  EXPECT_EQ(lc.name(), "logcosh");

  double cos[2];
  for (int r = 0; r < 2; ++r) {
    double tt = 0, pp = 0, tp = 0;
    for (int k = 0; k < 3; ++k) {
      const double a = yt[static_cast<std::size_t>(r * 3 + k)], b = yp[static_cast<std::size_t>(r * 3 + k)];
      tt += a * a;
      pp += b * b;
      tp += a * b;
    }
    cos[r] = tp / std::sqrt(tt * pp);
  }
  CosineSimilarity c;
  c.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}));
  EXPECT_NEAR(c.value(), (cos[0] + cos[1]) / 2.0, 1e-12);  // CosineSimilarityTest.test_unweighted
  CosineSimilarity cw;
  cw.update_state(TensorView(yt, {2, 3}), TensorView(yp, {2, 3}), std::vector<double>{1.2, 3.4});
  EXPECT_NEAR(cw.value(), (cos[0] * 1.2 + cos[1] * 3.4) / 4.6, 1e-12);  // test_weighted
  CosineSimilarity zero;                                                // a zero vector gives 0, not NaN
  zero.update_state(TensorView(std::vector<double>{0, 0}, {1, 2}), TensorView(std::vector<double>{1, 1}, {1, 2}));
  EXPECT_DOUBLE_EQ(zero.value(), 0.0);
  CosineSimilarity axis0("c", DType::kFloat32, 0);  // columns as vectors
  axis0.update_state(TensorView(yt, {2, 3}), TensorView(yt, {2, 3}));
  EXPECT_NEAR(axis0.value(), 1.0, 1e-12);
}

TEST(Regression, RankOneInputsAreSamples) {
  // docs/keras-differences.md §9: [N] is N samples of one output, so per-sample weights apply.
  MeanSquaredError a, b;
  a.update_state(std::vector<double>{0, 0, 0}, std::vector<double>{1, 2, 3}, std::vector<double>{1, 0, 1});
  b.update_state(TensorView(std::vector<double>{0, 0, 0}, {3, 1}), TensorView(std::vector<double>{1, 2, 3}, {3, 1}),
                 std::vector<double>{1, 0, 1});
  EXPECT_DOUBLE_EQ(a.value(), 5.0);
  EXPECT_DOUBLE_EQ(b.value(), 5.0);
  MeanSquaredError empty;
  EXPECT_DOUBLE_EQ(empty.value(), 0.0);  // nothing seen: 0 (Keras divide_no_nan)
  EXPECT_THROW(a.update_state(std::vector<double>{1, 2}, std::vector<double>{1, 2, 3}), ShapeError);
}

Json fixture() {
  std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/regression.json");
  return Json::parse(in);
}

Tensor vec(const Json& j) { return Tensor::from_vector(j.get<std::vector<double>>()); }
Tensor mat(const Json& j) {
  std::vector<double> flat;
  for (const auto& row : j) {
    for (const auto& x : row) flat.push_back(x.get<double>());
  }
  return Tensor::from_vector(flat, {static_cast<std::int64_t>(j.size()), static_cast<std::int64_t>(j[0].size())});
}

TEST(Regression, MatchesScikitLearn) {
  const Json f = fixture();
  const Tensor y = vec(f["y_true"]), p = vec(f["y_pred"]), w = vec(f["sample_weight"]);
  auto check = [&](Metric&& m, const Tensor& t, const Tensor& q, const TensorView& weights, double want) {
    m.update_state(t, q, weights);
    EXPECT_NEAR(m.value(), want, 1e-9 * std::max(1.0, std::fabs(want))) << m.class_name();
  };
  check(MeanSquaredError(), y, p, {}, f["mse"]);
  check(MeanSquaredError(), y, p, w, f["mse_weighted"]);
  check(MeanAbsoluteError(), y, p, {}, f["mae"]);
  check(MeanAbsoluteError(), y, p, w, f["mae_weighted"]);
  check(MeanAbsolutePercentageError("m", DType::kFloat64), y, p, {}, f["mape_percent"]);
  std::vector<double> ya = y.to_doubles(), pa = p.to_doubles();
  for (double& x : ya) x = std::fabs(x);
  for (double& x : pa) x = std::fabs(x);
  check(MeanSquaredLogarithmicError(), Tensor::from_vector(ya), Tensor::from_vector(pa), {}, f["msle_abs"]);
  check(R2Score(), y, p, {}, f["r2"]);
  check(R2Score(), y, p, w, f["r2_weighted"]);
  const Tensor yk = mat(f["y_true_k"]), pk = mat(f["y_pred_k"]);
  check(R2Score(ClassAggregation::kUniformAverage, 0, "r2", DType::kFloat32, 3), yk, pk, {}, f["r2_k_uniform"]);
  check(R2Score(ClassAggregation::kVarianceWeightedAverage, 0, "r2", DType::kFloat32, 3), yk, pk, {},
        f["r2_k_variance"]);
  check(R2Score(ClassAggregation::kUniformAverage, 0, "r2", DType::kFloat32, 3), yk, pk, w, f["r2_k_weighted"]);
  R2Score raw(ClassAggregation::kNone, 0, "r2", DType::kFloat32, 3);
  raw.update_state(yk, pk);
  const std::vector<double> got = raw.result().to_doubles();
  for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(got[j], f["r2_k_raw"][j].get<double>(), 1e-9);
}

TEST(R2Score, ConfigAdjustedAndDegenerateCases) {
  R2Score r2;
  EXPECT_EQ(r2.get_config(), (Json{{"name", "r2_score"},
                                   {"dtype", "float32"},
                                   {"class_aggregation", "uniform_average"},
                                   {"num_regressors", 0}}));
  auto none = get(R"({"class_name": "R2Score", "config": {"class_aggregation": null, "num_outputs": 2}})");
  EXPECT_TRUE(none->get_config()["class_aggregation"].is_null());
  EXPECT_EQ(none->get_config()["num_outputs"], 2);
  EXPECT_THROW(get(R"({"class_name": "R2Score", "config": {"class_aggregation": "median"}})"), ConfigError);
  EXPECT_THROW(R2Score(ClassAggregation::kUniformAverage, -1), InvalidArgument);
  // Adjusted: 1 - (1 - r2)(n - 1)/(n - p - 1) with n = 5 rows, p = 2.
  const std::vector<double> y{1, 2, 3, 4, 5}, p{1.1, 1.9, 3.2, 3.7, 5.3};
  R2Score plain, adjusted(ClassAggregation::kUniformAverage, 2);
  plain.update_state(y, p);
  adjusted.update_state(y, p);
  EXPECT_NEAR(adjusted.value(), 1.0 - (1.0 - plain.value()) * 4.0 / 2.0, 1e-12);
  R2Score too_many(ClassAggregation::kUniformAverage, 4);  // p >= n - 1: plain R², as Keras (with a warning)
  too_many.update_state(y, p);
  EXPECT_NEAR(too_many.value(), plain.value(), 1e-15);
  R2Score constant;  // constant targets with errors: -inf -> 0
  constant.update_state(std::vector<double>{2, 2}, std::vector<double>{1, 3});
  EXPECT_DOUBLE_EQ(constant.value(), 0.0);
  R2Score perfect_constant;  // 0/0 stays NaN
  perfect_constant.update_state(std::vector<double>{2, 2}, std::vector<double>{2, 2});
  EXPECT_TRUE(std::isnan(perfect_constant.value()));
  EXPECT_THROW(r2.update_state(TensorView(y, {5, 1}), TensorView(std::vector<double>(10, 1.0), {5, 2})), ShapeError);
  // Rows with zero weight do not count towards n (docs/keras-differences.md §5).
  R2Score n_check(ClassAggregation::kUniformAverage, 1);
  n_check.update_state(y, p, std::vector<double>{1, 1, 1, 1, 0});
  EXPECT_EQ(n_check.variable_values().i64(0)[0], 4);
}

TEST(Regression, PassesTheHarness) {
  const std::int64_t n = 2000;
  const Tensor y2 = testing::random_uniform({n, 3}, 1, 0.0, 2.0), p2 = testing::random_uniform({n, 3}, 2, 0.0, 2.0);
  const Tensor y1 = testing::random_uniform({n}, 3, 0.0, 2.0, DType::kFloat32);
  const Tensor p1 = testing::random_uniform({n}, 4, 0.0, 2.0, DType::kFloat32);
  const Tensor w = testing::random_uniform({n}, 5);
  struct Case {
    std::function<std::unique_ptr<Metric>()> factory;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {[] { return std::make_unique<MeanSquaredError>(); }, {"MeanSquaredError", "mean_squared_error", "mse", "MSE"}},
      {[] { return std::make_unique<MeanAbsoluteError>(); }, {"MeanAbsoluteError", "mae", "MAE"}},
      {[] { return std::make_unique<MeanAbsolutePercentageError>(); }, {"MeanAbsolutePercentageError", "mape"}},
      {[] { return std::make_unique<MeanSquaredLogarithmicError>(); }, {"MeanSquaredLogarithmicError", "msle"}},
      {[] { return std::make_unique<RootMeanSquaredError>(); }, {"RootMeanSquaredError", "root_mean_squared_error"}},
      {[] { return std::make_unique<LogCoshError>(); }, {"LogCoshError", "log_cosh_error", "logcosh"}},
      {[] { return std::make_unique<CosineSimilarity>(); }, {"CosineSimilarity", "cosine_similarity"}},
  };
  for (const Case& c : cases) {
    for (const bool rank2 : {false, true}) {
      for (const bool weighted : {false, true}) {
        if (!rank2 && c.names.front() == "CosineSimilarity") continue;  // rank 1 is one vector
        testing::HarnessCase h;
        h.factory = c.factory;
        h.y_true = rank2 ? y2 : y1;
        h.y_pred = rank2 ? p2 : p1;
        if (weighted) h.sample_weight = w;
        h.names = c.names;
        SCOPED_TRACE(c.names.front() + (rank2 ? " rank 2" : " rank 1") + (weighted ? " weighted" : ""));
        testing::check_metric_properties(h);
      }
    }
  }
  testing::HarnessCase r2;
  r2.factory = [] {
    return std::make_unique<R2Score>(ClassAggregation::kVarianceWeightedAverage, 1, "r2", DType::kFloat32, 3);
  };
  r2.y_true = y2;
  r2.y_pred = p2;
  r2.sample_weight = w;
  r2.names = {"R2Score", "r2_score"};
  testing::check_metric_properties(r2);
}

// Inputs of dtypes other than float32/float64 are widened one parallel chunk at a time
// (src/metrics/kernels/real_pair.h): over several chunks, rows of 1 and 3 values, every
// regression metric must give bit for bit what it gives on float64 copies of the same values.
TEST(Regression, NarrowDtypesEqualTheirFloat64CopiesExactly) {
  const std::int64_t rows = 3 * 32768 + 77;  // several chunks of internal::kChunkSize and a tail
  for (const std::int64_t width : {std::int64_t{1}, std::int64_t{3}}) {
    const Shape shape = width == 1 ? Shape{rows} : Shape{rows, width};
    const std::size_t n = static_cast<std::size_t>(rows * width);
    std::vector<std::int32_t> t_int(n);
    std::vector<std::uint8_t> p_u8(n);
    std::vector<Float16> p_half(n);
    std::vector<double> t_double(n), p_u8_double(n), p_half_double(n);
    for (std::size_t i = 0; i < n; ++i) {
      t_int[i] = static_cast<std::int32_t>((i * 7919) % 23) - 5;
      p_u8[i] = static_cast<std::uint8_t>((i * 104729) % 19);
      p_half[i] = Float16(static_cast<float>((i * 31) % 97) / 8.0f - 3.0f);
      t_double[i] = t_int[i];
      p_u8_double[i] = p_u8[i];
      p_half_double[i] = to_double(p_half[i]);
    }
    const TensorView t(t_int.data(), DType::kInt32, shape), t64(t_double.data(), DType::kFloat64, shape);
    const TensorView pu(p_u8.data(), DType::kUInt8, shape), pu64(p_u8_double.data(), DType::kFloat64, shape);
    const TensorView ph(p_half.data(), DType::kFloat16, shape), ph64(p_half_double.data(), DType::kFloat64, shape);
    for (const char* name : {"mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                             "mean_squared_logarithmic_error", "log_cosh_error", "root_mean_squared_error",
                             "mean_pinball_loss", "cosine_similarity", "r2_score"}) {
      SCOPED_TRACE(std::string(name) + " width " + std::to_string(width));
      for (const auto& [narrow_pred, wide_pred] : {std::pair{pu, pu64}, std::pair{ph, ph64}}) {
        auto narrow = metrics::get(name), wide = metrics::get(name);
        narrow->update_state(t, narrow_pred);
        wide->update_state(t64, wide_pred);
        const std::vector<double> a = narrow->result().to_doubles(), b = wide->result().to_doubles();
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (std::isnan(b[i])) {
            EXPECT_TRUE(std::isnan(a[i]));
          } else {
            EXPECT_EQ(a[i], b[i]);
          }
        }
      }
    }
  }
}

TEST(Regression, FunctionsAreMetricsByName) {
  auto huber = get(R"({"class_name": "huber", "config": {"delta": 0.5}})");
  huber->update_state(std::vector<double>{0, 0}, std::vector<double>{0.25, 2.0});
  // 0.5 * 0.25^2 = 0.03125 and 0.5 * 2 - 0.125 = 0.875
  EXPECT_NEAR(huber->value(), (0.03125 + 0.875) / 2.0, 1e-15);
  EXPECT_EQ(serialize(*huber)["config"]["fn"], "huber");
  EXPECT_EQ(get(serialize(*huber))->get_config(), huber->get_config());
  EXPECT_EQ(get("log_cosh")->class_name(), "MeanMetricWrapper");
  EXPECT_EQ(get("mse")->class_name(), "MeanSquaredError");  // class names win over functions
  const Tensor v = functional::mean_squared_error(TensorView(kTrue, {4, 5}), TensorView(kPred, {4, 5}));
  EXPECT_EQ(v.to_doubles(), (std::vector<double>{0.4, 0.4, 0.4, 0.8}));
}

// Added by the recipe of docs/contributing.md (issue 14): reference values from
// scikit-learn's mean_pinball_loss (tests/fixtures/gen_regression.py).
TEST(MeanPinballLoss, MatchesScikitLearn) {
  const Json f = fixture();
  const Tensor y = vec(f["y_true"]), p = vec(f["y_pred"]), w = vec(f["sample_weight"]);
  MeanPinballLoss half;
  half.update_state(y, p);
  EXPECT_NEAR(half.value(), f["pinball_0_5"].get<double>(), 1e-12);
  MeanPinballLoss high(0.9);
  high.update_state(y, p, w);
  EXPECT_NEAR(high.value(), f["pinball_0_9_weighted"].get<double>(), 1e-12);
  MeanPinballLoss low(0.1);
  low.update_state(mat(f["y_true_k"]), mat(f["y_pred_k"]));
  EXPECT_NEAR(low.value(), f["pinball_0_1_k"].get<double>(), 1e-12);
  // alpha = 0.5 is half the mean absolute error.
  MeanAbsoluteError mae;
  mae.update_state(y, p);
  EXPECT_NEAR(half.value(), 0.5 * mae.value(), 1e-12);
  EXPECT_EQ(metrics::get("pinball_loss")->class_name(), "MeanPinballLoss");
  EXPECT_EQ(MeanPinballLoss().get_config(),
            (Json{{"name", "mean_pinball_loss"}, {"dtype", "float32"}, {"alpha", 0.5}}));
  try {
    MeanPinballLoss bad(1.5);
    FAIL() << "alpha 1.5 accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "MeanPinballLoss \"mean_pinball_loss\": argument `alpha` must be in [0, 1]; received 1.5");
  }
}

TEST(R2Score, FirstBatchFixesTheNumberOfOutputs) {
  // Keras 3 builds R2Score's variables from the first batch: (N, 3) inputs need no num_outputs.
  const std::vector<double> y{1, 10, 100, 2, 20, 250, 3, 35, 300, 4, 40, 400};
  const std::vector<double> p{1.5, 11, 110, 2, 18, 240, 2.5, 33, 330, 4.5, 41, 390};
  R2Score lazy(ClassAggregation::kNone);
  EXPECT_TRUE(lazy.to_vector().empty());  // nothing until the first batch
  lazy.update_state(TensorView(std::vector<double>(y.begin(), y.begin() + 6), {2, 3}),
                    TensorView(std::vector<double>(p.begin(), p.begin() + 6), {2, 3}));
  lazy.update_state(TensorView(std::vector<double>(y.begin() + 6, y.end()), {2, 3}),
                    TensorView(std::vector<double>(p.begin() + 6, p.end()), {2, 3}));
  R2Score fixed(ClassAggregation::kNone, 0, "r2_score", DType::kFloat32, 3);
  fixed.update_state(TensorView(y, {4, 3}), TensorView(p, {4, 3}));
  // Per output: 1 - SS_res / SS_tot; sklearn r2_score(multioutput="raw_values") gives 0.85, 0.98241758, 0.9744.
  const std::vector<double> want{1.0 - 0.75 / 5.0, 1.0 - 10.0 / 568.75, 1.0 - 1200.0 / 46875.0};
  const std::vector<double> got = lazy.result().to_doubles(), got_fixed = fixed.result().to_doubles();
  ASSERT_EQ(got.size(), 3u);
  for (std::size_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(got[j], want[j], 1e-12) << j;
    EXPECT_NEAR(got_fixed[j], want[j], 1e-12) << j;
  }
  EXPECT_FALSE(lazy.get_config().contains("num_outputs"));  // written only when given, as Keras has no such key
  EXPECT_EQ(fixed.get_config()["num_outputs"], 3);
  // A built metric and one constructed with num_outputs have the same layout: they merge.
  EXPECT_NO_THROW(fixed.merge_state(lazy));
  // A later batch of another width is a ShapeError naming both widths; the state is unchanged.
  const std::vector<double> before = lazy.to_vector();
  try {
    lazy.update_state(TensorView(std::vector<double>(4, 1.0), {2, 2}), TensorView(std::vector<double>(4, 2.0), {2, 2}));
    ADD_FAILURE() << "a batch with another number of outputs was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("fixed the number of outputs at 3; this batch has 2"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(lazy.to_vector(), before);
  // An unbuilt metric takes a built state (what a state file or a checkpoint restores).
  R2Score restored(ClassAggregation::kNone);
  restored.set_variable_values(lazy.variable_values());
  EXPECT_EQ(restored.result().to_doubles(), lazy.result().to_doubles());
  EXPECT_TRUE(std::isnan(R2Score().result().to_doubles()[0]));  // no batch: NaN, as 0/0
  lazy.reset_state();                                           // keeps K, as Keras keeps built variables
  EXPECT_EQ(lazy.to_vector(), std::vector<double>(13, 0.0));
  // Rank 1 input is one output, and the registry's default (no num_outputs) builds lazily too.
  auto by_name = get("r2_score");
  by_name->update_state(TensorView(y, {4, 3}), TensorView(p, {4, 3}));
  EXPECT_NEAR(by_name->value(), (want[0] + want[1] + want[2]) / 3.0, 1e-12);
  EXPECT_THROW(R2Score(ClassAggregation::kUniformAverage, 0, "r2", DType::kFloat32, 0), InvalidArgument);
}

TEST(R2Score, AllReduceBeforeAnyUpdateNeedsNumOutputs) {
  // A worker that saw no data has no outputs yet: its layout differs from a built one, so the
  // all-reduce fails on every rank with a DistributedError instead of mixing shapes.
  const std::vector<double> y{1, 2, 3, 4}, p{1.5, 2, 2.5, 4.5};
  for (const bool with_num_outputs : {false, true}) {
    testing::ThreadGroup group(2);
    std::vector<std::string> errors(2);
    std::vector<double> results(2, 0.0);
    std::vector<std::thread> workers;
    for (int rank = 0; rank < 2; ++rank) {
      workers.emplace_back([&, rank] {
        testing::ThreadContext context(group, rank);
        std::optional<std::int64_t> k;
        if (with_num_outputs) k = 2;
        R2Score r2(ClassAggregation::kUniformAverage, 0, "r2", DType::kFloat32, k);
        if (rank == 0) r2.update_state(TensorView(y, {2, 2}), TensorView(p, {2, 2}));
        Metric* metrics[] = {&r2};
        try {
          all_reduce_metrics(metrics, context);
          results[static_cast<std::size_t>(rank)] = r2.value();
        } catch (const DistributedError& e) {
          errors[static_cast<std::size_t>(rank)] = e.what();
        }
      });
    }
    for (auto& w : workers) w.join();
    if (with_num_outputs) {
      EXPECT_EQ(errors, std::vector<std::string>(2));
      // Outputs (1, 3) vs (1.5, 2.5) and (2, 4) vs (2, 4.5): R² 1 - 0.5/2 and 1 - 0.25/2.
      EXPECT_NEAR(results[0], (0.75 + 0.875) / 2.0, 1e-12);
      EXPECT_EQ(results[0], results[1]);
    } else {
      for (const std::string& e : errors) EXPECT_NE(e.find("ranks hold different metrics"), std::string::npos) << e;
    }
  }
}

}  // namespace
}  // namespace tally::metrics
