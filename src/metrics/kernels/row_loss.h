#pragma once
// The driver shared by the probabilistic and hinge families: a loss that reduces one axis
// of (y_true, y_pred) to one value per "position" (Keras's loss shape), then either
// materialised as a tensor (the per-sample functions) or folded straight into a Mean's
// total / count with Keras's sample-weight rules (the metric classes, no temporary).
//
// A loss kernel is a functor `double operator()(std::int64_t position, bool& valid)`;
// `valid = false` excludes the position from both total and count (ignore_class).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/check.h"
#include "internal/parallel.h"
#include "internal/samplewise.h"
#include "tally/tensor.h"

#ifndef TALLY_HD
#define TALLY_HD
#endif

namespace tally::metrics::kernels {

/// The layout of one batch after alignment: `positions` loss values of `width` elements
/// each, in C order, grouped into `samples` samples (positions / samples per sample).
struct RowSpec {
  std::int64_t samples = 0;
  std::int64_t positions = 0;
  std::int64_t width = 1;
  Shape loss_shape;  ///< Keras's shape of the loss values ([N] for one value per sample)
};

/// A contiguous input in a kernel dtype (float32, float64, and int32 / int64 when allowed),
/// viewing the caller's memory when it already is one, else a float64 copy.
struct Prepared {
  TensorView view;
  Tensor owner;
};

/// Returns `v` unchanged when contiguous and of a kernel dtype, else a contiguous float64 copy.
inline Prepared prepare_input(const TensorView& v, bool keep_integers) {
  const DType d = v.dtype();
  const bool kernel_dtype =
      d == DType::kFloat32 || d == DType::kFloat64 || (keep_integers && (d == DType::kInt32 || d == DType::kInt64));
  if (kernel_dtype && v.is_contiguous()) return {v, Tensor()};
  Prepared out;
  out.owner = Tensor(DType::kFloat64, v.shape());
  double* dst = out.owner.data_as<double>();
  const std::int64_t n = v.numel();
  if (v.is_contiguous()) {
    visit_dtype(d, [&](auto tag) {
      using T = decltype(tag);
      const T* src = static_cast<const T*>(v.data());
      for (std::int64_t i = 0; i < n; ++i) dst[i] = to_double(src[i]);
    });
  } else {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = v.value_at(i);
  }
  out.view = out.owner.view();
  return out;
}

/// Calls fn(const Yt*, const Yp*) with typed pointers of two prepared inputs: y_true in
/// float32 / float64 / int32 / int64, y_pred in float32 / float64.
template <class Fn>
decltype(auto) dispatch_inputs(const TensorView& y_true, const TensorView& y_pred, Fn&& fn) {
  auto with_pred = [&](const auto* yt) -> decltype(auto) {
    if (y_pred.dtype() == DType::kFloat32) return fn(yt, static_cast<const float*>(y_pred.data()));
    return fn(yt, static_cast<const double*>(y_pred.data()));
  };
  switch (y_true.dtype()) {
    case DType::kFloat32:
      return with_pred(static_cast<const float*>(y_true.data()));
    case DType::kInt32:
      return with_pred(static_cast<const std::int32_t*>(y_true.data()));
    case DType::kInt64:
      return with_pred(static_cast<const std::int64_t*>(y_true.data()));
    default:
      return with_pred(static_cast<const double*>(y_true.data()));
  }
}

/// Sinks `term(y, p)` averaged over each row of `spec.width` elements (Keras's mean over the
/// last axis). Width 1 (rank-1 inputs, docs/keras-differences.md §9) gets its own loop with no inner loop or
/// division: that per-row overhead would cost more than the term itself.
template <class Yt, class Yp, class Term, class Sink>
auto mean_over_rows(const RowSpec& spec, const Yt* yt, const Yp* yp, Term term, const Sink& sink) {
  const std::int64_t w = spec.width;
  if (w == 1) {
    return sink(spec, [=](std::int64_t r, bool&) { return term(to_double(yt[r]), to_double(yp[r])); });
  }
  const double wd = static_cast<double>(w);
  return sink(spec, [=](std::int64_t r, bool&) {
    double s = 0.0;
    for (std::int64_t k = r * w; k < (r + 1) * w; ++k) s += term(to_double(yt[k]), to_double(yp[k]));
    return s / wd;
  });
}

/// Rows per parallel chunk so that a chunk holds about internal::kChunkSize elements.
inline std::int64_t rows_per_chunk(std::int64_t width) {
  return std::max<std::int64_t>(1, internal::kChunkSize / std::max<std::int64_t>(width, 1));
}

/// Per-thread storage of BlockedRows: the losses of the block of rows computed last, and
/// scratch for the kernel (its vectorised exp / log run over whole blocks).
struct RowBlock {
  std::uint64_t owner = 0;  ///< the BlockedRows instance that computed the block
  std::int64_t begin = 0, end = 0;
  std::vector<double> loss;
  std::vector<unsigned char> valid;
  std::vector<double> scratch;
};

/// This thread's RowBlock.
inline RowBlock& thread_row_block() {
  thread_local RowBlock block;
  return block;
}

/// A fresh id for each BlockedRows: a block computed for an earlier batch (even one over the
/// same memory) is never mistaken for this one's.
inline std::uint64_t next_row_block_owner() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

/// Adapts a block kernel `fill(begin, end, loss*, valid*, scratch&)`, which computes the loss
/// of rows [begin, end) at once (so that exp / log run vectorised over the whole block,
/// simd_math.h), to the one-row interface the sinks call. Blocks of about 2048 elements
/// (L1-resident) tile each sink chunk from its start, so no block straddles two chunks that
/// other threads evaluate; a row's value never depends on the block it falls in.
template <class Fill>
class BlockedRows {
 public:
  BlockedRows(const RowSpec& spec, Fill fill)
      : fill_(std::move(fill)),
        positions_(spec.positions),
        chunk_(rows_per_chunk(spec.width)),
        block_(std::max<std::int64_t>(1, 2048 / std::max<std::int64_t>(spec.width, 1))),
        owner_(next_row_block_owner()) {}

  /// Calls f(begin, end, loss*, valid*) for the blocks of rows [b, e), in order, [b, e) being
  /// a sink chunk (rows_per_chunk): the blocks are those operator() would fill, so the
  /// values are the same, without a call and a cache test per row.
  template <class F>
  void for_each_block(std::int64_t b, std::int64_t e, F&& f) const {
    RowBlock& rb = thread_row_block();
    rb.owner = 0;  // the cache is overwritten below
    rb.loss.resize(static_cast<std::size_t>(block_));
    for (std::int64_t begin = b; begin < e; begin += block_) {
      const std::int64_t end = std::min(begin + block_, e);
      rb.valid.assign(static_cast<std::size_t>(block_), 1);
      fill_(begin, end, rb.loss.data(), rb.valid.data(), rb.scratch);
      f(begin, end, rb.loss.data(), rb.valid.data());
    }
  }

  double operator()(std::int64_t r, bool& valid) const {
    RowBlock& b = thread_row_block();
    if (b.owner != owner_ || r < b.begin || r >= b.end) {
      const std::int64_t chunk_begin = (r / chunk_) * chunk_;
      const std::int64_t begin = chunk_begin + ((r - chunk_begin) / block_) * block_;
      const std::int64_t end = std::min({begin + block_, chunk_begin + chunk_, positions_});
      b.loss.resize(static_cast<std::size_t>(block_));
      b.valid.assign(static_cast<std::size_t>(block_), 1);
      b.owner = 0;  // not valid while filling (fill may throw)
      fill_(begin, end, b.loss.data(), b.valid.data(), b.scratch);
      b.owner = owner_;
      b.begin = begin;
      b.end = end;
    }
    const auto i = static_cast<std::size_t>(r - b.begin);
    valid = b.valid[i] != 0;
    return b.loss[i];
  }

 private:
  Fill fill_;
  std::int64_t positions_, chunk_, block_;
  std::uint64_t owner_;
};

/// Totals of a batch whose loss has one value per sample.
struct RowSums {
  double total = 0.0;
  double count = 0.0;
};

template <class Row>
inline constexpr bool kIsBlockedRows = false;
template <class Fill>
inline constexpr bool kIsBlockedRows<BlockedRows<Fill>> = true;

/// Σ loss and number of valid positions, unweighted (fixed chunks: thread-count invariant).
/// Block kernels are summed block by block, in the same row order.
template <class Row>
RowSums sum_rows(const RowSpec& spec, const Row& row) {
  return internal::chunked_reduce(
      spec.positions, RowSums{},
      [&](std::int64_t b, std::int64_t e, RowSums& acc) {
        double t = 0.0;
        double c = 0.0;
        if constexpr (kIsBlockedRows<Row>) {
          // Four interleaved sums (one add chain per row was the limit for 1-wide rows),
          // combined at the chunk's end: still fixed by the chunk, so thread-count invariant.
          double ts[4] = {0.0, 0.0, 0.0, 0.0};
          double cs[4] = {0.0, 0.0, 0.0, 0.0};
          std::int64_t lane = 0;
          row.for_each_block(b, e,
                             [&](std::int64_t begin, std::int64_t end, const double* loss, const unsigned char* valid) {
                               const std::int64_t n = end - begin;
                               std::int64_t i = 0;
                               auto one = [&](std::int64_t k) {
                                 const bool ok = valid[k] != 0;
                                 ts[lane] += ok ? loss[k] : 0.0;
                                 cs[lane] += ok ? 1.0 : 0.0;
                                 lane = (lane + 1) & 3;
                               };
                               for (; i < n && lane != 0; ++i) one(i);
                               // whole groups of four with fixed lanes (the same order, without
                               // the lane index in the loop: a third of the time of 1-wide rows)
                               for (; i + 4 <= n; i += 4) {
                                 for (std::int64_t q = 0; q < 4; ++q) {
                                   const bool ok = valid[i + q] != 0;
                                   ts[q] += ok ? loss[i + q] : 0.0;
                                   cs[q] += ok ? 1.0 : 0.0;
                                 }
                               }
                               for (; i < n; ++i) one(i);
                             });
          t = (ts[0] + ts[1]) + (ts[2] + ts[3]);
          c = (cs[0] + cs[1]) + (cs[2] + cs[3]);
        } else {
          for (std::int64_t r = b; r < e; ++r) {
            bool valid = true;
            const double v = row(r, valid);
            if (valid) {
              t += v;
              c += 1.0;
            }
          }
        }
        acc.total += t;
        acc.count += c;
      },
      [](RowSums& a, const RowSums& p) {
        a.total += p.total;
        a.count += p.count;
      },
      rows_per_chunk(spec.width));
}

/// Σ loss·w and Σ w over valid positions, one weight per position.
template <class Row, class W>
RowSums sum_rows_weighted(const RowSpec& spec, const Row& row, const W* w) {
  return internal::chunked_reduce(
      spec.positions, RowSums{},
      [&](std::int64_t b, std::int64_t e, RowSums& acc) {
        double t = 0.0;
        double c = 0.0;
        if constexpr (kIsBlockedRows<Row>) {
          // Block by block (no call and cache test per row), in row order as below.
          row.for_each_block(b, e,
                             [&](std::int64_t begin, std::int64_t end, const double* loss, const unsigned char* valid) {
                               for (std::int64_t i = 0; i < end - begin; ++i) {
                                 if (valid[i] != 0) {
                                   const double wr = to_double(w[begin + i]);
                                   t += loss[i] * wr;
                                   c += wr;
                                 }
                               }
                             });
        } else {
          for (std::int64_t r = b; r < e; ++r) {
            bool valid = true;
            const double v = row(r, valid);
            if (valid) {
              const double wr = to_double(w[r]);
              t += v * wr;
              c += wr;
            }
          }
        }
        acc.total += t;
        acc.count += c;
      },
      [](RowSums& a, const RowSums& p) {
        a.total += p.total;
        a.count += p.count;
      },
      rows_per_chunk(spec.width));
}

/// Writes every loss value (0 where invalid) into a float64 tensor of spec.loss_shape, and
/// the validity into `mask` (1 / 0) when `mask` is not null.
template <class Row>
Tensor materialize_rows(const RowSpec& spec, const Row& row, Tensor* mask = nullptr) {
  Tensor out(DType::kFloat64, spec.loss_shape);
  double* dst = out.data_as<double>();
  double* m = nullptr;
  if (mask != nullptr) {
    *mask = Tensor(DType::kFloat64, spec.loss_shape);
    m = mask->data_as<double>();
  }
  internal::parallel_for_chunks(
      spec.positions,
      [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t r = b; r < e; ++r) {
          bool valid = true;
          const double v = row(r, valid);
          dst[r] = valid ? v : 0.0;
          if (m != nullptr) m[r] = valid ? 1.0 : 0.0;
        }
      },
      rows_per_chunk(spec.width));
  return out;
}

/// A weight view broadcast to `values`'s shape by Keras's rules (ranks aligned, then the
/// weight's dims matched from the front), as a float64 tensor; ShapeError naming `who`.
inline Tensor weight_over_values(std::string_view who, const TensorView& sample_weight, const TensorView& values) {
  TensorView v = values;
  TensorView w = sample_weight;
  internal::squeeze_or_expand_to_same_rank(v, w);
  if (w.ndim() > v.ndim()) {
    throw ShapeError(internal::str_cat(who, ": argument `sample_weight` of shape ", shape_string(sample_weight.shape()),
                                       " cannot be broadcast to the loss values of shape ",
                                       shape_string(values.shape())));
  }
  while (w.ndim() < values.ndim()) w = w.expand_dims(-1);
  try {
    w = w.broadcast_to(values.shape());
  } catch (const ShapeError&) {
    throw ShapeError(internal::str_cat(who, ": argument `sample_weight` of shape ", shape_string(sample_weight.shape()),
                                       " cannot be broadcast to the loss values of shape ",
                                       shape_string(values.shape())));
  }
  Tensor out(DType::kFloat64, values.shape());
  double* dst = out.data_as<double>();
  for (std::int64_t i = 0; i < out.numel(); ++i) dst[i] = w.value_at(i);
  return out;
}

/// Folds one batch of loss values into a Mean's (total, count) with Keras's weight rules:
/// reduce_to_samplewise_values, a scalar weight counting the batch as one sample, and,
/// when `masked` (ignore_class is set), the mask multiplying the weight (Keras apply_mask),
/// so invalid positions count neither in total nor in count. Validates the weight first.
template <class Row>
internal::WeightedTotals accumulate_rows(std::string_view who, const RowSpec& spec, const TensorView& sample_weight,
                                         bool masked, const Row& row) {
  const bool one_per_sample = spec.positions == spec.samples && spec.loss_shape.size() == 1;
  if (one_per_sample) {
    if (!sample_weight.has_value()) {
      const RowSums s = sum_rows(spec, row);
      return {s.total, s.count};
    }
    if (sample_weight.ndim() == 0 && !masked) {
      internal::check_sample_weight_values(who, sample_weight);
      const double w = sample_weight.value_at(std::int64_t{0});
      const RowSums s = sum_rows(spec, row);
      // Keras: a scalar weight makes the batch one sample whose value is the batch mean.
      return {w * (s.total / static_cast<double>(spec.positions)), w};
    }
    TensorView w = sample_weight;
    if (w.ndim() == 2 && w.shape()[1] == 1) w = w.squeeze(-1);
    if (w.ndim() == 0) w = w.expand_dims(0).broadcast_to({spec.positions});
    if (w.ndim() == 1 && (w.shape()[0] == spec.positions || w.shape()[0] == 1)) {
      internal::check_sample_weight_values(who, sample_weight);
      if (w.shape()[0] != spec.positions) w = w.broadcast_to({spec.positions});
      const Prepared pw = prepare_input(w, false);
      const RowSums s = pw.view.dtype() == DType::kFloat32
                            ? sum_rows_weighted(spec, row, static_cast<const float*>(pw.view.data()))
                            : sum_rows_weighted(spec, row, static_cast<const double*>(pw.view.data()));
      return {s.total, s.count};
    }
    // Any other weight shape: the general path below reports it or handles it.
  }
  if (sample_weight.has_value()) internal::check_sample_weight_values(who, sample_weight);
  if (!masked) {
    const Tensor values = materialize_rows(spec, row);
    return internal::reduce_to_samplewise(who, values, sample_weight, internal::SampleReduce::kMean);
  }
  Tensor mask;
  const Tensor values = materialize_rows(spec, row, &mask);
  if (!sample_weight.has_value()) {
    return internal::reduce_to_samplewise(who, values, mask, internal::SampleReduce::kMean);
  }
  Tensor weight = weight_over_values(who, sample_weight, values);
  double* wd = weight.data_as<double>();
  const double* md = mask.data_as<double>();
  for (std::int64_t i = 0; i < weight.numel(); ++i) wd[i] *= md[i];
  return internal::reduce_to_samplewise(who, values, weight, internal::SampleReduce::kMean);
}

// A sink turns (spec, row kernel) into the caller's result: folded totals for the metric
// classes, a loss tensor for the per-sample functions.
struct MaterializeSink {
  template <class Row>
  Tensor operator()(const RowSpec& spec, const Row& row) const {
    return kernels::materialize_rows(spec, row);
  }
};

struct AccumulateSink {
  std::string_view who;
  TensorView sample_weight;
  bool masked = false;
  template <class Row>
  internal::WeightedTotals operator()(const RowSpec& spec, const Row& row) const {
    return kernels::accumulate_rows(who, spec, sample_weight, masked, row);
  }
};

}  // namespace tally::metrics::kernels
