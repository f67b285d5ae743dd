#pragma once
// The counting loops of the IoU family: each side of a batch (labels or predictions) decoded
// to class ids, and the confusion matrix counted per fixed row chunk (int64 without weights,
// float64 with them), so counts never depend on the thread count. The per-class formula is
// in iou_math.h.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "internal/check.h"
#include "internal/parallel.h"
#include "metrics/kernels/cell_counter.h"
#include "metrics/kernels/iou_math.h"
#include "metrics/kernels/row_argmax.h"
#include "tally/metric.h"

namespace tally::metrics::kernels {

// One side of the batch (labels or predictions) reduced to class ids.
struct Side {
  TensorView view;         // contiguous: [M] sparse values, or [M, K] dense scores
  std::int64_t width = 1;  // K for dense inputs, 1 for sparse
  bool dense = false;
  Tensor copy;  // owns a contiguous copy when the input was strided or moved
};

// Class ids of pairs [b, e) of one side into `ids`; returns true if a NaN was seen.
inline bool decode(const Side& side, std::int64_t b, std::int64_t e, std::int64_t classes, bool truncate_first,
                   bool has_ignore, std::int64_t ignore, const std::optional<double>& threshold,
                   std::int32_t* __restrict ids) {
  // Locals, so the loops below keep them in registers (ids could alias captured references).
  const std::int64_t k = side.width;
  const bool dense = side.dense;
  const bool binary = threshold.has_value();
  const float t = static_cast<float>(threshold.value_or(0.0));
  // A valid id is never -1, so "no ignore_class" can compare against -1.
  const std::int64_t ignored = has_ignore ? ignore : -1;
  return visit_dtype(side.view.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* __restrict p = static_cast<const T*>(side.view.data());
    bool nan = false;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      if (dense) {
        // The SIMD row argmax (row_argmax.h; ties to the first index), then the id mapping.
        nan = simd::row_argmax(p + b * k, e - b, k, ids);
        if (k <= classes && ignored < 0) return nan;  // every index is a class: nothing to map
        for (std::int64_t i = 0; i < e - b; ++i) {
          const std::int64_t arg = ids[i];
          ids[i] = arg < classes && arg != ignored ? static_cast<std::int32_t>(arg) : kernels::kSkip;
        }
        return nan;
      }
    }
    if (dense) {
      // argmax over the class axis, ties to the first index (Keras/numpy argmax): the row
      // maximum first (compare-only, no index chain), then the first position holding it.
      for (std::int64_t i = b; i < e; ++i) {
        const T* row = p + i * k;
        using C = std::conditional_t<std::is_floating_point_v<T> || std::is_integral_v<T>, T, float>;
        // Four running maxima: one would be a chain of dependent max operations.
        C m0 = static_cast<C>(row[0]);
        C m1 = m0;
        C m2 = m0;
        C m3 = m0;
        bool row_nan = false;
        std::int64_t j = 1;
        for (; j + 4 <= k; j += 4) {
          const C v0 = static_cast<C>(row[j]);
          const C v1 = static_cast<C>(row[j + 1]);
          const C v2 = static_cast<C>(row[j + 2]);
          const C v3 = static_cast<C>(row[j + 3]);
          row_nan |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);
          m0 = v0 > m0 ? v0 : m0;
          m1 = v1 > m1 ? v1 : m1;
          m2 = v2 > m2 ? v2 : m2;
          m3 = v3 > m3 ? v3 : m3;
        }
        for (; j < k; ++j) {
          const C v = static_cast<C>(row[j]);
          row_nan |= v != v;
          m0 = v > m0 ? v : m0;
        }
        m0 = m1 > m0 ? m1 : m0;
        m2 = m3 > m2 ? m3 : m2;
        const C top = m2 > m0 ? m2 : m0;
        row_nan |= top != top;
        nan |= row_nan;
        std::int64_t arg = 0;
        while (arg < k - 1 && static_cast<C>(row[arg]) != top) ++arg;
        ids[i - b] = arg < classes && arg != ignored ? static_cast<std::int32_t>(arg) : kernels::kSkip;
      }
    } else if (binary) {
      // BinaryIoU: Keras compares in float32, inclusive.
      for (std::int64_t i = b; i < e; ++i) {
        const float v = static_cast<float>(to_double(p[i]));
        nan |= v != v;
        ids[i - b] = v >= t ? 1 : 0;
      }
    } else if constexpr (std::is_integral_v<T>) {
      const std::int64_t n = classes;
      const std::int64_t skip_id = ignored;
      for (std::int64_t i = b; i < e; ++i) {
        const auto v = static_cast<std::int64_t>(p[i]);
        const bool ok = static_cast<std::uint64_t>(v) < static_cast<std::uint64_t>(n) && v != skip_id;
        ids[i - b] = ok ? static_cast<std::int32_t>(v) : kernels::kSkip;
      }
    } else {
      for (std::int64_t i = b; i < e; ++i) {
        const double v = to_double(p[i]);
        nan |= v != v;
        ids[i - b] = kernels::class_id_of(v, classes, truncate_first, has_ignore, ignore);
      }
    }
    return nan;
  });
}

// The common case in one loop: integer labels and predictions, no weights. Each pair
// becomes a cell index (invalid pairs go to a spare cell past the matrix) and is counted.
template <class TT, class TP>
void count_sparse_ints(const TT* __restrict t, const TP* __restrict p, std::int64_t b, std::int64_t e,
                       std::int64_t classes, std::int64_t ignored, std::int64_t* __restrict cm) {
  const std::int64_t spare = classes * classes;
  const auto n = static_cast<std::uint64_t>(classes);
  for (std::int64_t i = b; i < e; ++i) {
    const auto ti = static_cast<std::int64_t>(t[i]);
    const auto pi = static_cast<std::int64_t>(p[i]);
    const bool ok = (static_cast<std::uint64_t>(ti) < n) & (static_cast<std::uint64_t>(pi) < n) & (ti != ignored);
    ++cm[ok ? ti * classes + pi : spare];
  }
}

// int32 labels and predictions: cell indices of 256-row blocks in SIMD (row_argmax.h; the
// ignored class then goes to the spare cell), counted into interleaved sub-histograms.
inline void count_sparse_ints(const std::int32_t* __restrict t, const std::int32_t* __restrict p, std::int64_t b,
                              std::int64_t e, std::int64_t classes, std::int64_t ignored, std::int64_t* __restrict cm) {
  if (classes * classes >= std::numeric_limits<std::int32_t>::max()) {
    count_sparse_ints<std::int32_t, std::int32_t>(t, p, b, e, classes, ignored, cm);
    return;
  }
  constexpr std::int64_t kBlock = 256;
  std::int32_t cells[kBlock];
  const auto spare = static_cast<std::int32_t>(classes * classes);
  CellCounter counter(classes * classes + 1, e - b, cm);
  for (std::int64_t i = b; i < e; i += kBlock) {
    const std::int64_t n = std::min(kBlock, e - i);
    simd::class_cells(t + i, p + i, n, static_cast<std::int32_t>(classes), cells);
    if (ignored >= 0) {
      for (std::int64_t j = 0; j < n; ++j) cells[j] = t[i + j] == ignored ? spare : cells[j];
    }
    counter.add(cells, n);
  }
}

template <class TT>
void count_sparse_ints_pred(const TT* t, const TensorView& pred, std::int64_t b, std::int64_t e, std::int64_t classes,
                            std::int64_t ignored, std::int64_t* cm) {
  switch (pred.dtype()) {
    case DType::kInt32:
      return count_sparse_ints(t, pred.data_as<std::int32_t>(), b, e, classes, ignored, cm);
    case DType::kInt64:
      return count_sparse_ints(t, pred.data_as<std::int64_t>(), b, e, classes, ignored, cm);
    case DType::kUInt8:
      return count_sparse_ints(t, pred.data_as<std::uint8_t>(), b, e, classes, ignored, cm);
    default:
      return;
  }
}

inline bool is_index_dtype(DType d) { return d == DType::kInt32 || d == DType::kInt64 || d == DType::kUInt8; }

// Per-chunk confusion counts: int64 without weights, float64 with them.
struct CmPartial {
  std::vector<std::int64_t> counts;
  std::vector<double> weights;
  bool nan = false;
};

}  // namespace tally::metrics::kernels
