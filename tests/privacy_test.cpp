// Seeded noise (statistics, reproducibility), analytic Gaussian calibration against an
// independent fixture (tests/fixtures/gen_privacy.py), clipping and privatize.
#include "tally/privacy.h"

#include "tally/collection.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "tally/error.h"
#include "tally/metrics/reduction.h"

namespace tally {
namespace {

constexpr std::size_t kN = 400000;

struct Moments {
  double mean = 0, var = 0;
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= static_cast<double>(v.size() - 1);
  return m;
}

// Bounds: with n = 4e5 the standard error of the mean is sigma/632 and of the variance about
// sigma^2 * sqrt(2/n) = 0.22% (Laplace: sqrt(5/n) = 0.35%); we allow >= 6 standard errors,
// which a correct generator fails with probability < 1e-8, while a 5% scale error fails.
TEST(GaussianNoise, MeanVarianceAndTails) {
  const std::vector<double> zeros(kN, 0.0);
  const double sigma = 2.0;
  const auto x = add_gaussian_noise(zeros, sigma, 42);
  const Moments m = moments(x);
  EXPECT_NEAR(m.mean, 0.0, 6 * sigma / std::sqrt(double(kN)));
  EXPECT_NEAR(m.var / (sigma * sigma), 1.0, 0.014);
  // P(|Z| > 2) = 0.0455003; binomial sd = sqrt(p(1-p)/n) = 3.3e-4.
  const double tail =
      double(std::count_if(x.begin(), x.end(), [&](double v) { return std::fabs(v) > 2 * sigma; })) / kN;
  EXPECT_NEAR(tail, 0.0455003, 0.002);
  const double tail3 =
      double(std::count_if(x.begin(), x.end(), [&](double v) { return std::fabs(v) > 3 * sigma; })) / kN;
  EXPECT_NEAR(tail3, 0.0026998, 0.0005);
}

TEST(LaplaceNoise, MeanScaleAndTails) {
  const std::vector<double> zeros(kN, 0.0);
  const double b = 1.5;
  const auto x = add_laplacian_noise(zeros, b, 7);
  const Moments m = moments(x);
  EXPECT_NEAR(m.mean, 0.0, 6 * std::sqrt(2.0) * b / std::sqrt(double(kN)));
  EXPECT_NEAR(m.var / (2 * b * b), 1.0, 0.025);
  // Mean absolute deviation is b (MLE of the scale); sd of the estimate b/sqrt(n).
  double mad = 0;
  for (double v : x) mad += std::fabs(v);
  EXPECT_NEAR(mad / kN / b, 1.0, 0.01);
  // P(|X| > 3b) = exp(-3) = 0.0497871.
  const double tail = double(std::count_if(x.begin(), x.end(), [&](double v) { return std::fabs(v) > 3 * b; })) / kN;
  EXPECT_NEAR(tail, std::exp(-3.0), 0.002);
}

TEST(Noise, SameSeedSameBitsForAnyThreadCount) {
  const std::vector<double> base(300000, 1.0);
  omp_set_num_threads(1);
  const auto a = add_gaussian_noise(base, 1.0, 5);
  omp_set_num_threads(4);
  const auto b = add_gaussian_noise(base, 1.0, 5);
  const auto c = add_gaussian_noise(base, 1.0, 6);
  omp_set_num_threads(omp_get_num_procs());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Different streams (tensors in a list) are different.
  EXPECT_NE(add_laplacian_noise(base, 1.0, 5, 0), add_laplacian_noise(base, 1.0, 5, 1));
}

TEST(Noise, TensorListsUseIndependentStreamsAndKeepShapes) {
  const std::vector<double> v(6, 0.0);
  const std::vector<Tensor> ts{Tensor::from_vector(std::span<const double>(v), {2, 3}),
                               Tensor::from_vector(std::span<const double>(v), {6})};
  const auto out = add_gaussian_noise(ts, 1.0, 9);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_NE(out[0].to_doubles(), out[1].to_doubles());
  EXPECT_EQ(out[1].to_doubles(), add_gaussian_noise(v, 1.0, 9, 1));  // tensor index = stream
}

TEST(SeedScope, SetsAndRestoresTheDefault) {
  const std::vector<double> v(8, 0.0);
  EXPECT_FALSE(SeedScope::current().has_value());
  std::vector<double> first;
  {
    SeedScope outer(11);
    first = add_gaussian_noise(v, 1.0);
    {
      SeedScope inner(12);
      EXPECT_EQ(*SeedScope::current(), 12u);
      EXPECT_NE(add_gaussian_noise(v, 1.0), first);
    }
    EXPECT_EQ(add_gaussian_noise(v, 1.0), first);
  }
  EXPECT_FALSE(SeedScope::current().has_value());
  EXPECT_EQ(add_gaussian_noise(v, 1.0, 11), first);
  // No seed: drawn from the OS, so two calls differ.
  EXPECT_NE(add_gaussian_noise(v, 1.0), add_gaussian_noise(v, 1.0));
}

TEST(AnalyticGaussian, MatchesIndependentFixtureAndPublishedValue) {
  std::ifstream in(std::string(TALLY_FIXTURES_DIR) + "/privacy.json");
  const auto fx = nlohmann::json::parse(in);
  ASSERT_GE(fx["analytic_gaussian"].size(), 5u);
  for (const auto& c : fx["analytic_gaussian"]) {
    const double s = analytic_gaussian_sigma(c["epsilon"], c["delta"], c["sensitivity"]);
    EXPECT_NEAR(s, c["sigma"].get<double>(), 1e-6 * c["sigma"].get<double>()) << c.dump();
  }
  // Balle and Wang 2018: eps = 1, delta = 1e-5, sensitivity 1 gives sigma ~ 3.73 (the classical
  // bound sqrt(2 ln(1.25/delta))/eps = 4.84 is looser).
  EXPECT_NEAR(GaussianMechanism::from_budget(1.0, 1e-5, 1.0).stddev(), 3.73, 0.005);
  EXPECT_THROW(analytic_gaussian_sigma(0.0, 1e-5, 1.0), InvalidArgument);
  EXPECT_THROW(analytic_gaussian_sigma(1.0, 1.0, 1.0), InvalidArgument);
  EXPECT_DOUBLE_EQ(LaplaceMechanism::from_budget(0.5, 2.0).scale(), 4.0);
}

TEST(Clipping, BoundsEachContribution) {
  const std::vector<double> big{3.0, 4.0};
  const auto l2 = clip_by_norm(big, 1.0, NormOrder::kL2);
  EXPECT_NEAR(l2[0], 0.6, 1e-15);
  EXPECT_NEAR(l2[1], 0.8, 1e-15);
  EXPECT_EQ(clip_by_norm(big, 10.0, NormOrder::kL2), big);
  const auto l1 = clip_by_norm(big, 1.0, NormOrder::kL1);
  EXPECT_NEAR(std::fabs(l1[0]) + std::fabs(l1[1]), 1.0, 1e-15);
  const std::vector<std::vector<double>> contribs{{3.0, 4.0}, {0.1, 0.2}, {0.0, 100.0}};
  const auto s = sum_clipped(contribs, 1.0, NormOrder::kL2);
  EXPECT_NEAR(s[0], 0.6 + 0.1 + 0.0, 1e-12);
  EXPECT_NEAR(s[1], 0.8 + 0.2 + 1.0, 1e-12);
  const std::vector<std::vector<double>> ragged{{1.0}, {1.0, 2.0}};
  EXPECT_THROW(sum_clipped(ragged, 1.0, NormOrder::kL2), ShapeError);
}

TEST(Privatize, NoisyStateVectorAndMetricState) {
  const std::vector<double> state{10.0, 20.0};
  const auto m = GaussianMechanism::from_stddev(0.0);
  EXPECT_EQ(privatize(state, m, 1), state);  // zero noise is the identity
  const auto g = GaussianMechanism::from_stddev(1.0);
  EXPECT_EQ(privatize(state, g, 3), add_gaussian_noise(state, 1.0, 3));
  metrics::Mean mean("m");
  const std::vector<double> v{1.0, 2.0, 3.0};
  mean.update_state(TensorView(v));
  const State st = mean.state();
  const State noisy = privatize(st, LaplaceMechanism::from_scale(0.5), 4);
  EXPECT_EQ(noisy.to_vector(), add_laplacian_noise(st.to_vector(), 0.5, 4));
  EXPECT_NE(noisy.to_vector(), st.to_vector());
}

TEST(Privatize, CountStatesAndCollectionsStayValid) {
  // int64 counts receive noise and are rounded, so the noisy state is a valid state.
  MetricCollection c = MetricCollection::from_specs({"true_positives", "mean"});
  c.update_state(std::vector<double>{1, 0, 1, 1}, std::vector<double>{0.9, 0.2, 0.8, 0.3});
  const auto mech = GaussianMechanism::from_stddev(2.0);
  const CollectionState noisy = privatize(c.state(), mech, 7);
  const std::vector<double> v = noisy.to_vector();
  EXPECT_EQ(v[0], std::nearbyint(v[0]));  // TruePositives' int64 accumulator
  EXPECT_EQ(noisy.to_vector(), privatize(c.state(), mech, 7).to_vector()) << "same seed, same noise";
  EXPECT_NE(noisy.to_vector(), c.to_vector());
  const State one = privatize(c.metric("true_positives").state(), mech, 3);  // would throw if not rounded
  EXPECT_EQ(one.to_vector()[0], std::nearbyint(one.to_vector()[0]));
}

}  // namespace
}  // namespace tally
