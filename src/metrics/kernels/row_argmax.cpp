// Row-wise argmax, class-confusion cells and outcome counts (row_argmax.h), compiled once per SIMD target by
// Highway's foreach_target.h (this file re-includes itself for each target) and dispatched at
// run time; the target list is set in CMakeLists.txt (TALLY_SIMD_SOURCES).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "metrics/kernels/row_argmax.cpp"
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

#include "metrics/kernels/row_argmax.h"

HWY_BEFORE_NAMESPACE();
namespace tally::metrics::kernels::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One row by the scalar loop; returns true when it holds a NaN.
template <class T>
HWY_INLINE bool scalar_row(const T* row, std::int64_t classes, std::int32_t* out) {
  *out = scalar_argmax(row, classes);
  bool nan = false;
  for (std::int64_t c = 0; c < classes; ++c) nan |= row[c] != row[c];
  return nan;
}

// Rows that fit one vector of `d` (classes <= Lanes(d)): one load, the maximum of the valid
// lanes, and the first lane equal to it. A row with a NaN takes the scalar loop (its answer
// depends on where the NaN sits); rows whose load would pass the end of the array too.
template <class D, class T>
HWY_INLINE bool rows_fit(D d, const T* HWY_RESTRICT p, std::int64_t rows, std::int64_t classes,
                         std::int32_t* HWY_RESTRICT out) {
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const auto valid = hn::FirstN(d, static_cast<std::size_t>(classes));
  const auto lowest = hn::Set(d, -std::numeric_limits<T>::infinity());
  const std::int64_t total = rows * classes;
  const std::int64_t safe = total >= lanes ? std::min(rows, (total - lanes) / classes + 1) : 0;
  bool nan = false;
  for (std::int64_t r = 0; r < safe; ++r) {
    const T* row = p + r * classes;
    const auto v = hn::LoadU(d, row);
    if (HWY_UNLIKELY(!hn::AllFalse(d, hn::And(valid, hn::IsNaN(v))))) {
      nan |= scalar_row(row, classes, out + r);
      continue;
    }
    // Lanes past the row are -inf, so the maximum is the row's; the first lane equal to it
    // lies inside the row (ties to the first index; +0 and -0 compare equal, as in the loop).
    const auto top = hn::MaxOfLanes(d, hn::IfThenElse(valid, v, lowest));
    out[r] = static_cast<std::int32_t>(hn::FindFirstTrue(d, hn::Eq(v, top)));
  }
  for (std::int64_t r = safe; r < rows; ++r) nan |= scalar_row(p + r * classes, classes, out + r);
  return nan;
}

// Rows longer than one vector: the maximum over whole vectors (the last one overlapping the
// previous, so no lane lies outside the row), then the first vector holding it. Max's NaN
// behaviour differs between targets, so a row with a NaN takes the scalar loop.
template <class D, class T>
HWY_INLINE bool rows_long(D d, const T* HWY_RESTRICT p, std::int64_t rows, std::int64_t classes,
                          std::int32_t* HWY_RESTRICT out) {
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  bool nan = false;
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = p + r * classes;
    auto m0 = hn::LoadU(d, row);
    auto m1 = m0, m2 = m0, m3 = m0;
    auto bad = hn::IsNaN(m0);
    std::int64_t j = lanes;
    // Four running maxima: one would be a chain of dependent Max operations.
    for (; j + 4 * lanes <= classes; j += 4 * lanes) {
      const auto v0 = hn::LoadU(d, row + j);
      const auto v1 = hn::LoadU(d, row + j + lanes);
      const auto v2 = hn::LoadU(d, row + j + 2 * lanes);
      const auto v3 = hn::LoadU(d, row + j + 3 * lanes);
      bad = hn::Or(bad, hn::Or(hn::Or(hn::IsNaN(v0), hn::IsNaN(v1)), hn::Or(hn::IsNaN(v2), hn::IsNaN(v3))));
      m0 = hn::Max(m0, v0);
      m1 = hn::Max(m1, v1);
      m2 = hn::Max(m2, v2);
      m3 = hn::Max(m3, v3);
    }
    for (; j + lanes <= classes; j += lanes) {
      const auto v = hn::LoadU(d, row + j);
      bad = hn::Or(bad, hn::IsNaN(v));
      m0 = hn::Max(m0, v);
    }
    const auto last = hn::LoadU(d, row + classes - lanes);
    bad = hn::Or(bad, hn::IsNaN(last));
    m0 = hn::Max(hn::Max(m0, m1), hn::Max(hn::Max(m2, m3), last));
    if (HWY_UNLIKELY(!hn::AllFalse(d, bad))) {
      nan |= scalar_row(row, classes, out + r);
      continue;
    }
    const auto top = hn::MaxOfLanes(d, m0);
    std::int64_t arg = -1;
    for (std::int64_t k = 0; k + lanes <= classes; k += lanes) {
      const std::intptr_t at = hn::FindFirstTrue(d, hn::Eq(hn::LoadU(d, row + k), top));
      if (at >= 0) {
        arg = k + at;
        break;
      }
    }
    // Not in a whole vector: in the overlapping last one, past the lanes already searched.
    if (arg < 0) arg = classes - lanes + hn::FindFirstTrue(d, hn::Eq(last, top));
    out[r] = static_cast<std::int32_t>(arg);
  }
  return nan;
}

// The bits of mask `m` of a vector of `d`, lane i in bit i (lanes past Lanes(d) clear);
// callers use at most 16 lanes.
template <class D, class M>
HWY_INLINE std::uint64_t mask_bits(D d, M m) {
  const std::uint64_t all = (std::uint64_t{1} << hn::Lanes(d)) - 1;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  (void)d;
  return static_cast<std::uint64_t>(m.raw) & all;
#elif HWY_ARCH_X86 && HWY_TARGET != HWY_EMU128 && HWY_TARGET != HWY_SCALAR
  (void)d;
  return hn::detail::BitsFromMask(m) & all;
#else
  std::uint8_t bytes[8] = {};
  hn::StoreMaskBits(d, m, bytes);
  const std::uint64_t bits = bytes[0] | (static_cast<std::uint64_t>(bytes[1]) << 8);
  return bits & all;
#endif
}

// Rows of K vectors of `d` (Lanes(d) < classes <= K * Lanes(d) <= 64): vector j starts at
// min(j * lanes, classes - lanes), so the last one overlaps the one before and no load leaves
// the row. The maximum of the row, then the bits of the lanes equal to it placed at their
// column (overlapping lanes hold the same element, so OR is exact); the lowest set bit is the
// first maximum, without a branch per row. A call that meets a NaN takes the scalar loop for
// all its rows (Max's NaN behaviour differs between targets; such batches are rejected).
template <int K, class D, class T>
HWY_INLINE bool rows_pieces(D d, const T* HWY_RESTRICT p, std::int64_t rows, std::int64_t classes,
                            std::int32_t* HWY_RESTRICT out) {
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  std::int64_t at[K];
  for (int j = 0; j < K; ++j) at[j] = std::min<std::int64_t>(j * lanes, classes - lanes);
  auto nan = hn::IsNaN(hn::Zero(d));
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = p + r * classes;
    hn::Vec<D> v[K];
    for (int j = 0; j < K; ++j) {
      v[j] = hn::LoadU(d, row + at[j]);
      nan = hn::Or(nan, hn::IsNaN(v[j]));
    }
    hn::Vec<D> m[K];
    for (int j = 0; j < K; ++j) m[j] = v[j];
    for (int step = 1; step < K; step *= 2) {
      for (int j = 0; j + step < K; j += 2 * step) m[j] = hn::Max(m[j], m[j + step]);
    }
    const auto top = hn::MaxOfLanes(d, m[0]);
    std::uint64_t bits = std::uint64_t{1} << 63;  // a NaN row may match nothing; redone below
    for (int j = 0; j < K; ++j) bits |= mask_bits(d, hn::Eq(v[j], top)) << at[j];
    out[r] = static_cast<std::int32_t>(hwy::Num0BitsBelowLS1Bit_Nonzero64(bits));
  }
  if (HWY_LIKELY(hn::AllFalse(d, nan))) return false;
  for (std::int64_t r = 0; r < rows; ++r) scalar_row(p + r * classes, classes, out + r);
  return true;
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// rows_pieces for float32 rows of 9..64 classes on AVX-512: two rows share each 512-bit
// vector (row r in the lower 256 bits, row r + 1 in the upper), so the in-half maximum
// (three shuffle-and-max steps) and the comparisons serve two rows at once.
template <int K>
HWY_INLINE bool rows_pairs(const float* HWY_RESTRICT p, std::int64_t rows, std::int64_t classes,
                           std::int32_t* HWY_RESTRICT out) {
  const hn::Full512<float> d;
  const hn::Full256<float> h;
  std::int64_t at[K];
  for (int j = 0; j < K; ++j) at[j] = std::min<std::int64_t>(j * 8, classes - 8);
  auto nan = hn::IsNaN(hn::Zero(d));
  std::int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const float* row0 = p + r * classes;
    const float* row1 = row0 + classes;
    hn::Vec<decltype(d)> v[K], m[K];
    for (int j = 0; j < K; ++j) {
      v[j] = hn::Combine(d, hn::LoadU(h, row1 + at[j]), hn::LoadU(h, row0 + at[j]));
      nan = hn::Or(nan, hn::IsNaN(v[j]));
      m[j] = v[j];
    }
    for (int step = 1; step < K; step *= 2) {
      for (int j = 0; j + step < K; j += 2 * step) m[j] = hn::Max(m[j], m[j + step]);
    }
    auto top = hn::Max(m[0], hn::SwapAdjacentBlocks(m[0]));
    top = hn::Max(top, hn::Shuffle1032(top));
    top = hn::Max(top, hn::Shuffle2301(top));  // each half: its row's maximum in every lane
    std::uint64_t bits0 = std::uint64_t{1} << 63, bits1 = bits0;
    for (int j = 0; j < K; ++j) {
      const auto bits = static_cast<std::uint64_t>(hn::Eq(v[j], top).raw);
      bits0 |= (bits & 0xFF) << at[j];
      bits1 |= ((bits >> 8) & 0xFF) << at[j];
    }
    out[r] = static_cast<std::int32_t>(hwy::Num0BitsBelowLS1Bit_Nonzero64(bits0));
    out[r + 1] = static_cast<std::int32_t>(hwy::Num0BitsBelowLS1Bit_Nonzero64(bits1));
  }
  const bool last_nan = r < rows && rows_pieces<K>(h, p + r * classes, 1, classes, out + r);
  if (HWY_LIKELY(hn::AllFalse(d, nan))) return last_nan;
  for (std::int64_t i = 0; i < rows; ++i) scalar_row(p + i * classes, classes, out + i);
  return true;
}
#endif

// The narrowest vector that holds a row (fewer lanes: a shorter reduction), else rows_long.
template <class T>
HWY_INLINE bool row_argmax_any(const T* p, std::int64_t rows, std::int64_t classes, std::int32_t* out) {
#if HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
  // The emulated targets (the fallback of CPUs without SSSE3) gain nothing over the scalar
  // loop, and Highway 1.0.3's EMU128 built by clang gave other answers than the loop on rows
  // with NaN (tests/metrics/row_argmax_test.cpp, sanitizer build): they run the loop itself.
  bool nan = false;
  for (std::int64_t r = 0; r < rows; ++r) nan |= scalar_row(p + r * classes, classes, out + r);
  return nan;
#else
  const hn::ScalableTag<T> d;
  // Up to 64 classes: 256-bit pieces (at most 8 per row; 128-bit on SSE4), branch-free.
  const hn::CappedTag<T, 32 / sizeof(T)> dp;
  const auto piece = static_cast<std::int64_t>(hn::Lanes(dp));
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if constexpr (std::is_same_v<T, float>) {
    if (classes > 8 && classes <= 64) {
      switch ((classes + 7) / 8) {
        case 2:
          return rows_pairs<2>(p, rows, classes, out);
        case 3:
          return rows_pairs<3>(p, rows, classes, out);
        case 4:
          return rows_pairs<4>(p, rows, classes, out);
        case 5:
          return rows_pairs<5>(p, rows, classes, out);
        case 6:
          return rows_pairs<6>(p, rows, classes, out);
        case 7:
          return rows_pairs<7>(p, rows, classes, out);
        default:
          return rows_pairs<8>(p, rows, classes, out);
      }
    }
  }
#endif
  const auto full = static_cast<std::int64_t>(hn::Lanes(d));
  if (full > piece && full <= 16 && classes > 2 * piece && classes <= 2 * full) {
    return rows_pieces<2>(d, p, rows, classes, out);
  }
  if (classes > piece && classes <= 8 * piece && classes <= 64) {
    switch ((classes + piece - 1) / piece) {
      case 2:
        return rows_pieces<2>(dp, p, rows, classes, out);
      case 3:
        return rows_pieces<3>(dp, p, rows, classes, out);
      case 4:
        return rows_pieces<4>(dp, p, rows, classes, out);
      case 5:
        return rows_pieces<5>(dp, p, rows, classes, out);
      case 6:
        return rows_pieces<6>(dp, p, rows, classes, out);
      case 7:
        return rows_pieces<7>(dp, p, rows, classes, out);
      default:
        return rows_pieces<8>(dp, p, rows, classes, out);
    }
  }
  if (classes > static_cast<std::int64_t>(hn::Lanes(d))) return rows_long(d, p, rows, classes, out);
  const hn::CappedTag<T, 4> d4;
  if (classes <= static_cast<std::int64_t>(hn::Lanes(d4))) return rows_fit(d4, p, rows, classes, out);
  const hn::CappedTag<T, 8> d8;
  if (classes <= static_cast<std::int64_t>(hn::Lanes(d8))) return rows_fit(d8, p, rows, classes, out);
  return rows_fit(d, p, rows, classes, out);
#endif
}

bool RowArgmaxF32(const float* p, std::int64_t rows, std::int64_t classes, std::int32_t* out) {
  return row_argmax_any(p, rows, classes, out);
}
bool RowArgmaxF64(const double* p, std::int64_t rows, std::int64_t classes, std::int32_t* out) {
  return row_argmax_any(p, rows, classes, out);
}

// Keras in_top_k per row (accuracy_math.h): a hit when fewer than k scores are strictly
// above the target's, which must be a finite score at a valid index. Counting stops once k
// larger scores are seen (the answer cannot change); the ragged end of a row is scalar.
template <class T>
HWY_INLINE void top_k_hits_any(const T* HWY_RESTRICT p, std::int64_t rows, std::int64_t width,
                               const std::int64_t* HWY_RESTRICT targets, std::int64_t k, double* HWY_RESTRICT out) {
  const hn::ScalableTag<T> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = p + r * width;
    const std::int64_t target = targets[r];
    if (target < 0 || target >= width || !std::isfinite(static_cast<double>(row[target]))) {
      out[r] = 0.0;
      continue;
    }
    const T score = row[target];
    const auto s = hn::Set(d, score);
    std::int64_t larger = 0, c = 0;
    for (; c + 4 * lanes <= width && larger < k; c += 4 * lanes) {
      larger += static_cast<std::int64_t>(hn::CountTrue(d, hn::Gt(hn::LoadU(d, row + c), s)) +
                                          hn::CountTrue(d, hn::Gt(hn::LoadU(d, row + c + lanes), s)) +
                                          hn::CountTrue(d, hn::Gt(hn::LoadU(d, row + c + 2 * lanes), s)) +
                                          hn::CountTrue(d, hn::Gt(hn::LoadU(d, row + c + 3 * lanes), s)));
    }
    for (; c + lanes <= width && larger < k; c += lanes) {
      larger += static_cast<std::int64_t>(hn::CountTrue(d, hn::Gt(hn::LoadU(d, row + c), s)));
    }
    for (; c < width && larger < k; ++c) larger += row[c] > score ? 1 : 0;
    out[r] = larger < k ? 1.0 : 0.0;
  }
}

void TopKHitsF32(const float* p, std::int64_t rows, std::int64_t width, const std::int64_t* targets, std::int64_t k,
                 double* out) {
  top_k_hits_any(p, rows, width, targets, k, out);
}
void TopKHitsF64(const double* p, std::int64_t rows, std::int64_t width, const std::int64_t* targets, std::int64_t k,
                 double* out) {
  top_k_hits_any(p, rows, width, targets, k, out);
}

void ClassCells(const std::int32_t* HWY_RESTRICT t, const std::int32_t* HWY_RESTRICT p, std::int64_t n,
                std::int32_t classes, std::int32_t* HWY_RESTRICT cells) {
  const hn::ScalableTag<std::int32_t> d;
  const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const auto c = hn::Set(d, classes);
  const auto below = hn::Set(d, -1);
  const auto spare = hn::Set(d, classes * classes);
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto tv = hn::LoadU(d, t + i);
    const auto pv = hn::LoadU(d, p + i);
    const auto ok = hn::And(hn::And(hn::Gt(tv, below), hn::Lt(tv, c)), hn::And(hn::Gt(pv, below), hn::Lt(pv, c)));
    hn::StoreU(hn::IfThenElse(ok, hn::Add(hn::Mul(tv, c), pv), spare), d, cells + i);
  }
  for (; i < n; ++i) {
    const bool ok = t[i] >= 0 && t[i] < classes && p[i] >= 0 && p[i] < classes;
    cells[i] = ok ? t[i] * classes + p[i] : classes * classes;
  }
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// The ids of 64 rows as bytes, saturated as unsigned (a negative id or one past 255 becomes
// 255, outside [0, classes) since classes <= kOutcomeClasses).
HWY_INLINE __m512i id_bytes(const std::int32_t* HWY_RESTRICT v) {
  const __m128i b0 = _mm512_cvtusepi32_epi8(_mm512_loadu_si512(v));
  const __m128i b1 = _mm512_cvtusepi32_epi8(_mm512_loadu_si512(v + 16));
  const __m128i b2 = _mm512_cvtusepi32_epi8(_mm512_loadu_si512(v + 32));
  const __m128i b3 = _mm512_cvtusepi32_epi8(_mm512_loadu_si512(v + 48));
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(b1, b0)), _mm256_set_m128i(b3, b2), 1);
}

// class_outcomes on AVX-512: per block of 64 rows, one byte compare per class and side and
// a popcount of each mask, instead of a table increment per row (which costs about one cycle a
// row: docs/performance.md, "Confusion-derived metrics on one thread"). POPCNT is on every
// AVX-512 CPU but not in Highway's AVX3 target string, hence the attribute (the whole target
// string: clang's attribute replaces the one Highway's pragma gives, GCC's adds to it).
__attribute__((target(HWY_TARGET_STR ",popcnt"))) std::int64_t outcomes_avx3(const std::int32_t* HWY_RESTRICT t,
                                                                             const std::int32_t* HWY_RESTRICT p,
                                                                             std::int64_t n, std::int32_t classes,
                                                                             std::int64_t* HWY_RESTRICT counts) {
  std::int64_t tp[kOutcomeClasses] = {}, predicted[kOutcomeClasses] = {}, support[kOutcomeClasses] = {};
  const __m512i limit = _mm512_set1_epi8(static_cast<char>(classes));
  __mmask64 bad = 0;
  const std::int64_t m = n / 64 * 64;
  for (std::int64_t i = 0; i < m; i += 64) {
    const __m512i tv = id_bytes(t + i);
    const __m512i pv = id_bytes(p + i);
    bad |= _mm512_cmpge_epu8_mask(tv, limit) | _mm512_cmpge_epu8_mask(pv, limit);
    const __mmask64 same = _mm512_cmpeq_epi8_mask(tv, pv);
    for (std::int32_t c = 0; c < classes; ++c) {
      const __m512i cv = _mm512_set1_epi8(static_cast<char>(c));
      const __mmask64 mt = _mm512_cmpeq_epi8_mask(tv, cv);
      support[c] += static_cast<std::int64_t>(_mm_popcnt_u64(mt));
      predicted[c] += static_cast<std::int64_t>(_mm_popcnt_u64(_mm512_cmpeq_epi8_mask(pv, cv)));
      tp[c] += static_cast<std::int64_t>(_mm_popcnt_u64(mt & same));
    }
  }
  for (std::int32_t c = 0; c < classes; ++c) {
    counts[c] += tp[c];
    counts[classes + c] += predicted[c];
    counts[2 * classes + c] += support[c];
  }
  return bad != 0 ? -1 : m;
}
#endif

std::int64_t ClassOutcomes(const std::int32_t* HWY_RESTRICT t, const std::int32_t* HWY_RESTRICT p, std::int64_t n,
                           std::int32_t classes, std::int64_t* HWY_RESTRICT counts) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if (classes >= 1 && classes <= kOutcomeClasses) return outcomes_avx3(t, p, n, classes, counts);
#else
  (void)t, (void)p, (void)n, (void)classes, (void)counts;
#endif
  return 0;
}

}  // namespace tally::metrics::kernels::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tally::metrics::kernels::simd {

HWY_EXPORT(RowArgmaxF32);
HWY_EXPORT(RowArgmaxF64);
HWY_EXPORT(ClassCells);
HWY_EXPORT(ClassOutcomes);
HWY_EXPORT(TopKHitsF32);
HWY_EXPORT(TopKHitsF64);

void top_k_hits(const float* scores, std::int64_t rows, std::int64_t width, const std::int64_t* targets, std::int64_t k,
                double* out) {
  HWY_DYNAMIC_DISPATCH(TopKHitsF32)(scores, rows, width, targets, k, out);
}
void top_k_hits(const double* scores, std::int64_t rows, std::int64_t width, const std::int64_t* targets,
                std::int64_t k, double* out) {
  HWY_DYNAMIC_DISPATCH(TopKHitsF64)(scores, rows, width, targets, k, out);
}

bool row_argmax(const float* scores, std::int64_t rows, std::int64_t classes, std::int32_t* out) {
  return HWY_DYNAMIC_DISPATCH(RowArgmaxF32)(scores, rows, classes, out);
}
bool row_argmax(const double* scores, std::int64_t rows, std::int64_t classes, std::int32_t* out) {
  return HWY_DYNAMIC_DISPATCH(RowArgmaxF64)(scores, rows, classes, out);
}
void class_cells(const std::int32_t* t, const std::int32_t* p, std::int64_t n, std::int32_t classes,
                 std::int32_t* cells) {
  HWY_DYNAMIC_DISPATCH(ClassCells)(t, p, n, classes, cells);
}
std::int64_t class_outcomes(const std::int32_t* t, const std::int32_t* p, std::int64_t n, std::int32_t classes,
                            std::int64_t* counts) {
  return HWY_DYNAMIC_DISPATCH(ClassOutcomes)(t, p, n, classes, counts);
}

}  // namespace tally::metrics::kernels::simd
#endif  // HWY_ONCE
