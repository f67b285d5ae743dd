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
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#ifndef TALLY_XENT_SIMD_SCALAR_ONCE
#define TALLY_XENT_SIMD_SCALAR_ONCE
namespace tally::metrics::kernels::simd::scalar {

// The scalar formulas, for rows or elements the vector code does not take (non-finite
// logits; binary |x| > 700): libm, in the order of the vector code.
template <class X, class Y>
double sparse_row(const X* x, Y label, std::int64_t w) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::int64_t k = 0; k < w; ++k) m = std::max(m, static_cast<double>(x[k]));
  double s = 0.0;
  for (std::int64_t k = 0; k < w; ++k) s += std::exp(static_cast<double>(x[k]) - m);
  return (m - static_cast<double>(x[static_cast<std::int64_t>(label)])) + std::log(s);
}

inline double binary_one(double x, double ys) {
  return std::max(x, 0.0) - x * ys + std::log1p(std::exp(-std::fabs(x)));
}

}  // namespace tally::metrics::kernels::simd::scalar
#endif

HWY_BEFORE_NAMESPACE();
namespace tally::metrics::kernels::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<double>;
using V = hn::Vec<D>;

// Column k of one row per lane: a gather at offsets `idx` (in elements) from x + k.
HWY_INLINE V column(D d, const float* HWY_RESTRICT x, hn::Vec<hn::Rebind<std::int32_t, D>> idx) {
  const hn::Rebind<float, D> df;
  return hn::PromoteTo(d, hn::GatherIndex(df, x, idx));
}
HWY_INLINE V column(D d, const double* HWY_RESTRICT x, hn::Vec<hn::Rebind<std::int64_t, D>> idx) {
  return hn::GatherIndex(d, x, idx);
}

template <class X, class Y>
HWY_INLINE void sparse(const X* HWY_RESTRICT x, const Y* HWY_RESTRICT labels, std::int64_t rows, std::int64_t w,
                       bool has_ignore, std::int64_t ignored, double* HWY_RESTRICT loss) {
  using Index = std::conditional_t<sizeof(X) == 4, std::int32_t, std::int64_t>;
  const D d;
  const hn::Rebind<Index, D> di;
  const std::size_t lanes = hn::Lanes(d);
  HWY_ALIGN Index offset[HWY_MAX_BYTES / sizeof(double)];
  HWY_ALIGN double picked[HWY_MAX_BYTES / sizeof(double)];
  HWY_ALIGN double out[HWY_MAX_BYTES / sizeof(double)];
  HWY_ALIGN double okay[HWY_MAX_BYTES / sizeof(double)];
  V col[32];                            // kSparseXentMaxWidth
  const V lowest = hn::Set(d, -700.0);  // e^(x − m) below e^−700 vanishes in a sum >= 1 either way
  const V one = hn::Set(d, 1.0);
  for (std::size_t j = 0; j < lanes; ++j) offset[j] = static_cast<Index>(static_cast<std::int64_t>(j) * w);
  const auto full_idx = hn::Load(di, offset);
  for (std::int64_t r0 = 0; r0 < rows; r0 += static_cast<std::int64_t>(lanes)) {
    const auto n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(lanes), rows - r0));
    for (std::size_t j = 0; j < lanes; ++j) {
      // lanes past the last row repeat it (readable memory; their results are dropped)
      const std::int64_t r = r0 + static_cast<std::int64_t>(std::min(j, n - 1));
      auto label = static_cast<std::int64_t>(labels[r]);
      if (has_ignore && label == ignored) label = 0;
      if (n < lanes) offset[j] = static_cast<Index>((r - r0) * w);
      picked[j] = static_cast<double>(x[r * w + label]);
    }
    const X* base = x + r0 * w;
    const auto idx = n == lanes ? full_idx : hn::Load(di, offset);
    V m = hn::Set(d, -std::numeric_limits<double>::infinity());
    auto nan = hn::Lt(m, m);  // all false
    for (std::int64_t k = 0; k < w; ++k) {
      col[k] = column(d, base + k, idx);
      nan = hn::Or(nan, hn::IsNaN(col[k]));
      m = hn::Max(m, col[k]);
    }
    // Finite rows only: the row maximum is then finite and e^0 = 1 is among the addends.
    const auto ok = hn::AndNot(nan, hn::IsFinite(m));
    m = hn::IfThenElse(ok, m, hn::Zero(d));
    V s = hn::Zero(d);
    for (std::int64_t k = 0; k < w; ++k) s = hn::Add(s, hn::Exp(d, hn::Max(hn::Sub(col[k], m), lowest)));
    s = hn::IfThenElse(ok, s, one);
    const V result = hn::Add(hn::Sub(m, hn::Load(d, picked)), hn::Log(d, s));
    if (n == lanes && !has_ignore && hn::AllTrue(d, ok)) {  // the common case: straight out
      hn::StoreU(result, d, loss + r0);
      continue;
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
  }
}

template <class X, class Y>
HWY_INLINE void binary(const X* HWY_RESTRICT x, const Y* HWY_RESTRICT y, std::int64_t n, double ls,
                       double* HWY_RESTRICT loss) {
  const D d;
  const hn::Rebind<X, D> dx;
  const hn::Rebind<Y, D> dy;
  const std::size_t lanes = hn::Lanes(d);
  const V keep = hn::Set(d, 1.0 - ls);
  const V half = hn::Set(d, 0.5 * ls);
  const V limit = hn::Set(d, 700.0);
  const V zero = hn::Zero(d);
  HWY_ALIGN X xt[HWY_MAX_BYTES / sizeof(double)];
  HWY_ALIGN Y yt[HWY_MAX_BYTES / sizeof(double)];
  HWY_ALIGN double out[HWY_MAX_BYTES / sizeof(double)];
  auto one = [&](const X* px, const Y* py, double* po) HWY_ATTR {
    V xv, yv;
    if constexpr (std::is_same_v<X, double>) {
      xv = hn::LoadU(d, px);
    } else {
      xv = hn::PromoteTo(d, hn::LoadU(dx, px));
    }
    if constexpr (std::is_same_v<Y, double>) {
      yv = hn::LoadU(d, py);
    } else {
      yv = hn::PromoteTo(d, hn::LoadU(dy, py));
    }
    const V ys = hn::Add(hn::Mul(yv, keep), half);
    const V a = hn::Abs(xv);
    const auto ok = hn::Le(a, limit);  // NaN fails
    const V t = hn::Log1p(d, hn::Exp(d, hn::Neg(hn::IfThenElseZero(ok, a))));
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
  std::int64_t i = 0;
  for (; i + static_cast<std::int64_t>(lanes) <= n; i += static_cast<std::int64_t>(lanes)) one(x + i, y + i, loss + i);
  if (i < n) {
    for (std::size_t j = 0; j < lanes; ++j) {
      xt[j] = X(0);
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

#define TALLY_BINARY(NAME, X, Y) \
  void NAME(const X* x, const Y* y, std::int64_t n, double ls, double* loss) { binary(x, y, n, ls, loss); }
TALLY_BINARY(BinaryFF, float, float)
TALLY_BINARY(BinaryDD, double, double)
TALLY_BINARY(BinaryFD, float, double)
TALLY_BINARY(BinaryDF, double, float)
#undef TALLY_BINARY

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
HWY_EXPORT(BinaryFF);
HWY_EXPORT(BinaryDD);
HWY_EXPORT(BinaryFD);
HWY_EXPORT(BinaryDF);

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

#define TALLY_BINARY(NAME, X, Y)                                                                  \
  void binary_xent_from_logits(const X* x, const Y* y, std::int64_t n, double ls, double* loss) { \
    HWY_DYNAMIC_DISPATCH(NAME)(x, y, n, ls, loss);                                                \
  }
TALLY_BINARY(BinaryFF, float, float)
TALLY_BINARY(BinaryDD, double, double)
TALLY_BINARY(BinaryFD, float, double)
TALLY_BINARY(BinaryDF, double, float)
#undef TALLY_BINARY

}  // namespace tally::metrics::kernels::simd
#endif  // HWY_ONCE
