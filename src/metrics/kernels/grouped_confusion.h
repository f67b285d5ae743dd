#pragma once
// Grouped kernel of confusion counts for sliced evaluation (Metric::grouped_kernel,
// docs/performance.md "Sliced evaluation"): the rows fill a per-group histogram of prediction
// levels (group x label x level: 160 kB of uint32 counters for 100 slices of AUC's 200
// thresholds), then each group's histogram is folded into counts exactly as count_confusion
// folds its own (confusion_counts.cpp). Only the common flat layout is grouped: one score per
// row, no top_k, class_id, logits, label weights, multi-label or integer labels; everything
// else has no kernel and takes the gather path.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "metrics/kernels/confusion_counts.h"

namespace tally::metrics::kernels {

/// Adds one group's counts into that group's state (ConfusionMetric::accumulate_shared).
using ConfusionSink = std::function<void(Variables& group_state, const ConfusionCounts& counts)>;

/// The grouped kernel of a confusion metric for this batch, or nullptr when these options /
/// this layout have none. Validates like count_confusion (same messages); its finish()
/// throws InvalidArgument naming the first NaN score.
std::unique_ptr<GroupedKernel> grouped_confusion(std::string_view who, const ConfusionOptions& options,
                                                 DType compute_dtype, const Batch& batch,
                                                 std::span<const std::int32_t> group, std::size_t groups,
                                                 ConfusionSink sink);

}  // namespace tally::metrics::kernels
