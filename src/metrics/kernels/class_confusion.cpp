#include "metrics/kernels/class_confusion.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "internal/check.h"
#include "internal/memory.h"
#include "internal/parallel.h"
#include "metrics/kernels/cell_counter.h"
#include "metrics/kernels/contiguous.h"
#include "metrics/kernels/counting_dtypes.h"
#include "metrics/kernels/row_argmax.h"

namespace tally::metrics::kernels {
namespace {

using internal::str_cat;

// Unweighted batches are chunked this many times longer than weighted ones.
constexpr std::int64_t kUnweightedChunkFactor = 4;

// How y_pred of a multi-class batch becomes a predicted class.
enum class PredMode : std::uint8_t { kIds, kProbability, kArgmax };

// A label (or predicted id) as a class in [0, classes), or -1 when it is not one (NaN,
// fractional, out of range).
template <class T>
inline std::int64_t id_of(T v, std::int64_t classes) {
  if constexpr (std::is_integral_v<T>) {
    const auto x = static_cast<std::int64_t>(v);
    return static_cast<std::uint64_t>(x) < static_cast<std::uint64_t>(classes) ? x : -1;
  } else {
    const double d = to_double(v);
    if (!(d >= 0.0 && d < static_cast<double>(classes)) || d != std::floor(d)) return -1;
    return static_cast<std::int64_t>(d);
  }
}

// One chunk's counts: `cells` table entries plus a spare last entry for rows that fail
// validation (a batch with a non-zero spare is rejected after counting).
struct Partial {
  std::vector<std::int64_t> counts;
  std::vector<double> weights;
  bool nan = false;  // a NaN score (rejected with check_no_nan's message)
};

// Per-row weights (scalar, [N] or [N, 1] sample weights), empty when unweighted.
std::vector<double> row_weights(std::string_view who, const TensorView& sw, std::int64_t rows) {
  if (!sw.has_value()) return {};
  TensorView w = sw;
  while (w.ndim() > 1 && w.shape().back() == 1) w = w.squeeze(-1);
  std::vector<double> out;
  if (w.ndim() == 0) {
    out.assign(static_cast<std::size_t>(rows), w.value_at(0));
  } else if (w.ndim() == 1 && w.shape()[0] == rows) {
    out = Tensor::copy_of(w).to_doubles();
  } else {
    throw ShapeError(str_cat(who,
                             ": argument `sample_weight` must be a scalar or have shape [N] or [N, 1] for a batch of ",
                             rows, " rows; received shape ", shape_string(sw.shape())));
  }
  internal::check_sample_weight_values(who, sw);
  return out;
}

// The first element of `v` that id_of refuses, for the error message.
[[noreturn]] void throw_bad_ids(std::string_view who, std::string_view arg, const TensorView& v, std::int64_t classes,
                                std::int64_t stride) {
  const Tensor flat = Tensor::copy_of(v);
  visit_dtype(flat.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = flat.data_as<T>();
    for (std::int64_t i = 0; i < flat.numel(); i += stride) {
      if (id_of(p[i], classes) < 0) {
        throw InvalidArgument(str_cat(who, ": argument `", arg, "` must hold class ids in [0, ", classes,
                                      "); received ", to_double(p[i]), " at position ", i));
      }
    }
  });
  throw InvalidArgument(str_cat(who, ": argument `", arg, "` must hold class ids in [0, ", classes, ")"));
}

// Rows [rb, re) of a multi-class batch. Unweighted binary probabilities take a branch-free
// path of three sums; everything else increments a C x C table (four interleaved copies
// when unweighted, so repeated cells do not wait on each other through memory).
// One instantiation per prediction mode, so the per-row work has no mode test.
template <PredMode kMode, class TT, class PP>
void count_multiclass(const TT* __restrict t, const PP* __restrict p, std::int64_t C, double threshold,
                      const std::vector<double>& w, std::int64_t rb, std::int64_t re, Partial& acc) {
  const std::int64_t cells = C * C;
  const bool weighted = !w.empty();
  // Scores are compared with the threshold in their own precision (float32 stays float32).
  using P = std::conditional_t<std::is_same_v<PP, double>, double, float>;
  if (kMode == PredMode::kProbability && !weighted) {
    // C == 2: tp = Σ t·p̂, Σ t and Σ p̂ give the other three cells. Labels and scores are
    // compared in their own precision and counted in int32 (a chunk is far below 2^31 rows),
    // so the loop vectorises.
    using L = std::conditional_t<std::is_same_v<TT, float>, float, double>;
    std::int32_t st = 0, sp = 0, stp = 0, bad = 0, nan = 0;
    const P cut = static_cast<P>(threshold);
    for (std::int64_t i = rb; i < re; ++i) {
      const auto tv = static_cast<L>(to_double(t[i]));
      const auto pv = static_cast<P>(to_double(p[i]));
      const std::int32_t ti = tv == L(1);
      const std::int32_t pi = pv > cut;
      bad += static_cast<std::int32_t>((tv != L(0)) & (tv != L(1)));
      nan |= static_cast<std::int32_t>(pv != pv);
      st += ti;
      sp += pi;
      stp += ti & pi;
    }
    const std::int64_t n = re - rb - bad;
    acc.counts[0] += n - st - sp + stp;  // tn (a batch with bad labels is rejected anyway)
    acc.counts[1] += sp - stp;
    acc.counts[2] += st - stp;
    acc.counts[3] += stp;
    acc.counts[static_cast<std::size_t>(cells)] += bad;
    acc.nan |= nan != 0;
    return;
  }
  bool nan_seen = false;
  auto predicted = [&](std::int64_t i) -> std::int64_t {
    if constexpr (kMode == PredMode::kProbability) {
      const auto v = static_cast<P>(to_double(p[i]));
      nan_seen |= v != v;
      return v > static_cast<P>(threshold) ? 1 : 0;
    } else if constexpr (kMode == PredMode::kIds) {
      return id_of(p[i], C);
    }
    // argmax over the row, ties to the first index (numpy's argmax)
    const PP* row = p + i * C;
    double best = to_double(row[0]);
    std::int64_t arg = 0;
    bool nan = best != best;
    for (std::int64_t c = 1; c < C; ++c) {
      // Selects rather than branches: random scores would mispredict a branch per row or two.
      const double v = to_double(row[c]);
      nan |= v != v;
      const bool above = v > best;
      best = above ? v : best;
      arg = above ? c : arg;
    }
    nan_seen |= nan;
    return arg;
  };
  auto cell = [&](std::int64_t i) -> std::size_t {
    const std::int64_t ti = id_of(t[i], C);
    const std::int64_t pi = predicted(i);
    return static_cast<std::size_t>(((ti < 0) | (pi < 0)) ? cells : ti * C + pi);
  };
  if (kMode != PredMode::kProbability && cells < std::numeric_limits<std::int32_t>::max()) {
    // Blocks of rows small enough to stay in L1: the cell indices of a block first (SIMD
    // argmax and validation, row_argmax.h), then one counting pass over them; alternating
    // the two keeps the input stream in flight while the histogram is counted.
    constexpr std::int64_t kBlock = 256;  // measured: 128-512 alike, 1024 and up slower
    thread_local std::vector<std::int32_t> tid(kBlock), pid(kBlock), cell_ids(kBlock);
    std::optional<CellCounter> counter;
    if (!weighted) counter.emplace(cells + 1, re - rb, acc.counts.data());
    for (std::int64_t b = rb; b < re; b += kBlock) {
      const std::int64_t n = std::min(kBlock, re - b);
      const std::int32_t* tptr = nullptr;
      const std::int32_t* pptr = nullptr;
      if constexpr (std::is_same_v<TT, std::int32_t>) {
        tptr = t + b;
      } else {
        for (std::int64_t i = 0; i < n; ++i)
          tid[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(id_of(t[b + i], C));
        tptr = tid.data();
      }
      if constexpr (kMode == PredMode::kIds && std::is_same_v<PP, std::int32_t>) {
        pptr = p + b;
      } else {
        if constexpr (kMode == PredMode::kArgmax && (std::is_same_v<PP, float> || std::is_same_v<PP, double>)) {
          nan_seen |= simd::row_argmax(p + b * C, n, C, pid.data());
        } else {
          for (std::int64_t i = 0; i < n; ++i)
            pid[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(predicted(b + i));
        }
        pptr = pid.data();
      }
      simd::class_cells(tptr, pptr, n, static_cast<std::int32_t>(C), cell_ids.data());
      if (weighted) {
        // Each cell's weights are added in row order, as the scalar loop below does; rows in
        // the spare cell are also counted in the int spare, which the caller checks.
        for (std::int64_t i = 0; i < n; ++i) {
          const auto k = static_cast<std::size_t>(cell_ids[static_cast<std::size_t>(i)]);
          acc.weights[k] += w[static_cast<std::size_t>(b + i)];
          acc.counts[static_cast<std::size_t>(cells)] +=
              static_cast<std::int64_t>(k == static_cast<std::size_t>(cells));
        }
      } else {
        counter->add(cell_ids.data(), n);
      }
    }
    acc.nan |= nan_seen;
    return;
  }
  if (weighted) {
    // Rows in the spare cell are also counted in the int spare, which the caller checks.
    for (std::int64_t i = rb; i < re; ++i) {
      const std::size_t k = cell(i);
      acc.weights[k] += w[static_cast<std::size_t>(i)];
      acc.counts[static_cast<std::size_t>(cells)] += static_cast<std::int64_t>(k == static_cast<std::size_t>(cells));
    }
    acc.nan |= nan_seen;
    return;
  }
  const auto stride = static_cast<std::size_t>(cells + 1);
  std::vector<std::int64_t> four(4 * stride, 0);
  std::int64_t i = rb;
  for (; i + 4 <= re; i += 4) {
    ++four[cell(i)];
    ++four[stride + cell(i + 1)];
    ++four[2 * stride + cell(i + 2)];
    ++four[3 * stride + cell(i + 3)];
  }
  for (; i < re; ++i) ++four[cell(i)];
  for (std::size_t k = 0; k < stride; ++k) {
    acc.counts[k] += (four[k] + four[stride + k]) + (four[2 * stride + k] + four[3 * stride + k]);
  }
  acc.nan |= nan_seen;
}

// Rows [rb, re) of a multi-label batch: per label (tn, fp, fn, tp), then exact rows and rows.
template <class TT, class PP>
void count_multilabel(const TT* __restrict t, const PP* __restrict p, std::int64_t L, double threshold,
                      const std::vector<double>& w, std::int64_t rb, std::int64_t re, Partial& acc) {
  const bool weighted = !w.empty();
  const auto spare = static_cast<std::size_t>(4 * L + 2);
  using P = std::conditional_t<std::is_same_v<PP, double>, double, float>;
  const auto cut = static_cast<P>(threshold);
  for (std::int64_t r = rb; r < re; ++r) {
    bool exact = true, bad = false;
    const double wr = weighted ? w[static_cast<std::size_t>(r)] : 1.0;
    for (std::int64_t l = 0; l < L; ++l) {
      const double tv = to_double(t[r * L + l]);
      const auto pv = static_cast<P>(to_double(p[r * L + l]));
      acc.nan |= pv != pv;
      bad |= (tv != 0.0) & (tv != 1.0);
      const std::int64_t ti = tv == 1.0, pi = pv > cut;
      exact &= ti == pi;
      const auto k = static_cast<std::size_t>(4 * l + 2 * ti + pi);
      if (weighted) {
        acc.weights[k] += wr;
      } else {
        ++acc.counts[k];
      }
    }
    if (bad) ++acc.counts[spare];
    if (weighted) {
      acc.weights[spare - 2] += exact ? wr : 0.0;
      acc.weights[spare - 1] += wr;
    } else {
      acc.counts[spare - 2] += exact;
      acc.counts[spare - 1] += 1;
    }
  }
}

}  // namespace

Tensor one_hot_ids(std::string_view who, std::string_view arg, const TensorView& ids, std::int64_t classes) {
  TensorView v = ids;
  if (v.ndim() == 2 && v.shape()[1] == 1) v = v.squeeze(1);
  if (v.ndim() != 1) {
    throw ShapeError(str_cat(who, ": argument `", arg, "` must hold class ids of shape [N] or [N, 1]; received shape ",
                             shape_string(ids.shape())));
  }
  internal::check_not_empty(who, arg, v);
  const std::int64_t n = v.shape()[0];
  internal::reserve_scratch(who, "one-hot labels", 4 * n * classes);
  Tensor keep;
  const TensorView c = contiguous(v, keep);
  Tensor out(DType::kFloat32, Shape{n, classes});
  float* o = out.data_as<float>();
  std::fill(o, o + n * classes, 0.0f);
  bool bad = false;
  visit_dtype(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = c.data_as<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t id = id_of(p[i], classes);
      if (id < 0) {
        bad = true;
        break;
      }
      o[i * classes + id] = 1.0f;
    }
  });
  if (bad) throw_bad_ids(who, arg, c, classes, 1);
  return out;
}

Tensor one_hot_argmax(std::string_view who, std::string_view arg, const TensorView& scores) {
  const std::int64_t n = scores.shape()[0], classes = scores.shape()[1];
  internal::reserve_scratch(who, "one-hot predictions", 4 * n * classes);
  Tensor keep;
  const TensorView c = contiguous(scores, keep);
  Tensor out(DType::kFloat32, Shape{n, classes});
  float* o = out.data_as<float>();
  std::fill(o, o + n * classes, 0.0f);
  bool nan = false;
  visit_dtype(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = c.data_as<T>();
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      // The SIMD row argmax (row_argmax.h), a block of rows at a time.
      constexpr std::int64_t kBlock = 1024;
      std::vector<std::int32_t> ids(static_cast<std::size_t>(std::min(n, kBlock)));
      for (std::int64_t b = 0; b < n; b += kBlock) {
        const std::int64_t m = std::min(kBlock, n - b);
        nan |= simd::row_argmax(p + b * classes, m, classes, ids.data());
        for (std::int64_t i = 0; i < m; ++i) o[(b + i) * classes + ids[static_cast<std::size_t>(i)]] = 1.0f;
      }
    } else {
      nan = true;  // other dtypes: check_no_nan below scans them
      for (std::int64_t i = 0; i < n; ++i) {
        const T* row = p + i * classes;
        std::int64_t arg_max = 0;
        double best = to_double(row[0]);
        for (std::int64_t k = 1; k < classes; ++k) {
          if (to_double(row[k]) > best) {
            best = to_double(row[k]);
            arg_max = k;
          }
        }
        o[i * classes + arg_max] = 1.0f;
      }
    }
  });
  if (nan) internal::check_no_nan(who, arg, scores);  // throws naming the first NaN
  return out;
}

namespace {

// Calls body(t, p, b, n) for each block [b, b + n) of rows [rb, re) with the block's true and
// predicted class ids as int32 (an id outside [0, classes) stays out of range, or is -1 after
// conversion: the body validates); stops and returns false when the body does or a score row
// holds NaN. Blocks are small enough to stay in L1: the ids of a block first (converted, or
// the SIMD argmax of row_argmax.h), then the body's counting pass over them.
template <class Body>
bool for_id_blocks(const IdRowsInput& in, std::int64_t rb, std::int64_t re, Body&& body) {
  const std::int64_t C = in.classes;
  constexpr std::int64_t kBlock = 256;
  thread_local std::vector<std::int32_t> tid(kBlock), pid(kBlock);
  const auto ids_of = [&](const TensorView& v, std::int64_t b, std::int64_t n,
                          std::vector<std::int32_t>& out) -> const std::int32_t* {
    if (v.dtype() == DType::kInt32) return v.data_as<std::int32_t>() + b;  // the body validates
    visit_dtype(v.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = v.data_as<T>() + b;
      for (std::int64_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(id_of(p[i], C));
    });
    return out.data();
  };
  for (std::int64_t b = rb; b < re; b += kBlock) {
    const std::int64_t n = std::min(kBlock, re - b);
    const std::int32_t* t = ids_of(in.truth, b, n, tid);
    const std::int32_t* p = nullptr;
    if (in.scores) {
      const bool nan = in.pred.dtype() == DType::kFloat32
                           ? simd::row_argmax(in.pred.data_as<float>() + b * C, n, C, pid.data())
                           : simd::row_argmax(in.pred.data_as<double>() + b * C, n, C, pid.data());
      if (nan) return false;
      p = pid.data();
    } else {
      p = ids_of(in.pred, b, n, pid);
    }
    if (!body(t, p, b, n)) return false;
  }
  return true;
}

inline bool bad_pair(std::int32_t ti, std::int32_t pi, std::int64_t classes) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(ti)) >= static_cast<std::uint64_t>(classes)) |
         (static_cast<std::uint64_t>(static_cast<std::uint32_t>(pi)) >= static_cast<std::uint64_t>(classes));
}

// Unweighted tables up to this many classes are counted as confusion cells (class_cells and
// CellCounter, whose interleaved copies stay in L1); wider ones add per row.
constexpr std::int64_t kCellClasses = 64;

// Unweighted rows [rb, re) of at most kCellClasses classes as per-class counts [tp | predicted |
// support] added into `out` (3 C int64): rows of class c predicted c, rows predicted c, rows of
// class c. Up to kOutcomeClasses classes the rows go to class_outcomes (byte compares, no table:
// int32 ids on both sides in one call over the range, else a block at a time after the argmax);
// the rows it leaves become confusion cells (class_cells) counted by CellCounter, whose table
// gives the same counts (tp = diagonal, predicted = column sums, support = row sums). Integer
// counts, so the split does not change them. False on a bad id or a NaN score.
bool count_unweighted_outcomes(const IdRowsInput& in, std::int64_t rb, std::int64_t re, std::int64_t* out) {
  const std::int64_t C = in.classes;
  const auto c32 = static_cast<std::int32_t>(C);
  const bool bytes = C <= simd::kOutcomeClasses;
  if (bytes && !in.scores && in.truth.dtype() == DType::kInt32 && in.pred.dtype() == DType::kInt32) {
    const std::int64_t done = simd::class_outcomes(in.truth.data_as<std::int32_t>() + rb,
                                                   in.pred.data_as<std::int32_t>() + rb, re - rb, c32, out);
    if (done < 0) return false;
    rb += done;
  }
  std::vector<std::int64_t> table(static_cast<std::size_t>(C * C + 1), 0);
  thread_local std::vector<std::int32_t> cell_ids(256);
  {
    // With the byte path, only the ragged ends of blocks reach the table: no copies to clear.
    CellCounter counter(C * C + 1, bytes ? 0 : re - rb, table.data());
    const bool ok =
        for_id_blocks(in, rb, re, [&](const std::int32_t* t, const std::int32_t* p, std::int64_t, std::int64_t n) {
          const std::int64_t done = bytes ? simd::class_outcomes(t, p, n, c32, out) : 0;
          if (done < 0) return false;
          simd::class_cells(t + done, p + done, n - done, c32, cell_ids.data());
          counter.add(cell_ids.data(), n - done);
          return true;
        });
    if (!ok) return false;
  }  // the counter adds its copies into `table`
  if (table[static_cast<std::size_t>(C * C)] != 0) return false;
  for (std::int64_t ti = 0; ti < C; ++ti) {
    for (std::int64_t pi = 0; pi < C; ++pi) {
      const std::int64_t k = table[static_cast<std::size_t>(ti * C + pi)];
      out[2 * C + ti] += k;
      out[C + pi] += k;
    }
    out[ti] += table[static_cast<std::size_t>(ti * C + ti)];
  }
  return true;
}

}  // namespace

IdRows::IdRows(const TensorView& truth, const TensorView& pred, std::int64_t classes, const TensorView& weight)
    : weights_(weight_array(weight, truth.shape()[0], classes)) {
  in.truth = contiguous(truth, truth_copy_);
  in.pred = contiguous(pred, pred_copy_);
  in.scores = pred.ndim() == 2;
  in.classes = classes;
  in.weight = weights_.values.empty() ? nullptr : weights_.values.data();
  in.row_stride = weights_.row_stride;
  in.class_stride = weights_.class_stride;
}

bool count_id_rows(const IdRowsInput& in, std::int64_t rb, std::int64_t re, double* sums) {
  const std::int64_t C = in.classes;
  double* tp = sums;
  double* predicted = sums + C;
  double* support = sums + 2 * C;
  if (in.weight == nullptr && C <= kCellClasses) {
    // Whole-number counts (exact in float64 below 2^53, in any order: the one-hot path's sums).
    std::vector<std::int64_t> counts(static_cast<std::size_t>(3 * C), 0);
    if (!count_unweighted_outcomes(in, rb, re, counts.data())) return false;
    for (std::int64_t c = 0; c < C; ++c) {
      support[c] += static_cast<double>(counts[static_cast<std::size_t>(2 * C + c)]);
      if (in.predict) {
        predicted[c] += static_cast<double>(counts[static_cast<std::size_t>(C + c)]);
        tp[c] += static_cast<double>(counts[static_cast<std::size_t>(c)]);
      }
    }
    return true;
  }
  return for_id_blocks(in, rb, re, [&](const std::int32_t* t, const std::int32_t* p, std::int64_t b, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int32_t ti = t[i], pi = p[i];
      if (bad_pair(ti, pi, C)) return false;
      if (in.weight == nullptr) {
        support[ti] += 1.0;
        if (in.predict) {
          predicted[pi] += 1.0;
          tp[ti] += ti == pi ? 1.0 : 0.0;
        }
        continue;
      }
      const double* wr = in.weight + (b + i) * in.row_stride;
      const double wt = wr[ti * in.class_stride];
      support[ti] += wt;
      if (in.predict) {
        predicted[pi] += wr[pi * in.class_stride];
        if (ti == pi) tp[ti] += wt;
      }
    }
    return true;
  });
}

bool count_id_outcomes(const IdRowsInput& in, std::int64_t rb, std::int64_t re, std::int64_t* counts) {
  const std::int64_t C = in.classes;
  std::int64_t* tp = counts;
  std::int64_t* fp = counts + C;
  std::int64_t* missed = counts + 2 * C;
  if (C > kCellClasses) {
    return for_id_blocks(in, rb, re, [&](const std::int32_t* t, const std::int32_t* p, std::int64_t, std::int64_t n) {
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int32_t ti = t[i], pi = p[i];
        if (bad_pair(ti, pi, C)) return false;
        const std::int64_t hit = ti == pi;
        tp[ti] += hit;
        fp[pi] += 1 - hit;
        missed[ti] += 1 - hit;
      }
      return true;
    });
  }
  // tp, predicted and support, then fp = predicted - tp and missed = support - tp.
  std::vector<std::int64_t> outcomes(static_cast<std::size_t>(3 * C), 0);
  if (!count_unweighted_outcomes(in, rb, re, outcomes.data())) return false;
  for (std::int64_t c = 0; c < C; ++c) {
    const std::int64_t hits = outcomes[static_cast<std::size_t>(c)];
    tp[c] += hits;
    fp[c] += outcomes[static_cast<std::size_t>(C + c)] - hits;
    missed[c] += outcomes[static_cast<std::size_t>(2 * C + c)] - hits;
  }
  return true;
}

bool count_id_outcomes(const IdRowsInput& in, std::int64_t rb, std::int64_t re, double* sums) {
  const std::int64_t C = in.classes;
  double* tp = sums;
  double* fp = sums + C;
  double* missed = sums + 2 * C;
  return for_id_blocks(in, rb, re, [&](const std::int32_t* t, const std::int32_t* p, std::int64_t b, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int32_t ti = t[i], pi = p[i];
      if (bad_pair(ti, pi, C)) return false;
      const double* wr = in.weight + (b + i) * in.row_stride;
      const double wt = wr[ti * in.class_stride];
      if (ti == pi) {
        tp[ti] += wt;
      } else {
        fp[pi] += wr[pi * in.class_stride];
        missed[ti] += wt;
      }
    }
    return true;
  });
}

std::int64_t class_confusion_size(const ClassConfusionOptions& options) {
  return options.multilabel ? 4 * options.classes + 2 : options.classes * options.classes;
}

ClassConfusion count_class_confusion(std::string_view who, const ClassConfusionOptions& options, const Batch& batch) {
  internal::check_present(who, "y_true", batch.y_true);
  internal::check_present(who, "y_pred", batch.y_pred);
  const std::int64_t C = options.classes;
  TensorView yt = batch.y_true, yp = batch.y_pred;
  std::int64_t rows = 0;
  PredMode mode = PredMode::kIds;
  if (options.multilabel) {
    // [N, L]; [N] when L is 1.
    if (C == 1 && yt.ndim() == 1) yt = yt.expand_dims(1);
    if (C == 1 && yp.ndim() == 1) yp = yp.expand_dims(1);
    if (yt.ndim() != 2 || yp.ndim() != 2 || yt.shape() != yp.shape() || yp.shape()[1] != C) {
      throw ShapeError(str_cat(who, ": multi-label inputs must both have shape [N, ", C, "] (num_labels = ", C,
                               "); received y_true shape ", shape_string(batch.y_true.shape()), ", y_pred shape ",
                               shape_string(batch.y_pred.shape())));
    }
    rows = yt.shape()[0];
  } else {
    if (yt.ndim() == 2 && yt.shape()[1] == 1) yt = yt.squeeze(1);
    if (yt.ndim() != 1) {
      throw ShapeError(str_cat(who, ": argument `y_true` must hold class ids of shape [N] or [N, 1]; received shape ",
                               shape_string(batch.y_true.shape())));
    }
    rows = yt.shape()[0];
    if (yp.ndim() == 2 && yp.shape()[1] == 1) yp = yp.squeeze(1);
    if (yp.ndim() == 2 && yp.shape()[1] == C && C > 1) {
      mode = PredMode::kArgmax;
    } else if (yp.ndim() == 1) {
      const bool floating = yp.dtype() == DType::kFloat32 || yp.dtype() == DType::kFloat64 ||
                            yp.dtype() == DType::kFloat16 || yp.dtype() == DType::kBFloat16;
      mode = C == 2 && floating ? PredMode::kProbability : PredMode::kIds;
    } else {
      throw ShapeError(str_cat(who, ": argument `y_pred` must be scores of shape [N, ", C,
                               "] or class ids of shape [N] or [N, 1]; received shape ",
                               shape_string(batch.y_pred.shape())));
    }
    if (yp.shape()[0] != rows) {
      throw ShapeError(str_cat(who,
                               ": arguments `y_true` and `y_pred` must have the same number of rows; received "
                               "y_true shape ",
                               shape_string(batch.y_true.shape()), ", y_pred shape ",
                               shape_string(batch.y_pred.shape())));
    }
  }
  internal::check_not_empty(who, "y_pred", yp);
  const std::vector<double> w = row_weights(who, batch.sample_weight, rows);
  const std::int64_t cells = class_confusion_size(options);

  // The counting loops are compiled for 5 x 5 element types, not 8 x 8 (counting_dtypes.h);
  // errors name the inputs as given.
  Tensor tk, pk;
  const TensorView t = contiguous(yt, tk);
  const TensorView p = contiguous(yp, pk);
  Tensor tn, pn;
  const TensorView t_counted = counting_view(t, tn);
  const TensorView p_counted = counting_view(p, pn);
  Partial init;
  init.counts.assign(static_cast<std::size_t>(cells + 1), 0);
  if (!w.empty()) init.weights.assign(static_cast<std::size_t>(cells + 1), 0.0);
  // Fixed row chunks: sums are added in the same order on any number of threads. Unweighted
  // counts are integers, exact in any order, so they take longer chunks (fewer per-chunk
  // tables to clear and add: docs/performance.md, "Confusion-derived metrics on one thread").
  const std::int64_t width = options.multilabel || mode == PredMode::kArgmax ? C : 1;
  const std::int64_t rows_per_chunk =
      std::max<std::int64_t>(1, internal::kChunkSize / width) * (w.empty() ? kUnweightedChunkFactor : 1);
  // Chunks are counted a block at a time, so at most ~64 MiB of per-chunk tables are alive
  // whatever C and the batch size (ConfusionMatrix(1000) from scores has 32 rows per chunk);
  // the partials are still added in chunk order, so sums do not depend on the block size.
  const std::int64_t chunks_per_block = std::max<std::int64_t>(1, (std::int64_t{64} << 20) / (16 * (cells + 1)));
  const std::int64_t block_rows = rows_per_chunk * chunks_per_block;
  // Working memory, budgeted before it is allocated: the weights, the totals and the
  // per-chunk tables of one block.
  const std::int64_t live_chunks = std::min(chunks_per_block, (rows + rows_per_chunk - 1) / rows_per_chunk);
  internal::reserve_scratch(who, "class confusion counts",
                            8 * (6 * (cells + 1) + static_cast<std::int64_t>(w.size())) +
                                16 * (cells + 1) * std::max<std::int64_t>(1, live_chunks));
  ClassConfusion out;
  out.weighted = !w.empty();
  if (out.weighted) {
    out.weights.assign(static_cast<std::size_t>(cells), 0.0);
  } else {
    out.counts.assign(static_cast<std::size_t>(cells), 0);
  }
  bool nan = false, bad = false;
  for (std::int64_t bb = 0; bb < rows; bb += block_rows) {
    std::vector<Partial> partials;
    visit_counting_dtype(t_counted, [&](const auto* tv) {
      visit_counting_dtype(p_counted, [&](const auto* pv) {
        partials = internal::chunk_partials(
            std::min(block_rows, rows - bb), init,
            [&](std::int64_t cb, std::int64_t ce, Partial& acc) {
              const std::int64_t rb = bb + cb, re = bb + ce;
              if (options.multilabel) {
                count_multilabel(tv, pv, C, options.threshold, w, rb, re, acc);
              } else {
                switch (mode) {
                  case PredMode::kIds:
                    count_multiclass<PredMode::kIds>(tv, pv, C, options.threshold, w, rb, re, acc);
                    break;
                  case PredMode::kProbability:
                    count_multiclass<PredMode::kProbability>(tv, pv, C, options.threshold, w, rb, re, acc);
                    break;
                  case PredMode::kArgmax:
                    count_multiclass<PredMode::kArgmax>(tv, pv, C, options.threshold, w, rb, re, acc);
                    break;
                }
              }
            },
            rows_per_chunk);
      });
    });
    for (const Partial& part : partials) {
      nan |= part.nan;
      bad |= part.counts.back() != 0;
      if (out.weighted) {
        for (std::size_t k = 0; k < out.weights.size(); ++k) out.weights[k] += part.weights[k];
      } else {
        for (std::size_t k = 0; k < out.counts.size(); ++k) out.counts[k] += part.counts[k];
      }
    }
  }
  if (nan) internal::check_no_nan(who, "y_pred", yp);  // throws naming the first NaN
  if (bad) {
    if (options.multilabel) {
      throw_bad_ids(who, "y_true", t, 2, 1);
    }
    // Labels first, then predicted ids: report the side at fault.
    visit_dtype(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (std::int64_t i = 0; i < rows; ++i) {
        if (id_of(t.data_as<T>()[i], C) < 0) throw_bad_ids(who, "y_true", t, C, 1);
      }
    });
    throw_bad_ids(who, "y_pred", p, C, 1);
  }
  return out;
}

}  // namespace tally::metrics::kernels
