// The Highway kernels (src/metrics/kernels/simd_math.h): on every SIMD target this machine
// supports, the vectorised exp / log / log1p stay within a few ulp of libm (special values
// exactly as libm), and the crossentropies built on them match a scalar libm reference
// within 1e-12 relative, whatever the batch size (blocks, tails) and ignore_class.
#include "metrics/kernels/simd_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/simd_targets.h"
#include "tally/metrics/functional.h"
#include "tally/metrics/probabilistic.h"

namespace tally::metrics {
namespace {

namespace simd = kernels::simd;
using functional::binary_crossentropy;
using functional::categorical_crossentropy;
using functional::sparse_categorical_crossentropy;
using Vec = std::vector<double>;

// Distance in units in the last place between two finite doubles of the same sign.
double ulps(double a, double b) {
  if (a == b) return 0.0;
  return std::fabs(a - b) / (std::nextafter(std::fabs(b), std::numeric_limits<double>::infinity()) - std::fabs(b));
}

using testing::on_every_target;

Vec spread(std::size_t n, double lo, double hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(n);
  for (double& x : v) x = u(rng);
  return v;
}

TEST(SimdMath, ThePortableFallbackIsAlwaysAvailable) {
  // Highway's portable target (SCALAR with this Debian build, EMU128 in others) comes last.
  const std::vector<std::int64_t> targets = simd::available_targets();
  ASSERT_GE(targets.size(), 1u);
  const std::string last = simd::target_name(targets.back());
  EXPECT_TRUE(last == "SCALAR" || last == "EMU128") << last;
}

TEST(SimdMath, ExpLogLog1pWithinAFewUlpOfLibmOnEveryTarget) {
  // 1001 values: odd, so every target has a tail.
  const Vec exp_in = spread(1001, -700.0, 700.0, 1);
  const Vec small = spread(1001, -30.0, 0.0, 2);
  const Vec log_in = [] {
    Vec v = spread(1001, -300.0, 300.0, 3);
    for (double& x : v) x = std::pow(10.0, x);
    return v;
  }();
  const Vec log1p_in = spread(1001, 0.0, 1.0, 4);
  on_every_target([&] {
    for (const Vec* in : {&exp_in, &small}) {
      Vec got = *in;
      simd::exp_in_place(got.data(), got.size());
      for (std::size_t i = 0; i < got.size(); ++i) ASSERT_LE(ulps(got[i], std::exp((*in)[i])), 2.0) << (*in)[i];
    }
    Vec got = log_in;
    simd::log_in_place(got.data(), got.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_LE(ulps(got[i], std::log(log_in[i])), 4.0) << log_in[i];
    got = log1p_in;
    simd::log1p_in_place(got.data(), got.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_LE(ulps(got[i], std::log1p(log1p_in[i])), 4.0) << log1p_in[i];
  });
}

TEST(SimdMath, SpecialValuesAreExactlyLibms) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double tiny = std::numeric_limits<double>::denorm_min();
  const Vec in{0.0, -0.0, 1.0, -1.0, inf, -inf, nan, tiny, -750.0, 710.0, 1e-310, -1e-300, 0.5};
  on_every_target([&] {
    for (int f = 0; f < 3; ++f) {
      Vec got = in;
      if (f == 0) simd::exp_in_place(got.data(), got.size());
      if (f == 1) simd::log_in_place(got.data(), got.size());
      if (f == 2) simd::log1p_in_place(got.data(), got.size());
      for (std::size_t i = 0; i < in.size(); ++i) {
        const double want = f == 0 ? std::exp(in[i]) : (f == 1 ? std::log(in[i]) : std::log1p(in[i]));
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(got[i])) << f << " " << in[i];
        } else if (std::isinf(want) || want == 0.0) {
          EXPECT_EQ(got[i], want) << f << " " << in[i];
        } else {
          EXPECT_LE(ulps(got[i], want), 4.0) << f << " " << in[i];
        }
      }
    }
  });
}

// Scalar libm references of the Keras formulas (float64 clip bounds).
constexpr double kEps = 1e-7;
double clip(double x) { return x < kEps ? kEps : (x > 1.0 - kEps ? 1.0 - kEps : x); }

Vec sparse_reference(const Vec& labels, const Vec& pred, std::int64_t c, bool logits, std::int64_t ignored) {
  Vec out;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const double* x = pred.data() + r * static_cast<std::size_t>(c);
    const auto label = static_cast<std::int64_t>(labels[r]);
    if (label == ignored) {
      out.push_back(0.0);
      continue;
    }
    double m = -std::numeric_limits<double>::infinity(), s = 0.0;
    if (logits) {
      for (std::int64_t k = 0; k < c; ++k) m = std::max(m, x[k]);
      for (std::int64_t k = 0; k < c; ++k) s += std::exp(x[k] - m);
      out.push_back(m - x[label] + std::log(s));
    } else {
      for (std::int64_t k = 0; k < c; ++k) s += x[k];
      out.push_back(-std::log(clip(x[label] / s)));
    }
  }
  return out;
}

Vec categorical_reference(const Vec& y, const Vec& pred, std::int64_t c, bool logits) {
  Vec out;
  for (std::size_t r = 0; r < y.size() / static_cast<std::size_t>(c); ++r) {
    const double* x = pred.data() + r * static_cast<std::size_t>(c);
    const double* t = y.data() + r * static_cast<std::size_t>(c);
    double m = -std::numeric_limits<double>::infinity(), s = 0.0, loss = 0.0;
    if (logits) {
      for (std::int64_t k = 0; k < c; ++k) m = std::max(m, x[k]);
      for (std::int64_t k = 0; k < c; ++k) s += std::exp(x[k] - m);
      for (std::int64_t k = 0; k < c; ++k) loss += t[k] * (m - x[k] + std::log(s));
    } else {
      for (std::int64_t k = 0; k < c; ++k) s += x[k];
      for (std::int64_t k = 0; k < c; ++k)
        if (t[k] != 0.0) loss -= t[k] * std::log(clip(x[k] / s));
    }
    out.push_back(loss);
  }
  return out;
}

void expect_close(const Tensor& got, const Vec& want) {
  const Vec g = got.to_doubles();
  ASSERT_EQ(g.size(), want.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    ASSERT_NEAR(g[i], want[i], 1e-12 * std::max(1.0, std::fabs(want[i]))) << "row " << i;
  }
}

struct Inputs {
  Vec labels, onehot, soft, logits, probs;
};

// Rows past one block (2048 / C rows) and not a multiple of any vector width.
Inputs make_inputs(std::int64_t rows, std::int64_t c, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 4.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Inputs in;
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto label = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(c));
    in.labels.push_back(static_cast<double>(label));
    double total = 0.0;
    Vec soft;
    for (std::int64_t k = 0; k < c; ++k) {
      in.onehot.push_back(k == label ? 1.0 : 0.0);
      in.logits.push_back(normal(rng));
      in.probs.push_back(u(rng) + 1e-3);
      soft.push_back(u(rng) < 0.3 ? 0.0 : u(rng));
      total += soft.back();
    }
    for (double& s : soft) in.soft.push_back(total > 0 ? s / total : 0.0);
  }
  return in;
}

TEST(SimdKernels, CrossentropiesMatchTheScalarLibmFormulasOnEveryTarget) {
  for (const std::int64_t c : {std::int64_t{3}, std::int64_t{10}, std::int64_t{1000}}) {
    const std::int64_t rows = c == 1000 ? 37 : 4099;
    const Inputs in = make_inputs(rows, c, static_cast<unsigned>(c));
    const TensorView labels(in.labels, {rows});
    const TensorView onehot(in.onehot, {rows, c}), soft(in.soft, {rows, c});
    const TensorView logits(in.logits, {rows, c}), probs(in.probs, {rows, c});
    const Vec want_sparse_logits = sparse_reference(in.labels, in.logits, c, true, -1);
    const Vec want_sparse_probs = sparse_reference(in.labels, in.probs, c, false, -1);
    const Vec want_ignored = sparse_reference(in.labels, in.logits, c, true, 1);
    const Vec want_cat_logits = categorical_reference(in.soft, in.logits, c, true);
    const Vec want_cat_probs = categorical_reference(in.soft, in.probs, c, false);
    const Vec want_onehot_probs = categorical_reference(in.onehot, in.probs, c, false);
    on_every_target([&] {
      SCOPED_TRACE("classes " + std::to_string(c));
      expect_close(sparse_categorical_crossentropy(labels, logits, true, std::nullopt, -1, DType::kFloat64),
                   want_sparse_logits);
      expect_close(sparse_categorical_crossentropy(labels, probs, false, std::nullopt, -1, DType::kFloat64),
                   want_sparse_probs);
      expect_close(sparse_categorical_crossentropy(labels, logits, true, 1, -1, DType::kFloat64), want_ignored);
      expect_close(categorical_crossentropy(soft, logits, true, 0.0, -1, DType::kFloat64), want_cat_logits);
      expect_close(categorical_crossentropy(soft, probs, false, 0.0, -1, DType::kFloat64), want_cat_probs);
      expect_close(categorical_crossentropy(onehot, probs, false, 0.0, -1, DType::kFloat64), want_onehot_probs);
    });
  }
}

TEST(SimdKernels, BinaryCrossentropyFromLogitsMatchesTheExactFormOnEveryTarget) {
  for (const std::int64_t w : {std::int64_t{1}, std::int64_t{7}}) {
    const std::int64_t rows = 5003;
    const Vec x = spread(static_cast<std::size_t>(rows * w), -40.0, 40.0, 7);
    const Vec y = spread(static_cast<std::size_t>(rows * w), 0.0, 1.0, 8);
    Vec want;
    for (std::int64_t r = 0; r < rows; ++r) {
      double s = 0.0;
      for (std::int64_t k = r * w; k < (r + 1) * w; ++k) {
        const auto j = static_cast<std::size_t>(k);
        s += std::max(x[j], 0.0) - x[j] * y[j] + std::log1p(std::exp(-std::fabs(x[j])));
      }
      want.push_back(w == 1 ? s : s / static_cast<double>(w));
    }
    on_every_target([&] {
      expect_close(
          binary_crossentropy(TensorView(y, {rows, w}), TensorView(x, {rows, w}), true, 0.0, -1, DType::kFloat64),
          want);
    });
  }
}

TEST(SimdKernels, BinaryCrossentropyFromProbabilitiesMatchesTheScalarFormula) {
  // Scalar libm on purpose (docs/performance.md); hard and soft labels mixed, probabilities
  // reaching both clip bounds, on every target all the same.
  for (const std::int64_t w : {std::int64_t{1}, std::int64_t{5}}) {
    const std::int64_t rows = 4097;
    const Vec p = spread(static_cast<std::size_t>(rows * w), -0.05, 1.05, 9);
    Vec y = spread(static_cast<std::size_t>(rows * w), 0.0, 1.0, 10);
    for (std::size_t j = 0; j < y.size(); j += 3) y[j] = y[j] < 0.5 ? 0.0 : 1.0;
    Vec want;
    for (std::int64_t r = 0; r < rows; ++r) {
      double s = 0.0;
      for (std::int64_t k = r * w; k < (r + 1) * w; ++k) {
        const auto j = static_cast<std::size_t>(k);
        const double q = clip(p[j]);
        s += (y[j] == 0.0 || y[j] == 1.0) ? -std::log(y[j] == 1.0 ? q : 1.0 - q)
                                          : -(y[j] * std::log(q) + (1.0 - y[j]) * std::log(1.0 - q));
      }
      want.push_back(w == 1 ? s : s / static_cast<double>(w));
    }
    on_every_target([&] {
      expect_close(
          binary_crossentropy(TensorView(y, {rows, w}), TensorView(p, {rows, w}), false, 0.0, -1, DType::kFloat64),
          want);
    });
  }
}

TEST(SimdKernels, TheMetricClassMeanIsTheSameOnEveryTarget) {
  const std::int64_t rows = 3001, c = 10;
  const Inputs in = make_inputs(rows, c, 99);
  const Vec want = sparse_reference(in.labels, in.logits, c, true, -1);
  double mean = 0.0;
  for (const double v : want) mean += v;
  mean /= static_cast<double>(rows);
  on_every_target([&] {
    SparseCategoricalCrossentropy m(/*from_logits=*/true, std::nullopt, -1, "scce", DType::kFloat64);
    m.update_state(TensorView(in.labels, {rows}), TensorView(in.logits, {rows, c}));
    EXPECT_NEAR(m.value(), mean, 1e-12 * mean);
  });
}

}  // namespace
}  // namespace tally::metrics
