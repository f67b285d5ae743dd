#pragma once
// Fixed-chunk parallel loops. Chunk boundaries depend only on the element count, and
// partial results are combined in chunk order, so a reduction gives the same bits on
// any number of threads.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tally/parallel.h"

namespace tally::internal {

/// Elements per chunk: large enough to hide scheduling cost, small enough to balance.
inline constexpr std::int64_t kChunkSize = std::int64_t{1} << 15;

/// Threads to use for `chunks` chunks of work (1 when there is a single chunk).
int threads_for(std::int64_t chunks);

/// Runs body(begin, end, partial) on each chunk of [0, n) and returns the per-chunk partials
/// (each starting as a copy of `init`) in chunk order.
template <class Acc, class Body>
std::vector<Acc> chunk_partials(std::int64_t n, const Acc& init, Body&& body, std::int64_t chunk = kChunkSize) {
  const std::int64_t chunks = n <= 0 ? 0 : (n + chunk - 1) / chunk;
  std::vector<Acc> partials(static_cast<std::size_t>(chunks), init);
  const int threads = threads_for(chunks);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * chunk;
    body(begin, std::min(n, begin + chunk), partials[static_cast<std::size_t>(c)]);
  }
  return partials;
}

/// Reduces [0, n) chunk by chunk: body(begin, end, acc) fills one chunk's partial and
/// combine(total, partial) folds the partials in chunk order.
template <class Acc, class Body, class Combine>
Acc chunked_reduce(std::int64_t n, const Acc& init, Body&& body, Combine&& combine, std::int64_t chunk = kChunkSize) {
  if (n <= chunk) {
    Acc acc = init;
    if (n > 0) body(std::int64_t{0}, n, acc);
    return acc;
  }
  std::vector<Acc> partials = chunk_partials(n, init, body, chunk);
  Acc total = std::move(partials.front());
  for (std::size_t i = 1; i < partials.size(); ++i) combine(total, partials[i]);
  return total;
}

/// Runs body(begin, end) over chunks of [0, n) in parallel, for loops that write disjoint outputs.
template <class Body>
void parallel_for_chunks(std::int64_t n, Body&& body, std::int64_t chunk = kChunkSize) {
  const std::int64_t chunks = n <= 0 ? 0 : (n + chunk - 1) / chunk;
  const int threads = threads_for(chunks);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * chunk;
    body(begin, std::min(n, begin + chunk));
  }
}

}  // namespace tally::internal
