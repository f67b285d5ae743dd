#pragma once
// Grouped update of the mean family for sliced evaluation (Metric::accumulate_grouped,
// docs/performance.md "Sliced evaluation"): one pass over the rows adds each row's value into
// its group's total / count, instead of gathering each group's rows and updating per group.
// Covers the layout the sliced path sees in practice, one value per row ([N] or [N, 1]) with
// no weight or one weight per row; anything else returns false and takes the gather path.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "internal/check.h"
#include "internal/samplewise.h"
#include "tally/metric.h"

namespace tally::metrics::kernels {

/// The rows of a grouped update: aligned y_true / y_pred of one value per row and the
/// weight per row as float64 (empty when unweighted). `ok` is false for any other layout.
struct GroupedRows {
  bool ok = false;
  TensorView t, p;
  std::vector<double> weights;
};

/// Aligns the batch as the metrics do (Keras squeeze_or_expand_to_same_rank, equal shapes,
/// checked with the metric's messages) and accepts it when it is one value per row of
/// `group`, contiguous, with y_pred float32 / float64 and the weight absent or one per row.
inline GroupedRows grouped_rows(std::string_view who, const Batch& batch, std::span<const std::int32_t> group) {
  GroupedRows out;
  if (!batch.y_true.has_value() || !batch.y_pred.has_value()) return out;
  internal::check_not_empty(who, "y_true", batch.y_true);
  internal::check_not_empty(who, "y_pred", batch.y_pred);
  TensorView t = batch.y_true, p = batch.y_pred;
  internal::squeeze_or_expand_to_same_rank(t, p);
  internal::check_same_shape(who, "y_true", t, "y_pred", p);
  const auto rows = static_cast<std::int64_t>(group.size());
  if (p.ndim() < 1 || p.ndim() > 2 || p.dim(0) != rows || p.numel() != rows) return out;
  if (!t.is_contiguous() || !p.is_contiguous()) return out;
  if (p.dtype() != DType::kFloat32 && p.dtype() != DType::kFloat64) return out;
  const TensorView& w = batch.sample_weight;
  if (w.has_value()) {
    // A scalar weight makes the whole batch one sample (Keras): per slice, that is the gather path.
    if (w.numel() != rows || w.ndim() < 1 || w.dim(0) != rows) return out;
    internal::check_sample_weight_values(who, w);
    out.weights = Tensor::copy_of(w).to_doubles();
  }
  out.t = t;
  out.p = p;
  out.ok = true;
  return out;
}

/// Adds Σ value·weight and Σ weight per group into variables 0 (total) and 1 (count) of
/// `groups` (MeanBasedMetric's layout); `value(t, p)` is the metric's per-row value in its
/// own arithmetic (a bool for 0/1 values, counted as integers when unweighted). Unweighted
/// counts are counted exactly as integers first.
template <class Value>
bool grouped_mean(std::string_view who, std::span<Variables* const> groups, const Batch& batch,
                  std::span<const std::int32_t> group, Value&& value) {
  const GroupedRows in = grouped_rows(who, batch, group);
  if (!in.ok) return false;
  const std::size_t g_count = groups.size();
  const auto rows = static_cast<std::int64_t>(group.size());
  std::vector<double> total(g_count, 0.0), weight(g_count, 0.0);
  std::vector<std::int64_t> count(in.weights.empty() ? g_count : 0, 0);
  const std::int32_t* g = group.data();
  visit_dtype(in.t.dtype(), [&](auto ttag) {
    using T = decltype(ttag);
    const T* tv = static_cast<const T*>(in.t.data());
    auto run = [&](const auto* pv) {
      using V = decltype(value(tv[0], pv[0]));
      // Two phases per block of rows: the values (a loop without stores to the group
      // tables, which the compiler can vectorise), then the additions into the groups.
      constexpr std::int64_t kBlock = 512;
      if (in.weights.empty() && std::is_same_v<V, bool>) {
        // 0/1 values (accuracy): one integer counter per (group, value), exact; four
        // interleaved copies so that rows of one group do not wait on each other's increment.
        std::vector<std::int64_t> hits(8 * g_count, 0);
        std::uint32_t slot[kBlock];
        const auto stride = static_cast<std::uint32_t>(2 * g_count);
        for (std::int64_t b = 0; b < rows; b += kBlock) {
          const std::int64_t m = std::min(kBlock, rows - b);
          for (std::int64_t j = 0; j < m; ++j) {
            slot[j] = 2 * static_cast<std::uint32_t>(g[b + j]) +
                      static_cast<std::uint32_t>(value(tv[b + j], pv[b + j])) +
                      static_cast<std::uint32_t>(j & 3) * stride;
          }
          for (std::int64_t j = 0; j < m; ++j) ++hits[slot[j]];
        }
        for (std::size_t k = 0; k < g_count; ++k) {
          std::int64_t right = 0, all = 0;
          for (std::size_t c = 0; c < 4; ++c) {
            right += hits[c * 2 * g_count + 2 * k + 1];
            all += hits[c * 2 * g_count + 2 * k] + hits[c * 2 * g_count + 2 * k + 1];
          }
          total[k] = static_cast<double>(right);
          count[k] = all;
        }
      } else {
        const double* w = in.weights.empty() ? nullptr : in.weights.data();
        double v[kBlock];
        for (std::int64_t b = 0; b < rows; b += kBlock) {
          const std::int64_t m = std::min(kBlock, rows - b);
          for (std::int64_t j = 0; j < m; ++j) v[j] = static_cast<double>(value(tv[b + j], pv[b + j]));
          if (w == nullptr) {
            for (std::int64_t j = 0; j < m; ++j) {
              const auto k = static_cast<std::size_t>(g[b + j]);
              total[k] += v[j];
              ++count[k];
            }
          } else {
            for (std::int64_t j = 0; j < m; ++j) {
              const auto k = static_cast<std::size_t>(g[b + j]);
              total[k] += v[j] * w[b + j];
              weight[k] += w[b + j];
            }
          }
        }
      }
    };
    if (in.p.dtype() == DType::kFloat32) {
      run(static_cast<const float*>(in.p.data()));
    } else {
      run(static_cast<const double*>(in.p.data()));
    }
  });
  for (std::size_t k = 0; k < g_count; ++k) {
    groups[k]->f64(0)[0] += total[k];
    groups[k]->f64(1)[0] += in.weights.empty() ? static_cast<double>(count[k]) : weight[k];
  }
  return true;
}

}  // namespace tally::metrics::kernels
