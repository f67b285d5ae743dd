#include "metric/grouped_run.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal/parallel.h"

namespace tally::internal {

std::int64_t grouped_chunk_rows(std::int64_t /*rows*/, std::size_t groups) {
  return std::max<std::int64_t>(std::int64_t{1} << 16, 64 * static_cast<std::int64_t>(groups));
}

namespace {

// Whether any of ids[0, m) is outside [0, groups): one unsigned comparison per id, in SSE2
// (signed comparison of the ids with their sign bit flipped), on ids already in cache.
bool any_outside(const std::int32_t* ids, std::int64_t m, std::size_t groups) {
  if (groups == 0) return m > 0;
  const auto last = static_cast<std::uint32_t>(std::min<std::size_t>(groups, std::size_t{1} << 31) - 1);
  std::int64_t j = 0;
  unsigned bad = 0;
#if defined(__SSE2__)
  const __m128i flip = _mm_set1_epi32(INT_MIN);
  const __m128i limit = _mm_set1_epi32(static_cast<std::int32_t>(last ^ 0x80000000u));
  __m128i acc = _mm_setzero_si128();
  for (; j + 4 <= m; j += 4) {
    const __m128i x = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ids + j)), flip);
    acc = _mm_or_si128(acc, _mm_cmpgt_epi32(x, limit));
  }
  bad = static_cast<unsigned>(_mm_movemask_epi8(acc));
#endif
  for (; j < m; ++j) bad |= static_cast<unsigned>(static_cast<std::uint32_t>(ids[j]) > last);
  return bad != 0;
}

}  // namespace

std::vector<std::int64_t> run_grouped(std::span<GroupedKernel* const> kernels, std::span<const std::int32_t> group,
                                      std::size_t groups, std::int64_t chunk_rows, bool* out_of_range) {
  std::atomic<bool> outside{false};
  const auto n = static_cast<std::int64_t>(group.size());
  const std::int64_t chunks = n == 0 ? 0 : (n + chunk_rows - 1) / chunk_rows;
  int threads = threads_for(chunks);
  // One kernel refined into another's table (GroupedKernel::refines): the first refinable
  // kernel, hosted by the first other kernel that accepts its cells, is set up before the
  // forks are made so that they count per refined group as well.
  std::size_t refiner = kernels.size(), hosting = kernels.size();
  for (std::size_t k = 0; groups > 0 && k < kernels.size() && refiner == kernels.size(); ++k) {
    if (kernels[k]->refines() == 0) continue;
    for (std::size_t h = 0; h < kernels.size(); ++h) {
      if (h != k && kernels[h]->host(kernels[k]->refines())) {
        refiner = k;
        hosting = h;
        break;
      }
    }
  }
  const bool refined = refiner < kernels.size();
  // A kernel that counts rows anyway (a 0/1 metric's (group, value) table, a histogram)
  // gives the row counts, else one that can at a cost (the mean family's (value, 1) pairs);
  // else the driver counts them. Kernels whose counts would cost them and are not needed
  // drop them (before the forks are made).
  GroupedKernel* counter = nullptr;
  for (const bool costly : {false, true}) {
    for (GroupedKernel* k : kernels) {
      if (counter == nullptr && k->counts_rows() && k->row_counts_cost() == costly) counter = k;
    }
  }
  for (GroupedKernel* k : kernels) {
    if (k != counter && k->counts_rows() && k->row_counts_cost()) k->drop_row_counts();
  }
  // Thread t > 0 feeds forks[t - 1]; thread 0 feeds the kernels themselves.
  std::vector<std::vector<std::unique_ptr<GroupedKernel>>> forks;
  for (int t = 1; t < threads; ++t) {
    std::vector<std::unique_ptr<GroupedKernel>> mine;
    for (GroupedKernel* k : kernels) {
      mine.push_back(k->fork());
      if (!mine.back()) break;
    }
    if (mine.empty() || !mine.back()) {
      forks.clear();
      threads = 1;
      break;
    }
    forks.push_back(std::move(mine));
  }
  std::vector<std::vector<std::int64_t>> counts(static_cast<std::size_t>(threads),
                                                std::vector<std::int64_t>(counter ? 0 : groups, 0));
  // With ids not checked yet, a kernel that checks them as it reads the rows checks each
  // block before the others read it (one pass over the ids fewer: its loads of the ids
  // overlap those of the rows, where a pass of its own waits for memory alone).
  std::size_t checker = kernels.size();
  if (refined) {
    checker = refiner;  // its refine() checks each block's ids before the host reads them
  } else if (out_of_range != nullptr && groups > 0) {
    for (std::size_t k = 0; k < kernels.size(); ++k) {
      if (kernels[k]->checks_ids()) {
        checker = k;
        break;
      }
    }
  }
  // Blocks small enough that one block's rows (12 bytes a row for float32 inputs and int32
  // ids) stay in the L1 cache while every kernel reads them, and the rows kAhead blocks on
  // prefetched while the kernels update their tables: 512 rows and 3 blocks measured best of
  // 256 to 2048 rows and 1 to 6 blocks (docs/performance.md, "Sliced evaluation").
  constexpr std::int64_t kBlock = 512, kAhead = 3;
  const auto parts = static_cast<std::int64_t>(kernels.size());
  auto run_chunk = [&](int t, std::int64_t c) {
    std::vector<GroupedKernel*> mine;
    if (t == 0) {
      mine.assign(kernels.begin(), kernels.end());
    } else {
      for (const auto& k : forks[static_cast<std::size_t>(t - 1)]) mine.push_back(k.get());
    }
    std::int64_t* count = counts[static_cast<std::size_t>(t)].data();
    const std::int32_t* g = group.data();
    const std::int64_t begin = c * chunk_rows, end = std::min(n, begin + chunk_rows);
    std::uint32_t ids[kBlock];  // the block's refined ids
    const bool check = out_of_range != nullptr;
    for (std::int64_t b = begin; b < end; b += kBlock) {
      const std::int64_t e = std::min(end, b + kBlock);
      if (check) {
        bool bad = outside.load(std::memory_order_relaxed);
        if (!bad) {
          if (refined) {
            bad = !mine[refiner]->refine(b, e, ids, true);
          } else if (checker < mine.size()) {
            bad = !mine[checker]->add_checked(b, e, c);
          } else {
            bad = any_outside(g + b, e - b, groups);
          }
        }
        if (bad) {
          outside.store(true, std::memory_order_relaxed);
          return;
        }
      } else if (refined) {
        mine[refiner]->refine(b, e, ids, false);
      }
      if (counter == nullptr) {
        for (std::int64_t i = b; i < e; ++i) ++count[g[i]];
      }
      // Before each kernel runs on this block, it prefetches its share of the block kAhead
      // blocks on: the reads from memory overlap the kernels' table updates instead of
      // stalling the first kernel of each block (docs/performance.md, "Sliced evaluation").
      const std::int64_t ahead = b + kAhead * kBlock;
      for (std::size_t k = 0; k < mine.size(); ++k) {
        if (ahead < n) {
          const auto share = static_cast<std::int64_t>(k);
          const std::int64_t lo = ahead + kBlock * share / parts;
          const std::int64_t hi = std::min(n, ahead + kBlock * (share + 1) / parts);
          if (lo < hi) mine[k]->prefetch(lo, hi);
        }
        if (k == hosting) {
          mine[k]->add_hosted(b, e, c, ids);
        } else if (k != refiner && (k != checker || !check)) {
          mine[k]->add(b, e, c);
        }
      }
    }
  };
  if (threads <= 1) {
    for (std::int64_t c = 0; c < chunks; ++c) run_chunk(0, c);
  } else {
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
      const int t = omp_get_thread_num();
#else
      const int t = 0;
#endif
#pragma omp for schedule(static)
      for (std::int64_t c = 0; c < chunks; ++c) run_chunk(t, c);
    }
  }
  if (outside.load()) {
    *out_of_range = true;
    return std::vector<std::int64_t>(groups, 0);
  }
  for (const auto& mine : forks) {
    for (std::size_t k = 0; k < kernels.size(); ++k) kernels[k]->merge(*mine[k]);
  }
  if (refined) {
    std::vector<std::int64_t> cells(groups * kernels[refiner]->refines(), 0);
    kernels[hosting]->hosted_row_counts(cells);
    kernels[refiner]->add_refined_counts(cells);
  }
  if (counter != nullptr) {
    std::vector<std::int64_t> rows(groups, 0);
    counter->row_counts(rows);
    return rows;
  }
  std::vector<std::int64_t> rows = std::move(counts[0]);
  for (std::size_t t = 1; t < counts.size(); ++t) {
    for (std::size_t d = 0; d < groups; ++d) rows[d] += counts[t][d];
  }
  return rows;
}

}  // namespace tally::internal
