// The crossentropy row kernels of xent_simd.h, compiled once per SIMD target by Highway's
// foreach_target.h (this file re-includes itself for each target) and dispatched at run
// time, as simd_math.cpp is.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "metrics/kernels/xent_simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
// clang-format off
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>
// clang-format on

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "metrics/kernels/probabilistic_math.h"

#ifndef TALLY_XENT_SIMD_SCALAR_ONCE
#define TALLY_XENT_SIMD_SCALAR_ONCE
namespace tally::metrics::kernels::simd::scalar {

// The scalar formulas, for rows or elements the vector code does not take (non-finite
// logits; binary |x| > 700; binary probabilities whose log argument is not a positive normal
// number): libm, in the order of the vector code.
template <class X, class Y>
double sparse_row(const X* x, Y label, std::int64_t w) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::int64_t k = 0; k < w; ++k) m = std::max(m, static_cast<double>(x[k]));
  double s = 0.0;
  for (std::int64_t k = 0; k < w; ++k) s += std::exp(static_cast<double>(x[k]) - m);
  return (m - static_cast<double>(x[static_cast<std::int64_t>(label)])) + std::log(s);
}

template <class X, class Y>
double categorical_row(const X* x, const Y* y, std::int64_t w, double ls) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::int64_t k = 0; k < w; ++k) m = std::max(m, static_cast<double>(x[k]));
  double s = 0.0;
  double lin = 0.0;
  double ysum = 0.0;
  for (std::int64_t k = 0; k < w; ++k) {
    s += std::exp(static_cast<double>(x[k]) - m);
    const double yk = smooth_categorical(static_cast<double>(y[k]), ls, static_cast<double>(w));
    if (yk != 0.0) {
      lin += yk * (m - static_cast<double>(x[k]));
      ysum += yk;
    }
  }
  return lin + ysum * std::log(s);
}

inline double binary_one(double x, double ys) {
  return std::max(x, 0.0) - x * ys + std::log1p(std::exp(-std::fabs(x)));
}

inline double binary_prob(double y, double p, double ls, double lo, double hi) {
  return bce_from_probability(smooth_binary(y, ls), p, ClipBounds{lo, hi});
}

}  // namespace tally::metrics::kernels::simd::scalar
#endif

HWY_BEFORE_NAMESPACE();
namespace tally::metrics::kernels::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<double>;
using V = hn::Vec<D>;

// One vector of float64 lanes from as many elements of T (double, float or narrower) at p.
template <class T>
HWY_INLINE V load_f64(D d, const T* HWY_RESTRICT p) {
  if constexpr (std::is_same_v<T, double>) {
    return hn::LoadU(d, p);
  } else {
    return hn::PromoteTo(d, hn::LoadU(hn::Rebind<T, D>(), p));
  }
}
constexpr std::size_t kMaxLanes = HWY_MAX_BYTES / sizeof(double);

// Runs `one(x, y, loss)` on each whole vector of n pairs, then once on the tail padded with
// (pad_x, 0) in aligned scratch, keeping only the tail's lanes.
template <class X, class Y, class One>
HWY_INLINE void over_pair_blocks(const X* HWY_RESTRICT x, const Y* HWY_RESTRICT y, std::int64_t n, X pad_x,
                                 double* HWY_RESTRICT loss, const One& one) {
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(D()));
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes) one(x + i, y + i, loss + i);
  if (i < n) {
    HWY_ALIGN X xt[kMaxLanes];
    HWY_ALIGN Y yt[kMaxLanes];
    HWY_ALIGN double out[kMaxLanes];
    for (std::int64_t j = 0; j < lanes; ++j) {
      xt[j] = pad_x;
      yt[j] = Y(0);
    }
    for (std::int64_t j = i; j < n; ++j) {
      xt[j - i] = x[j];
      yt[j - i] = y[j];
    }
    one(xt, yt, out);
    for (std::int64_t j = i; j < n; ++j) loss[j] = out[j - i];
  }
}

// 2^(j/8), j = 0..7, correctly rounded: the table of exp_non_positive.
HWY_ALIGN constexpr double kExp2Eighths[8] = {0x1p+0,
                                              0x1.172b83c7d517bp+0,
                                              0x1.306fe0a31b715p+0,
                                              0x1.4bfdad5362a27p+0,
                                              0x1.6a09e667f3bcdp+0,
                                              0x1.8ace5422aa0dbp+0,
                                              0x1.ae89f995ad3adp+0,
                                              0x1.d5818dcfba487p+0};

// e^x for x in [−708, 0] (the caller clamps; NaN is the caller's business too), within 2 ulp
// of libm (tests/metrics/xent_simd_test.cpp): x = (8q + j)·ln2/8 + r with |r| ≤ ln2/16, so
// e^x = 2^q · 2^(j/8) · e^r, e^r − 1 by its Taylor polynomial of degree 8 (truncation
// < 2e-18 relative on |r| ≤ 0.0434). About half the work of Highway's Exp, which handles the
// whole double range with a degree-11 polynomial over |r| ≤ ln2/2: with x ≤ 0 there is no
// overflow, and x ≥ −708 keeps 2^q · 2^(j/8) normal, so no special cases remain.
HWY_INLINE V exp_non_positive(D d, V x) {
  const hn::RebindToSigned<D> di;
  const V shifter = hn::Set(d, 0x1.8p52);  // adding it rounds to an integer held in the low bits
  const V t = hn::MulAdd(x, hn::Set(d, 8.0 / 0.693147180559945309417232121458), shifter);
  const V kf = hn::Sub(t, shifter);
  // r = x − kf·ln2/8 with ln2 in fdlibm's two parts: the high one has 32 significant bits, so
  // kf·hi is exact without FMA too (|kf| ≤ 8171) and x − kf·hi loses nothing.
  V r = hn::MulAdd(kf, hn::Set(d, -6.93147180369123816490e-01 / 8.0), x);
  r = hn::MulAdd(kf, hn::Set(d, -1.90821492927058770002e-10 / 8.0), r);
  const auto k = hn::Sub(hn::BitCast(di, t), hn::BitCast(di, shifter));
  const auto j = hn::And(k, hn::Set(di, 7));
  V table;
  constexpr std::size_t kLanes = hn::MaxLanes(D());
  if constexpr (kLanes == 8) {
    table = hn::TableLookupLanes(hn::Load(d, kExp2Eighths), hn::IndicesFromVec(d, j));
  } else if constexpr (kLanes == 4) {
    const auto low = hn::IndicesFromVec(d, hn::And(j, hn::Set(di, 3)));
    const auto upper = hn::RebindMask(d, hn::Ne(hn::And(j, hn::Set(di, 4)), hn::Zero(di)));
    table = hn::IfThenElse(upper, hn::TableLookupLanes(hn::Load(d, kExp2Eighths + 4), low),
                           hn::TableLookupLanes(hn::Load(d, kExp2Eighths), low));
  } else {
    table = hn::GatherIndex(d, kExp2Eighths, j);
  }
  V p = hn::Set(d, 1.0 / 40320.0);
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 5040.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 720.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 120.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 24.0));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0 / 6.0));
  p = hn::MulAdd(p, r, hn::Set(d, 0.5));
  p = hn::MulAdd(p, r, hn::Set(d, 1.0));
  p = hn::Mul(p, r);  // e^r − 1
  // 2^q · 2^(j/8): q added to the table value's exponent field (q ≥ −1022: stays normal)
  const V scaled = hn::BitCast(d, hn::Add(hn::BitCast(di, table), hn::ShiftLeft<52>(hn::ShiftRight<3>(k))));
  return hn::MulAdd(scaled, p, scaled);
}

// Columns c..c+N−1 of N consecutive float32 rows of width w starting at p (N = lanes), as
// N vectors of N rows: contiguous loads and an in-register transpose. The gather it replaces
// (one per class) cost more than the rest of the row formula together.
#if HWY_TARGET == HWY_SCALAR
template <class DF, class VF = hn::Vec<DF>>
HWY_INLINE void transpose_columns(DF df, const float* HWY_RESTRICT p, std::int64_t, VF* HWY_RESTRICT c) {
  c[0] = hn::LoadU(df, p);  // one lane: one row
}
#else
template <class DF, class VF = hn::Vec<DF>>
HWY_INLINE void transpose_columns(DF df, const float* HWY_RESTRICT p, std::int64_t w, VF* HWY_RESTRICT c) {
  constexpr std::size_t N = hn::MaxLanes(DF());
  VF r[N];
  for (std::size_t j = 0; j < N; ++j) r[j] = hn::LoadU(df, p + static_cast<std::int64_t>(j) * w);
  VF t[N];  // rows j, j+1 interleaved (within 128-bit blocks)
  for (std::size_t j = 0; j < N; j += 2) {
    t[j] = hn::InterleaveLower(df, r[j], r[j + 1]);
    t[j + 1] = hn::InterleaveUpper(df, r[j], r[j + 1]);
  }
  if constexpr (N == 2) {
    c[0] = t[0];
    c[1] = t[1];
  } else {
    const hn::Repartition<double, DF> d2;  // pairs of floats as one 64-bit lane
    VF u[N];
    for (std::size_t j = 0; j < N; j += 4) {
      const auto a0 = hn::BitCast(d2, t[j]), a1 = hn::BitCast(d2, t[j + 1]);
      const auto a2 = hn::BitCast(d2, t[j + 2]), a3 = hn::BitCast(d2, t[j + 3]);
      u[j] = hn::BitCast(df, hn::InterleaveLower(d2, a0, a2));
      u[j + 1] = hn::BitCast(df, hn::InterleaveUpper(d2, a0, a2));
      u[j + 2] = hn::BitCast(df, hn::InterleaveLower(d2, a1, a3));
      u[j + 3] = hn::BitCast(df, hn::InterleaveUpper(d2, a1, a3));
    }
    if constexpr (N == 4) {
      for (std::size_t j = 0; j < 4; ++j) c[j] = u[j];
    } else {
      static_assert(N == 8, "block_columns transposes only 1, 2, 4 or 8 lanes");
      for (std::size_t j = 0; j < 4; ++j) {
        c[j] = hn::ConcatLowerLower(df, u[j + 4], u[j]);
        c[j + 4] = hn::ConcatUpperUpper(df, u[j + 4], u[j]);
      }
    }
  }
}

// Columns c, c+1 of N = 4 or 8 consecutive float32 rows of width w starting at p, as c[0],
// c[1]: the last chunk of a row with 1 or 2 columns left, in 10 shuffles instead of the
// full transpose's 24 (N = 8). Reads 4 floats per row, within what transpose_columns reads.
template <class DF, class VF = hn::Vec<DF>>
HWY_INLINE void transpose_two_columns(DF df, const float* HWY_RESTRICT p, std::int64_t w, VF* HWY_RESTRICT c) {
  constexpr std::size_t N = hn::MaxLanes(DF());
  const hn::Full128<float> d4;
  const hn::Repartition<double, decltype(d4)> d2;
  hn::Vec<decltype(d4)> lo[2], hi[2];  // columns c and c+1 of rows 0-3 and of rows 4-7
  for (std::size_t g = 0; g < N / 4; ++g) {
    const float* q = p + static_cast<std::int64_t>(4 * g) * w;
    // rows j, j+1 interleaved: [x_j,c  x_j+1,c  x_j,c+1  x_j+1,c+1]
    const auto a = hn::InterleaveLower(d4, hn::LoadU(d4, q), hn::LoadU(d4, q + w));
    const auto b = hn::InterleaveLower(d4, hn::LoadU(d4, q + 2 * w), hn::LoadU(d4, q + 3 * w));
    lo[g] = hn::BitCast(d4, hn::InterleaveLower(d2, hn::BitCast(d2, a), hn::BitCast(d2, b)));
    hi[g] = hn::BitCast(d4, hn::InterleaveUpper(d2, hn::BitCast(d2, a), hn::BitCast(d2, b)));
  }
  if constexpr (N == 4) {
    c[0] = lo[0];
    c[1] = hi[0];
  } else {
    c[0] = hn::Combine(df, lo[1], lo[0]);
    c[1] = hn::Combine(df, hi[1], hi[0]);
  }
}

#endif

// The labels of rows [r, r + lanes) as float64 lanes (`n` of them real, the rest repeat the last).
template <class Y>
HWY_INLINE V label_lanes(D d, const Y* HWY_RESTRICT labels, std::int64_t r, std::size_t n) {
  const std::size_t lanes = hn::Lanes(d);
  if (n == lanes) {
    if constexpr (std::is_same_v<Y, double>) {
      return hn::LoadU(d, labels + r);
    } else if constexpr (std::is_same_v<Y, std::int64_t>) {
      return hn::ConvertTo(d, hn::LoadU(hn::Rebind<std::int64_t, D>(), labels + r));
    } else {
      return hn::PromoteTo(d, hn::LoadU(hn::Rebind<Y, D>(), labels + r));
    }
  }
  HWY_ALIGN double tmp[kMaxLanes];
  for (std::size_t j = 0; j < lanes; ++j)
    tmp[j] = static_cast<double>(labels[r + static_cast<std::int64_t>(std::min(j, n - 1))]);
  return hn::Load(d, tmp);
}

// Scratch of block_columns: a block too close to the end of x for the transpose's
// whole-vector loads is copied to `padded` first (its last row repeated), so every row takes
// the same arithmetic wherever it sits.
template <class X>
struct BlockScratch {
  HWY_ALIGN X padded[kMaxLanes * (32 + kMaxLanes)];
  HWY_ALIGN std::int64_t offset[kMaxLanes];
};

// col[k] = class k of rows [r0, r0 + lanes) of x ([rows, w], w ≤ 32), one row per lane;
// `n` rows are real, the lanes past them repeat the last. float32 rows are loaded whole and
// transposed in registers (1, 2, 4 or 8 lanes: every x86 target); float64 ones, and float32
// ones on wider vectors, gathered per class.
template <class X>
HWY_INLINE void block_columns(D d, const X* HWY_RESTRICT x, std::int64_t rows, std::int64_t w, std::int64_t r0,
                              std::size_t n, V* HWY_RESTRICT col, BlockScratch<X>& scratch) {
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const X* base = x + r0 * w;
  constexpr std::size_t kN = hn::MaxLanes(D());
  if constexpr (std::is_same_v<X, float> && (kN == 1 || kN == 2 || kN == 4 || kN == 8)) {
    const hn::Rebind<float, D> df;
    const std::int64_t chunks = (w + lanes - 1) / lanes;
    // The transpose reads `chunks` whole vectors from each of the block's rows.
    const std::int64_t reach = (r0 + lanes - 1) * w + chunks * lanes;
    if (static_cast<std::int64_t>(n) < lanes || reach > rows * w) {
      for (std::int64_t j = 0; j < lanes; ++j) {
        const X* src = x + (r0 + std::min<std::int64_t>(j, static_cast<std::int64_t>(n) - 1)) * w;
        std::copy(src, src + w, scratch.padded + j * w);
      }
      std::fill(scratch.padded + lanes * w, scratch.padded + lanes * w + lanes, 0.0f);
      base = scratch.padded;
    }
    hn::Vec<decltype(df)> t[hn::MaxLanes(D())];
    for (std::int64_t c = 0; c < chunks; ++c) {
      transpose_columns(df, base + c * lanes, w, t);
      for (std::int64_t j = 0; j < lanes && c * lanes + j < w; ++j) col[c * lanes + j] = hn::PromoteTo(d, t[j]);
    }
  } else {
    const hn::Rebind<std::int64_t, D> di;
    for (std::int64_t j = 0; j < lanes; ++j)
      scratch.offset[j] = std::min<std::int64_t>(j, static_cast<std::int64_t>(n) - 1) * w;
    const auto idx = hn::Load(di, scratch.offset);
    if constexpr (std::is_same_v<X, float>) {  // vectors wider than 8 lanes (not on x86)
      const hn::Rebind<float, D> df;
      const hn::Rebind<std::int32_t, D> di32;
      HWY_ALIGN std::int32_t offset32[kMaxLanes];
      for (std::int64_t j = 0; j < lanes; ++j) offset32[j] = static_cast<std::int32_t>(scratch.offset[j]);
      const auto idx32 = hn::Load(di32, offset32);
      for (std::int64_t k = 0; k < w; ++k) col[k] = hn::PromoteTo(d, hn::GatherIndex(df, base + k, idx32));
    } else {
      for (std::int64_t k = 0; k < w; ++k) col[k] = hn::GatherIndex(d, base + k, idx);
    }
  }
}

// picked = col[label] per lane (labels as float64 lanes); a label outside [0, w) (the
// ignored class) picks class 0: such rows are rewritten by the callers.
HWY_INLINE V pick(D d, const V* HWY_RESTRICT col, std::int64_t w, V label) {
  V picked = col[0];
  for (std::int64_t k = 1; k < w; ++k)
    picked = hn::IfThenElse(hn::Eq(label, hn::Set(d, static_cast<double>(k))), col[k], picked);
  return picked;
}

template <class X, class Y>
HWY_INLINE void sparse(const X* HWY_RESTRICT x, const Y* HWY_RESTRICT labels, std::int64_t rows, std::int64_t w,
                       bool has_ignore, std::int64_t ignored, double* HWY_RESTRICT loss) {
  const D d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  HWY_ALIGN double out[kMaxLanes];
  HWY_ALIGN double okay[kMaxLanes];
  BlockScratch<X> scratch;
  V col[2][32 + kMaxLanes];             // two blocks; kSparseXentMaxWidth, rounded up to whole vectors
  const V lowest = hn::Set(d, -700.0);  // e^(x − m) below e^−700 vanishes in a sum >= 1 either way
  const V one = hn::Set(d, 1.0);
  // Stores the losses of the block at r0 (n real rows) from its result and finite mask.
  auto finish = [&](std::int64_t r0, std::size_t n, V result, hn::Mask<D> ok) HWY_ATTR {
    if (static_cast<std::int64_t>(n) == lanes && !has_ignore && hn::AllTrue(d, ok)) {  // the common case
      hn::StoreU(result, d, loss + r0);
      return;
    }
    hn::Store(result, d, out);
    hn::Store(hn::IfThenElseZero(ok, one), d, okay);
    for (std::size_t j = 0; j < n; ++j) {
      const std::int64_t r = r0 + static_cast<std::int64_t>(j);
      std::int64_t label = static_cast<std::int64_t>(labels[r]);
      const bool skip = has_ignore && label == ignored;
      if (skip) label = 0;
      loss[r] = skip ? 0.0 : (okay[j] != 0.0 ? out[j] : scalar::sparse_row(x + r * w, label, w));
    }
  };
  // Two blocks per step, their chains interleaved (each block's sum and log wait on its own
  // exps; side by side, the two hide each other's latency: 10-20% on AVX-512). A lone last
  // block is computed twice and stored once. Each row's arithmetic is the same either way.
  for (std::int64_t r0 = 0; r0 < rows; r0 += 2 * lanes) {
    const std::int64_t r1 = r0 + lanes < rows ? r0 + lanes : r0;
    const auto n0 = static_cast<std::size_t>(std::min(lanes, rows - r0));
    const auto n1 = static_cast<std::size_t>(std::min(lanes, rows - r1));
    block_columns(d, x, rows, w, r0, n0, col[0], scratch);
    block_columns(d, x, rows, w, r1, n1, col[1], scratch);
    V m0 = col[0][0], m1 = col[1][0];
    V total0 = col[0][0], total1 = col[1][0];  // finite iff every logit of the row is (NaN, ±inf make it not)
    for (std::int64_t k = 1; k < w; ++k) {
      m0 = hn::Max(m0, col[0][k]);
      m1 = hn::Max(m1, col[1][k]);
      total0 = hn::Add(total0, col[0][k]);
      total1 = hn::Add(total1, col[1][k]);
    }
    const V picked0 = pick(d, col[0], w, label_lanes(d, labels, r0, n0));
    const V picked1 = pick(d, col[1], w, label_lanes(d, labels, r1, n1));
    // Finite rows only: the row maximum is then finite and e^0 = 1 is among the addends.
    // The others (rare) take the scalar formula in `finish`.
    const auto ok0 = hn::IsFinite(total0);
    const auto ok1 = hn::IsFinite(total1);
    m0 = hn::IfThenElseZero(ok0, m0);
    m1 = hn::IfThenElseZero(ok1, m1);
    V s0 = hn::Zero(d), s1 = hn::Zero(d);
    for (std::int64_t k = 0; k < w; ++k) {  // class order within each row
      s0 = hn::Add(s0, exp_non_positive(d, hn::Max(hn::Sub(col[0][k], m0), lowest)));
      s1 = hn::Add(s1, exp_non_positive(d, hn::Max(hn::Sub(col[1][k], m1), lowest)));
    }
    s0 = hn::IfThenElse(ok0, s0, one);
    s1 = hn::IfThenElse(ok1, s1, one);
    const V result0 = hn::Add(hn::Sub(m0, picked0), hn::Log(d, s0));
    const V result1 = hn::Add(hn::Sub(m1, picked1), hn::Log(d, s1));
    finish(r0, n0, result0, ok0);
    if (r1 != r0) finish(r1, n1, result1, ok1);
  }
}

// The first `Count` transposed float32 columns t[0, Count) to f(float32 column, float64
// column), in order.
template <std::size_t Count, class VF, class F, std::size_t... J>
HWY_INLINE void widen_each(D d, const VF* HWY_RESTRICT t, F& f, std::index_sequence<J...>) {
  (f(t[J], hn::PromoteTo(d, t[J])), ...);
}
// widen_each of the first n < K + 1 columns, n known only at run time (the last chunk of a
// row whose width is not a multiple of the lanes): one unrolled body per count.
template <std::size_t K, class VF, class F>
HWY_INLINE void widen_first(D d, std::size_t n, const VF* HWY_RESTRICT t, F& f) {
  if constexpr (K > 0) {
    if (n == K) {
      widen_each<K>(d, t, f, std::make_index_sequence<K>());
      return;
    }
    widen_first<K - 1>(d, n, t, f);
  }
}

// Where the float32 rows [r0, r0 + lanes) of x ([rows, w]) are read from by the transposes
// (which read whole vectors, past the row ends): x itself, or a block too close to the end
// of x (or with n < lanes real rows, the last repeated) copied to scratch, as block_columns.
HWY_INLINE const float* transposable_rows(const float* HWY_RESTRICT x, std::int64_t rows, std::int64_t w,
                                          std::int64_t r0, std::size_t n, BlockScratch<float>& scratch) {
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(D()));
  const std::int64_t chunks = (w + lanes - 1) / lanes;
  const std::int64_t reach = (r0 + lanes - 1) * w + chunks * lanes;
  if (static_cast<std::int64_t>(n) == lanes && reach <= rows * w) return x + r0 * w;
  for (std::int64_t j = 0; j < lanes; ++j) {
    const float* src = x + (r0 + std::min<std::int64_t>(j, static_cast<std::int64_t>(n) - 1)) * w;
    std::copy(src, src + w, scratch.padded + j * w);
  }
  std::fill(scratch.padded + lanes * w, scratch.padded + lanes * w + lanes, 0.0f);
  return scratch.padded;
}

// Calls f(column k as float32, column k as float64) for k = 0..w−1 in class order, of the
// `lanes` float32 rows of width w at base (transposable_rows), transposed in registers a
// chunk of `lanes` classes at a time: unrolled, so no column is stored to memory and read
// back (block_columns' array cost a third of the kernel).
template <class F>
HWY_INLINE void for_each_column(D d, const float* HWY_RESTRICT base, std::int64_t w, F&& f) {
  constexpr std::size_t N = hn::MaxLanes(D());
  const auto lanes = static_cast<std::int64_t>(N);
  const hn::Rebind<float, D> df;
  hn::Vec<decltype(df)> t[N];
  const std::int64_t whole = w / lanes;
  for (std::int64_t c = 0; c < whole; ++c) {
    transpose_columns(df, base + c * lanes, w, t);
    widen_each<N>(d, t, f, std::make_index_sequence<N>());
  }
  const auto rest = static_cast<std::size_t>(w - whole * lanes);
  if (rest == 0) return;
#if HWY_TARGET != HWY_SCALAR
  if constexpr (N == 4 || N == 8) {
    if (rest <= 2) {  // e.g. 10 classes: the last chunk holds 2 of its 8 columns
      transpose_two_columns(df, base + whole * lanes, w, t);
      widen_first<2>(d, rest, t, f);
      return;
    }
  }
#endif
  transpose_columns(df, base + whole * lanes, w, t);
  widen_first<N - 1>(d, rest, t, f);
}

template <class X, class Y>
HWY_INLINE void sparse_probs(const X* HWY_RESTRICT p, const Y* HWY_RESTRICT labels, std::int64_t rows, std::int64_t w,
                             bool has_ignore, std::int64_t ignored, double lo, double hi, double* HWY_RESTRICT loss) {
  const D d;
  const std::size_t lanes = hn::Lanes(d);
  HWY_ALIGN double out[kMaxLanes];
  BlockScratch<X> scratch;
  V col[32 + kMaxLanes];
  const V vlo = hn::Set(d, lo);
  const V vhi = hn::Set(d, hi);
  const V one = hn::Set(d, 1.0);
  const V nan = hn::Set(d, std::numeric_limits<double>::quiet_NaN());
  constexpr std::size_t kN = hn::MaxLanes(D());
  constexpr bool kTransposed = std::is_same_v<X, float> && (kN == 1 || kN == 2 || kN == 4 || kN == 8);
  for (std::int64_t r0 = 0; r0 < rows; r0 += static_cast<std::int64_t>(lanes)) {
    const auto n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(lanes), rows - r0));
    const V label = label_lanes(d, labels, r0, n);
    V s = hn::Zero(d);  // 0 + p_0 + p_1 + ..., in class order, as the scalar loop
    V picked;
    if constexpr (kTransposed) {
      const float* base = transposable_rows(p, rows, w, r0, n, scratch);
      // The label's value by comparison with a running class index, in float32 lanes (half
      // the width of float64 ones; class ids are exact there). A label outside [0, w), the
      // ignored class, picks nothing: such rows are rewritten below.
      const hn::Rebind<float, D> df;
      const auto label32 = hn::DemoteTo(df, label);
      auto picked32 = hn::Zero(df);
      auto k = hn::Zero(df);
      for_each_column(d, base, w, [&](hn::Vec<decltype(df)> v32, V v) HWY_ATTR {
        s = hn::Add(s, v);
        picked32 = hn::IfThenElse(hn::Eq(label32, k), v32, picked32);
        k = hn::Add(k, hn::Set(df, 1.0f));
      });
      picked = hn::PromoteTo(d, picked32);
    } else {
      block_columns(d, p, rows, w, r0, n, col, scratch);
      for (std::int64_t k = 0; k < w; ++k) s = hn::Add(s, col[k]);
      picked = pick(d, col, w, label);
    }
    const V ratio = hn::Div(picked, s);
    // clip as probabilistic_math.h's clip: NaN stays NaN, and only NaN fails `ok`
    const V clipped = hn::IfThenElse(hn::Lt(ratio, vlo), vlo, hn::IfThenElse(hn::Gt(ratio, vhi), vhi, ratio));
    const auto ok = hn::Ge(clipped, vlo);
    const V result = hn::IfThenElse(ok, hn::Neg(hn::Log(d, hn::IfThenElse(ok, clipped, one))), nan);
    if (n == lanes && !has_ignore) {
      hn::StoreU(result, d, loss + r0);
      continue;
    }
    hn::Store(result, d, out);
    for (std::size_t j = 0; j < n; ++j) {
      const std::int64_t r = r0 + static_cast<std::int64_t>(j);
      loss[r] = has_ignore && static_cast<std::int64_t>(labels[r]) == ignored ? 0.0 : out[j];
    }
  }
}

// Categorical crossentropy from logits, one row per lane: Σ ys_k (m − x_k) + (Σ ys_k) ln Σ
// e^(x_k − m), the terms with ys_k = 0 skipped (added as +0, which changes no sum), every sum
// in class order, as the scalar block kernel (probabilistic_kernels.h) and categorical_row.
// x and y columns as block_columns gives them (float32 transposed in registers).
template <class X, class Y>
HWY_INLINE void categorical(const X* HWY_RESTRICT x, const Y* HWY_RESTRICT y, std::int64_t rows, std::int64_t w,
                            double ls, double* HWY_RESTRICT loss) {
  const D d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  HWY_ALIGN double out[kMaxLanes];
  HWY_ALIGN double okay[kMaxLanes];
  BlockScratch<X> sx;
  BlockScratch<Y> sy;
  V xc[32 + kMaxLanes];
  V yc[32 + kMaxLanes];
  const V lowest = hn::Set(d, -700.0);  // as in sparse
  const V one = hn::Set(d, 1.0);
  const V keep = hn::Set(d, 1.0 - ls);
  const V share = hn::Set(d, ls / static_cast<double>(w));  // smooth_categorical's ls / C
  for (std::int64_t r0 = 0; r0 < rows; r0 += lanes) {
    const auto n = static_cast<std::size_t>(std::min(lanes, rows - r0));
    block_columns(d, x, rows, w, r0, n, xc, sx);
    block_columns(d, y, rows, w, r0, n, yc, sy);
    V m = xc[0];
    V total = xc[0];  // finite iff every logit of the row is
    for (std::int64_t k = 1; k < w; ++k) {
      m = hn::Max(m, xc[k]);
      total = hn::Add(total, xc[k]);
    }
    const auto ok = hn::IsFinite(total);
    m = hn::IfThenElseZero(ok, m);
    V s = hn::Zero(d);
    V lin = hn::Zero(d);
    V ysum = hn::Zero(d);
    for (std::int64_t k = 0; k < w; ++k) {
      s = hn::Add(s, exp_non_positive(d, hn::Max(hn::Sub(xc[k], m), lowest)));
      const V yk = hn::Add(hn::Mul(yc[k], keep), share);
      const auto used = hn::Not(hn::Eq(yk, hn::Zero(d)));  // NaN included, as `yk != 0` (Ne is ordered)
      lin = hn::Add(lin, hn::IfThenElseZero(used, hn::Mul(yk, hn::Sub(m, xc[k]))));
      ysum = hn::Add(ysum, hn::IfThenElseZero(used, yk));
    }
    s = hn::IfThenElse(ok, s, one);
    const V result = hn::Add(lin, hn::Mul(ysum, hn::Log(d, s)));
    if (n == static_cast<std::size_t>(lanes) && hn::AllTrue(d, ok)) {
      hn::StoreU(result, d, loss + r0);
      continue;
    }
    hn::Store(result, d, out);
    hn::Store(hn::IfThenElseZero(ok, one), d, okay);
    for (std::size_t j = 0; j < n; ++j) {
      const std::int64_t r = r0 + static_cast<std::int64_t>(j);
      loss[r] = okay[j] != 0.0 ? out[j] : scalar::categorical_row(x + r * w, y + r * w, w, ls);
    }
  }
}

template <class X, class Y>
HWY_INLINE void binary(const X* HWY_RESTRICT x, const Y* HWY_RESTRICT y, std::int64_t n, double ls,
                       double* HWY_RESTRICT loss) {
  const D d;
  const std::size_t lanes = hn::Lanes(d);
  const V keep = hn::Set(d, 1.0 - ls);
  const V half = hn::Set(d, 0.5 * ls);
  const V limit = hn::Set(d, 700.0);
  const V zero = hn::Zero(d);
  auto one = [&](const X* px, const Y* py, double* po) HWY_ATTR {
    const V xv = load_f64(d, px);
    const V yv = load_f64(d, py);
    const V ys = hn::Add(hn::Mul(yv, keep), half);
    const V a = hn::Abs(xv);
    const auto ok = hn::Le(a, limit);  // NaN fails
    const V t = hn::Log1p(d, exp_non_positive(d, hn::Neg(hn::IfThenElseZero(ok, a))));
    hn::StoreU(hn::Add(hn::Sub(hn::Max(xv, zero), hn::Mul(xv, ys)), t), d, po);
    if (HWY_UNLIKELY(!hn::AllTrue(d, ok))) {
      for (std::size_t j = 0; j < lanes; ++j) {
        const double xj = static_cast<double>(px[j]);
        if (!(std::fabs(xj) <= 700.0)) {
          po[j] = scalar::binary_one(xj, static_cast<double>(py[j]) * (1.0 - ls) + 0.5 * ls);
        }
      }
    }
  };
  over_pair_blocks(x, y, n, X(0), loss, one);
}

// −[y ln p + (1 − y) ln(1 − p)], p clipped to [lo, hi], y smoothed: one log for hard labels
// (y·(1 − y) = 0: the log of y·p + (1 − y)(1 − p), exactly p or 1 − p) and two for soft ones,
// the second only for vectors that hold a soft label (probabilistic_math.h's
// bce_from_probability, lane by lane). A NaN probability gives NaN, as there.
template <class X, class Y>
HWY_INLINE void binary_probs(const X* HWY_RESTRICT p, const Y* HWY_RESTRICT y, std::int64_t n, double ls, double lo,
                             double hi, double* HWY_RESTRICT loss) {
  const D d;
  const std::size_t lanes = hn::Lanes(d);
  const V keep = hn::Set(d, 1.0 - ls);
  const V half = hn::Set(d, 0.5 * ls);
  const V vlo = hn::Set(d, lo);
  const V vhi = hn::Set(d, hi);
  const V one_v = hn::Set(d, 1.0);
  const V zero = hn::Zero(d);
  const V tiny = hn::Set(d, DBL_MIN);
  auto one = [&](const X* pp, const Y* py, double* po) HWY_ATTR {
    const V pv = load_f64(d, pp);
    const V yv = load_f64(d, py);
    const V ys = hn::Add(hn::Mul(yv, keep), half);
    const V pc = hn::IfThenElse(hn::Lt(pv, vlo), vlo, hn::IfThenElse(hn::Gt(pv, vhi), vhi, pv));
    const V ys1 = hn::Sub(one_v, ys);
    const V pc1 = hn::Sub(one_v, pc);
    const auto hard = hn::Eq(hn::Mul(ys, ys1), zero);
    const V q = hn::IfThenElse(hard, hn::Add(hn::Mul(ys, pc), hn::Mul(ys1, pc1)), pc);
    // Every log argument normal and positive (NaN fails; so does 1 − p = 0 when 1 − ε rounds
    // to 1, float16): the others take the scalar formula below.
    const auto ok = hn::And(hn::Ge(q, tiny), hn::Ge(pc1, tiny));
    const V l1 = hn::Log(d, hn::IfThenElse(ok, q, one_v));
    V result = hn::Neg(l1);
    if (HWY_UNLIKELY(!hn::AllTrue(d, hard))) {
      const V l2 = hn::Log(d, hn::IfThenElse(ok, pc1, one_v));
      result = hn::IfThenElse(hard, result, hn::Neg(hn::Add(hn::Mul(ys, l1), hn::Mul(ys1, l2))));
    }
    hn::StoreU(result, d, po);
    if (HWY_UNLIKELY(!hn::AllTrue(d, ok))) {
      HWY_ALIGN double okay[kMaxLanes];
      hn::Store(hn::IfThenElseZero(ok, one_v), d, okay);
      for (std::size_t j = 0; j < lanes; ++j) {
        if (okay[j] == 0.0)
          po[j] = scalar::binary_prob(static_cast<double>(py[j]), static_cast<double>(pp[j]), ls, lo, hi);
      }
    }
  };
  over_pair_blocks(p, y, n, X(0.5), loss, one);
}

#define TALLY_SPARSE(NAME, X, Y)                                                                                   \
  void NAME(const X* x, const Y* labels, std::int64_t rows, std::int64_t w, bool has_ignore, std::int64_t ignored, \
            double* loss) {                                                                                        \
    sparse(x, labels, rows, w, has_ignore, ignored, loss);                                                         \
  }
TALLY_SPARSE(SparseFI64, float, std::int64_t)
TALLY_SPARSE(SparseDI64, double, std::int64_t)
TALLY_SPARSE(SparseFI32, float, std::int32_t)
TALLY_SPARSE(SparseDI32, double, std::int32_t)
TALLY_SPARSE(SparseFF, float, float)
TALLY_SPARSE(SparseDF, double, float)
TALLY_SPARSE(SparseFD, float, double)
TALLY_SPARSE(SparseDD, double, double)
#undef TALLY_SPARSE

#define TALLY_SPARSE_PROBS(NAME, X, Y)                                                                             \
  void NAME(const X* p, const Y* labels, std::int64_t rows, std::int64_t w, bool has_ignore, std::int64_t ignored, \
            double lo, double hi, double* loss) {                                                                  \
    sparse_probs(p, labels, rows, w, has_ignore, ignored, lo, hi, loss);                                           \
  }
TALLY_SPARSE_PROBS(SparsePFI64, float, std::int64_t)
TALLY_SPARSE_PROBS(SparsePDI64, double, std::int64_t)
TALLY_SPARSE_PROBS(SparsePFI32, float, std::int32_t)
TALLY_SPARSE_PROBS(SparsePDI32, double, std::int32_t)
TALLY_SPARSE_PROBS(SparsePFF, float, float)
TALLY_SPARSE_PROBS(SparsePDF, double, float)
TALLY_SPARSE_PROBS(SparsePFD, float, double)
TALLY_SPARSE_PROBS(SparsePDD, double, double)
#undef TALLY_SPARSE_PROBS

#define TALLY_CATEGORICAL(NAME, X, Y)                                                             \
  void NAME(const X* x, const Y* y, std::int64_t rows, std::int64_t w, double ls, double* loss) { \
    categorical(x, y, rows, w, ls, loss);                                                         \
  }
TALLY_CATEGORICAL(CategoricalFF, float, float)
TALLY_CATEGORICAL(CategoricalDD, double, double)
TALLY_CATEGORICAL(CategoricalFD, float, double)
TALLY_CATEGORICAL(CategoricalDF, double, float)
#undef TALLY_CATEGORICAL

#define TALLY_BINARY(NAME, X, Y) \
  void NAME(const X* x, const Y* y, std::int64_t n, double ls, double* loss) { binary(x, y, n, ls, loss); }
TALLY_BINARY(BinaryFF, float, float)
TALLY_BINARY(BinaryDD, double, double)
TALLY_BINARY(BinaryFD, float, double)
TALLY_BINARY(BinaryDF, double, float)
#undef TALLY_BINARY

#define TALLY_BINARY_PROBS(NAME, X, Y)                                                               \
  void NAME(const X* p, const Y* y, std::int64_t n, double ls, double lo, double hi, double* loss) { \
    binary_probs(p, y, n, ls, lo, hi, loss);                                                         \
  }
TALLY_BINARY_PROBS(BinaryPFF, float, float)
TALLY_BINARY_PROBS(BinaryPDD, double, double)
TALLY_BINARY_PROBS(BinaryPFD, float, double)
TALLY_BINARY_PROBS(BinaryPDF, double, float)
#undef TALLY_BINARY_PROBS

// Whether every label is a class id in [0, classes) or the ignored class: integer labels
// compared as int64 (no rounding through float64), floating ones as probabilistic_kernels.h's
// checked loop does (v ≥ 0, v < classes, v integral, or v == ignored as float64).
template <class Y>
HWY_INLINE bool labels_valid(const Y* HWY_RESTRICT labels, std::int64_t n, std::int64_t classes, bool has_ignore,
                             std::int64_t ignored) {
  const std::size_t lanes = hn::Lanes(D());
  HWY_ALIGN Y tail[kMaxLanes];
  if constexpr (std::is_integral_v<Y>) {
    const hn::Rebind<std::int64_t, D> di;
    const hn::Rebind<Y, D> dy;
    const auto zero = hn::Zero(di);
    const auto c = hn::Set(di, classes);
    const auto skip = hn::Set(di, ignored);
    auto bad = hn::Lt(zero, zero);  // none
    auto one = [&](const Y* p) HWY_ATTR {
      hn::Vec<decltype(di)> v;
      if constexpr (std::is_same_v<Y, std::int64_t>) {
        v = hn::LoadU(di, p);
      } else {
        v = hn::PromoteTo(di, hn::LoadU(dy, p));
      }
      auto out = hn::Or(hn::Lt(v, zero), hn::Not(hn::Lt(v, c)));
      if (has_ignore) out = hn::AndNot(hn::Eq(v, skip), out);
      bad = hn::Or(bad, out);
    };
    std::int64_t i = 0;
    for (; i + static_cast<std::int64_t>(lanes) <= n; i += static_cast<std::int64_t>(lanes)) one(labels + i);
    if (i < n) {
      for (std::size_t j = 0; j < lanes; ++j) tail[j] = i + static_cast<std::int64_t>(j) < n ? labels[i + j] : Y(0);
      one(tail);
    }
    return hn::AllFalse(di, bad);
  } else {
    const D d;
    const V zero = hn::Zero(d);
    const V c = hn::Set(d, static_cast<double>(classes));
    const V skip = hn::Set(d, static_cast<double>(ignored));
    auto good = hn::Eq(zero, zero);  // all
    auto one = [&](const Y* p) HWY_ATTR {
      const V v = load_f64(d, p);
      auto in = hn::And(hn::And(hn::Ge(v, zero), hn::Lt(v, c)), hn::Eq(hn::Floor(v), v));
      if (has_ignore) in = hn::Or(in, hn::Eq(v, skip));
      good = hn::And(good, in);
    };
    std::int64_t i = 0;
    for (; i + static_cast<std::int64_t>(lanes) <= n; i += static_cast<std::int64_t>(lanes)) one(labels + i);
    if (i < n) {
      for (std::size_t j = 0; j < lanes; ++j) tail[j] = i + static_cast<std::int64_t>(j) < n ? labels[i + j] : Y(0);
      one(tail);
    }
    return hn::AllTrue(d, good);
  }
}

#define TALLY_LABELS(NAME, Y)                                                                               \
  bool NAME(const Y* labels, std::int64_t n, std::int64_t classes, bool has_ignore, std::int64_t ignored) { \
    return labels_valid(labels, n, classes, has_ignore, ignored);                                           \
  }
TALLY_LABELS(LabelsI64, std::int64_t)
TALLY_LABELS(LabelsI32, std::int32_t)
TALLY_LABELS(LabelsF, float)
TALLY_LABELS(LabelsD, double)
#undef TALLY_LABELS

void ExpNonPositive(double* x, std::size_t n) {
  const D d;
  const std::size_t lanes = hn::Lanes(d);
  HWY_ALIGN double t[kMaxLanes];
  for (std::size_t i = 0; i < n; i += lanes) {
    const std::size_t m = std::min(lanes, n - i);
    for (std::size_t j = 0; j < lanes; ++j) t[j] = j < m ? x[i + j] : 0.0;
    hn::Store(exp_non_positive(d, hn::Load(d, t)), d, t);
    for (std::size_t j = 0; j < m; ++j) x[i + j] = t[j];
  }
}

}  // namespace tally::metrics::kernels::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "metrics/kernels/xent_simd.h"

namespace tally::metrics::kernels::simd {

HWY_EXPORT(SparseFI64);
HWY_EXPORT(SparseDI64);
HWY_EXPORT(SparseFI32);
HWY_EXPORT(SparseDI32);
HWY_EXPORT(SparseFF);
HWY_EXPORT(SparseDF);
HWY_EXPORT(SparseFD);
HWY_EXPORT(SparseDD);
HWY_EXPORT(SparsePFI64);
HWY_EXPORT(SparsePDI64);
HWY_EXPORT(SparsePFI32);
HWY_EXPORT(SparsePDI32);
HWY_EXPORT(SparsePFF);
HWY_EXPORT(SparsePDF);
HWY_EXPORT(SparsePFD);
HWY_EXPORT(SparsePDD);
HWY_EXPORT(CategoricalFF);
HWY_EXPORT(CategoricalDD);
HWY_EXPORT(CategoricalFD);
HWY_EXPORT(CategoricalDF);
HWY_EXPORT(BinaryFF);
HWY_EXPORT(BinaryDD);
HWY_EXPORT(BinaryFD);
HWY_EXPORT(BinaryDF);
HWY_EXPORT(BinaryPFF);
HWY_EXPORT(BinaryPDD);
HWY_EXPORT(BinaryPFD);
HWY_EXPORT(BinaryPDF);
HWY_EXPORT(ExpNonPositive);
HWY_EXPORT(LabelsI64);
HWY_EXPORT(LabelsI32);
HWY_EXPORT(LabelsF);
HWY_EXPORT(LabelsD);

#define TALLY_SPARSE(NAME, X, Y)                                                                                    \
  void sparse_xent_from_logits(const X* x, const Y* labels, std::int64_t rows, std::int64_t width, bool has_ignore, \
                               std::int64_t ignored, double* loss) {                                                \
    HWY_DYNAMIC_DISPATCH(NAME)(x, labels, rows, width, has_ignore, ignored, loss);                                  \
  }
TALLY_SPARSE(SparseFI64, float, std::int64_t)
TALLY_SPARSE(SparseDI64, double, std::int64_t)
TALLY_SPARSE(SparseFI32, float, std::int32_t)
TALLY_SPARSE(SparseDI32, double, std::int32_t)
TALLY_SPARSE(SparseFF, float, float)
TALLY_SPARSE(SparseDF, double, float)
TALLY_SPARSE(SparseFD, float, double)
TALLY_SPARSE(SparseDD, double, double)
#undef TALLY_SPARSE

#define TALLY_SPARSE_PROBS(NAME, X, Y)                                                                             \
  void sparse_xent_from_probabilities(const X* p, const Y* labels, std::int64_t rows, std::int64_t width,          \
                                      bool has_ignore, std::int64_t ignored, double lo, double hi, double* loss) { \
    HWY_DYNAMIC_DISPATCH(NAME)(p, labels, rows, width, has_ignore, ignored, lo, hi, loss);                         \
  }
TALLY_SPARSE_PROBS(SparsePFI64, float, std::int64_t)
TALLY_SPARSE_PROBS(SparsePDI64, double, std::int64_t)
TALLY_SPARSE_PROBS(SparsePFI32, float, std::int32_t)
TALLY_SPARSE_PROBS(SparsePDI32, double, std::int32_t)
TALLY_SPARSE_PROBS(SparsePFF, float, float)
TALLY_SPARSE_PROBS(SparsePDF, double, float)
TALLY_SPARSE_PROBS(SparsePFD, float, double)
TALLY_SPARSE_PROBS(SparsePDD, double, double)
#undef TALLY_SPARSE_PROBS

#define TALLY_CATEGORICAL(NAME, X, Y)                                                                         \
  void categorical_xent_from_logits(const X* x, const Y* y, std::int64_t rows, std::int64_t width, double ls, \
                                    double* loss) {                                                           \
    HWY_DYNAMIC_DISPATCH(NAME)(x, y, rows, width, ls, loss);                                                  \
  }
TALLY_CATEGORICAL(CategoricalFF, float, float)
TALLY_CATEGORICAL(CategoricalDD, double, double)
TALLY_CATEGORICAL(CategoricalFD, float, double)
TALLY_CATEGORICAL(CategoricalDF, double, float)
#undef TALLY_CATEGORICAL

#define TALLY_BINARY(NAME, X, Y)                                                                  \
  void binary_xent_from_logits(const X* x, const Y* y, std::int64_t n, double ls, double* loss) { \
    HWY_DYNAMIC_DISPATCH(NAME)(x, y, n, ls, loss);                                                \
  }
TALLY_BINARY(BinaryFF, float, float)
TALLY_BINARY(BinaryDD, double, double)
TALLY_BINARY(BinaryFD, float, double)
TALLY_BINARY(BinaryDF, double, float)
#undef TALLY_BINARY

#define TALLY_BINARY_PROBS(NAME, X, Y)                                                                         \
  void binary_xent_from_probabilities(const X* p, const Y* y, std::int64_t n, double ls, double lo, double hi, \
                                      double* loss) {                                                          \
    HWY_DYNAMIC_DISPATCH(NAME)(p, y, n, ls, lo, hi, loss);                                                     \
  }
TALLY_BINARY_PROBS(BinaryPFF, float, float)
TALLY_BINARY_PROBS(BinaryPDD, double, double)
TALLY_BINARY_PROBS(BinaryPFD, float, double)
TALLY_BINARY_PROBS(BinaryPDF, double, float)
#undef TALLY_BINARY_PROBS

void exp_non_positive_in_place(double* x, std::size_t n) { HWY_DYNAMIC_DISPATCH(ExpNonPositive)(x, n); }

#define TALLY_LABELS(NAME, Y)                                                                      \
  bool sparse_labels_valid(const Y* labels, std::int64_t n, std::int64_t classes, bool has_ignore, \
                           std::int64_t ignored) {                                                 \
    return HWY_DYNAMIC_DISPATCH(NAME)(labels, n, classes, has_ignore, ignored);                    \
  }
TALLY_LABELS(LabelsI64, std::int64_t)
TALLY_LABELS(LabelsI32, std::int32_t)
TALLY_LABELS(LabelsF, float)
TALLY_LABELS(LabelsD, double)
#undef TALLY_LABELS

}  // namespace tally::metrics::kernels::simd
#endif  // HWY_ONCE
