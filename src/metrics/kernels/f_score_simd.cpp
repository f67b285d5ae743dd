// The unweighted F-score sums (f_score_simd.h), compiled once per SIMD target by Highway's
// foreach_target.h (this file re-includes itself for each target) and dispatched at run time.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "metrics/kernels/f_score_simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
// clang-format off
#include <hwy/highway.h>
// clang-format on

#include <cstddef>
#include <cstdint>
#include <limits>

#include "metrics/kernels/f_score_simd.h"

HWY_BEFORE_NAMESPACE();
namespace tally::metrics::kernels::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// A block of float64 lanes loaded from T (float32 is widened exactly).
template <class D>
HWY_INLINE hn::Vec<D> load_wide(D d, const double* p) {
  return hn::LoadU(d, p);
}
template <class D>
HWY_INLINE hn::Vec<D> load_wide(D d, const float* p) {
  const hn::Rebind<float, D> df;
  return hn::PromoteTo(d, hn::LoadU(df, p));
}

// kBlocks vectors of float64 per row hold its classes; lanes past the row are masked out.
// The per-class sums stay in registers for the whole call and are added row by row.
template <int kBlocks, class T>
HWY_INLINE std::int64_t sums_blocks(const T* HWY_RESTRICT p, const T* HWY_RESTRICT y, std::int64_t rows,
                                    std::int64_t classes, std::int64_t safe_rows, const FScoreRule& rule,
                                    double* HWY_RESTRICT sums, bool& nan) {
  const hn::ScalableTag<double> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  using V = hn::Vec<decltype(d)>;
  using M = hn::Mask<decltype(d)>;
  M valid[kBlocks];
  V tp[kBlocks], predicted[kBlocks], support[kBlocks];
  for (int b = 0; b < kBlocks; ++b) {
    const std::int64_t left = classes - b * lanes;
    valid[b] = hn::FirstN(d, static_cast<std::size_t>(left < 0 ? 0 : left));
    // Lanes past `classes` would hold the next sum's values: masked to zero.
    tp[b] = hn::IfThenElseZero(valid[b], hn::LoadU(d, sums + b * lanes));
    predicted[b] = hn::IfThenElseZero(valid[b], hn::LoadU(d, sums + classes + b * lanes));
    support[b] = hn::IfThenElseZero(valid[b], hn::LoadU(d, sums + 2 * classes + b * lanes));
  }
  const auto one = hn::Set(d, 1.0);
  const auto cut_fixed = hn::Set(d, rule.threshold);
  const auto guard = hn::Set(d, rule.zero_guard);
  const auto lowest = hn::Set(d, -std::numeric_limits<double>::infinity());
  // NaN screen: a NaN score or label makes its lane of this running sum NaN (an add is
  // cheaper than a mask test per row); infinities can too, so a NaN sum is confirmed below.
  V screen[kBlocks];
  for (int b = 0; b < kBlocks; ++b) screen[b] = hn::Zero(d);
  const std::int64_t n = rows < safe_rows ? rows : safe_rows;
  for (std::int64_t r = 0; r < n; ++r) {
    V pv[kBlocks], yv[kBlocks];
    for (int b = 0; b < kBlocks; ++b) {
      pv[b] = load_wide(d, p + r * classes + b * lanes);
      yv[b] = hn::IfThenElseZero(valid[b], load_wide(d, y + r * classes + b * lanes));
      screen[b] = hn::Add(screen[b], hn::Add(hn::IfThenElseZero(valid[b], pv[b]), yv[b]));
    }
    M yhat[kBlocks];
    if (rule.use_threshold) {
      // Lanes past the row may come out true: their sums are never stored.
      for (int b = 0; b < kBlocks; ++b) yhat[b] = hn::Gt(pv[b], cut_fixed);
    } else {
      // The row maximum (exact: widening keeps order), then p >= max and |p| > guard.
      auto top = hn::IfThenElse(valid[0], pv[0], lowest);
      for (int b = 1; b < kBlocks; ++b) top = hn::Max(top, hn::IfThenElse(valid[b], pv[b], lowest));
      const auto cut = hn::MaxOfLanes(d, top);
      for (int b = 0; b < kBlocks; ++b) {
        yhat[b] = hn::And(hn::Ge(pv[b], cut), hn::Gt(hn::Abs(pv[b]), guard));
      }
    }
    for (int b = 0; b < kBlocks; ++b) {
      // f_score_add with w = 1: tp += ŷ ? y : +0, predicted += ŷ ? 1 : +0, support += y.
      tp[b] = hn::Add(tp[b], hn::IfThenElseZero(yhat[b], yv[b]));
      predicted[b] = hn::Add(predicted[b], hn::IfThenElseZero(yhat[b], one));
      support[b] = hn::Add(support[b], yv[b]);
    }
  }
  for (int b = 1; b < kBlocks; ++b) screen[0] = hn::Add(screen[0], screen[b]);
  if (HWY_UNLIKELY(!hn::AllFalse(d, hn::IsNaN(screen[0])))) {
    for (std::int64_t i = 0; i < n * classes; ++i) nan |= (p[i] != p[i]) | (y[i] != y[i]);
  }
  HWY_ALIGN double out[3][kBlocks * HWY_MAX_BYTES / sizeof(double)];
  for (int b = 0; b < kBlocks; ++b) {
    hn::StoreU(tp[b], d, out[0] + b * lanes);
    hn::StoreU(predicted[b], d, out[1] + b * lanes);
    hn::StoreU(support[b], d, out[2] + b * lanes);
  }
  for (std::int64_t c = 0; c < classes; ++c) {
    sums[c] = out[0][c];
    sums[classes + c] = out[1][c];
    sums[2 * classes + c] = out[2][c];
  }
  return n;
}

template <class T>
HWY_INLINE std::int64_t sums_any(const T* p, const T* y, std::int64_t rows, std::int64_t classes, std::int64_t readable,
                                 const FScoreRule& rule, double* sums, bool& nan) {
  const hn::ScalableTag<double> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const std::int64_t blocks = (classes + lanes - 1) / lanes;
  if (blocks > 4) return 0;
  // Row r reads blocks * lanes elements from r * classes; sums are read (and masked) over
  // 3 * classes + lanes, which the caller's layout does not have: copy them.
  const std::int64_t span = blocks * lanes;
  const std::int64_t safe_rows = readable >= span ? (readable - span) / classes + 1 : 0;
  HWY_ALIGN double local[3 * 4 * HWY_MAX_BYTES / sizeof(double) + HWY_MAX_BYTES / sizeof(double)] = {};
  for (std::int64_t i = 0; i < 3 * classes; ++i) local[i] = sums[i];
  std::int64_t done = 0;
  switch (blocks) {
    case 1:
      done = sums_blocks<1>(p, y, rows, classes, safe_rows, rule, local, nan);
      break;
    case 2:
      done = sums_blocks<2>(p, y, rows, classes, safe_rows, rule, local, nan);
      break;
    case 3:
      done = sums_blocks<3>(p, y, rows, classes, safe_rows, rule, local, nan);
      break;
    default:
      done = sums_blocks<4>(p, y, rows, classes, safe_rows, rule, local, nan);
      break;
  }
  for (std::int64_t i = 0; i < 3 * classes; ++i) sums[i] = local[i];
  return done;
}

std::int64_t FScoreSumsF32(const float* p, const float* y, std::int64_t rows, std::int64_t classes,
                           std::int64_t readable, const FScoreRule& rule, double* sums, bool& nan) {
  return sums_any(p, y, rows, classes, readable, rule, sums, nan);
}
std::int64_t FScoreSumsF64(const double* p, const double* y, std::int64_t rows, std::int64_t classes,
                           std::int64_t readable, const FScoreRule& rule, double* sums, bool& nan) {
  return sums_any(p, y, rows, classes, readable, rule, sums, nan);
}

}  // namespace tally::metrics::kernels::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tally::metrics::kernels::simd {

HWY_EXPORT(FScoreSumsF32);
HWY_EXPORT(FScoreSumsF64);

std::int64_t f_score_sums(const float* p, const float* y, std::int64_t rows, std::int64_t classes,
                          std::int64_t readable, const FScoreRule& rule, double* sums, bool& nan) {
  return HWY_DYNAMIC_DISPATCH(FScoreSumsF32)(p, y, rows, classes, readable, rule, sums, nan);
}
std::int64_t f_score_sums(const double* p, const double* y, std::int64_t rows, std::int64_t classes,
                          std::int64_t readable, const FScoreRule& rule, double* sums, bool& nan) {
  return HWY_DYNAMIC_DISPATCH(FScoreSumsF64)(p, y, rows, classes, readable, rule, sums, nan);
}

}  // namespace tally::metrics::kernels::simd
#endif  // HWY_ONCE
