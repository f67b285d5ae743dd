#include "metrics/kernels/confusion_counts.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <type_traits>

#include "internal/check.h"
#include "internal/memory.h"
#include "internal/parallel.h"
#include "internal/samplewise.h"
#include "metrics/kernels/class_confusion.h"
#include "metrics/kernels/counting_dtypes.h"
#include "metrics/kernels/grouped_simd.h"

namespace tally::metrics::kernels {
namespace {

constexpr double kNegInf = -1e10;  // Keras NEG_INF for entries outside the top k

// Number of fixed partitions of the rows: independent of the thread count (so weighted
// float sums are identical on any number of threads) and few enough that per-partition
// histograms stay small even for a million thresholds.
std::int64_t partitions_for(std::int64_t rows, std::int64_t histogram_size) {
  std::int64_t p = std::clamp<std::int64_t>(rows / 65536, 1, 8);
  if (histogram_size > 100000) p = std::min<std::int64_t>(p, 2);
  return p;
}

struct Histograms {
  std::vector<std::int64_t> pos, neg;  // [L * (T + 1)]
  std::vector<double> pos_w, neg_w;
};

// Level of a prediction: how many (sorted) thresholds lie strictly below it.
struct Leveler {
  bool evenly = false;
  bool epsilon = false;
  bool float32 = true;
  std::int64_t t = 0;
  std::vector<double> sorted;
  // Uniform cells over [sorted.front(), sorted.back()]: cell_start[c] counts the thresholds
  // whose cell is below c. Cells come from one monotone function of the value, so a
  // prediction in cell c exceeds exactly cell_start[c] thresholds plus some of the (at most
  // walk_steps) thresholds in its own cell: a table lookup and a fixed, branch-free walk
  // instead of log2(T) dependent comparisons.
  std::vector<std::uint32_t> cell_start;
  std::vector<double> padded;  // sorted, then walk_steps +inf so the walk never leaves it
  double cell_lo = 0.0, cell_scale = 0.0, last_cell = 0.0;
  int walk_steps = 0;

  std::size_t cell_of(double p) const {
    double x = (p - cell_lo) * cell_scale;
    x = x > 0.0 ? x : 0.0;  // below the grid, and NaN
    x = x < last_cell ? x : last_cell;
    return static_cast<std::size_t>(x);
  }

  void build_cells() {
    if (evenly || sorted.size() < 16) return;
    const double lo = sorted.front(), hi = sorted.back();
    if (!(hi > lo)) return;
    const std::size_t cells = std::min<std::size_t>(1u << 16, 16 * sorted.size());
    cell_lo = lo;
    cell_scale = static_cast<double>(cells) / (hi - lo);
    last_cell = static_cast<double>(cells - 1);
    std::vector<std::uint32_t> start(cells + 1, 0);
    for (const double t : sorted) ++start[cell_of(t) + 1];
    std::uint32_t most = 0;
    for (std::size_t c = 1; c <= cells; ++c) {
      most = std::max(most, start[c]);
      start[c] += start[c - 1];
    }
    if (most > 8) return;  // clustered thresholds: the binary search is cheaper than a long walk
    walk_steps = static_cast<int>(std::max<std::uint32_t>(most, 1));
    cell_start = std::move(start);
    padded = sorted;
    padded.insert(padded.end(), static_cast<std::size_t>(walk_steps), std::numeric_limits<double>::infinity());
  }

  std::int64_t operator()(double p) const {
    if (evenly) {
      if (p != p) return 0;  // NaN: the caller rejects the batch; keeps the int cast below defined
      // Keras: clip to [0, 1], bucket = ceil(p * (T - 1)) - 1 in the variable dtype.
      double b;
      if (float32) {
        const float pf = std::clamp(static_cast<float>(p), 0.0f, 1.0f);
        b = static_cast<double>(std::ceil(pf * static_cast<float>(t - 1)) - 1.0f);
      } else {
        const double pd = std::clamp(p, 0.0, 1.0);
        b = std::ceil(pd * static_cast<double>(t - 1)) - 1.0;
      }
      if (epsilon && b < 0) b = 0;
      return static_cast<std::int64_t>(b) + 1;
    }
    if (!cell_start.empty()) {
      std::size_t k = cell_start[cell_of(p)];
      for (int step = 0; step < walk_steps; ++step) k += static_cast<std::size_t>(padded[k] < p);
      return static_cast<std::int64_t>(k);
    }
    // Branch-free lower bound (count of thresholds < p): unpredictable comparisons become
    // conditional moves.
    const double* base = sorted.data();
    std::size_t len = sorted.size();
    if (len == 0) return 0;
    while (len > 1) {
      const std::size_t half = len / 2;
      base = base[half - 1] < p ? base + half : base;
      len -= half;
    }
    return (base - sorted.data()) + (*base < p ? 1 : 0);
  }
};

// Slots (levels * positive + level) of rows [i, i + count) for evenly spaced thresholds, in
// Keras's float32 arithmetic: clip to [0, 1], level = max(floor, ceil(p * (T - 1))). NaN
// scores go to level 0 (the caller rejects the batch) and set the returned flag. Four rows
// per SSE2 instruction for float32 and float64 scores, the same arithmetic in scalar code
// for the rest.
//
// With C = double (metrics of dtype float64) the same formula runs in float64, in scalar code.
template <class TT, class PP, class C = float>
bool even_slots(const TT* tv, const PP* pv, std::int64_t i, std::int64_t count, C scale, std::int32_t floor32,
                std::int32_t levels32, std::int32_t* out) {
  unsigned nan = 0;
  std::int64_t j = 0;
  if constexpr (std::is_same_v<C, double>) {
    for (; j < count; ++j) {
      double pd = to_double(pv[i + j]);
      nan |= static_cast<unsigned>(pd != pd);
      pd = pd > 0.0 ? pd : 0.0;
      pd = pd < 1.0 ? pd : 1.0;
      const double x = pd * scale;
      const auto whole = static_cast<std::int32_t>(x);
      const std::int32_t lev = std::max(floor32, whole + static_cast<std::int32_t>(static_cast<double>(whole) < x));
      out[j] = levels32 * static_cast<std::int32_t>(to_double(tv[i + j]) != 0.0) + lev;
    }
    return nan != 0;
  }
#if defined(__SSE2__)
  constexpr bool kVectorLabels = std::is_same_v<TT, float> || std::is_same_v<TT, std::int32_t> ||
                                 (std::is_same_v<TT, double> && std::is_same_v<PP, double>);
  if constexpr ((std::is_same_v<PP, float> || std::is_same_v<PP, double>)&&kVectorLabels) {
    const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1.0f), vscale = _mm_set1_ps(scale);
    const __m128i izero = _mm_setzero_si128(), vlevels = _mm_set1_epi32(levels32);
    __m128 nan_lanes = _mm_setzero_ps();
    for (; j + 4 <= count; j += 4) {
      __m128 raw;
      if constexpr (std::is_same_v<PP, float>) {
        raw = _mm_loadu_ps(pv + i + j);
      } else {
        // float64 -> float32 with round-to-nearest, as static_cast<float>.
        raw = _mm_movelh_ps(_mm_cvtpd_ps(_mm_loadu_pd(pv + i + j)), _mm_cvtpd_ps(_mm_loadu_pd(pv + i + j + 2)));
      }
      nan_lanes = _mm_or_ps(nan_lanes, _mm_cmpunord_ps(raw, raw));
      // max/min send NaN to 0, as the scalar code below does.
      const __m128 x = _mm_mul_ps(_mm_min_ps(_mm_max_ps(raw, zero), one), vscale);
      const __m128i whole = _mm_cvttps_epi32(x);
      // ceil: whole + 1 where whole < x (the compare mask is -1).
      __m128i lev = _mm_sub_epi32(whole, _mm_castps_si128(_mm_cmplt_ps(_mm_cvtepi32_ps(whole), x)));
      // max(floor, lev) with floor 1 and lev >= 0: lift zeros to one.
      if (floor32 == 1) lev = _mm_sub_epi32(lev, _mm_cmpeq_epi32(lev, izero));
      __m128i positive;
      if constexpr (std::is_same_v<TT, float>) {
        positive = _mm_castps_si128(_mm_cmpneq_ps(_mm_loadu_ps(tv + i + j), zero));
      } else if constexpr (std::is_same_v<TT, double>) {
        const __m128d dzero = _mm_setzero_pd();
        const __m128 lo = _mm_castpd_ps(_mm_cmpneq_pd(_mm_loadu_pd(tv + i + j), dzero));
        const __m128 hi = _mm_castpd_ps(_mm_cmpneq_pd(_mm_loadu_pd(tv + i + j + 2), dzero));
        positive = _mm_castps_si128(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)));
      } else {
        const __m128i label_bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tv + i + j));
        positive = _mm_xor_si128(_mm_cmpeq_epi32(label_bits, izero), _mm_set1_epi32(-1));
      }
      lev = _mm_add_epi32(lev, _mm_and_si128(positive, vlevels));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), lev);
    }
    nan |= static_cast<unsigned>(_mm_movemask_ps(nan_lanes));
  }
#endif
  for (; j < count; ++j) {
    float pf;
    if constexpr (std::is_same_v<PP, float>) {
      pf = pv[i + j];
    } else {
      pf = static_cast<float>(to_double(pv[i + j]));
    }
    nan |= static_cast<unsigned>(pf != pf);
    // Clip, then ceil(x) for x >= 0 without a libm call (SSE2 has no rounding instruction):
    // the one float32 grid level the grouped kernels use too.
    const auto lev = static_cast<std::int32_t>(simd::grid_level32(pf, static_cast<float>(scale), floor32));
    bool positive;
    if constexpr (std::is_same_v<TT, float> || std::is_integral_v<TT>) {
      positive = tv[i + j] != TT(0);
    } else {
      positive = to_double(tv[i + j]) != 0.0;
    }
    out[j] = levels32 * static_cast<std::int32_t>(positive) + lev;
  }
  return nan != 0;
}

// Radix-partitioned counting for grids whose histogram (2 (T + 1) int64) would leave L2:
// pass 1 writes each row's slot as a 16-bit key into the bucket of its high bits (pages of
// a pool, so buckets need no pre-count); pass 2 counts each chunk of 65536 levels (its
// negative and its positive bucket) in a 512 KiB uint32 table that stays in L2 and walks it
// from the top level down, adding the cumulative counts (tp[k]: positives above threshold k)
// straight into the targets. Slots are level + positive * padded_levels, padded_levels the
// level count rounded up to a whole chunk, so a chunk's two buckets cover the same levels.
// Rows are split into `parts` fixed ranges and processed in rounds of at most round_rows() per
// part, so the uint32 counts cannot overflow and the pool stays bounded. Integer counts: the
// result does not depend on the thread count. A round whose pass 1 saw a NaN score stops
// the counting before its pass 2 (with one round, the targets are untouched). Returns
// whether a NaN score was seen.
//
// Grids whose uint32 table of slots fits in 800 KiB (T up to about 1e5) skip the keys: pass 1
// counts each part straight into its own table (no key writes and reads back), pass 2 sums
// the parts' tables chunk by chunk and walks them the same way.
constexpr int kLowBits = 16;
constexpr std::int64_t kBucketSlots = std::int64_t{1} << kLowBits;
constexpr std::int64_t kPageKeys = 16384;  // 32 KiB pages
constexpr std::int64_t kRadixBlock = 512;  // rows per even_slots block
// Key streams per bucket in pass 1: row j of a block goes to stream j % kStreams of its
// bucket, so that consecutive rows of one bucket do not wait on each other's cursor (with 4
// buckets, as at T = 1e5, one row in four would).
constexpr std::int64_t kStreams = 4;
constexpr std::int64_t kDefaultRoundRows = std::int64_t{1} << 23;
// Rows per part and round (tests lower it: several rounds otherwise need more than 8M rows).
std::atomic<std::int64_t> round_rows_setting{kDefaultRoundRows};
std::int64_t round_rows() { return round_rows_setting.load(std::memory_order_relaxed); }

std::int64_t radix_padded_levels(std::int64_t levels) {
  return (levels + kBucketSlots - 1) / kBucketSlots * kBucketSlots;
}
std::int64_t radix_buckets(std::int64_t levels) { return 2 * radix_padded_levels(levels) / kBucketSlots; }

// Key pool bytes per part (counted by the caller's scratch budget): a page is closed when a
// block might not fit on it, so every closed page holds more than kPageKeys - kRadixBlock keys.
std::int64_t radix_pool_keys(std::int64_t rows_per_part, std::int64_t buckets) {
  const std::int64_t rows = std::min(rows_per_part, round_rows());
  return ((rows + kPageKeys - kRadixBlock - 1) / (kPageKeys - kRadixBlock) + kStreams * buckets) * kPageKeys;
}

// Rounds count_radix takes for n rows in `parts` parts.
std::int64_t radix_rounds(std::int64_t n, std::int64_t parts) {
  const std::int64_t longest = (n + parts - 1) / parts;
  return std::max<std::int64_t>(1, (longest + round_rows() - 1) / round_rows());
}

// Software prefetch of rows [from, to), four blocks ahead: with the table increments in
// between, the hardware prefetcher alone does not keep the two input streams ahead of the
// loop (about a fifth less CPU time at T = 1e5; no gain measured on the key path).
template <class TT, class PP>
void prefetch_rows(const TT* tv, const PP* pv, std::int64_t from, std::int64_t to) {
  for (std::int64_t i = from; i < to; i += 64 / static_cast<std::int64_t>(sizeof(TT))) __builtin_prefetch(tv + i);
  for (std::int64_t i = from; i < to; i += 64 / static_cast<std::int64_t>(sizeof(PP))) __builtin_prefetch(pv + i);
}

// One cache of key pools per calling thread, shared by every input type: the pools and
// the keys each holds.
struct PoolCache {
  std::vector<std::unique_ptr<std::uint16_t[]>> pools;
  std::vector<std::vector<std::uint32_t>> tables;  // direct counting: one per part
  std::int64_t keys = 0;
};
PoolCache& pool_cache() {
  static thread_local PoolCache cache;
  return cache;
}

// Adds the cumulative counts of levels [lo, hi) (one chunk; tab_neg / tab_pos its per-level
// counts) into the targets, top level first. run_pos / run_neg enter as the counts above the
// chunk. Level l > 0 is threshold l - 1; level 0 only enters the totals.
void add_chunk(const std::uint32_t* tab_neg, const std::uint32_t* tab_pos, std::int64_t lo, std::int64_t hi,
               std::int64_t run_pos, std::int64_t run_neg, std::int64_t pos_total, std::int64_t neg_total,
               const CountTargets& into) {
  std::int64_t *tp = into.tp, *fp = into.fp, *tn = into.tn, *fn = into.fn;
  const std::int64_t stop = std::max<std::int64_t>(lo, 1);
  auto walk = [&](auto all_four) {
    for (std::int64_t l = hi - 1; l >= stop; --l) {
      run_pos += tab_pos[l - lo];
      run_neg += tab_neg[l - lo];
      const std::int64_t k = l - 1;
      if constexpr (decltype(all_four)::value) {
        tp[k] += run_pos;
        fp[k] += run_neg;
        tn[k] += neg_total - run_neg;
        fn[k] += pos_total - run_pos;
      } else {
        if (tp) tp[k] += run_pos;
        if (fp) fp[k] += run_neg;
        if (tn) tn[k] += neg_total - run_neg;
        if (fn) fn[k] += pos_total - run_pos;
      }
    }
  };
  if (tp && fp && tn && fn) {
    walk(std::true_type{});
  } else {
    walk(std::false_type{});
  }
}

template <class TT, class PP, class C>
bool count_radix(const TT* tv, const PP* pv, std::int64_t n, std::int64_t parts, std::int64_t levels, C scale,
                 std::int32_t floor32, const CountTargets& into, std::int64_t totals[2]) {
  const std::int64_t padded = radix_padded_levels(levels);
  const std::int64_t buckets = radix_buckets(levels), chunks = buckets / 2;
  std::int64_t longest = 0;
  for (std::int64_t part = 0; part < parts; ++part)
    longest = std::max(longest, n * (part + 1) / parts - n * part / parts);
  const std::int64_t round_len = round_rows();
  const std::int64_t rounds = std::max<std::int64_t>(1, (longest + round_len - 1) / round_len);
  const std::int64_t pool_keys = radix_pool_keys(longest, buckets);
  // Per part: its key pool, and per bucket the pages it filled and the keys on each.
  struct Part {
    std::uint16_t* pool = nullptr;
    std::vector<std::vector<std::uint32_t>> pages, fill;
  };
  std::vector<Part> state(static_cast<std::size_t>(parts));
  // The pools outlive the call on the calling thread (up to kCachedPoolBytes): fresh pages
  // for every batch cost more in page faults than the counting itself.
  constexpr std::int64_t kCachedPoolBytes = std::int64_t{64} << 20;
  PoolCache& cached_pools = pool_cache();
  auto& cached = cached_pools.pools;
  std::int64_t& cached_keys = cached_pools.keys;
  std::vector<std::unique_ptr<std::uint16_t[]>> owned;
  const bool cache = parts * pool_keys * 2 <= kCachedPoolBytes;
  // Direct counting: a grid small enough that a uint32 table of its slots (negatives, then
  // positives at `levels`) stays in L2 is counted in place, one table per part, without keys.
  constexpr std::int64_t kDirectTableBytes = 800 * 1024;
  const bool direct = 2 * levels * static_cast<std::int64_t>(sizeof(std::uint32_t)) <= kDirectTableBytes;
  auto& pools = cache ? cached : owned;
  if (!direct) {
    if (!cache || cached_keys < pool_keys) {
      pools.clear();
      if (cache) cached_keys = pool_keys;
    }
    while (static_cast<std::int64_t>(pools.size()) < parts) {
      pools.emplace_back(
          new std::uint16_t[static_cast<std::size_t>(cache ? cached_keys : pool_keys)]);  // written first
    }
    for (std::int64_t part = 0; part < parts; ++part) {
      state[static_cast<std::size_t>(part)].pool = pools[static_cast<std::size_t>(part)].get();
    }
  }
  auto& tables = cached_pools.tables;
  if (direct) {
    tables.resize(static_cast<std::size_t>(std::max<std::int64_t>(parts, static_cast<std::int64_t>(tables.size()))));
    for (std::int64_t part = 0; part < parts; ++part) {
      tables[static_cast<std::size_t>(part)].resize(static_cast<std::size_t>(2 * levels));
    }
  }
  std::vector<unsigned> nan_seen(static_cast<std::size_t>(parts), 0u);
  // Per round: keys per bucket (all parts), and the counts above each chunk.
  std::vector<std::int64_t> bucket_keys(static_cast<std::size_t>(buckets)), above_pos(static_cast<std::size_t>(chunks)),
      above_neg(static_cast<std::size_t>(chunks));
  std::int64_t round_totals[2] = {0, 0};
  totals[0] = totals[1] = 0;
  const int threads = internal::threads_for(std::max(parts, chunks));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    // This thread's pass 2 table: a chunk's negative counts, then its positive counts.
    std::vector<std::uint32_t> table;
    for (std::int64_t round = 0; round < rounds; ++round) {
#pragma omp for schedule(static, 1)
      for (std::int64_t part = 0; part < parts; ++part) {
        Part& st = state[static_cast<std::size_t>(part)];
        if (direct) {
          const std::int64_t part_begin = n * part / parts, part_end = n * (part + 1) / parts;
          const std::int64_t begin = std::min(part_end, part_begin + round * round_len);
          const std::int64_t end = std::min(part_end, begin + round_len);
          std::vector<std::uint32_t>& tab = tables[static_cast<std::size_t>(part)];
          std::fill(tab.begin(), tab.end(), 0u);
          std::uint32_t* t = tab.data();
          alignas(16) std::int32_t block[kRadixBlock];
          unsigned nan = 0;
          for (std::int64_t i = begin; i < end; i += kRadixBlock) {
            const std::int64_t count = std::min(kRadixBlock, end - i);
            prefetch_rows(tv, pv, std::min(end, i + 4 * kRadixBlock), std::min(end, i + 5 * kRadixBlock));
            nan |= static_cast<unsigned>(
                even_slots(tv, pv, i, count, scale, floor32, static_cast<std::int32_t>(levels), block));
            for (std::int64_t j = 0; j < count; ++j) ++t[block[j]];
          }
          nan_seen[static_cast<std::size_t>(part)] |= nan;
          continue;
        }
        const auto streams = static_cast<std::size_t>(kStreams * buckets);  // stream s of bucket b: s * buckets + b
        st.pages.resize(streams);
        st.fill.resize(streams);
        const std::int64_t part_begin = n * part / parts, part_end = n * (part + 1) / parts;
        const std::int64_t begin = std::min(part_end, part_begin + round * round_len);
        const std::int64_t end = std::min(part_end, begin + round_len);
        std::uint32_t next_page = 0;
        std::vector<std::uint16_t*> at(streams), stop(streams);
        auto open_page = [&](std::size_t b) {
          st.pages[b].push_back(next_page);
          at[b] = st.pool + static_cast<std::int64_t>(next_page) * kPageKeys;
          stop[b] = at[b] + kPageKeys;
          ++next_page;
        };
        for (std::size_t b = 0; b < streams; ++b) {
          st.pages[b].clear();
          st.fill[b].clear();
          open_page(b);
        }
        alignas(16) std::int32_t block[kRadixBlock];
        unsigned nan = 0;
        for (std::int64_t i = begin; i < end; i += kRadixBlock) {
          const std::int64_t count = std::min(kRadixBlock, end - i);
          nan |= static_cast<unsigned>(
              even_slots(tv, pv, i, count, scale, floor32, static_cast<std::int32_t>(padded), block));
          // Room for a whole block on every stream's page: the scatter below needs no check.
          for (std::size_t b = 0; b < streams; ++b) {
            if (stop[b] - at[b] < kRadixBlock) {
              st.fill[b].push_back(static_cast<std::uint32_t>(kPageKeys - (stop[b] - at[b])));
              open_page(b);
            }
          }
          std::uint16_t** c0 = at.data();
          std::uint16_t** c1 = c0 + buckets;
          std::uint16_t** c2 = c1 + buckets;
          std::uint16_t** c3 = c2 + buckets;
          static_assert(kStreams == 4);
          std::int64_t j = 0;
          for (; j + 4 <= count; j += 4) {
            const auto s0 = static_cast<std::uint32_t>(block[j]), s1 = static_cast<std::uint32_t>(block[j + 1]);
            const auto s2 = static_cast<std::uint32_t>(block[j + 2]), s3 = static_cast<std::uint32_t>(block[j + 3]);
            *c0[s0 >> kLowBits]++ = static_cast<std::uint16_t>(s0);
            *c1[s1 >> kLowBits]++ = static_cast<std::uint16_t>(s1);
            *c2[s2 >> kLowBits]++ = static_cast<std::uint16_t>(s2);
            *c3[s3 >> kLowBits]++ = static_cast<std::uint16_t>(s3);
          }
          for (; j < count; ++j) {
            const auto s = static_cast<std::uint32_t>(block[j]);
            *c0[s >> kLowBits]++ = static_cast<std::uint16_t>(s);
          }
        }
        for (std::size_t b = 0; b < streams; ++b) {
          st.fill[b].push_back(static_cast<std::uint32_t>(kPageKeys - (stop[b] - at[b])));
        }
        nan_seen[static_cast<std::size_t>(part)] |= nan;
      }
      // (implicit barrier: every part's keys are written)
      bool stop_counting = false;
      for (const unsigned seen : nan_seen) stop_counting |= seen != 0;
      if (stop_counting) break;  // every thread reads the same flags and leaves here
#pragma omp single
      {
        // Keys per bucket, the round's totals and the counts above each chunk.
        for (std::int64_t b = 0; direct && b < buckets; ++b) {
          const std::int64_t side = b / chunks, lo = (b % chunks) * kBucketSlots;
          const std::int64_t hi = std::min(levels, lo + kBucketSlots);
          std::int64_t keys = 0;
          for (std::int64_t part = 0; part < parts; ++part) {
            const std::uint32_t* t = tables[static_cast<std::size_t>(part)].data() + side * levels;
            for (std::int64_t l = lo; l < hi; ++l) keys += t[l];
          }
          bucket_keys[static_cast<std::size_t>(b)] = keys;
        }
        for (std::int64_t b = 0; !direct && b < buckets; ++b) {
          std::int64_t keys = 0;
          for (const Part& st : state) {
            for (std::int64_t stream = 0; stream < kStreams; ++stream) {
              for (const std::uint32_t f : st.fill[static_cast<std::size_t>(stream * buckets + b)]) keys += f;
            }
          }
          bucket_keys[static_cast<std::size_t>(b)] = keys;
        }
        std::int64_t pos = 0, neg = 0;
        for (std::int64_t c = chunks - 1; c >= 0; --c) {
          above_pos[static_cast<std::size_t>(c)] = pos;
          above_neg[static_cast<std::size_t>(c)] = neg;
          pos += bucket_keys[static_cast<std::size_t>(chunks + c)];
          neg += bucket_keys[static_cast<std::size_t>(c)];
        }
        round_totals[0] = neg;
        round_totals[1] = pos;
        totals[0] += neg;
        totals[1] += pos;
      }
      // (implicit barrier)
      table.resize(static_cast<std::size_t>(2 * kBucketSlots));
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t c = 0; c < chunks; ++c) {
        std::fill(table.begin(), table.end(), 0u);
        const std::int64_t lo = c * kBucketSlots, hi = std::min(levels, lo + kBucketSlots);
        for (int side = 0; direct && side < 2; ++side) {
          std::uint32_t* t = table.data() + side * kBucketSlots - lo;
          for (std::int64_t part = 0; part < parts; ++part) {
            const std::uint32_t* from = tables[static_cast<std::size_t>(part)].data() + side * levels;
            for (std::int64_t l = lo; l < hi; ++l) t[l] += from[l];
          }
        }
        for (int side = 0; !direct && side < 2; ++side) {
          std::uint32_t* t = table.data() + side * kBucketSlots;
          for (const Part& st : state) {
            for (std::int64_t stream = 0; stream < kStreams; ++stream) {
              const auto b = static_cast<std::size_t>(stream * buckets + side * chunks + c);
              const auto& list = st.pages[b];
              for (std::size_t k = 0; k < list.size(); ++k) {
                const std::uint16_t* keys = st.pool + static_cast<std::int64_t>(list[k]) * kPageKeys;
                const std::int64_t count = st.fill[b][k];
                for (std::int64_t j = 0; j < count; ++j) ++t[keys[j]];
              }
            }
          }
        }
        add_chunk(table.data(), table.data() + kBucketSlots, lo, hi, above_pos[static_cast<std::size_t>(c)],
                  above_neg[static_cast<std::size_t>(c)], round_totals[1], round_totals[0], into);
      }
    }
  }
  unsigned nan = 0;
  for (const unsigned seen : nan_seen) nan |= seen;
  return nan != 0;
}
// Precision and Recall over class ids (options.class_ids with argmax_pred, one threshold of
// 0.5): the counts of the one-hot rows' multi-label count, taken from the ids without building
// those rows (count_id_outcomes, class_confusion.h). Unweighted: tp = rows of class c
// predicted c, fp = rows of another class predicted c, positives = rows of class c. Weighted:
// the rows are split into the same partitions the multi-label count uses, each class's sums
// are added in row order within a partition and the partitions are added in order from 0, so
// every sum is the one that count adds (tests/metrics/confusion_test.cpp,
// IntegerLabelsGiveTheOneHotState). negatives_w is left empty: no metric over class ids keeps
// true negatives (ConfusionMetric::accumulate_shared refuses to read it). Returns nothing
// when the batch is anything else or is refused (a bad id, NaN, a bad weight): the one-hot
// path then counts it or throws its error.
std::optional<ConfusionCounts> count_class_ids(const ConfusionOptions& options, std::int64_t labels,
                                               const Batch& batch) {
  const std::int64_t classes = options.class_ids;
  if (!options.argmax_pred || !options.multi_label || options.thresholds.size() != 1 || options.thresholds[0] != 0.5 ||
      options.top_k || options.class_id || !options.label_weights.empty() || options.from_logits || labels != classes ||
      classes > kMaxStateElements / 8) {
    return std::nullopt;
  }
  if (!batch.y_true.has_value() || !batch.y_pred.has_value()) return std::nullopt;
  TensorView truth = batch.y_true;
  if (truth.ndim() == 2 && truth.shape()[1] == 1) truth = truth.squeeze(1);
  TensorView pred = batch.y_pred;
  if (pred.ndim() == 2 && pred.shape()[1] == 1 && classes != 1) pred = pred.squeeze(1);
  const bool scores = pred.ndim() == 2;
  if (truth.ndim() != 1 || (pred.ndim() != 1 && !scores)) return std::nullopt;
  if (scores && (pred.shape()[1] != classes || (pred.dtype() != DType::kFloat32 && pred.dtype() != DType::kFloat64))) {
    return std::nullopt;  // the one-hot argmax reads the other dtypes
  }
  const std::int64_t rows = truth.shape()[0];
  if (rows == 0 || pred.shape()[0] != rows) return std::nullopt;
  // Sample weights as the multi-label count takes them: expanded by a trailing axis, aligned
  // with the [N, C] one-hot rows, broadcast to them.
  TensorView weight;
  if (batch.sample_weight.has_value()) {
    try {
      internal::check_sample_weight_values("", batch.sample_weight);
      TensorView sw = batch.sample_weight.expand_dims(-1);
      if (sw.ndim() == 3 && sw.shape().back() == 1) sw = sw.squeeze(-1);
      weight = sw.broadcast_to(Shape{rows, classes});
    } catch (const Error&) {
      return std::nullopt;
    }
  }
  const IdRows id_rows(truth, pred, classes, weight);
  const IdRowsInput& in = id_rows.in;
  const bool weighted = batch.sample_weight.has_value();
  // The multi-label count's partitions of the rows ([C, 2] levels per label).
  const std::int64_t parts = partitions_for(rows, 2 * classes);
  const auto c_size = static_cast<std::size_t>(classes);
  std::vector<std::vector<std::int64_t>> counts(static_cast<std::size_t>(parts));
  std::vector<std::vector<double>> sums(static_cast<std::size_t>(parts));
  std::vector<unsigned char> ok(static_cast<std::size_t>(parts), 1);
  const int threads = internal::threads_for(parts);
#pragma omp parallel for schedule(static, 1) num_threads(threads) if (threads > 1)
  for (std::int64_t part = 0; part < parts; ++part) {
    const std::int64_t begin = rows * part / parts, end = rows * (part + 1) / parts;
    const auto k = static_cast<std::size_t>(part);
    if (weighted) {
      sums[k].assign(3 * c_size, 0.0);
      ok[k] = count_id_outcomes(in, begin, end, sums[k].data()) ? 1 : 0;
    } else {
      counts[k].assign(3 * c_size, 0);
      ok[k] = count_id_outcomes(in, begin, end, counts[k].data()) ? 1 : 0;
    }
  }
  if (std::find(ok.begin(), ok.end(), 0) != ok.end()) return std::nullopt;
  ConfusionCounts out;
  out.weighted = weighted;
  out.thresholds = 1;
  out.labels = classes;
  if (weighted) {
    std::vector<double> total(3 * c_size, 0.0);
    for (const auto& part : sums) {
      for (std::size_t i = 0; i < total.size(); ++i) total[i] += part[i];
    }
    out.tp_w.assign(total.begin(), total.begin() + classes);
    out.fp_w.assign(total.begin() + classes, total.begin() + 2 * classes);
    out.positives_w.resize(c_size);
    for (std::size_t c = 0; c < c_size; ++c) out.positives_w[c] = total[c] + total[2 * c_size + c];
    return out;
  }
  std::vector<std::int64_t> total(3 * c_size, 0);
  for (const auto& part : counts) {
    for (std::size_t i = 0; i < total.size(); ++i) total[i] += part[i];
  }
  out.tp.assign(total.begin(), total.begin() + classes);
  out.fp.assign(total.begin() + classes, total.begin() + 2 * classes);
  out.positives.resize(c_size);
  out.negatives.resize(c_size);
  for (std::size_t c = 0; c < c_size; ++c) {
    out.positives[c] = total[c] + total[2 * c_size + c];
    out.negatives[c] = rows - out.positives[c];
  }
  return out;
}

// Scores as the counting loops read them, contiguous float32 or float64: bool, uint8, float16
// and bfloat16 become float32 and int32 / int64 float64, the same values every loop computed
// from them with to_double (float32 holds the former exactly).
TensorView counting_scores(const TensorView& v, Tensor& holder) {
  switch (v.dtype()) {
    case DType::kInt32:
    case DType::kInt64:
      return converted_copy(v, DType::kFloat64, holder);
    case DType::kFloat32:
    case DType::kFloat64:
      return counting_view(v, holder);
    default:
      return converted_copy(v, DType::kFloat32, holder);
  }
}

// Calls fn(const TT*, const PP*) on labels made by counting_view and scores made by
// counting_scores (counting_dtypes.h): TT one of its 5 types, PP float or double.
template <class Fn>
void visit_counting_types(const TensorView& t, const TensorView& p, Fn&& fn) {
  visit_counting_dtype(t, [&](const auto* tv) {
    if (p.dtype() == DType::kFloat32) return fn(tv, static_cast<const float*>(p.data()));
    return fn(tv, static_cast<const double*>(p.data()));
  });
}

}  // namespace

void set_radix_round_rows(std::int64_t rows) { round_rows_setting = rows > 0 ? rows : kDefaultRoundRows; }

bool evenly_spaced(const std::vector<double>& thresholds) {
  const std::size_t n = thresholds.size();
  if (n < 3) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const double even = static_cast<double>(static_cast<float>(i) / static_cast<float>(n - 1));
    if (std::fabs(thresholds[i] - even) > 1e-7 + 1e-5 * std::fabs(even)) return false;  // np.allclose
  }
  return true;
}

ConfusionCounts count_confusion(std::string_view who, const ConfusionOptions& options, DType compute_dtype,
                                std::int64_t labels, const Batch& batch, const CountTargets* into) {
  if (options.class_ids > 0) {
    // Precision and Recall over class ids count straight from the ids; what that path does
    // not take (or refuses) becomes one-hot rows counted by the multi-label count below (one
    // column per class), which also throws the errors.
    if (auto counted = count_class_ids(options, labels, batch)) return std::move(*counted);
    internal::check_present(who, "y_true", batch.y_true);
    internal::check_present(who, "y_pred", batch.y_pred);
    const std::int64_t classes = options.class_ids;
    const Tensor truth = one_hot_ids(who, "y_true", batch.y_true, classes);
    TensorView pred = batch.y_pred;
    if (pred.ndim() == 2 && pred.shape()[1] == 1 && classes != 1) pred = pred.squeeze(1);
    Tensor pred_rows;
    bool converted = true;
    if (pred.ndim() == 1) {
      pred_rows = one_hot_ids(who, "y_pred", pred, classes);
    } else if (pred.ndim() == 2 && pred.shape()[1] == classes) {
      if (options.argmax_pred) {
        pred_rows = one_hot_argmax(who, "y_pred", pred);
      } else {
        converted = false;
      }
    } else {
      throw ShapeError(internal::str_cat(who, ": with integer labels, argument `y_pred` must be scores of shape [N, ",
                                         classes, "] or class ids of shape [N]; received shape ",
                                         shape_string(batch.y_pred.shape())));
    }
    const TensorView p = converted ? pred_rows.view() : pred;
    if (p.shape()[0] != truth.shape()[0]) {
      throw ShapeError(internal::str_cat(who, ": arguments `y_true` and `y_pred` must have the same number of rows; ",
                                         "received y_true shape ", shape_string(batch.y_true.shape()),
                                         ", y_pred shape ", shape_string(batch.y_pred.shape())));
    }
    ConfusionOptions per_class = options;
    per_class.class_ids = 0;
    return count_confusion(who, per_class, compute_dtype, labels, Batch{truth.view(), p, batch.sample_weight}, into);
  }
  internal::check_not_empty(who, "y_true", batch.y_true);
  internal::check_not_empty(who, "y_pred", batch.y_pred);
  TensorView yp = batch.y_pred, yt = batch.y_true;
  internal::squeeze_or_expand_to_same_rank(yp, yt);
  internal::check_same_shape(who, "y_true", yt, "y_pred", yp);
  // The common (flat) path screens for NaN inside its counting pass; the others check here.
  const bool flat = !options.top_k && !options.class_id && !options.multi_label && options.label_weights.empty() &&
                    !options.from_logits;
  if (!flat) internal::check_no_nan(who, "y_pred", yp);
  const std::int64_t width = yp.ndim() >= 2 ? yp.shape().back() : 1;
  const std::int64_t rows = yp.numel() / std::max<std::int64_t>(width, 1);
  if (options.class_id) {
    if (yp.ndim() < 2) {
      throw ShapeError(internal::str_cat(who, ": class_id needs inputs of rank >= 2; received y_pred shape ",
                                         shape_string(yp.shape())));
    }
    if (*options.class_id < 0 || *options.class_id >= width) {
      throw InvalidArgument(
          internal::str_cat(who, ": class_id ", *options.class_id, " is outside the ", width, " classes of y_pred"));
    }
  }
  if (options.top_k && yp.ndim() < 1) throw ShapeError(internal::str_cat(who, ": top_k needs at least rank 1"));
  std::int64_t num_labels = 1;
  if (options.multi_label) {
    if (yp.ndim() != 2) {
      throw ShapeError(internal::str_cat(who, ": multi_label needs y_pred of rank 2 [batch, labels]; received ",
                                         shape_string(yp.shape())));
    }
    num_labels = labels > 0 ? labels : width;
    if (width != num_labels) {
      throw ShapeError(internal::str_cat(who, ": y_pred has ", width, " labels but the metric counts ", num_labels));
    }
    // A label count fixed by the first batch must keep the state within the limit.
    if (num_labels >
        kMaxStateElements / 8 / std::max<std::int64_t>(static_cast<std::int64_t>(options.thresholds.size()), 1)) {
      throw ShapeError(internal::str_cat(who, ": y_pred has ", num_labels, " labels; with ", options.thresholds.size(),
                                         " thresholds the state would pass tally's limit of ", kMaxStateElements,
                                         " elements"));
    }
  }
  if (!options.label_weights.empty() && static_cast<std::int64_t>(options.label_weights.size()) != width) {
    throw ShapeError(internal::str_cat(who, ": label_weights has ", options.label_weights.size(),
                                       " entries but y_pred has ", width, " columns"));
  }

  // Per-element weights: Keras expands the sample weight by a trailing axis, aligns it
  // with y_true and broadcasts it to y_pred.
  std::vector<double> weights;
  const bool weighted = batch.sample_weight.has_value() || !options.label_weights.empty();
  if (batch.sample_weight.has_value()) {
    internal::check_sample_weight_values(who, batch.sample_weight);
    TensorView w = batch.sample_weight.expand_dims(-1);
    if (w.ndim() == yt.ndim() + 1 && w.shape().back() == 1) w = w.squeeze(-1);
    TensorView wb;
    try {
      wb = w.broadcast_to(yp.shape());
    } catch (const ShapeError&) {
      throw ShapeError(internal::str_cat(who, ": argument `sample_weight` of shape ",
                                         shape_string(batch.sample_weight.shape()),
                                         " cannot be broadcast to y_pred of shape ", shape_string(yp.shape())));
    }
    weights = Tensor::copy_of(wb).to_doubles();
  }

  // The counting loops below are compiled for 5 label and 2 score element types instead of
  // 8 x 8 (CI compile time, counting_dtypes.h): rarer dtypes are copied first into one the
  // loops read, with the same values.
  Tensor th, ph;
  const TensorView t = counting_view(yt, th);
  const TensorView p = counting_scores(yp, ph);

  {
    // Working memory, budgeted before it is allocated (internal/memory.h): sorted thresholds
    // and their order and cells (4 T), per partition the histograms and their buffers
    // (about 6 per slot), the fold (2 per slot) and the counts returned (4 T L); weights.
    const auto t_count = static_cast<std::int64_t>(options.thresholds.size());
    const std::int64_t slots = num_labels * (t_count + 1);
    internal::reserve_scratch(
        who, "confusion counts",
        8 * (4 * t_count + (6 * partitions_for(rows, slots) + 2) * slots + 4 * t_count * num_labels +
             static_cast<std::int64_t>(weights.size())) +
            // count_radix's key pools (2 bytes a key), when the radix path below runs
            (flat && !weighted && options.evenly_spaced && t_count + 1 > 65536
                 ? 2 * partitions_for(rows, slots) *
                       radix_pool_keys(rows * std::max<std::int64_t>(width, 1), radix_buckets(slots))
                 : 0));
  }
  Leveler level;
  level.evenly = options.evenly_spaced;
  level.epsilon = options.epsilon_endpoints;
  level.float32 = compute_dtype != DType::kFloat64;
  level.t = static_cast<std::int64_t>(options.thresholds.size());
  // Sorted thresholds (evenly spaced grids and most lists already are: then `order`, the
  // sorted position -> original index map, stays empty and means the identity).
  std::vector<std::size_t> order;
  if (!std::is_sorted(options.thresholds.begin(), options.thresholds.end())) {
    order.resize(options.thresholds.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return options.thresholds[a] < options.thresholds[b]; });
  }
  if (!level.evenly) {  // the evenly spaced grid levels by formula
    level.sorted.reserve(options.thresholds.size());
    for (std::size_t k = 0; k < options.thresholds.size(); ++k) {
      level.sorted.push_back(options.thresholds[order.empty() ? k : order[k]]);
    }
    level.build_cells();
  }

  const std::int64_t T = level.t;
  const std::int64_t levels = T + 1;
  const std::int64_t hist_size = num_labels * levels;
  const std::int64_t parts = partitions_for(rows, hist_size);
  // Unweighted counts of a flat batch over an evenly spaced grid past 65536 levels (whose
  // histogram would leave L2): radix-partitioned (count_radix), straight into the counts.
  // (Slots are int32: at most 2^30 levels, far past what the state limit allows.)
  const bool radix = flat && !weighted && level.evenly && levels > 65536 && levels <= (std::int64_t{1} << 29);
  std::vector<Histograms> hist(static_cast<std::size_t>(radix ? 0 : parts));
  ConfusionCounts out;
  out.weighted = weighted;
  out.thresholds = T;
  out.labels = num_labels;

  visit_counting_types(t, p, [&](const auto* tv, const auto* pv) {
    const int threads = internal::threads_for(parts);
    // Fast path for the common case (one score per element, no top_k, class_id, logits or
    // label weights): a flat loop of one level computation and one histogram increment.
    if (flat) {
      std::vector<unsigned> nan_seen(static_cast<std::size_t>(parts), 0u);
      const std::int64_t n = rows * width;
      if (radix) {
        // Histograms past L2: radix-partitioned counting, cumulative counts added straight
        // into the caller's state when it gave one and the batch takes one round (so a NaN
        // score leaves the state untouched), otherwise into tp / fp here.
        const bool direct = into != nullptr && radix_rounds(n, parts) == 1;
        CountTargets targets;
        if (direct) {
          targets = *into;
        } else {
          out.tp.assign(static_cast<std::size_t>(T), 0);
          out.fp.assign(static_cast<std::size_t>(T), 0);
          targets.tp = out.tp.data();
          targets.fp = out.fp.data();
        }
        std::int64_t totals[2] = {0, 0};  // negatives, positives
        const auto floor32 = static_cast<std::int32_t>(level.epsilon ? 1 : 0);
        const bool nan =
            level.float32 ? count_radix(tv, pv, n, parts, levels, static_cast<float>(T - 1), floor32, targets, totals)
                          : count_radix(tv, pv, n, parts, levels, static_cast<double>(T - 1), floor32, targets, totals);
        if (nan) internal::check_no_nan(who, "y_pred", yp);  // throws naming the first NaN
        out.added = direct;
        if (!direct) {
          out.positives.assign(1, totals[1]);
          out.negatives.assign(1, totals[0]);
        }
        return;
      }
#pragma omp parallel for schedule(static, 1) num_threads(threads) if (threads > 1)
      for (std::int64_t part = 0; part < parts; ++part) {
        Histograms& h = hist[static_cast<std::size_t>(part)];
        const std::int64_t begin = n * part / parts, end = n * (part + 1) / parts;
        if (weighted) {
          // [positive? levels : 0] + level in one array, split after the loop.
          std::vector<double> both(static_cast<std::size_t>(2 * levels), 0.0);
          unsigned nan = 0;
          for (std::int64_t i = begin; i < end; ++i) {
            const double raw = to_double(pv[i]);
            nan |= static_cast<unsigned>(raw != raw);
            const std::int64_t lev = level(raw);
            both[static_cast<std::size_t>((to_double(tv[i]) != 0.0 ? levels : 0) + lev)] +=
                weights.empty() ? 1.0 : weights[static_cast<std::size_t>(i)];
          }
          nan_seen[static_cast<std::size_t>(part)] = nan;
          h.neg_w.assign(both.begin(), both.begin() + levels);
          h.pos_w.assign(both.begin() + levels, both.end());
        } else {
          std::vector<std::int64_t> both(static_cast<std::size_t>(2 * levels), 0);
          if (level.evenly && level.float32) {
            // Four interleaved histograms: consecutive increments of the same bucket would
            // otherwise wait on each other through memory. (Grids past 65536 levels count by
            // radix above.)
            const auto stride = static_cast<std::size_t>(2 * levels);
            std::vector<std::int64_t> four(4 * stride, 0);
            const std::size_t s1 = stride, s2 = 2 * stride, s3 = 3 * stride;
            const float scale = static_cast<float>(T - 1);
            const auto floor32 = static_cast<std::int32_t>(level.epsilon ? 1 : 0);
            const auto levels32 = static_cast<std::int32_t>(levels);
            unsigned nan = 0;
            // Two phases per block: the slots of 512 elements (even_slots, vectorised), then
            // the histogram increments.
            constexpr std::int64_t kBlock = 512;
            alignas(16) std::int32_t slots[kBlock];
            for (std::int64_t i = begin; i < end; i += kBlock) {
              const std::int64_t count = std::min(kBlock, end - i);
              nan |= static_cast<unsigned>(even_slots(tv, pv, i, count, scale, floor32, levels32, slots));
              std::int64_t j = 0;
              for (; j + 4 <= count; j += 4) {
                ++four[static_cast<std::size_t>(slots[j])];
                ++four[s1 + static_cast<std::size_t>(slots[j + 1])];
                ++four[s2 + static_cast<std::size_t>(slots[j + 2])];
                ++four[s3 + static_cast<std::size_t>(slots[j + 3])];
              }
              for (; j < count; ++j) ++four[static_cast<std::size_t>(slots[j])];
            }
            nan_seen[static_cast<std::size_t>(part)] = nan;
            for (std::size_t k = 0; k < stride; ++k) {
              both[k] = (four[k] + four[stride + k]) + (four[2 * stride + k] + four[3 * stride + k]);
            }
          } else {
            unsigned nan = 0;
            for (std::int64_t i = begin; i < end; ++i) {
              const double raw = to_double(pv[i]);
              nan |= static_cast<unsigned>(raw != raw);
              ++both[static_cast<std::size_t>(levels * static_cast<std::int64_t>(to_double(tv[i]) != 0.0) +
                                              level(raw))];
            }
            nan_seen[static_cast<std::size_t>(part)] = nan;
          }
          h.neg.assign(both.begin(), both.begin() + levels);
          h.pos.assign(both.begin() + levels, both.end());
        }
      }
      for (const unsigned seen : nan_seen) {
        if (seen != 0) internal::check_no_nan(who, "y_pred", yp);  // throws naming the first NaN
      }
      return;
    }
#pragma omp parallel for schedule(static, 1) num_threads(threads) if (threads > 1)
    for (std::int64_t part = 0; part < parts; ++part) {
      Histograms& h = hist[static_cast<std::size_t>(part)];
      if (weighted) {
        h.pos_w.assign(static_cast<std::size_t>(hist_size), 0.0);
        h.neg_w.assign(static_cast<std::size_t>(hist_size), 0.0);
      } else {
        h.pos.assign(static_cast<std::size_t>(hist_size), 0);
        h.neg.assign(static_cast<std::size_t>(hist_size), 0);
      }
      const std::int64_t begin = rows * part / parts, end = rows * (part + 1) / parts;
      std::vector<std::pair<double, std::int64_t>> row_scores;
      std::vector<char> keep(static_cast<std::size_t>(width), 1);
      for (std::int64_t r = begin; r < end; ++r) {
        const std::int64_t base = r * width;
        if (options.top_k) {
          // Keras top_k: the k largest of the row (ties to the lower index) stay.
          row_scores.clear();
          for (std::int64_t c = 0; c < width; ++c) row_scores.emplace_back(to_double(pv[base + c]), c);
          const auto k = static_cast<std::size_t>(std::min<std::int64_t>(*options.top_k, width));
          std::partial_sort(row_scores.begin(), row_scores.begin() + static_cast<std::ptrdiff_t>(k), row_scores.end(),
                            [](const auto& a, const auto& b) {
                              return a.first > b.first || (a.first == b.first && a.second < b.second);
                            });
          std::fill(keep.begin(), keep.end(), 0);
          for (std::size_t i = 0; i < k; ++i) keep[static_cast<std::size_t>(row_scores[i].second)] = 1;
        }
        const std::int64_t c_begin = options.class_id ? *options.class_id : 0;
        const std::int64_t c_end = options.class_id ? *options.class_id + 1 : width;
        for (std::int64_t c = c_begin; c < c_end; ++c) {
          double score = to_double(pv[base + c]);
          if (options.top_k && !keep[static_cast<std::size_t>(c)]) score = kNegInf;
          if (options.from_logits) score = 1.0 / (1.0 + std::exp(-score));
          const bool positive = to_double(tv[base + c]) != 0.0;
          const std::int64_t slot = (options.multi_label ? c : 0) * levels + level(score);
          if (weighted) {
            double w = weights.empty() ? 1.0 : weights[static_cast<std::size_t>(base + c)];
            if (!options.label_weights.empty()) w *= options.label_weights[static_cast<std::size_t>(c)];
            (positive ? h.pos_w : h.neg_w)[static_cast<std::size_t>(slot)] += w;
          } else {
            ++(positive ? h.pos : h.neg)[static_cast<std::size_t>(slot)];
          }
        }
      }
    }
  });

  // Fold partitions in order, then reverse cumulative sums: tp at sorted threshold i counts
  // predictions whose level exceeds i.
  if (radix) return out;  // counted in place above
  auto fold = [&](auto member, auto& tp, auto& fp, auto& pos_total, auto& neg_total) {
    using V = std::decay_t<decltype(tp[0])>;
    // One histogram (radix counting, or one partition) is read in place; several are summed.
    std::vector<V> pos_sum, neg_sum;
    const V* pos = std::get<0>(member(hist.front())).data();
    const V* neg = std::get<1>(member(hist.front())).data();
    if (hist.size() > 1) {
      pos_sum.assign(static_cast<std::size_t>(hist_size), V{});
      neg_sum.assign(static_cast<std::size_t>(hist_size), V{});
      for (const Histograms& h : hist) {
        const auto& [hp, hn] = member(h);
        for (std::size_t i = 0; i < pos_sum.size(); ++i) {
          pos_sum[i] += hp[i];
          neg_sum[i] += hn[i];
        }
      }
      pos = pos_sum.data();
      neg = neg_sum.data();
    }
    tp.assign(static_cast<std::size_t>(T * num_labels), V{});
    fp.assign(static_cast<std::size_t>(T * num_labels), V{});
    pos_total.assign(static_cast<std::size_t>(num_labels), V{});
    neg_total.assign(static_cast<std::size_t>(num_labels), V{});
    for (std::int64_t l = 0; l < num_labels; ++l) {
      V run_p{}, run_n{};
      for (std::int64_t lev = levels - 1; lev >= 1; --lev) {
        run_p += pos[static_cast<std::size_t>(l * levels + lev)];
        run_n += neg[static_cast<std::size_t>(l * levels + lev)];
        const std::size_t original =
            order.empty() ? static_cast<std::size_t>(lev - 1) : order[static_cast<std::size_t>(lev - 1)];
        tp[original * static_cast<std::size_t>(num_labels) + static_cast<std::size_t>(l)] = run_p;
        fp[original * static_cast<std::size_t>(num_labels) + static_cast<std::size_t>(l)] = run_n;
      }
      pos_total[static_cast<std::size_t>(l)] = run_p + pos[static_cast<std::size_t>(l * levels)];
      neg_total[static_cast<std::size_t>(l)] = run_n + neg[static_cast<std::size_t>(l * levels)];
    }
  };
  if (weighted) {
    fold([](const Histograms& h) { return std::tie(h.pos_w, h.neg_w); }, out.tp_w, out.fp_w, out.positives_w,
         out.negatives_w);
  } else {
    fold([](const Histograms& h) { return std::tie(h.pos, h.neg); }, out.tp, out.fp, out.positives, out.negatives);
  }
  return out;
}

}  // namespace tally::metrics::kernels
