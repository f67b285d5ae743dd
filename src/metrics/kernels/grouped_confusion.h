#pragma once
// Grouped confusion counts for sliced evaluation (Metric::accumulate_grouped,
// docs/performance.md "Sliced evaluation"): one pass over the rows fills a per-group
// histogram of prediction levels (group x label x level, a few hundred kB for 100 slices of
// AUC's 200 thresholds), then each group's histogram is folded into counts exactly as
// count_confusion folds its own (confusion_counts.cpp). Only the common flat layout is
// grouped: one score per row, no top_k, class_id, logits, label weights, multi-label or
// integer labels; everything else returns no counts and takes the gather path.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "metrics/kernels/confusion_counts.h"

namespace tally::metrics::kernels {

/// Per-group counts of one batch (groups.size() == `groups`), or nullopt when this options /
/// batch layout has no grouped kernel. Validates like count_confusion (same messages) and
/// throws InvalidArgument naming the first NaN score.
std::optional<std::vector<ConfusionCounts>> count_confusion_grouped(std::string_view who,
                                                                    const ConfusionOptions& options,
                                                                    DType compute_dtype, const Batch& batch,
                                                                    std::span<const std::int32_t> group,
                                                                    std::size_t groups);

}  // namespace tally::metrics::kernels
