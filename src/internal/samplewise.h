#pragma once
// Keras's reduce_to_samplewise_values followed by the Mean / Sum update, in float64:
// the single place where tally decides how a sample_weight meets per-sample values.

#include <cstdint>
#include <string_view>

#include "tally/tensor.h"

namespace tally::internal {

/// How values with more dims than the weight are reduced to per-sample values.
enum class SampleReduce : std::uint8_t { kMean, kSum };

/// The batch's contribution to a Mean (total / count) or a Sum (total).
struct WeightedTotals {
  double total = 0.0;
  double count = 0.0;
};

/// Keras reduce_to_samplewise_values + Mean/Sum update: aligns ranks, reduces values over
/// dims the weight lacks, broadcasts the weight, and returns Σ values·weight and Σ weight
/// (without weights: the number of rows, or 1 for a 0-d value). Validates everything first
/// (present, non-empty, numeric, broadcastable, weights finite and >= 0) naming `who`.
WeightedTotals reduce_to_samplewise(std::string_view who, const TensorView& values, const TensorView& sample_weight,
                                    SampleReduce reduce);

/// Keras squeeze_or_expand_to_same_rank: when ranks differ by one and the longer one ends
/// in a unit axis, squeeze it (or, for a rank-1 partner with expand_rank_1, expand that).
void squeeze_or_expand_to_same_rank(TensorView& a, TensorView& b, bool expand_rank_1 = true);

/// Σ of all elements of a contiguous or strided view, in float64, thread-count invariant.
double sum_all(const TensorView& view);

}  // namespace tally::internal
