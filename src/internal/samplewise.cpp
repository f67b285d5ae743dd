#include "internal/samplewise.h"

#include <cmath>
#include <limits>
#include <vector>

#include "internal/check.h"
#include "internal/parallel.h"

namespace tally::internal {
namespace {

// Eight independent accumulators: enough instruction-level parallelism (and a shape the
// compiler turns into vector adds) to run at memory speed, with a fixed summation order
// for a given range.
template <class T>
double sum_range(const T* p, std::int64_t begin, std::int64_t end) {
  double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  std::int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    for (int k = 0; k < 8; ++k) a[k] += to_double(p[i + k]);
  }
  for (; i < end; ++i) a[0] += to_double(p[i]);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

template <class T>
double sum_contiguous(const T* p, std::int64_t n) {
  return chunked_reduce(
      n, 0.0, [p](std::int64_t b, std::int64_t e, double& acc) { acc += sum_range(p, b, e); },
      [](double& total, double part) { total += part; });
}

// Σ over rows of (Σ row) / width: Keras's per-row mean followed by the batch sum.
template <class T>
double sum_row_means(const T* p, std::int64_t rows, std::int64_t width, SampleReduce reduce) {
  const double scale = reduce == SampleReduce::kMean ? 1.0 / static_cast<double>(width) : 1.0;
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, kChunkSize / std::max<std::int64_t>(width, 1));
  return chunked_reduce(
      rows, 0.0,
      [&](std::int64_t b, std::int64_t e, double& acc) {
        for (std::int64_t r = b; r < e; ++r) acc += sum_range(p + r * width, 0, width) * scale;
      },
      [](double& total, double part) { total += part; }, rows_per_chunk);
}

struct Pair {
  double total = 0.0;
  double count = 0.0;
  std::uint64_t weight_signs = 0;  // OR of sign_word over the weights
};

// Σ v·w and Σ w in one pass that also ORs the weights' sign bits, so validation costs no
// second read of the weights: a negative weight sets the sign bit, NaN or infinity makes
// Σ w non-finite. The caller confirms with the exact check and throws before writing.
template <class T, class W>
Pair weighted_sum(const T* v, const W* w, std::int64_t n) {
  return chunked_reduce(
      n, Pair{},
      [v, w](std::int64_t b, std::int64_t e, Pair& acc) {
        // Blocks of 8: convert, then multiply-add into 8 independent accumulators, a shape
        // the compiler vectorizes; the summation order is fixed for a given range.
        double t[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        double c[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        std::uint64_t signs = 0;
        std::int64_t i = b;
        for (; i + 8 <= e; i += 8) {
          double wd[8];
          double vd[8];
          for (int k = 0; k < 8; ++k) {
            wd[k] = to_double(w[i + k]);
            vd[k] = to_double(v[i + k]);
          }
          for (int k = 0; k < 8; ++k) {
            t[k] += vd[k] * wd[k];
            c[k] += wd[k];
          }
          for (int k = 0; k < 8; ++k) signs |= sign_word(w[i + k]);
        }
        for (; i < e; ++i) {
          const double wi = to_double(w[i]);
          t[0] += to_double(v[i]) * wi;
          c[0] += wi;
          signs |= sign_word(w[i]);
        }
        acc.total += ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
        acc.count += ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
        acc.weight_signs |= signs;
      },
      [](Pair& total, const Pair& part) {
        total.total += part.total;
        total.count += part.count;
        total.weight_signs |= part.weight_signs;
      });
}

// Contiguous float64 copy of a view in C order.
std::vector<double> doubles_of(const TensorView& view) {
  std::vector<double> out(static_cast<std::size_t>(view.numel()));
  visit_dtype(view.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (view.is_contiguous()) {
      const T* p = static_cast<const T*>(view.data());
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = to_double(p[i]);
    } else {
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = view.value_at(static_cast<std::int64_t>(i));
    }
  });
  return out;
}

// Reduces a C-order buffer of shape [outer, inner] over its inner part.
std::vector<double> reduce_inner(const std::vector<double>& x, std::int64_t outer, std::int64_t inner,
                                 SampleReduce reduce) {
  std::vector<double> out(static_cast<std::size_t>(outer));
  for (std::int64_t r = 0; r < outer; ++r) {
    double s = sum_range(x.data() + r * inner, 0, inner);
    if (reduce == SampleReduce::kMean) s /= static_cast<double>(inner);
    out[static_cast<std::size_t>(r)] = s;
  }
  return out;
}

std::int64_t product(const Shape& shape, std::size_t from, std::size_t to) {
  std::int64_t n = 1;
  for (std::size_t i = from; i < to; ++i) n *= shape[i];
  return n;
}

}  // namespace

void squeeze_or_expand_to_same_rank(TensorView& a, TensorView& b, bool expand_rank_1) {
  const std::int64_t ra = a.ndim();
  const std::int64_t rb = b.ndim();
  if (ra == rb) return;
  if (ra == rb + 1 && a.shape().back() == 1) {
    if (rb == 1 && expand_rank_1) {
      b = b.expand_dims(-1);
    } else {
      a = a.squeeze(-1);
    }
    return;
  }
  if (rb == ra + 1 && b.shape().back() == 1) {
    if (ra == 1 && expand_rank_1) {
      a = a.expand_dims(-1);
    } else {
      b = b.squeeze(-1);
    }
  }
}

double sum_all(const TensorView& view) {
  if (view.is_contiguous()) {
    return visit_dtype(view.dtype(), [&](auto tag) {
      using T = decltype(tag);
      return sum_contiguous(static_cast<const T*>(view.data()), view.numel());
    });
  }
  const std::vector<double> x = doubles_of(view);
  return sum_contiguous(x.data(), static_cast<std::int64_t>(x.size()));
}

WeightedTotals reduce_to_samplewise(std::string_view who, const TensorView& values, const TensorView& sample_weight,
                                    SampleReduce reduce) {
  check_not_empty(who, "values", values);
  TensorView v = values;
  if (!sample_weight.has_value()) {
    WeightedTotals out;
    out.count = v.ndim() >= 1 ? static_cast<double>(v.shape()[0]) : 1.0;
    if (v.ndim() <= 1 || reduce == SampleReduce::kSum) {
      out.total = sum_all(v);
    } else if (v.is_contiguous()) {
      const std::int64_t rows = v.shape()[0];
      const std::int64_t width = v.numel() / rows;
      out.total = visit_dtype(v.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return sum_row_means(static_cast<const T*>(v.data()), rows, width, reduce);
      });
    } else {
      const std::vector<double> x = doubles_of(v);
      const std::int64_t rows = v.shape()[0];
      out.total = sum_row_means(x.data(), rows, v.numel() / rows, reduce);
    }
    return out;
  }

  TensorView w = sample_weight;
  if (w.numel() == 0 && w.ndim() > 0) {
    throw InvalidArgument(
        str_cat(who, ": argument `sample_weight` is empty; received shape ", shape_string(w.shape())));
  }
  squeeze_or_expand_to_same_rank(v, w);
  const auto wn = static_cast<std::size_t>(w.ndim());
  const auto vn = static_cast<std::size_t>(v.ndim());
  Shape reduced_shape(v.shape().begin(), v.shape().begin() + static_cast<std::ptrdiff_t>(std::min(wn, vn)));
  TensorView wb;
  try {
    wb = w.broadcast_to(reduced_shape);
  } catch (const ShapeError&) {
    throw ShapeError(str_cat(who, ": argument `sample_weight` of shape ", shape_string(sample_weight.shape()),
                             " cannot be broadcast to the values of shape ", shape_string(values.shape())));
  }
  // Fast path: one value per sample and one weight per sample, both contiguous.
  if (vn == 1 && wn == 1 && v.is_contiguous() && wb.is_contiguous()) {
    const Pair p = visit_dtype(v.dtype(), [&](auto vt) {
      return visit_dtype(wb.dtype(), [&](auto wt) {
        using T = decltype(vt);
        using W = decltype(wt);
        return weighted_sum(static_cast<const T*>(v.data()), static_cast<const W*>(wb.data()), v.numel());
      });
    });
    if ((p.weight_signs >> 63) != 0 || !std::isfinite(p.count)) {
      check_sample_weight_values(who, sample_weight);  // throws naming the culprit, if there is one
    }
    return WeightedTotals{p.total, p.count};
  }
  check_sample_weight_values(who, sample_weight);

  // General path, in float64 buffers: values reduced to the weight's rank, times the
  // broadcast weight, then per-row reduction of both.
  std::vector<double> vd = doubles_of(v);
  if (vn > wn) {
    vd = reduce_inner(vd, product(v.shape(), 0, wn), product(v.shape(), wn, vn), reduce);
  }
  const std::vector<double> wd = doubles_of(wb);
  WeightedTotals out;
  const std::size_t k = reduced_shape.size();
  const std::int64_t rows = k == 0 ? 1 : reduced_shape[0];
  const std::int64_t inner = k == 0 ? 1 : product(reduced_shape, 1, k);
  for (std::int64_t r = 0; r < rows; ++r) {
    double row_total = 0.0;
    double row_weight = 0.0;
    for (std::int64_t j = 0; j < inner; ++j) {
      const auto at = static_cast<std::size_t>(r * inner + j);
      row_total += vd[at] * wd[at];
      row_weight += wd[at];
    }
    if (reduce == SampleReduce::kMean && k > 1) {
      row_total /= static_cast<double>(inner);
      row_weight /= static_cast<double>(inner);
    }
    out.total += row_total;
    out.count += row_weight;
  }
  return out;
}

}  // namespace tally::internal
