#pragma once
// The driver of grouped kernels (GroupedKernel, docs/performance.md "Sliced evaluation"):
// every kernel of a collection is fed the same block of rows in turn, so y_true, y_pred and
// the group ids are read from memory once per batch, not once per metric; chunks of rows run
// on threads with one fork of each kernel per thread.

#include <cstdint>
#include <span>
#include <vector>

#include "tally/metric.h"

namespace tally::internal {

/// Rows per chunk of grouped kernels for `rows` rows in `groups` groups. It depends on
/// nothing else, so chunk boundaries (and the float sums kept per chunk) do not depend on
/// the thread count; chunks of at least 64 rows per group keep the per-chunk float partials
/// (chunks x groups) small next to the batch.
std::int64_t grouped_chunk_rows(std::int64_t rows, std::size_t groups);

/// Runs `kernels` over every row of `group` (ids below `groups`) in chunks of `chunk_rows`,
/// on up to num_threads() threads (one when a kernel cannot fork), merges the forks into
/// `kernels` in thread order and returns the row count of each group. With `out_of_range`,
/// the ids are not trusted: each block is checked before the kernels read it, and on an id
/// outside [0, groups) *out_of_range is set and the kernels and counts are to be discarded.
std::vector<std::int64_t> run_grouped(std::span<GroupedKernel* const> kernels, std::span<const std::int32_t> group,
                                      std::size_t groups, std::int64_t chunk_rows, bool* out_of_range = nullptr);

}  // namespace tally::internal
