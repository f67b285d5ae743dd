// The Highway crossentropy row kernels (src/metrics/kernels/xent_simd.h) against the scalar
// libm formulas, on every SIMD target this machine supports: every row width 1..32 (and 33,
// past the kernel, through the metric), every row count up to a few vectors (tails),
// float32 and float64 logits / probabilities, every label dtype, ignore_class, categorical
// crossentropy from logits with one-hot and soft labels (and label smoothing), and NaN /
// ±inf / huge values, which must behave exactly as the scalar formula does; the kernels'
// exp against std::exp (ulps); the sparse label check's fast pass against its messages.
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

#include "metrics/kernels/probabilistic_math.h"
#include "support/simd_targets.h"
#include "tally/error.h"
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

// Σ ys_k (m − x_k) + (Σ ys_k) ln Σ e^(x_k − m) with libm, in class order, terms with ys_k = 0
// skipped: the scalar block kernel's formula (probabilistic_kernels.h).
template <class X, class Y>
double categorical_formula(const X* x, const Y* y, std::int64_t w, double ls) {
  double m = -kInf;
  for (std::int64_t k = 0; k < w; ++k) m = std::max(m, static_cast<double>(x[k]));
  double s = 0.0, lin = 0.0, ysum = 0.0;
  for (std::int64_t k = 0; k < w; ++k) {
    s += std::exp(static_cast<double>(x[k]) - m);
    const double yk = static_cast<double>(y[k]) * (1.0 - ls) + ls / static_cast<double>(w);
    if (yk != 0.0) {
      lin += yk * (m - static_cast<double>(x[k]));
      ysum += yk;
    }
  }
  return lin + ysum * std::log(s);
}

// One-hot rows, soft rows with zeros among them, and (with `special`) special logits and a
// NaN, an infinite and a negative label value.
template <class X, class Y>
void check_categorical(std::int64_t w, std::int64_t rows, bool special, double ls) {
  const std::vector<X> x = logits<X>(rows, w, static_cast<unsigned>(w * 37 + rows), special);
  std::mt19937_64 rng(static_cast<unsigned>(w + rows));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<Y> y(static_cast<std::size_t>(rows * w), Y(0));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = 0; k < w; ++k) {
      const auto at = static_cast<std::size_t>(r * w + k);
      if (r % 2 == 0) {
        y[at] = static_cast<Y>(k == (r * 3 + 1) % w ? 1.0 : 0.0);
      } else {
        y[at] = static_cast<Y>(u(rng) < 0.3 ? 0.0 : u(rng));
      }
    }
  }
  if (special && rows >= 9) {
    y[static_cast<std::size_t>(6 * w)] = static_cast<Y>(kNaN);
    y[static_cast<std::size_t>(7 * w)] = static_cast<Y>(kInf);
    y[static_cast<std::size_t>(8 * w)] = static_cast<Y>(-0.5);
  }
  std::vector<double> got(static_cast<std::size_t>(rows), -1.0);
  simd::categorical_xent_from_logits(x.data(), y.data(), rows, w, ls, got.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    expect_same(got[static_cast<std::size_t>(r)], categorical_formula(x.data() + r * w, y.data() + r * w, w, ls),
                "width " + std::to_string(w) + ", rows " + std::to_string(rows) + ", row " + std::to_string(r) +
                    ", ls " + std::to_string(ls));
  }
}

TEST(XentSimd, CategoricalFromLogitsMatchesTheScalarFormulaForEveryWidthOnEveryTarget) {
  on_every_target([] {
    for (std::int64_t w = 1; w <= simd::kSparseXentMaxWidth; ++w) {
      for (const std::int64_t rows : {1, 2, 7, 8, 9, 17, 40}) {
        check_categorical<float, float>(w, rows, rows >= 9, 0.0);
        check_categorical<double, double>(w, rows, rows >= 9, 0.0);
      }
      check_categorical<float, double>(w, 19, true, 0.0);
      check_categorical<double, float>(w, 19, true, 0.0);
      check_categorical<float, float>(w, 19, true, 0.1);
      check_categorical<double, double>(w, 19, true, 0.1);
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

TEST(XentSimd, ExpIsWithinTwoUlpOfLibmOnItsWholeRange) {
  // Every table entry and both ends of each reduction interval (x = (8q + j)·ln2/8 ± ln2/16),
  // the clamp end −708 and 0, plus a dense sweep.
  std::vector<double> x;
  for (int i = 0; i <= 200000; ++i) x.push_back(-708.0 * i / 200000.0);
  const double step = 0.693147180559945309417232121458 / 8.0;
  for (int k = 0; k <= 8160; ++k) {
    for (const double off : {-0.5, -0.4999999, 0.0, 0.4999999, 0.5}) {
      const double v = -(k + off) * step;
      if (v <= 0.0 && v >= -708.0) x.push_back(v);
    }
  }
  x.push_back(-0.0);
  x.push_back(-1e-300);
  on_every_target([&] {
    std::vector<double> got = x;
    simd::exp_non_positive_in_place(got.data(), got.size());
    double worst = 0.0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double want = std::exp(x[i]);
      const double err = std::fabs(got[i] - want) / want;
      if (err > worst) {
        worst = err;
        at = i;
      }
    }
    EXPECT_LE(worst, 2.0 * 0x1p-53 * 2.0) << "worst relative error " << worst << " at x = " << x[at] << ": " << got[at]
                                          << " for " << std::exp(x[at]) << ", index " << at;  // 2 ulp
  });
}

// −ln clip(p_label / Σ p, lo, hi), the sum in class order; NaN stays NaN (probabilistic_math.h).
template <class X>
double sparse_probs_formula(const X* p, std::int64_t label, std::int64_t w, kernels::ClipBounds c) {
  double s = 0.0;
  for (std::int64_t k = 0; k < w; ++k) s += static_cast<double>(p[k]);
  return -std::log(kernels::clip(static_cast<double>(p[label]) / s, c.lo, c.hi));
}

// Probabilities in (0, 1) with special rows planted: NaN, +inf, −inf, a negative value, an
// all-zero row (0 / 0), a huge value, one class exactly 1 and the rest 0.
template <class X>
std::vector<X> probabilities(std::int64_t rows, std::int64_t w, unsigned seed, bool special) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(1e-9, 1.0);
  std::vector<X> p(static_cast<std::size_t>(rows * w));
  for (X& v : p) v = static_cast<X>(u(rng));
  if (special && rows >= 7) {
    const auto at = [&](std::int64_t r, std::int64_t k) -> X& { return p[static_cast<std::size_t>(r * w + k)]; };
    at(0, 0) = static_cast<X>(kNaN);
    at(1, 0) = static_cast<X>(kInf);
    at(2, 0) = static_cast<X>(-kInf);
    at(3, 0) = static_cast<X>(-0.25);
    for (std::int64_t k = 0; k < w; ++k) at(4, k) = X(0);
    at(5, 0) = static_cast<X>(3e38);
    for (std::int64_t k = 0; k < w; ++k) at(6, k) = X(k == 1 % w ? 1 : 0);
  }
  return p;
}

template <class X, class Y>
void check_sparse_probs(std::int64_t w, std::int64_t rows, bool special, std::optional<std::int64_t> ignore) {
  const std::vector<X> p = probabilities<X>(rows, w, static_cast<unsigned>(w * 17 + rows), special);
  std::vector<Y> labels(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) labels[static_cast<std::size_t>(r)] = static_cast<Y>((r * 5 + 1) % w);
  const kernels::ClipBounds c = kernels::clip_bounds(sizeof(X) == 4 ? DType::kFloat32 : DType::kFloat64);
  std::vector<double> got(static_cast<std::size_t>(rows), -1.0);
  simd::sparse_xent_from_probabilities(p.data(), labels.data(), rows, w, ignore.has_value(), ignore.value_or(0), c.lo,
                                       c.hi, got.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto label = static_cast<std::int64_t>(labels[static_cast<std::size_t>(r)]);
    const double want = ignore && label == *ignore ? 0.0 : sparse_probs_formula(p.data() + r * w, label, w, c);
    expect_same(got[static_cast<std::size_t>(r)], want,
                "width " + std::to_string(w) + ", rows " + std::to_string(rows) + ", row " + std::to_string(r));
  }
}

TEST(XentSimd, SparseFromProbabilitiesMatchesTheScalarFormulaForEveryWidthOnEveryTarget) {
  on_every_target([] {
    for (std::int64_t w = 1; w <= simd::kSparseXentMaxWidth; ++w) {
      for (const std::int64_t rows : {1, 2, 7, 8, 9, 17, 40}) {
        check_sparse_probs<float, std::int64_t>(w, rows, rows >= 7, std::nullopt);
        check_sparse_probs<double, std::int64_t>(w, rows, rows >= 7, std::nullopt);
      }
      check_sparse_probs<float, std::int32_t>(w, 19, true, std::nullopt);
      check_sparse_probs<double, std::int32_t>(w, 19, true, std::nullopt);
      check_sparse_probs<float, float>(w, 19, true, std::nullopt);
      check_sparse_probs<double, float>(w, 19, true, std::nullopt);
      check_sparse_probs<float, double>(w, 19, true, std::nullopt);
      check_sparse_probs<double, double>(w, 19, true, std::nullopt);
      check_sparse_probs<float, std::int64_t>(w, 40, true, w > 1 ? 1 : 0);
    }
  });
}

TEST(XentSimd, SparseFromProbabilitiesSpecialRowsGiveTheScalarValues) {
  const std::int64_t w = 3, rows = 8;
  const std::vector<float> p = probabilities<float>(rows, w, 3, true);
  const std::vector<std::int64_t> labels = {0, 1, 1, 0, 2, 1, 1, 2};
  const kernels::ClipBounds c = kernels::clip_bounds(DType::kFloat32);
  on_every_target([&] {
    std::vector<double> got(rows);
    simd::sparse_xent_from_probabilities(p.data(), labels.data(), rows, w, false, 0, c.lo, c.hi, got.data());
    EXPECT_TRUE(std::isnan(got[0]));              // NaN
    EXPECT_NEAR(got[1], -std::log(c.lo), 1e-12);  // finite / inf = 0, clipped up
    EXPECT_NEAR(got[2], -std::log(c.lo), 1e-12);  // finite / −inf = −0, clipped up
    EXPECT_TRUE(std::isfinite(got[3]));           // a negative probability: clipped
    EXPECT_TRUE(std::isnan(got[4]));              // 0 / 0
    EXPECT_NEAR(got[5], -std::log(c.lo), 1e-12);  // tiny share of a huge sum
    EXPECT_NEAR(got[6], -std::log(c.hi), 1e-12);  // certainty, clipped down
    EXPECT_GT(got[7], 0.0);
  });
}

template <class X, class Y>
void check_binary_probs(std::int64_t n, double ls, std::optional<DType> bounds = std::nullopt) {
  std::mt19937_64 rng(static_cast<unsigned>(n) + 7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<X> p(static_cast<std::size_t>(n));
  std::vector<Y> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    p[static_cast<std::size_t>(i)] = static_cast<X>(u(rng));
    // hard labels mostly, soft ones in some vectors only (the second log's branch)
    y[static_cast<std::size_t>(i)] = static_cast<Y>(i % 11 == 5 ? u(rng) : static_cast<double>(i % 2));
  }
  const double special_p[] = {kNaN, kInf, -kInf, 0.0, 1.0, -0.5, 1.5, 1e-30, 0.9999999999};
  for (std::size_t k = 0; k < std::size(special_p) && static_cast<std::int64_t>(k * 3) < n; ++k)
    p[k * 3] = static_cast<X>(special_p[k]);
  const double special_y[] = {kNaN, 2.0, -1.0, kInf};
  for (std::size_t k = 0; k < std::size(special_y) && static_cast<std::int64_t>(k * 7 + 1) < n; ++k)
    y[k * 7 + 1] = static_cast<Y>(special_y[k]);
  const kernels::ClipBounds c =
      kernels::clip_bounds(bounds.value_or(sizeof(X) == 4 ? DType::kFloat32 : DType::kFloat64));
  std::vector<double> got(static_cast<std::size_t>(n), -1.0);
  simd::binary_xent_from_probabilities(p.data(), y.data(), n, ls, c.lo, c.hi, got.data());
  for (std::int64_t i = 0; i < n; ++i) {
    const auto j = static_cast<std::size_t>(i);
    const double want = kernels::bce_from_probability(kernels::smooth_binary(static_cast<double>(y[j]), ls),
                                                      static_cast<double>(p[j]), c);
    expect_same(got[j], want,
                "n " + std::to_string(n) + ", element " + std::to_string(i) + ", p " + std::to_string(p[j]) + ", y " +
                    std::to_string(y[j]));
  }
}

TEST(XentSimd, BinaryFromProbabilitiesMatchesTheScalarFormulaOnEveryTarget) {
  on_every_target([] {
    for (std::int64_t n = 1; n <= 33; ++n) {
      for (const double ls : {0.0, 0.1}) {
        check_binary_probs<float, float>(n, ls);
        check_binary_probs<double, double>(n, ls);
        check_binary_probs<float, double>(n, ls);
        check_binary_probs<double, float>(n, ls);
      }
    }
    check_binary_probs<float, float>(4099, 0.0);
    // float16 bounds: 1 − ε rounds to 1, so a saturated wrong term is +inf (or NaN for soft
    // labels), as the scalar formula gives
    check_binary_probs<float, float>(33, 0.0, DType::kFloat16);
    check_binary_probs<double, double>(17, 0.1, DType::kFloat16);
    check_binary_probs<float, float>(33, 0.0, DType::kBFloat16);
  });
}

// The label check's branch-free pass lets nothing through that the checked loop rejects.
TEST(XentSimd, SparseLabelCheckStillNamesTheFirstBadLabel) {
  const std::vector<float> x(4 * 3, 0.5f);
  const TensorView yp(x, {4, 3});
  auto message = [&](const TensorView& yt, std::optional<std::int64_t> ignore) -> std::string {
    try {
      functional::sparse_categorical_crossentropy(yt, yp, false, ignore, -1, DType::kFloat32);
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "";
  };
  const std::string prefix = "sparse_categorical_crossentropy: argument `y_true` must hold integer class ids in [0, 3)";
  const std::vector<std::int64_t> neg = {0, 1, -1, 2};
  EXPECT_NE(message(TensorView(neg), std::nullopt).find("; received -1 at flat index 2"), std::string::npos)
      << message(TensorView(neg), std::nullopt);
  EXPECT_EQ(message(TensorView(neg), -1), "");  // -1 is the ignored class
  const std::vector<std::int32_t> big = {0, 3, 1, 2};
  EXPECT_NE(message(TensorView(big), std::nullopt).find("; received 3 at flat index 1"), std::string::npos);
  EXPECT_NE(message(TensorView(big), std::int64_t{1} << 40).find(" or ignore_class; received 3 at flat index 1"),
            std::string::npos);
  const std::vector<std::int32_t> fine = {0, 2, 1, 2};
  EXPECT_EQ(message(TensorView(fine), std::int64_t{1} << 40), "");  // an ignore class no int32 can hold
  const std::vector<double> half = {0, 1, 1.5, 2};
  EXPECT_NE(message(TensorView(half), std::nullopt).find("; received 1.5 at flat index 2"), std::string::npos);
  const std::vector<double> nan = {0, kNaN, 1, 2};
  EXPECT_NE(message(TensorView(nan), std::nullopt).find("; received nan at flat index 1"), std::string::npos)
      << message(TensorView(nan), std::nullopt);
  const std::vector<double> ignored = {0, 7, 1, 2};
  EXPECT_EQ(message(TensorView(ignored), 7), "");
  EXPECT_EQ(message(TensorView(neg), std::nullopt).rfind(prefix, 0), 0u) << message(TensorView(neg), std::nullopt);
}

// With y = 0 and x ≤ 0 the loss is ln(1 + e^x) alone, down to e^−700: relative accuracy of
// the kernels' exp and log1p, which the 1e-12 absolute check above cannot see for small terms.
TEST(XentSimd, BinaryFromLogitsSmallTermsAreWithinAFewUlp) {
  std::vector<double> x;
  for (int i = 0; i <= 100000; ++i) x.push_back(-700.0 * i / 100000.0);
  for (int i = 0; i <= 2000; ++i) x.push_back(-1e-3 * i / 2000.0);  // t near 1: u = 1 + t near 2
  const std::vector<double> y(x.size(), 0.0);
  on_every_target([&] {
    std::vector<double> got(x.size());
    simd::binary_xent_from_logits(x.data(), y.data(), static_cast<std::int64_t>(x.size()), 0.0, got.data());
    double worst = 0.0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double want = std::log1p(std::exp(x[i]));
      const double err = std::fabs(got[i] - want) / want;
      if (err > worst) {
        worst = err;
        at = i;
      }
    }
    EXPECT_LE(worst, 8.0 * 0x1p-53) << "worst relative error " << worst << " at x = " << x[at];  // 4 ulp
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
