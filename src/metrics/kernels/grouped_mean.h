#pragma once
// Grouped kernel of the mean family for sliced evaluation (Metric::grouped_kernel,
// docs/performance.md "Sliced evaluation"): each row's value is added into its group's total,
// instead of gathering each group's rows and updating per group.
// Covers the layout the sliced path sees in practice, one value per row ([N] or [N, 1]) with
// no weight or one weight per row; anything else returns false and takes the gather path.

#include <algorithm>
#include <climits>
#include <concepts>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal/check.h"
#include "internal/samplewise.h"
#include "metrics/kernels/accuracy_math.h"
#include "metrics/kernels/counting_dtypes.h"
#include "metrics/kernels/grouped_simd.h"
#include "metrics/kernels/regression_math.h"
#include "tally/metric.h"

namespace tally::metrics::kernels {

/// Software prefetches of elements [begin, end) of `x`, one per cache line (a hint; never
/// faults), for GroupedKernel::prefetch.
template <class X>
inline void prefetch_rows(const X* x, std::int64_t begin, std::int64_t end) {
  const char* a = reinterpret_cast<const char*>(x + begin);
  const char* const e = reinterpret_cast<const char*>(x + end);
  for (; a < e; a += 64) __builtin_prefetch(a);
}

/// The sample weight per row of a grouped update, read in place when it is contiguous
/// float32 or float64 (no float64 copy of the column per metric), else copied to float64
/// once. Empty when unweighted.
class RowWeights {
 public:
  RowWeights() = default;
  /// The weights of `w` (one per row, already validated).
  explicit RowWeights(const TensorView& w) {
    if (w.is_contiguous() && (w.dtype() == DType::kFloat32 || w.dtype() == DType::kFloat64)) {
      data_ = w.data();
      float32_ = w.dtype() == DType::kFloat32;
    } else {
      owned_ = std::make_shared<const std::vector<double>>(Tensor::copy_of(w).to_doubles());
      data_ = owned_->data();
    }
  }
  /// Prefetches rows [begin, end) of the weights read in place (GroupedKernel::prefetch).
  void prefetch(std::int64_t begin, std::int64_t end) const {
    if (data_ == nullptr || owned_) return;
    if (float32_) {
      prefetch_rows(static_cast<const float*>(data_), begin, end);
    } else {
      prefetch_rows(static_cast<const double*>(data_), begin, end);
    }
  }
  /// Whether the batch is unweighted.
  bool empty() const { return data_ == nullptr; }
  /// Rows [b, b + m) as float64: in place, or converted into `buffer` (m values; exact).
  const double* rows(std::int64_t b, std::int64_t m, double* buffer) const {
    if (!float32_) return static_cast<const double*>(data_) + b;
    const float* f = static_cast<const float*>(data_) + b;
    for (std::int64_t j = 0; j < m; ++j) buffer[j] = static_cast<double>(f[j]);
    return buffer;
  }

 private:
  const void* data_ = nullptr;
  bool float32_ = false;
  std::shared_ptr<const std::vector<double>> owned_;  // the float64 copy of other layouts
};

/// The rows of a grouped update: aligned y_true / y_pred of one value per row and the
/// weight per row (empty when unweighted). `ok` is false for any other layout.
struct GroupedRows {
  bool ok = false;
  TensorView t, p;
  RowWeights weights;
};

/// Aligns the batch as the metrics do (Keras squeeze_or_expand_to_same_rank, equal shapes,
/// checked with the metric's messages) and accepts it when it is one value per row of
/// `group`, contiguous, with y_true not float16 / bfloat16, y_pred float32 / float64 and the
/// weight absent or one per row.
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
  // Labels in counting_dtypes.h's 5 element types (CI compile time); float16 / bfloat16
  // labels take the gather path.
  if (t.dtype() == DType::kFloat16 || t.dtype() == DType::kBFloat16) return out;
  const TensorView& w = batch.sample_weight;
  if (w.has_value()) {
    // A scalar weight makes the whole batch one sample (Keras): per slice, that is the gather path.
    if (w.numel() != rows || w.ndim() < 1 || w.dim(0) != rows) return out;
    internal::check_sample_weight_values(who, w);
    out.weights = RowWeights(w);
  }
  out.t = t;
  out.p = p;
  out.ok = true;
  return out;
}

/// Whether a group id is above `last` (or negative: compared unsigned), for ids checked as a
/// kernel reads them (GroupedKernel::add_checked).
inline unsigned id_above(std::int32_t id, std::uint32_t last) {
  return static_cast<unsigned>(static_cast<std::uint32_t>(id) > last);
}

/// The largest valid id of `groups` (> 0) groups, as id_above compares it.
inline std::uint32_t last_id(std::size_t groups) {
  return static_cast<std::uint32_t>(std::min<std::size_t>(groups, std::size_t{1} << 31) - 1);
}

/// A per-row 0/1 value that also computes a block of rows at once: block(t, p, g, m, slot,
/// last) sets slot[j] = 2 g[j] + value(t[j], p[j]) for j < m, in SIMD where it can, and
/// returns non-zero when an id g[j] is outside [0, last] (compared unsigned).
template <class Value, class T, class P>
concept ZeroOneBlock = requires(const Value& v, const T* t, const P* p, const std::int32_t* g, std::uint32_t* s) {
  { v.block(t, p, g, std::int64_t{0}, s, std::uint32_t{0}) } -> std::convertible_to<unsigned>;
};

/// BinaryAccuracy's per-row value (binary_match), with a block form: a vector of rows per
/// instruction for float32 labels and scores (grouped_simd.h, the best SIMD target of this
/// CPU), binary_match itself for the rest and the tail.
struct BinaryMatchValue {
  double threshold;
  template <class T, class P>
  bool operator()(T t, P p) const {
    return binary_match(t, p, threshold);
  }
  template <class T, class P>
  unsigned block(const T* t, const P* p, const std::int32_t* g, std::int64_t m, std::uint32_t* slot,
                 std::uint32_t last) const {
    std::int64_t j = 0;
    unsigned bad = 0;
    if constexpr (std::is_same_v<T, float> && std::is_same_v<P, float>) {
      j = simd::binary_match_slots(t, p, g, m, threshold_in<float>(threshold), last, slot, bad);
    }
    for (; j < m; ++j) {
      bad |= id_above(g[j], last);
      slot[j] = 2 * static_cast<std::uint32_t>(g[j]) + static_cast<std::uint32_t>(binary_match(t[j], p[j], threshold));
    }
    return bad;
  }
};

/// A per-row float value that also computes a block of rows at once: values(t, p, g, m, out,
/// last) sets out[j] = double(value(t[j], p[j])) for j < m and returns non-zero when an id g[j]
/// is outside [0, last] (compared unsigned).
template <class Value, class T, class P>
concept ValueBlock = requires(const Value& v, const T* t, const P* p, const std::int32_t* g, double* out) {
  { v.values(t, p, g, std::int64_t{0}, out, std::uint32_t{0}) } -> std::convertible_to<unsigned>;
};

/// MeanSquaredError's per-row value (elementwise_error), with a block form: a vector of rows
/// per instruction for float32 labels and scores (grouped_simd.h), the scalar formula for the
/// rest and the tail; the same float64 operations either way.
struct SquaredErrorValue {
  template <class T, class P>
  double operator()(T t, P p) const {
    return elementwise_error<RegressionError::kSquared>(to_double(t), to_double(p), 0.0);
  }
  template <class T, class P>
  unsigned values(const T* t, const P* p, const std::int32_t* g, std::int64_t m, double* out,
                  std::uint32_t last) const {
    std::int64_t j = 0;
    unsigned bad = 0;
    if constexpr (std::is_same_v<T, float> && std::is_same_v<P, float>) {
      j = simd::squared_errors(t, p, g, m, last, out, bad);
    }
    for (; j < m; ++j) {
      bad |= id_above(g[j], last);
      out[j] = (*this)(t[j], p[j]);
    }
    return bad;
  }
};

/// Σ value·weight and Σ weight per group, for variables 0 (total) and 1 (count) of
/// MeanBasedMetric's layout; `value(t, p)` is the metric's per-row value in its own
/// arithmetic. Unweighted, a 0/1 value (a bool) is counted as an integer per group, and the
/// count is the group's row count, both exact. Float sums run in row order within a chunk,
/// and the chunks' sums are added in chunk order: the same bits on any thread count.
/// Float values are summed as (value·weight, weight) pairs per group, one two-lane add per
/// row; unweighted the weight lane is 1.0 (value·1 is the value), so it counts the group's
/// rows exactly (a chunk is far below 2^53 rows) and the driver need not count them; when
/// another kernel counts them (drop_row_counts), each row is one float64 add. An unweighted
/// 0/1 value can be refined into another kernel's count table (GroupedKernel::refines).
template <class T, class P, class Value>
class GroupedMean final : public GroupedKernel {
 public:
  using V = decltype(std::declval<const Value&>()(std::declval<T>(), std::declval<P>()));
  static constexpr bool kZeroOne = std::is_same_v<V, bool>;

  GroupedMean(const T* t, const P* p, const std::int32_t* group, RowWeights weights, std::size_t groups,
              std::int64_t chunks, Value value)
      : t_(t), p_(p), g_(group), weights_(std::move(weights)), groups_(groups), value_(std::move(value)) {
    const std::size_t width = 2 * groups;
    if (counts_only()) {
      hits_.assign(kCopies * 2 * groups, 0);
    } else {
      local_.assign(width, 0.0);
      partials_ = std::make_shared<std::vector<double>>(static_cast<std::size_t>(chunks) * width, 0.0);
    }
  }

  void add(std::int64_t begin, std::int64_t end, std::int64_t chunk) override { add_rows<false>(begin, end, chunk); }
  bool checks_ids() const override { return true; }
  bool add_checked(std::int64_t begin, std::int64_t end, std::int64_t chunk) override {
    return add_rows<true>(begin, end, chunk);
  }

  void prefetch(std::int64_t begin, std::int64_t end) const override {
    prefetch_rows(g_, begin, end);
    prefetch_rows(t_, begin, end);
    prefetch_rows(p_, begin, end);
    weights_.prefetch(begin, end);
  }

  std::unique_ptr<GroupedKernel> fork() const override {
    auto out = std::make_unique<GroupedMean>(*this);
    out->chunk_ = -1;
    std::fill(out->hits_.begin(), out->hits_.end(), 0);
    std::fill(out->local_.begin(), out->local_.end(), 0.0);
    return out;  // shares partials_: each chunk's slot is written by the thread that adds it
  }

  void merge(GroupedKernel& other) override {
    auto& o = static_cast<GroupedMean&>(other);
    o.flush();
    for (std::size_t k = 0; k < hits_.size(); ++k) hits_[k] += o.hits_[k];
  }

  bool counts_rows() const override { return weights_.empty(); }
  // Float values' weight lanes are kept for the counts alone (counts_only() keeps its counts
  // anyway): without them each row is one float64 add instead of a two-lane pair.
  bool row_counts_cost() const override { return !counts_only(); }
  void drop_row_counts() override { sums_only_ = true; }
  void row_counts(std::span<std::int64_t> rows) override {
    if (counts_only()) {
      for (std::size_t k = 0; k < groups_; ++k) rows[k] += hit_count(2 * k) + hit_count(2 * k + 1);
    } else if (weights_.empty()) {
      // The weight lanes of the (value, 1) pairs: whole numbers, summed exactly.
      flush();
      const std::size_t width = local_.size();
      for (std::size_t k = 0; k < groups_; ++k) {
        double count = 0.0;
        for (std::size_t c = 0; c < partials_->size(); c += width) count += (*partials_)[c + 2 * k + 1];
        rows[k] += static_cast<std::int64_t>(count);
      }
    }
  }

  // Unweighted 0/1 values are a count per (group, value): 2 cells, whose refined ids are the
  // slots that add() counts itself otherwise.
  std::uint32_t refines() const override { return counts_only() ? 2 : 0; }
  bool refine(std::int64_t begin, std::int64_t end, std::uint32_t* refined, bool check) override {
    return slots(begin, end - begin, refined, last_id(groups_)) == 0 || !check;
  }
  void add_refined_counts(std::span<const std::int64_t> rows) override {
    for (std::size_t k = 0; k < rows.size(); ++k) hits_[k] += rows[k];
  }

  void finish(std::span<Variables* const> groups, std::span<const std::int64_t> rows) override {
    flush();
    const std::size_t width = local_.size();
    const std::vector<double>* partials = partials_.get();
    for (std::size_t k = 0; k < groups_; ++k) {
      double total = 0.0, count = static_cast<double>(rows[k]);
      if (counts_only()) {
        total = static_cast<double>(hit_count(2 * k + 1));
      } else if (weights_.empty()) {
        for (std::size_t c = 0; c < partials->size(); c += width) total += (*partials)[c + 2 * k];
      } else {
        count = 0.0;
        for (std::size_t c = 0; c < partials->size(); c += width) {
          total += (*partials)[c + 2 * k];
          count += (*partials)[c + 2 * k + 1];
        }
      }
      groups[k]->f64(0)[0] += total;
      groups[k]->f64(1)[0] += count;
    }
  }

 private:
  bool counts_only() const { return kZeroOne && weights_.empty(); }

  // The (group, value) count at slot k, over the copies of the table.
  std::int64_t hit_count(std::size_t k) const {
    std::int64_t sum = 0;
    for (std::size_t c = 0; c < kCopies; ++c) sum += hits_[c * 2 * groups_ + k];
    return sum;
  }

  // add() and add_checked(): with kCheck, each block's ids are checked in the pass that
  // computes its values, before any of them indexes a table.
  template <bool kCheck>
  bool add_rows(std::int64_t begin, std::int64_t end, std::int64_t chunk) {
    if (chunk != chunk_) {
      flush();
      chunk_ = chunk;
    }
    // Two phases per block: the values (a loop without stores to the group tables, which
    // the compiler can vectorise), then the additions into the groups.
    constexpr std::int64_t kBlock = 512;
    const std::int32_t* g = g_;
    const std::uint32_t last = last_id(groups_);
    for (std::int64_t b = begin; b < end; b += kBlock) {
      const std::int64_t m = std::min(kBlock, end - b);
      unsigned bad = 0;
      if (counts_only()) {
        // One counter per (group, value): the group's row count comes with it.
        std::uint32_t slot[kBlock];
        bad = slots(b, m, slot, last);
        if (kCheck && bad != 0) return false;
        // Four rows at a time, each into its own copy of the table: a row's increment rarely
        // waits for the previous rows' stores to the same counter (docs/performance.md,
        // "Sliced evaluation"); the counts are exact in any order.
        std::int64_t* h0 = hits_.data();
        const std::size_t w = 2 * groups_;
        std::int64_t *h1 = h0 + w, *h2 = h1 + w, *h3 = h2 + w;
        std::int64_t j = 0;
        for (; j + 4 <= m; j += 4) {
          ++h0[slot[j]];
          ++h1[slot[j + 1]];
          ++h2[slot[j + 2]];
          ++h3[slot[j + 3]];
        }
        for (; j < m; ++j) ++h0[slot[j]];
        continue;
      }
      double v[kBlock];
      if constexpr (ValueBlock<Value, T, P>) {
        bad = value_.values(t_ + b, p_ + b, g + b, m, v, last);
        if (kCheck && bad != 0) return false;
      } else if constexpr (kCheck) {
        // The ids in the loop that reads the rows: a loop of their own would wait for their
        // loads alone.
        for (std::int64_t j = 0; j < m; ++j) {
          v[j] = static_cast<double>(value_(t_[b + j], p_[b + j]));
          bad |= id_above(g[b + j], last);
        }
        if (bad != 0) return false;
      } else {
        for (std::int64_t j = 0; j < m; ++j) v[j] = static_cast<double>(value_(t_[b + j], p_[b + j]));
      }
      double* local = local_.data();
      const double* values = v;
      if (sums_only_) {
        // The weight lanes are left at zero: finish() takes the counts from the driver.
        const std::int32_t* gb = g + b;
        for (std::int64_t j = 0; j < m; ++j) local[2 * static_cast<std::size_t>(gb[j])] += values[j];
      } else if (weights_.empty()) {
        add_pairs(local, g + b, m, [values](std::int64_t j) { return Pair{values[j], 1.0}; });
      } else {
        double buffer[kBlock];
        const double* w = weights_.rows(b, m, buffer);
        add_pairs(local, g + b, m, [values, w](std::int64_t j) { return Pair{values[j] * w[j], w[j]}; });
      }
    }
    return true;
  }

  // slot[j] = 2 g + value of row b + j for j < m (a 0/1 value); non-zero when an id of the
  // rows is outside [0, last] (compared unsigned).
  unsigned slots(std::int64_t b, std::int64_t m, std::uint32_t* slot, std::uint32_t last) const {
    if constexpr (ZeroOneBlock<Value, T, P>) {
      return value_.block(t_ + b, p_ + b, g_ + b, m, slot, last);
    } else {
      unsigned bad = 0;
      for (std::int64_t j = 0; j < m; ++j) {
        bad |= id_above(g_[b + j], last);
        slot[j] = 2 * static_cast<std::uint32_t>(g_[b + j]) +
                  static_cast<std::uint32_t>(static_cast<bool>(value_(t_[b + j], p_[b + j])));
      }
      return bad;
    }
  }

  struct Pair {
    double value, weight;
  };

  // local[2 g[j]] += pair(j).value and local[2 g[j] + 1] += pair(j).weight for j < m, in row
  // order: one two-lane read-modify-write per row where SSE2 has it.
  template <class PairOf>
  static void add_pairs(double* local, const std::int32_t* g, std::int64_t m, PairOf pair) {
    for (std::int64_t j = 0; j < m; ++j) {
      const Pair x = pair(j);
      double* slot = local + 2 * static_cast<std::size_t>(g[j]);
#if defined(__SSE2__)
      _mm_storeu_pd(slot, _mm_add_pd(_mm_loadu_pd(slot), _mm_set_pd(x.weight, x.value)));
#else
      slot[0] += x.value;
      slot[1] += x.weight;
#endif
    }
  }

  // Moves the current chunk's float sums into its slot of the partials.
  void flush() {
    if (chunk_ < 0 || counts_only()) return;
    std::copy(local_.begin(), local_.end(),
              partials_->begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(chunk_) * local_.size()));
    std::fill(local_.begin(), local_.end(), 0.0);
    chunk_ = -1;
  }

  const T* t_;
  const P* p_;
  const std::int32_t* g_;
  RowWeights weights_;  // per row, empty when unweighted
  std::size_t groups_;
  Value value_;
  std::int64_t chunk_ = -1;                        // the chunk local_ is summing
  bool sums_only_ = false;                         // unweighted, with the rows counted elsewhere
  static constexpr std::size_t kCopies = 4;        // of hits_, filled by rows j % 4
  std::vector<std::int64_t> hits_;                 // 0/1 values, unweighted: per copy, (group, value)
  std::vector<double> local_;                      // this chunk's (total, weight) sums per group
  std::shared_ptr<std::vector<double>> partials_;  // chunks x local_.size()
};

/// The grouped kernel of a mean-family metric whose per-row value is `value(t, p)`, or
/// nullptr for a layout grouped_rows does not accept.
template <class Value>
std::unique_ptr<GroupedKernel> grouped_mean(std::string_view who, const Batch& batch,
                                            std::span<const std::int32_t> group, std::size_t groups,
                                            std::int64_t chunk_rows, Value value) {
  GroupedRows in = grouped_rows(who, batch, group);
  if (!in.ok) return nullptr;
  const auto rows = static_cast<std::int64_t>(group.size());
  const std::int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  const RowWeights& weights = in.weights;
  std::unique_ptr<GroupedKernel> out;
  visit_counting_dtype(in.t, [&](const auto* tv) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(tv)>>;
    if (in.p.dtype() == DType::kFloat32) {
      out = std::make_unique<GroupedMean<T, float, Value>>(tv, static_cast<const float*>(in.p.data()), group.data(),
                                                           weights, groups, chunks, value);
    } else {
      out = std::make_unique<GroupedMean<T, double, Value>>(tv, static_cast<const double*>(in.p.data()), group.data(),
                                                            weights, groups, chunks, value);
    }
  });
  return out;
}

}  // namespace tally::metrics::kernels
