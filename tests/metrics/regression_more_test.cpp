// The issue 17 regression scores against scikit-learn (explained_variance_score, max_error,
// mean_tweedie_deviance, mean_pinball_loss) and TorchMetrics' documented formulas (SMAPE,
// WMAPE). References: tests/fixtures/gen_beyond.py (beyond.json) and TorchMetrics docstrings.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <thread>

#include "support/fixture_tensors.h"
#include "support/thread_context.h"
#include "tally/distributed.h"
#include "tally/metrics/calibration.h"
#include "tally/metrics/regression.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

using testing::feed_in_three_batches;
using testing::tensor_of;

Json fixture() { return testing::read_fixture("beyond.json"); }

std::vector<double> doubles(const Json& list) { return list.get<std::vector<double>>(); }

TEST(ExplainedVariance, MatchesScikitLearn) {
  const Json f = fixture();
  const Tensor y = tensor_of(f["y_true"]), p = tensor_of(f["y_pred"]), w = tensor_of(f["sample_weight"]);
  ExplainedVariance plain, weighted;
  feed_in_three_batches(plain, y, p);
  feed_in_three_batches(weighted, y, p, &w);
  EXPECT_NEAR(plain.value(), f["ev"].get<double>(), 1e-12);
  EXPECT_NEAR(weighted.value(), f["ev_weighted"].get<double>(), 1e-12);

  const Tensor yk = tensor_of(f["y_true_k"]), pk = tensor_of(f["y_pred_k"]);
  ExplainedVariance uniform(Multioutput::kUniformAverage, 3), variance(Multioutput::kVarianceWeighted, 3),
      raw(Multioutput::kRawValues, 3), raw_weighted(Multioutput::kRawValues, 3);
  feed_in_three_batches(uniform, yk, pk);
  feed_in_three_batches(variance, yk, pk);
  feed_in_three_batches(raw, yk, pk);
  feed_in_three_batches(raw_weighted, yk, pk, &w);
  EXPECT_NEAR(uniform.value(), f["ev_k_uniform"].get<double>(), 1e-12);
  EXPECT_NEAR(variance.value(), f["ev_k_variance"].get<double>(), 1e-12);
  const std::vector<double> r = raw.result().to_doubles(), rw = raw_weighted.result().to_doubles();
  ASSERT_EQ(r.size(), 3u);
  for (std::size_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(r[j], doubles(f["ev_k_raw"])[j], 1e-11) << j;
    EXPECT_NEAR(rw[j], doubles(f["ev_k_weighted_raw"])[j], 1e-11) << j;
  }
}

TEST(ExplainedVariance, ConstantOutputsFollowForceFinite) {
  // scikit-learn force_finite=True: a constant output predicted exactly scores 1, with errors 0.
  const Json f = fixture();
  const Tensor yc = tensor_of(f["y_true_const"]), pc = tensor_of(f["y_pred_const"]);
  ExplainedVariance raw(Multioutput::kRawValues, 3), variance(Multioutput::kVarianceWeighted, 3);
  feed_in_three_batches(raw, yc, pc);
  feed_in_three_batches(variance, yc, pc);
  const std::vector<double> r = raw.result().to_doubles();
  EXPECT_EQ(r[0], 1.0);
  EXPECT_EQ(r[1], 0.0);
  EXPECT_NEAR(r[2], doubles(f["ev_const_raw"])[2], 1e-12);
  EXPECT_NEAR(variance.value(), f["ev_const_variance"].get<double>(), 1e-12);
}

TEST(ExplainedVariance, StateIsFixedByNumOutputs) {
  ExplainedVariance two(Multioutput::kUniformAverage, 2);
  EXPECT_EQ(two.to_vector().size(), 1u + 4u * 2u);  // weight + four sums per output
  const std::vector<double> a{1, 2, 3, 4, 5, 6};
  try {
    two.update_state(TensorView(a, {2, 3}), TensorView(a, {2, 3}));
    FAIL() << "accepted 3 outputs";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "ExplainedVariance \"explained_variance\": inputs have 3 outputs but the metric was built with "
                 "num_outputs=2 (pass num_outputs=3)");
  }
  EXPECT_TRUE(std::isnan(two.value()));  // nothing seen: 0/0
  EXPECT_THROW(metrics::get(R"({"class_name": "ExplainedVariance", "config": {"multioutput": "variance"}})"),
               ConfigError);
  EXPECT_EQ(metrics::get("explained_variance_score")->class_name(), "ExplainedVariance");
}

TEST(MaxError, MatchesScikitLearnAndMergesByMax) {
  const Json f = fixture();
  const Tensor y = tensor_of(f["y_true"]), p = tensor_of(f["y_pred"]);
  MaxError m;
  EXPECT_EQ(m.value(), 0.0);  // nothing seen
  feed_in_three_batches(m, y, p);
  EXPECT_DOUBLE_EQ(m.value(), f["max_error"].get<double>());
  ASSERT_EQ(m.variables().size(), 1u);
  EXPECT_EQ(m.variables()[0].aggregation, Aggregation::kMax);
  // scikit-learn's docstring: max_error([3, 2, 7, 1], [4, 2, 7, 1]) == 1.
  MaxError a, b;
  a.update_state(TensorView(std::vector<double>{3, 2}), TensorView(std::vector<double>{4, 2}));
  b.update_state(TensorView(std::vector<double>{7, 1}), TensorView(std::vector<double>{7, 1.5}));
  a.merge_state(b);
  EXPECT_EQ(a.value(), 1.0);
  // A zero weight drops its row.
  MaxError weighted;
  weighted.update_state(TensorView(std::vector<double>{0, 0}), TensorView(std::vector<double>{5, 1}),
                        TensorView(std::vector<double>{0, 1}));
  EXPECT_EQ(weighted.value(), 1.0);
}

TEST(TweedieDeviance, MatchesScikitLearnForEveryPowerFamily) {
  const Json f = fixture();
  const Tensor y = tensor_of(f["y_true_pos"]), p = tensor_of(f["y_pred_pos"]), w = tensor_of(f["sample_weight"]);
  for (const double power : {-0.5, 0.0, 1.0, 1.5, 2.0, 3.0}) {
    SCOPED_TRACE(power);
    const std::string key = power == 0.0   ? "0"
                            : power == 1.0 ? "1"
                            : power == 2.0 ? "2"
                            : power == 3.0 ? "3"
                                           : Json(power).dump();
    TweedieDeviance plain(power), weighted(power);
    feed_in_three_batches(plain, y, p);
    feed_in_three_batches(weighted, y, p, &w);
    EXPECT_NEAR(plain.value(), f["tweedie"][key].get<double>(), 1e-12);
    EXPECT_NEAR(weighted.value(), f["tweedie_weighted"][key].get<double>(), 1e-12);
  }
  const Tensor y0 = tensor_of(f["y_true_zero"]);
  TweedieDeviance poisson(1.0), compound(1.5);
  feed_in_three_batches(poisson, y0, p);
  feed_in_three_batches(compound, y0, p);
  EXPECT_NEAR(poisson.value(), f["tweedie_zero_1"].get<double>(), 1e-12);
  EXPECT_NEAR(compound.value(), f["tweedie_zero_1_5"].get<double>(), 1e-12);
}

TEST(TweedieDeviance, DomainRulesAreClearErrors) {
  const std::vector<double> pos{1.0, 2.0}, zero{0.0, 2.0}, neg{-1.0, 2.0};
  const auto message = [](double power, const std::vector<double>& t, const std::vector<double>& p) {
    TweedieDeviance m(power);
    const std::vector<double> before = m.to_vector();
    try {
      m.update_state(TensorView(t), TensorView(p));
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(m.to_vector(), before);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message(-1.0, neg, zero),
            "TweedieDeviance \"tweedie_deviance\": Mean Tweedie deviance error with power=-1 can only be used on "
            "strictly positive y_pred. Received y_true -1 and y_pred 0 at flat index 0");
  EXPECT_EQ(message(1.0, neg, pos),
            "TweedieDeviance \"tweedie_deviance\": Mean Tweedie deviance error with power=1 can only be used on "
            "non-negative y and strictly positive y_pred. Received y_true -1 and y_pred 1 at flat index 0");
  EXPECT_EQ(message(1.5, pos, zero),
            "TweedieDeviance \"tweedie_deviance\": Mean Tweedie deviance error with power=1.5 can only be used on "
            "non-negative y and strictly positive y_pred. Received y_true 1 and y_pred 0 at flat index 0");
  EXPECT_EQ(message(2.0, zero, pos),
            "TweedieDeviance \"tweedie_deviance\": Mean Tweedie deviance error with power=2 can only be used on "
            "strictly positive y and y_pred. Received y_true 0 and y_pred 1 at flat index 0");
  EXPECT_EQ(message(0.0, neg, neg), "accepted");  // power 0 is the squared error: any real values
  EXPECT_EQ(message(1.0, zero, pos), "accepted");
  try {
    TweedieDeviance bad(0.5);
    FAIL() << "accepted power 0.5";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "TweedieDeviance \"tweedie_deviance\": argument `power` must be <= 0 or >= 1 (Tweedie deviance is "
                 "undefined for 0 < power < 1); received 0.5");
  }
  EXPECT_EQ(metrics::get(R"({"class_name": "mean_tweedie_deviance", "config": {"power": 3}})")->get_config()["power"],
            3.0);
}

TEST(MeanPinballLoss, MatchesScikitLearnOnTheBeyondFixture) {
  const Json f = fixture();
  const Tensor y = tensor_of(f["y_true"]), p = tensor_of(f["y_pred"]), w = tensor_of(f["sample_weight"]);
  MeanPinballLoss quarter(0.25);
  feed_in_three_batches(quarter, y, p, &w);
  EXPECT_NEAR(quarter.value(), f["pinball_0_25_weighted"].get<double>(), 1e-12);
  MeanPinballLoss three_quarters(0.75);
  feed_in_three_batches(three_quarters, tensor_of(f["y_true_k"]), tensor_of(f["y_pred_k"]));
  EXPECT_NEAR(three_quarters.value(), f["pinball_0_75_k"].get<double>(), 1e-12);
}

TEST(PercentageErrors, MatchTorchMetrics) {
  // TorchMetrics docstring: target [1, 10, 1e6], preds [0.9, 15, 1.2e6] -> SMAPE 0.2290.
  SymmetricMeanAbsolutePercentageError doc;
  doc.update_state(TensorView(std::vector<double>{1, 10, 1e6}), TensorView(std::vector<double>{0.9, 15, 1.2e6}));
  EXPECT_NEAR(doc.value(), 0.2290, 5e-5);
  const Json f = fixture();
  const Tensor y = tensor_of(f["y_true"]), p = tensor_of(f["y_pred"]), w = tensor_of(f["sample_weight"]);
  const Tensor yk = tensor_of(f["y_true_k"]), pk = tensor_of(f["y_pred_k"]);
  SymmetricMeanAbsolutePercentageError s, sw, sk;
  feed_in_three_batches(s, y, p);
  feed_in_three_batches(sw, y, p, &w);
  feed_in_three_batches(sk, yk, pk);
  EXPECT_NEAR(s.value(), f["smape"].get<double>(), 1e-12);
  EXPECT_NEAR(sw.value(), f["smape_weighted"].get<double>(), 1e-12);
  EXPECT_NEAR(sk.value(), f["smape_k"].get<double>(), 1e-12);
  WeightedMeanAbsolutePercentageError m, mw, mk;
  feed_in_three_batches(m, y, p);
  feed_in_three_batches(mw, y, p, &w);
  feed_in_three_batches(mk, yk, pk);
  EXPECT_NEAR(m.value(), f["wmape"].get<double>(), 1e-12);
  EXPECT_NEAR(mw.value(), f["wmape_weighted"].get<double>(), 1e-12);
  EXPECT_NEAR(mk.value(), f["wmape_k"].get<double>(), 1e-12);
  // Both zero: TorchMetrics' epsilon keeps the quotients finite.
  SymmetricMeanAbsolutePercentageError zs;
  WeightedMeanAbsolutePercentageError zw;
  const std::vector<double> zeros{0.0, 0.0};
  zs.update_state(TensorView(zeros), TensorView(zeros));
  zw.update_state(TensorView(zeros), TensorView(zeros));
  EXPECT_EQ(zs.value(), 0.0);
  EXPECT_EQ(zw.value(), 0.0);
  EXPECT_EQ(metrics::get("smape")->class_name(), "SymmetricMeanAbsolutePercentageError");
  EXPECT_EQ(metrics::get("wmape")->class_name(), "WeightedMeanAbsolutePercentageError");
}

TEST(BeyondKeras, AllReduceEqualsOneWorkerSeeingEverything) {
  // Three ranks (one sees nothing) all-reduce MaxError (a max variable), ExplainedVariance
  // and ExpectedCalibrationError (sums) in one collective; every rank ends with the result
  // of one metric fed all rows.
  const Json f = fixture();
  const Tensor y = tensor_of(f["y_true"]), p = tensor_of(f["y_pred"]);
  const Tensor bt = tensor_of(f["binary_true"]), bp = tensor_of(f["binary_prob"]);
  const std::int64_t n = y.shape()[0];
  testing::ThreadGroup group(3);
  std::vector<std::vector<double>> results(3);
  std::vector<std::thread> workers;
  for (int rank = 0; rank < 3; ++rank) {
    workers.emplace_back([&, rank] {
      testing::ThreadContext context(group, rank);
      MaxError max_error;
      ExplainedVariance ev;
      ExpectedCalibrationError ece;
      if (rank < 2) {  // rank 2 sees no data
        const std::int64_t b = rank == 0 ? 0 : n / 3, e = rank == 0 ? n / 3 : n;
        max_error.update_state(y.view().slice_rows(b, e), p.view().slice_rows(b, e));
        ev.update_state(y.view().slice_rows(b, e), p.view().slice_rows(b, e));
        ece.update_state(bt.view().slice_rows(b, e), bp.view().slice_rows(b, e));
      }
      Metric* metrics[] = {&max_error, &ev, &ece};
      all_reduce_metrics(metrics, context);
      results[static_cast<std::size_t>(rank)] = {max_error.value(), ev.value(), ece.value()};
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_DOUBLE_EQ(results[0][0], f["max_error"].get<double>());
  EXPECT_NEAR(results[0][1], f["ev"].get<double>(), 1e-12);
  EXPECT_NEAR(results[0][2], f["ece_binary"]["l1"].get<double>(), 1e-12);
  EXPECT_EQ(results[1], results[0]);
  EXPECT_EQ(results[2], results[0]);
}

}  // namespace
}  // namespace tally::metrics
