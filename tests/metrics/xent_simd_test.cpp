// The Highway crossentropy row kernels (src/metrics/kernels/xent_simd.h) against the scalar
// libm formulas, on every SIMD target this machine supports: every row width 1..32 (and 33,
// past the kernel, through the metric), every row count up to a few vectors (tails),
// float32 and float64 logits, every label dtype, ignore_class, and NaN / ±inf / huge
// logits, which must behave exactly as the scalar formula does.
#include "metrics/kernels/xent_simd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "support/simd_targets.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {
namespace {

namespace simd = kernels::simd;
using testing::on_every_target;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// (m − x_label) + ln Σ e^(x − m) with std::max / std::exp / std::log, in class order.
template <class X>
double sparse_formula(const X* x, std::int64_t label, std::int64_t w) {
  double m = -kInf;
  for (std::int64_t k = 0; k < w; ++k) m = std::max(m, static_cast<double>(x[k]));
  double s = 0.0;
  for (std::int64_t k = 0; k < w; ++k) s += std::exp(static_cast<double>(x[k]) - m);
  return (m - static_cast<double>(x[label])) + std::log(s);
}

double binary_formula(double x, double y, double ls) {
  const double ys = y * (1.0 - ls) + 0.5 * ls;
  return std::max(x, 0.0) - x * ys + std::log1p(std::exp(-std::fabs(x)));
}

// Equal within 1e-12 relative (absolute near 0); NaN and infinities exactly as the formula.
void expect_same(double got, double want, const std::string& where) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << where << ": got " << got;
  } else if (std::isinf(want)) {
    EXPECT_EQ(got, want) << where;
  } else {
    EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << where;
  }
}

// Logits in [-12, 12) with a few special values planted by `special`.
template <class X>
std::vector<X> logits(std::int64_t rows, std::int64_t w, unsigned seed, bool special) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-12.0, 12.0);
  std::vector<X> x(static_cast<std::size_t>(rows * w));
  for (X& v : x) v = static_cast<X>(u(rng));
  if (special && rows >= 6) {
    x[0] = static_cast<X>(kNaN);                                 // row 0: NaN
    x[static_cast<std::size_t>(w)] = static_cast<X>(kInf);       // row 1: +inf
    x[static_cast<std::size_t>(2 * w)] = static_cast<X>(-kInf);  // row 2: −inf
    x[static_cast<std::size_t>(3 * w)] = static_cast<X>(3e38);   // row 3: huge
    for (std::int64_t k = 0; k < w; ++k) x[static_cast<std::size_t>(4 * w + k)] = static_cast<X>(-kInf);  // row 4
    if (w > 1) x[static_cast<std::size_t>(5 * w + 1)] = static_cast<X>(-2e3);  // row 5: e^(x − m) underflows
  }
  return x;
}

template <class X, class Y>
void check_sparse(std::int64_t w, std::int64_t rows, bool special, std::optional<std::int64_t> ignore) {
  const std::vector<X> x = logits<X>(rows, w, static_cast<unsigned>(w * 131 + rows), special);
  std::vector<Y> labels(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) labels[static_cast<std::size_t>(r)] = static_cast<Y>((r * 7 + 3) % w);
  std::vector<double> got(static_cast<std::size_t>(rows), -1.0);
  simd::sparse_xent_from_logits(x.data(), labels.data(), rows, w, ignore.has_value(), ignore.value_or(0), got.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto label = static_cast<std::int64_t>(labels[static_cast<std::size_t>(r)]);
    const double want = ignore && label == *ignore ? 0.0 : sparse_formula(x.data() + r * w, label, w);
    expect_same(got[static_cast<std::size_t>(r)], want,
                "width " + std::to_string(w) + ", rows " + std::to_string(rows) + ", row " + std::to_string(r));
  }
}

TEST(XentSimd, SparseFromLogitsMatchesTheScalarFormulaForEveryWidthOnEveryTarget) {
  on_every_target([] {
    for (std::int64_t w = 1; w <= simd::kSparseXentMaxWidth; ++w) {
      for (const std::int64_t rows : {1, 2, 7, 8, 9, 17, 40}) {
        check_sparse<float, std::int64_t>(w, rows, rows >= 6, std::nullopt);
        check_sparse<double, std::int64_t>(w, rows, rows >= 6, std::nullopt);
      }
      check_sparse<float, std::int32_t>(w, 19, true, std::nullopt);
      check_sparse<double, std::int32_t>(w, 19, true, std::nullopt);
      check_sparse<float, float>(w, 19, true, std::nullopt);
      check_sparse<double, float>(w, 19, true, std::nullopt);
      check_sparse<float, double>(w, 19, true, std::nullopt);
      check_sparse<double, double>(w, 19, true, std::nullopt);
      check_sparse<float, std::int64_t>(w, 40, true, w > 1 ? 1 : 0);
    }
  });
}

TEST(XentSimd, SparseSpecialRowsGiveTheScalarValues) {
  // Row 1 (a +inf logit) is NaN, row 2 (−inf away from the label) finite, row 4 (all −inf) NaN.
  const std::int64_t w = 4, rows = 8;
  std::vector<float> x = logits<float>(rows, w, 5, true);
  const std::vector<std::int64_t> labels = {1, 1, 1, 1, 1, 1, 1, 1};
  on_every_target([&] {
    std::vector<double> got(rows);
    simd::sparse_xent_from_logits(x.data(), labels.data(), rows, w, false, 0, got.data());
    EXPECT_TRUE(std::isnan(got[0]));
    EXPECT_TRUE(std::isnan(got[1]));
    EXPECT_TRUE(std::isfinite(got[2]));
    EXPECT_TRUE(std::isfinite(got[3]));
    EXPECT_NEAR(got[3], static_cast<double>(x[12]) - static_cast<double>(x[13]), 1e-12 * 3e38);  // huge max
    EXPECT_TRUE(std::isnan(got[4]));
    EXPECT_TRUE(std::isfinite(got[5]));
  });
}

template <class X, class Y>
void check_binary(std::int64_t n, double ls) {
  std::mt19937_64 rng(static_cast<unsigned>(n));
  std::uniform_real_distribution<double> u(-30.0, 30.0), p(0.0, 1.0);
  std::vector<X> x(static_cast<std::size_t>(n));
  std::vector<Y> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i)] = static_cast<X>(u(rng));
    y[static_cast<std::size_t>(i)] = static_cast<Y>(i % 3 == 0 ? p(rng) : static_cast<double>(i % 2));
  }
  const double special[] = {kNaN, kInf, -kInf, 701.0, -701.0, 3e38, -3e38, 700.0, -700.0, 0.0, -0.0};
  for (std::size_t k = 0; k < std::size(special) && static_cast<std::int64_t>(k * 3) < n; ++k)
    x[k * 3] = static_cast<X>(special[k]);
  std::vector<double> got(static_cast<std::size_t>(n), -1.0);
  simd::binary_xent_from_logits(x.data(), y.data(), n, ls, got.data());
  for (std::int64_t i = 0; i < n; ++i) {
    const auto j = static_cast<std::size_t>(i);
    expect_same(got[j], binary_formula(static_cast<double>(x[j]), static_cast<double>(y[j]), ls),
                "n " + std::to_string(n) + ", element " + std::to_string(i) + ", x " + std::to_string(x[j]));
  }
}

TEST(XentSimd, BinaryFromLogitsMatchesTheScalarFormulaOnEveryTarget) {
  on_every_target([] {
    for (std::int64_t n = 1; n <= 33; ++n) {
      for (const double ls : {0.0, 0.1}) {
        check_binary<float, float>(n, ls);
        check_binary<double, double>(n, ls);
        check_binary<float, double>(n, ls);
        check_binary<double, float>(n, ls);
      }
    }
    check_binary<float, float>(4099, 0.0);
  });
}

// Through the metric function: widths 1..33 (33 takes the block path past the kernel's
// widest rows), more rows than one block, so blocks and chunks tile as in real use.
TEST(XentSimd, SparseCrossentropyFunctionMatchesTheFormulaForWidths1To33) {
  on_every_target([] {
    for (std::int64_t w = 1; w <= 33; ++w) {
      const std::int64_t rows = 2048 / w + 11;
      const std::vector<float> x = logits<float>(rows, w, static_cast<unsigned>(w), false);
      std::vector<std::int64_t> labels(static_cast<std::size_t>(rows));
      for (std::int64_t r = 0; r < rows; ++r) labels[static_cast<std::size_t>(r)] = (r * 5 + 1) % w;
      const Tensor got = functional::sparse_categorical_crossentropy(TensorView(labels), TensorView(x, {rows, w}), true,
                                                                     std::nullopt, -1, DType::kFloat64);
      const std::vector<double> g = got.to_doubles();
      ASSERT_EQ(static_cast<std::int64_t>(g.size()), rows);
      for (std::int64_t r = 0; r < rows; ++r) {
        expect_same(g[static_cast<std::size_t>(r)],
                    sparse_formula(x.data() + r * w, labels[static_cast<std::size_t>(r)], w),
                    "width " + std::to_string(w) + ", row " + std::to_string(r));
      }
    }
  });
}

}  // namespace
}  // namespace tally::metrics
