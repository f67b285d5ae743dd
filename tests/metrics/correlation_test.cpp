// Pearson and concordance correlation. Reference values are the examples in the
// docstrings of keras/src/metrics/correlation_metrics.py.
#include "tally/metrics/correlation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/metric_harness.h"
#include "support/random_inputs.h"
#include "tally/metrics/functional.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

const std::vector<double> kTrue{0, 1, 0.5, 1, 1, 0.2};
const std::vector<double> kPred{0.1, 0.9, 0.5, 1, 0.9, 0.2};

TEST(Correlation, KerasDocstringValues) {
  PearsonCorrelation p;
  p.update_state(TensorView(kTrue, {2, 3}), TensorView(kPred, {2, 3}));
  EXPECT_NEAR(p.value(), 0.9966996338993913, 1e-12);
  ConcordanceCorrelation c;
  c.update_state(TensorView(kTrue, {2, 3}), TensorView(kPred, {2, 3}));
  // Within the 1e-6 relative contract: the eps in the denominator shifts the float64 value
  // by eps / norm (about 4e-7 here) against the float32 figures Keras prints.
  EXPECT_NEAR(c.value(), 0.9816320385426076, 1e-6);
  const Tensor rows = functional::concordance_correlation(TensorView(kTrue, {2, 3}), TensorView(kPred, {2, 3}));
  EXPECT_NEAR(rows.to_doubles()[0], 0.97560976, 1e-6);
  EXPECT_NEAR(rows.to_doubles()[1], 0.98765432, 1e-6);
  EXPECT_EQ(p.get_config(), (Json{{"name", "pearson_correlation"}, {"dtype", "float32"}, {"axis", -1}}));
}

TEST(Correlation, RankOneUsesSufficientStatisticsOverAllSamples) {
  // Decision 3: rank-1 inputs give the correlation over every sample seen, whatever the
  // batching; one batch equals Keras's value (numpy corrcoef of the batch).
  const Tensor y = testing::random_uniform({500}, 1), noise = testing::random_uniform({500}, 2);
  std::vector<double> p = y.to_doubles();
  for (std::size_t i = 0; i < p.size(); ++i) p[i] += 0.5 * noise.to_doubles()[i];
  double my = 0, mp = 0;
  const std::vector<double> yv = y.to_doubles();
  for (std::size_t i = 0; i < p.size(); ++i) {
    my += yv[i] / 500.0;
    mp += p[i] / 500.0;
  }
  double cov = 0, vy = 0, vp = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    cov += (yv[i] - my) * (p[i] - mp);
    vy += (yv[i] - my) * (yv[i] - my);
    vp += (p[i] - mp) * (p[i] - mp);
  }
  PearsonCorrelation whole, split;
  whole.update_state(y, p);
  split.update_state(y.view().slice_rows(0, 123), TensorView(p).slice_rows(0, 123));
  split.update_state(y.view().slice_rows(123, 500), TensorView(p).slice_rows(123, 500));
  EXPECT_NEAR(whole.value(), cov / std::sqrt(vy * vp), 1e-12);
  EXPECT_NEAR(split.value(), whole.value(), 1e-12);
  ConcordanceCorrelation ccc;
  ccc.update_state(y, p);
  EXPECT_NEAR(ccc.value(), 2 * cov / 500.0 / (vy / 500.0 + vp / 500.0 + (my - mp) * (my - mp) + 1e-7), 1e-9);
  EXPECT_THROW(whole.update_state(TensorView(kTrue, {2, 3}), TensorView(kPred, {2, 3})), InvalidArgument);
  PearsonCorrelation constant;  // a constant vector has no correlation: NaN, as in Keras
  constant.update_state(std::vector<double>{1, 1, 1}, std::vector<double>{1, 2, 3});
  EXPECT_TRUE(std::isnan(constant.value()));
}

TEST(Correlation, PassesTheHarness) {
  for (const bool rank2 : {false, true}) {
    for (const bool concordance : {false, true}) {
      testing::HarnessCase h;
      h.factory = [concordance]() -> std::unique_ptr<Metric> {
        if (concordance) return std::make_unique<ConcordanceCorrelation>();
        return std::make_unique<PearsonCorrelation>();
      };
      h.y_true = rank2 ? testing::random_uniform({1000, 4}, 1) : testing::random_uniform({1000}, 1);
      h.y_pred = rank2 ? testing::random_uniform({1000, 4}, 2) : testing::random_uniform({1000}, 2);
      h.sample_weight = testing::random_uniform({1000}, 3);
      h.names = concordance ? std::vector<std::string>{"ConcordanceCorrelation", "concordance_correlation"}
                            : std::vector<std::string>{"PearsonCorrelation", "pearson_correlation"};
      h.rtol = 1e-10;
      SCOPED_TRACE(h.names.front() + (rank2 ? " rank 2" : " rank 1"));
      testing::check_metric_properties(h);
    }
  }
}

}  // namespace
}  // namespace tally::metrics
