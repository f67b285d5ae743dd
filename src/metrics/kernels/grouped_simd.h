#pragma once
// The per-row slot and value loops of the grouped kernels (sliced evaluation, grouped_mean.h
// and grouped_confusion.cpp) on Highway's runtime-dispatched SIMD targets (those of
// simd_math.h): AVX-512 computes 16 float32 rows per instruction where the portable build's
// SSE2 computed 4. Each function does the rows [0, k) for the largest k its target's vectors
// cover and returns k; the caller's scalar loop does the rest (at most one vector's rows).
// Every lane computes what the scalar code computes for its row, in the same float32 or
// float64 operations, so the slots and values are identical on every target
// (tests/metrics/grouped_simd_test.cpp). See docs/performance.md, "Sliced evaluation".

#include <cstdint>

namespace tally::metrics::kernels::simd {

/// The level of float32 score `pf` on Keras's evenly spaced float32 grid (`scale` =
/// thresholds - 1), as count_confusion's fast path computes it: clip (NaN to 0: it is rejected
/// elsewhere), then ceil(pf scale) as truncation plus one where it truncated, at least
/// `floor_level`. The scalar code of grid_level_slots.
inline std::uint32_t grid_level32(float pf, float scale, std::int32_t floor_level) {
  pf = pf > 0.0f ? pf : 0.0f;
  pf = pf < 1.0f ? pf : 1.0f;
  const float x = pf * scale;
  const auto whole = static_cast<std::int32_t>(x);
  const std::int32_t lev = whole + static_cast<std::int32_t>(static_cast<float>(whole) < x);
  return static_cast<std::uint32_t>(lev > floor_level ? lev : floor_level);
}

/// slot[j] = 2 g[j] + binary_match(t[j], p[j]) for float32 labels and scores with the
/// threshold in float32 (a NaN score is not positive); sets `outside` non-zero when an id
/// g[j] is above `last` compared unsigned (a negative id too). Returns the rows done.
std::int64_t binary_match_slots(const float* t, const float* p, const std::int32_t* g, std::int64_t m, float threshold,
                                std::uint32_t last, std::uint32_t* slot, unsigned& outside);

/// Keras's evenly spaced float32 grid of a grouped histogram (GridLevel32 in
/// grouped_confusion.cpp): `scale` = thresholds - 1 in float32, `floor_level` 0 or 1,
/// `levels` = thresholds + 1.
struct GridSlots {
  float scale = 0.0f;
  std::int32_t floor_level = 0;
  std::uint32_t levels = 0;
  std::uint32_t last = 0;  // the largest valid id
};

/// cell[j] = g[j] (2 levels) + (t[j] != 0) levels + level(p[j]) for float32 labels and scores,
/// the level as GridLevel32 computes it (a NaN score at level max(0, floor_level)); sets `nan`
/// non-zero when a score is NaN and `outside` when an id is above grid.last (unsigned). The
/// group offset is computed in float32, exact while every cell is below 2^24. Returns the
/// rows done.
std::int64_t grid_level_slots(const float* t, const float* p, const std::int32_t* g, std::int64_t m,
                              const GridSlots& grid, std::uint32_t* cell, unsigned& nan, unsigned& outside);

/// out[j] = (double(t[j]) - double(p[j]))^2 for float32 labels and scores (MSE's per-row
/// value); sets `outside` non-zero when an id g[j] is above `last` (unsigned). Returns the rows
/// done.
std::int64_t squared_errors(const float* t, const float* p, const std::int32_t* g, std::int64_t m, std::uint32_t last,
                            double* out, unsigned& outside);

}  // namespace tally::metrics::kernels::simd
