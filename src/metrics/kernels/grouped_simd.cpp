// The grouped kernels' slot and value loops (grouped_simd.h), compiled once per SIMD target by
// Highway's foreach_target.h (this file re-includes itself for each target) and dispatched at
// run time.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "metrics/kernels/grouped_simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
// clang-format off
#include <hwy/highway.h>
// clang-format on

#include <climits>
#include <cstdint>

#include "metrics/kernels/grouped_simd.h"

HWY_BEFORE_NAMESPACE();
namespace tally::metrics::kernels::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Lanes of ids above `last` compared unsigned, as all-ones lanes: a signed comparison with the
// sign bits flipped (unsigned comparisons are not on every target of this Highway).
template <class DI>
HWY_INLINE hn::Vec<DI> ids_above(DI di, hn::Vec<DI> id, std::uint32_t last) {
  const auto flip = hn::Set(di, INT32_MIN);
  const auto limit = hn::Set(di, static_cast<std::int32_t>(last ^ 0x80000000u));
  return hn::VecFromMask(di, hn::Gt(hn::Xor(id, flip), limit));
}

std::int64_t BinaryMatchSlots(const float* HWY_RESTRICT t, const float* HWY_RESTRICT p,
                              const std::int32_t* HWY_RESTRICT g, std::int64_t m, float threshold, std::uint32_t last,
                              std::uint32_t* HWY_RESTRICT slot, unsigned& outside) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const auto n = static_cast<std::int64_t>(hn::Lanes(df));
  const auto thr = hn::Set(df, threshold);
  const auto one = hn::Set(df, 1.0f);
  const auto ione = hn::Set(di, 1);
  auto bad = hn::Zero(di);
  std::int64_t j = 0;
  for (; j + n <= m; j += n) {
    // positive = p > thr (false for NaN), then t == positive in float32: binary_match's
    // float64 comparison gives the same, as 0, 1 and t are exact in both.
    const auto positive = hn::IfThenElseZero(hn::Gt(hn::LoadU(df, p + j), thr), one);
    const auto hit = hn::RebindMask(di, hn::Eq(hn::LoadU(df, t + j), positive));
    const auto id = hn::LoadU(di, g + j);
    bad = hn::Or(bad, ids_above(di, id, last));
    const auto s = hn::Add(hn::ShiftLeft<1>(id), hn::IfThenElseZero(hit, ione));
    hn::StoreU(s, di, reinterpret_cast<std::int32_t*>(slot + j));
  }
  if (!hn::AllFalse(di, hn::MaskFromVec(bad))) outside |= 1u;
  return j;
}

std::int64_t GridLevelSlots(const float* HWY_RESTRICT t, const float* HWY_RESTRICT p,
                            const std::int32_t* HWY_RESTRICT g, std::int64_t m, const GridSlots& grid,
                            std::uint32_t* HWY_RESTRICT cell, unsigned& nan, unsigned& outside) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const auto n = static_cast<std::int64_t>(hn::Lanes(df));
  const auto zero = hn::Zero(df), one = hn::Set(df, 1.0f), scale = hn::Set(df, grid.scale);
  const auto floor_level = hn::Set(di, grid.floor_level);
  const auto levels = hn::Set(di, static_cast<std::int32_t>(grid.levels));
  // The group's offset in float32: exact, as every cell is below 2^24 (the caller's limit).
  const auto per_group = hn::Set(df, static_cast<float>(2 * grid.levels));
  auto bad = hn::Zero(di);
  auto nan_lanes = hn::Zero(di);
  std::int64_t j = 0;
  for (; j + n <= m; j += n) {
    const auto raw = hn::LoadU(df, p + j);
    nan_lanes = hn::Or(nan_lanes, hn::VecFromMask(di, hn::RebindMask(di, hn::IsNaN(raw))));
    // GridLevel32's clip by comparisons (Highway's Min / Max leave NaN unspecified): NaN and
    // negatives to 0, then above 1 to 1.
    const auto clipped = hn::IfThenElseZero(hn::Gt(raw, zero), raw);
    const auto x = hn::Mul(hn::IfThenElse(hn::Lt(clipped, one), clipped, one), scale);
    const auto whole = hn::ConvertTo(di, x);  // truncation; x is in [0, scale]
    // ceil: whole + 1 where it truncated.
    const auto up = hn::RebindMask(di, hn::Lt(hn::ConvertTo(df, whole), x));
    const auto lev = hn::Max(floor_level, hn::Add(whole, hn::IfThenElseZero(up, hn::Set(di, 1))));
    // Positive when t != 0 as C++ compares (NaN is positive): Highway's Ne is ordered.
    const auto positive = hn::RebindMask(di, hn::Not(hn::Eq(hn::LoadU(df, t + j), zero)));
    const auto id = hn::LoadU(di, g + j);
    bad = hn::Or(bad, ids_above(di, id, grid.last));
    const auto offset = hn::ConvertTo(di, hn::Mul(hn::ConvertTo(df, id), per_group));
    const auto c = hn::Add(hn::Add(offset, lev), hn::IfThenElseZero(positive, levels));
    hn::StoreU(c, di, reinterpret_cast<std::int32_t*>(cell + j));
  }
  if (!hn::AllFalse(di, hn::MaskFromVec(nan_lanes))) nan |= 1u;
  if (!hn::AllFalse(di, hn::MaskFromVec(bad))) outside |= 1u;
  return j;
}

std::int64_t SquaredErrors(const float* HWY_RESTRICT t, const float* HWY_RESTRICT p, const std::int32_t* HWY_RESTRICT g,
                           std::int64_t m, std::uint32_t last, double* HWY_RESTRICT out, unsigned& outside) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // half vectors of float32, widened exactly
  const hn::ScalableTag<std::int32_t> di;    // the ids, a full vector at a time
  const auto n = static_cast<std::int64_t>(hn::Lanes(dd));
  const auto ni = static_cast<std::int64_t>(hn::Lanes(di));
  auto bad = hn::Zero(di);
  std::int64_t j = 0;
  for (; j + n <= m; j += n) {
    const auto d = hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, t + j)), hn::PromoteTo(dd, hn::LoadU(df, p + j)));
    hn::StoreU(hn::Mul(d, d), dd, out + j);
  }
  // The ids of the same rows [0, j) (j is a multiple of ni, or of n on the SCALAR target where
  // both are 1), in a loop of their own over ids already in cache.
  std::int64_t k = 0;
  for (; k + ni <= j; k += ni) bad = hn::Or(bad, ids_above(di, hn::LoadU(di, g + k), last));
  for (; k < j; ++k) outside |= static_cast<unsigned>(static_cast<std::uint32_t>(g[k]) > last);
  if (!hn::AllFalse(di, hn::MaskFromVec(bad))) outside |= 1u;
  return j;
}

}  // namespace tally::metrics::kernels::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tally::metrics::kernels::simd {

HWY_EXPORT(BinaryMatchSlots);
HWY_EXPORT(GridLevelSlots);
HWY_EXPORT(SquaredErrors);

std::int64_t binary_match_slots(const float* t, const float* p, const std::int32_t* g, std::int64_t m, float threshold,
                                std::uint32_t last, std::uint32_t* slot, unsigned& outside) {
  return HWY_DYNAMIC_DISPATCH(BinaryMatchSlots)(t, p, g, m, threshold, last, slot, outside);
}

std::int64_t grid_level_slots(const float* t, const float* p, const std::int32_t* g, std::int64_t m,
                              const GridSlots& grid, std::uint32_t* cell, unsigned& nan, unsigned& outside) {
  return HWY_DYNAMIC_DISPATCH(GridLevelSlots)(t, p, g, m, grid, cell, nan, outside);
}

std::int64_t squared_errors(const float* t, const float* p, const std::int32_t* g, std::int64_t m, std::uint32_t last,
                            double* out, unsigned& outside) {
  return HWY_DYNAMIC_DISPATCH(SquaredErrors)(t, p, g, m, last, out, outside);
}

}  // namespace tally::metrics::kernels::simd
#endif  // HWY_ONCE
