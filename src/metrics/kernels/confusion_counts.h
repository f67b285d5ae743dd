#pragma once
// Confusion counts per threshold (and per label for multi-label AUC), shared by the
// confusion family: bucketed in Keras's float32 arithmetic for evenly spaced thresholds,
// binary search with strict > otherwise; chunked so results do not depend on threads.

#include <cstdint>
#include <string_view>
#include <vector>

#include "tally/metric.h"
#include "tally/metrics/confusion.h"

namespace tally::metrics::kernels {

/// One batch's counts. Unweighted batches fill the int64 vectors, weighted ones the float64
/// vectors. tp/fp are [T * L] (threshold-major); positives/negatives are per label [L].
/// Weighted counts of class ids (Precision and Recall with num_classes) leave negatives_w
/// empty: no metric over class ids keeps true negatives.
struct ConfusionCounts final : SharedWork {
  bool weighted = false;
  std::int64_t thresholds = 0;
  std::int64_t labels = 1;
  std::vector<std::int64_t> tp, fp, positives, negatives;
  std::vector<double> tp_w, fp_w, positives_w, negatives_w;
  /// The counts were added straight into the CountTargets given to count_confusion (the
  /// vectors above are empty).
  bool added = false;
};

/// A metric's cumulative int64 count arrays, [T] each (null: not kept), for counting straight
/// into the state.
struct CountTargets {
  std::int64_t* tp = nullptr;
  std::int64_t* fp = nullptr;
  std::int64_t* tn = nullptr;
  std::int64_t* fn = nullptr;
};

/// Validates the batch and counts it. `labels` is the number of label columns the state
/// holds for multi-label counting (0: take it from the batch). With `into` (one label), a batch
/// that takes the radix path in one round is added straight into it (result.added): no
/// per-batch arrays of T; a NaN score still throws before anything is added.
ConfusionCounts count_confusion(std::string_view who, const ConfusionOptions& options, DType compute_dtype,
                                std::int64_t labels, const Batch& batch, const CountTargets* into = nullptr);

/// Rows per part and round of the radix counting (default 2^23; 0 restores it). Tests lower
/// it to cover several rounds without 8M-row batches.
void set_radix_round_rows(std::int64_t rows);

/// Keras's `is_evenly_distributed_thresholds`: T >= 3 and t_i within 1e-7 of i / (T - 1).
bool evenly_spaced(const std::vector<double>& thresholds);

}  // namespace tally::metrics::kernels
