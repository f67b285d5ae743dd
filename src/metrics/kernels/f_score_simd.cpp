// The unweighted F-score sums (f_score_simd.h), compiled once per SIMD target by Highway's
// foreach_target.h (this file re-includes itself for each target) and dispatched at run time.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "metrics/kernels/f_score_simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
// clang-format off
#include <hwy/highway.h>
// clang-format on

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

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

// The largest float32 not above x: for a float32 p, p > x exactly when p > below(x), so a
// float64 cut compares in float32 with the same outcome.
HWY_INLINE float float_below(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

// Whether every sum is a whole number in [0, 2^52) without a sign bit: then adding whole
// numbers one row at a time (the scalar loop) and adding their total at once give the same
// float64, so the sums may be counted in integers.
HWY_INLINE bool whole_sums(const double* sums, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = sums[i];
    if (!(v >= 0.0 && v < 4503599627370496.0) || v != std::floor(v) || std::signbit(v)) return false;
  }
  return true;
}

// float32 rows whose labels are all 0 or 1 (one-hot or multi-hot, the common case): per row
// tp += ŷ·y, predicted += ŷ and support += y are whole numbers, so they are counted in
// float32 lanes (exact below 2^24: blocks of 4096 rows) without widening to float64, and
// added to the sums once per block; the comparisons are made in float32 (float_below keeps
// them exact). The checks are bitwise ORs per row: y·y − y is +0 exactly for labels 0, -0
// and 1, and p − p is +0 for finite scores (a NaN or an infinity leaves bits, and the block
// is then scanned for NaN). A block holding a label other than 0 or 1 is not counted and the
// call returns at its first row, which the float64 kernel continues from. Returns the rows
// counted.
template <int K>
HWY_INLINE std::int64_t binary_label_counts(const float* HWY_RESTRICT p, const float* HWY_RESTRICT y, std::int64_t rows,
                                            std::int64_t classes, std::int64_t safe_rows, const FScoreRule& rule,
                                            double* HWY_RESTRICT sums, bool& nan) {
  const hn::ScalableTag<float> d;
  const hn::RebindToUnsigned<decltype(d)> du;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  using V = hn::Vec<decltype(d)>;
  using M = hn::Mask<decltype(d)>;
  M valid[K];
  for (int b = 0; b < K; ++b) {
    const std::int64_t left = classes - b * lanes;
    valid[b] = hn::FirstN(d, static_cast<std::size_t>(left < 0 ? 0 : left));
  }
  const auto one = hn::Set(d, 1.0f);
  const auto cut = hn::Set(d, float_below(rule.threshold));
  const auto guard = hn::Set(d, float_below(rule.zero_guard));
  const auto lowest = hn::Set(d, -std::numeric_limits<float>::infinity());
  const std::int64_t n = rows < safe_rows ? rows : safe_rows;
  constexpr std::int64_t kBlock = 4096;  // float32 counts stay exact
  std::int64_t done = 0;
  while (done < n) {
    const std::int64_t end = n - done > kBlock ? done + kBlock : n;
    V tp[K], predicted[K], support[K];
    for (int b = 0; b < K; ++b) tp[b] = predicted[b] = support[b] = hn::Zero(d);
    // Lanes past the row hold the next rows of this call: checking them too is harmless.
    V labels_off = hn::Zero(d), scores_off = hn::Zero(d);
    for (std::int64_t r = done; r < end; ++r) {
      V pv[K];
      M yhat[K];
      for (int b = 0; b < K; ++b) {
        pv[b] = hn::LoadU(d, p + r * classes + b * lanes);
        scores_off = hn::Or(scores_off, hn::Sub(pv[b], pv[b]));
      }
      if (rule.use_threshold) {
        for (int b = 0; b < K; ++b) yhat[b] = hn::And(valid[b], hn::Gt(pv[b], cut));
      } else {
        // Keras: p >= the row maximum and |p| > guard; the lanes at the maximum hold it, so
        // the guard is one test on the maximum.
        auto top = hn::IfThenElse(valid[0], pv[0], lowest);
        for (int b = 1; b < K; ++b) top = hn::Max(top, hn::IfThenElse(valid[b], pv[b], lowest));
        top = hn::MaxOfLanes(d, top);
        const auto big = hn::Gt(hn::Abs(top), guard);
        for (int b = 0; b < K; ++b) yhat[b] = hn::And(hn::And(valid[b], big), hn::Ge(pv[b], top));
      }
      for (int b = 0; b < K; ++b) {
        const auto yv = hn::LoadU(d, y + r * classes + b * lanes);
        labels_off = hn::Or(labels_off, hn::MulSub(yv, yv, yv));
        tp[b] = hn::Add(tp[b], hn::IfThenElseZero(yhat[b], yv));
        predicted[b] = hn::Add(predicted[b], hn::IfThenElseZero(yhat[b], one));
        support[b] = hn::Add(support[b], hn::IfThenElseZero(valid[b], yv));
      }
    }
    const auto no_bits = hn::Zero(du);
    if (!hn::AllTrue(du, hn::Eq(hn::BitCast(du, labels_off), no_bits))) break;  // to the float64 kernel
    if (!hn::AllTrue(du, hn::Eq(hn::BitCast(du, scores_off), no_bits))) {
      for (std::int64_t i = done * classes; i < end * classes; ++i) nan |= p[i] != p[i];
    }
    HWY_ALIGN float out[3][K * HWY_MAX_BYTES / sizeof(float)];
    for (int b = 0; b < K; ++b) {
      hn::Store(tp[b], d, out[0] + b * lanes);
      hn::Store(predicted[b], d, out[1] + b * lanes);
      hn::Store(support[b], d, out[2] + b * lanes);
    }
    for (std::int64_t c = 0; c < classes; ++c) {
      sums[c] += static_cast<double>(out[0][c]);
      sums[classes + c] += static_cast<double>(out[1][c]);
      sums[2 * classes + c] += static_cast<double>(out[2][c]);
    }
    done = end;
  }
  return done;
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// binary_label_counts for rows of 9..32 classes on AVX-512: two rows per 512-bit vector (row
// r in the lower 256 bits, r + 1 in the upper), each row in K 256-bit pieces at
// min(8 j, classes - 8) that overlap rather than read past the row; a lane is counted only
// in the first piece that holds its column. The in-half maximum of the argmax rule serves
// both rows (10 classes: ~2.1 ns/row against ~2.7 for one 16-lane vector per row, data in
// cache). Pairs of rows only: an odd last row is left to the caller.
template <int K>
HWY_INLINE std::int64_t binary_label_pairs(const float* HWY_RESTRICT p, const float* HWY_RESTRICT y, std::int64_t rows,
                                           std::int64_t classes, const FScoreRule& rule, double* HWY_RESTRICT sums,
                                           bool& nan) {
  const hn::Full512<float> d;
  const hn::Full256<float> h;
  const hn::RebindToUnsigned<decltype(d)> du;
  using V = hn::Vec<decltype(d)>;
  using M = hn::Mask<decltype(d)>;
  std::int64_t at[K];
  M counted[K];
  for (int j = 0; j < K; ++j) {
    at[j] = std::min<std::int64_t>(8 * j, classes - 8);
    const unsigned first_new = static_cast<unsigned>(8 * j - at[j]);  // lanes below hold earlier columns
    const unsigned half = (0xFFu << first_new) & 0xFFu;
    counted[j] = M{static_cast<__mmask16>(half | (half << 8))};
  }
  const auto one = hn::Set(d, 1.0f);
  const auto cut = hn::Set(d, float_below(rule.threshold));
  const auto guard = hn::Set(d, float_below(rule.zero_guard));
  const std::int64_t n = rows & ~std::int64_t{1};
  constexpr std::int64_t kBlock = 4096;  // float32 counts stay exact
  std::int64_t done = 0;
  while (done < n) {
    const std::int64_t end = n - done > kBlock ? done + kBlock : n;
    V tp[K], predicted[K], support[K];
    for (int j = 0; j < K; ++j) tp[j] = predicted[j] = support[j] = hn::Zero(d);
    V labels_off = hn::Zero(d), scores_off = hn::Zero(d);
    for (std::int64_t r = done; r < end; r += 2) {
      const float* p0 = p + r * classes;
      const float* y0 = y + r * classes;
      V pv[K];
      M yhat[K];
      for (int j = 0; j < K; ++j) {
        pv[j] = hn::Combine(d, hn::LoadU(h, p0 + classes + at[j]), hn::LoadU(h, p0 + at[j]));
        scores_off = hn::Or(scores_off, hn::Sub(pv[j], pv[j]));
      }
      if (rule.use_threshold) {
        for (int j = 0; j < K; ++j) yhat[j] = hn::And(counted[j], hn::Gt(pv[j], cut));
      } else {
        auto top = pv[0];
        for (int j = 1; j < K; ++j) top = hn::Max(top, pv[j]);
        top = hn::Max(top, hn::SwapAdjacentBlocks(top));
        top = hn::Max(top, hn::Shuffle1032(top));
        top = hn::Max(top, hn::Shuffle2301(top));  // each half: its row's maximum
        const auto big = hn::Gt(hn::Abs(top), guard);
        for (int j = 0; j < K; ++j) yhat[j] = hn::And(hn::And(counted[j], big), hn::Ge(pv[j], top));
      }
      for (int j = 0; j < K; ++j) {
        const auto yv = hn::Combine(d, hn::LoadU(h, y0 + classes + at[j]), hn::LoadU(h, y0 + at[j]));
        labels_off = hn::Or(labels_off, hn::MulSub(yv, yv, yv));
        tp[j] = hn::Add(tp[j], hn::IfThenElseZero(yhat[j], yv));
        predicted[j] = hn::Add(predicted[j], hn::IfThenElseZero(yhat[j], one));
        support[j] = hn::Add(support[j], hn::IfThenElseZero(counted[j], yv));
      }
    }
    const auto no_bits = hn::Zero(du);
    if (!hn::AllTrue(du, hn::Eq(hn::BitCast(du, labels_off), no_bits))) break;  // to the float64 kernel
    if (!hn::AllTrue(du, hn::Eq(hn::BitCast(du, scores_off), no_bits))) {
      for (std::int64_t i = done * classes; i < end * classes; ++i) nan |= p[i] != p[i];
    }
    HWY_ALIGN float out[3][K * 16];
    for (int j = 0; j < K; ++j) {
      hn::Store(tp[j], d, out[0] + 16 * j);
      hn::Store(predicted[j], d, out[1] + 16 * j);
      hn::Store(support[j], d, out[2] + 16 * j);
    }
    for (int j = 0; j < K; ++j) {
      for (std::int64_t l = 0; l < 8; ++l) {
        const std::int64_t c = at[j] + l;
        for (int s3 = 0; s3 < 3; ++s3) {
          sums[s3 * classes + c] +=
              static_cast<double>(out[s3][16 * j + l]) + static_cast<double>(out[s3][16 * j + 8 + l]);
        }
      }
    }
    done = end;
  }
  return done;
}
#endif

template <class T>
HWY_INLINE std::int64_t sums_any(const T* p, const T* y, std::int64_t rows, std::int64_t classes, std::int64_t readable,
                                 const FScoreRule& rule, double* sums, bool& nan) {
#if HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
  // The emulated targets run the caller's scalar loop (0 rows done here), as the row argmax
  // does: built by clang 14, EMU128's argmax-rule counts disagreed with the scalar loop's
  // (FScoreSums.BinaryLabelsCountedAsWholeNumbersGiveTheScalarLoopsStateOnEveryTarget), and
  // EMU128 is chosen only on CPUs without SSE4, where vectors emulated in scalar code gain nothing.
  static_cast<void>(p), static_cast<void>(y), static_cast<void>(rows), static_cast<void>(classes),
      static_cast<void>(readable), static_cast<void>(rule), static_cast<void>(sums), static_cast<void>(nan);
  return 0;
#else
  const hn::ScalableTag<double> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const std::int64_t blocks = (classes + lanes - 1) / lanes;
  if (blocks > 4) return 0;
  // Row r reads blocks * lanes elements from r * classes; sums are read (and masked) over
  // 3 * classes + lanes, which the caller's layout does not have: copy them.
  const std::int64_t span = blocks * lanes;
  std::int64_t first = 0;
#if !(HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR)
  if constexpr (std::is_same_v<T, float>) {
    const hn::ScalableTag<float> df;
    const auto wide = static_cast<std::int64_t>(hn::Lanes(df));
    const std::int64_t k = (classes + wide - 1) / wide;
    const std::int64_t safe = readable >= k * wide ? (readable - k * wide) / classes + 1 : 0;
    if (k <= 2 && whole_sums(sums, 3 * classes)) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
      if (classes > 8 && classes <= 32) {
        switch ((classes + 7) / 8) {
          case 2:
            first = binary_label_pairs<2>(p, y, rows, classes, rule, sums, nan);
            break;
          case 3:
            first = binary_label_pairs<3>(p, y, rows, classes, rule, sums, nan);
            break;
          default:
            first = binary_label_pairs<4>(p, y, rows, classes, rule, sums, nan);
            break;
        }
      } else {
        first = k == 1 ? binary_label_counts<1>(p, y, rows, classes, safe, rule, sums, nan)
                       : binary_label_counts<2>(p, y, rows, classes, safe, rule, sums, nan);
      }
#else
      first = k == 1 ? binary_label_counts<1>(p, y, rows, classes, safe, rule, sums, nan)
                     : binary_label_counts<2>(p, y, rows, classes, safe, rule, sums, nan);
#endif
      if (first == rows) return first;
      p += first * classes;
      y += first * classes;
      rows -= first;
      readable -= first * classes;
    }
  }
#endif
  const std::int64_t rest_safe = readable >= span ? (readable - span) / classes + 1 : 0;
  HWY_ALIGN double local[3 * 4 * HWY_MAX_BYTES / sizeof(double) + HWY_MAX_BYTES / sizeof(double)] = {};
  for (std::int64_t i = 0; i < 3 * classes; ++i) local[i] = sums[i];
  std::int64_t done = 0;
  switch (blocks) {
    case 1:
      done = sums_blocks<1>(p, y, rows, classes, rest_safe, rule, local, nan);
      break;
    case 2:
      done = sums_blocks<2>(p, y, rows, classes, rest_safe, rule, local, nan);
      break;
    case 3:
      done = sums_blocks<3>(p, y, rows, classes, rest_safe, rule, local, nan);
      break;
    default:
      done = sums_blocks<4>(p, y, rows, classes, rest_safe, rule, local, nan);
      break;
  }
  for (std::int64_t i = 0; i < 3 * classes; ++i) sums[i] = local[i];
  return first + done;
#endif
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
