#include "tally/metrics/accuracy.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "internal/parallel.h"
#include "metrics/kernels/accuracy_math.h"
#include "metrics/kernels/grouped_mean.h"
#include "metrics/kernels/mean_update.h"
#include "metrics/kernels/row_argmax.h"
#include "tally/config.h"
#include "tally/metrics/functional.h"

namespace tally::metrics {
namespace {

using kernels::who;

// Rows of a row-wise input: everything but the last axis is flattened into rows (Keras
// reshapes rank > 2 inputs to [-1, classes]); the per-row results keep the leading shape.
struct Rows {
  TensorView data;  // contiguous
  std::int64_t rows = 0;
  std::int64_t width = 0;
  Shape leading;  // shape without the last axis
};

Rows rows_of(std::string_view me, const char* arg, const TensorView& view, Tensor& holder) {
  internal::check_not_empty(me, arg, view);
  if (view.ndim() < 1) internal::check_rank(me, arg, view, 1, 64);
  Rows r;
  r.data = kernels::contiguous(view, holder);
  r.width = view.shape().back();
  r.leading = Shape(view.shape().begin(), view.shape().end() - 1);
  r.rows = shape_numel(r.leading);
  return r;
}

// Per-row values from fn(row index) in parallel (disjoint writes: thread-count invariant).
template <class Fn>
Tensor per_row(const Shape& leading, std::int64_t rows, Fn&& fn) {
  Tensor values(DType::kFloat64, leading.empty() ? Shape{1} : leading);
  double* out = values.data_as<double>();
  internal::parallel_for_chunks(
      rows,
      [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t r = b; r < e; ++r) out[r] = fn(r);
      },
      std::max<std::int64_t>(1, internal::kChunkSize / 64));
  return values;
}

// Every row's argmax (argmax_row's semantics: ties to the first index), on the SIMD kernel
// (row_argmax.h) for float32 and float64 rows.
std::vector<std::int32_t> row_argmaxes(const Rows& r) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(r.rows));
  visit_dtype(r.data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(r.data.data());
    const std::int64_t width = r.width;
    internal::parallel_for_chunks(
        r.rows,
        [&](std::int64_t b, std::int64_t e) {
          if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
            kernels::simd::row_argmax(p + b * width, e - b, width, ids.data() + b);
          } else {
            for (std::int64_t i = b; i < e; ++i) {
              ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(kernels::argmax_row(p + i * width, width));
            }
          }
        },
        std::max<std::int64_t>(1, internal::kChunkSize / 64));
  });
  return ids;
}

// Per-row in_top_k of every row (accuracy_math.h), on the SIMD kernel (row_argmax.h) for
// float32 and float64 rows; targets[r] is -1 for a label that is no class.
Tensor top_k_hits(const Rows& r, const std::vector<std::int64_t>& targets, std::int64_t k) {
  return visit_dtype(r.data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(r.data.data());
    const std::int64_t width = r.width;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      Tensor values(DType::kFloat64, r.leading.empty() ? Shape{1} : r.leading);
      double* out = values.data_as<double>();
      internal::parallel_for_chunks(
          r.rows,
          [&](std::int64_t b, std::int64_t e) {
            kernels::simd::top_k_hits(p + b * width, e - b, width, targets.data() + b, k, out + b);
          },
          std::max<std::int64_t>(1, internal::kChunkSize / 64));
      return values;
    } else {
      return per_row(r.leading, r.rows, [&](std::int64_t i) {
        return kernels::in_top_k(p + i * width, width, targets[static_cast<std::size_t>(i)], k) ? 1.0 : 0.0;
      });
    }
  });
}

template <class Match>
Tensor elementwise_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred, Match&& match);

// Calls fn(const T*, const P*) on contiguous labels made by counting_view and contiguous
// scores: T one of counting_dtypes.h's 5 element types, P any dtype but bool, which is read
// as uint8 (a bool byte is 0 or 1). 35 instantiations of each match loop instead of 64 (CI
// compile time); scores keep float16 / bfloat16, whose precision sets BinaryAccuracy's
// threshold (threshold_in, accuracy_math.h).
template <class Fn>
decltype(auto) visit_match_types(const TensorView& t, const TensorView& p, Fn&& fn) {
  return kernels::visit_counting_dtype(t, [&](const auto* tv) {
    if (p.dtype() == DType::kBool) return fn(tv, static_cast<const std::uint8_t*>(p.data()));
    return visit_dtype(p.dtype(), [&](auto ptag) {
      using P = decltype(ptag);
      return fn(tv, static_cast<const P*>(p.data()));
    });
  });
}

// Elementwise match counting for Accuracy and BinaryAccuracy. `match(t, p)` -> 0 or 1.
template <class Match, class Count>
void accumulate_elementwise(Variables& vars, const std::string& me, const Batch& batch, Match&& match, Count&& count) {
  TensorView t = batch.y_true, p = batch.y_pred;
  kernels::align_same_shape(me, t, p);
  const TensorView& w = batch.sample_weight;
  Tensor th, ph;
  const TensorView tc = kernels::counting_view(t, th);
  const TensorView pc = kernels::contiguous(p, ph);
  const std::int64_t n = pc.numel();
  const std::int64_t rows = pc.ndim() == 0 ? 1 : pc.shape()[0];
  if (!w.has_value()) {
    // Fast path: count matches exactly (int64), then Keras's mean of per-row means.
    const std::int64_t matches = visit_match_types(tc, pc, [&](const auto* tp, const auto* pp) {
      return internal::chunked_reduce(
          n, std::int64_t{0}, [&](std::int64_t b, std::int64_t e, std::int64_t& acc) { acc += count(tp, pp, b, e); },
          [](std::int64_t& total, std::int64_t part) { total += part; });
    });
    vars.f64(0)[0] += static_cast<double>(matches) / static_cast<double>(n / rows);
    vars.f64(1)[0] += pc.ndim() == 0 ? 1.0 : static_cast<double>(rows);
    return;
  }
  kernels::add_samplewise(vars, me, elementwise_values(me, batch.y_true, batch.y_pred, match), w);
}

// Per-element 0/1 values of `match` over the aligned inputs.
template <class Match>
Tensor elementwise_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred, Match&& match) {
  TensorView t = y_true, p = y_pred;
  kernels::align_same_shape(me, t, p);
  Tensor th, ph;
  const TensorView tc = kernels::counting_view(t, th);
  const TensorView pc = kernels::contiguous(p, ph);
  const std::int64_t n = pc.numel();
  Tensor values(DType::kFloat64, pc.shape());
  double* out = values.data_as<double>();
  visit_match_types(tc, pc, [&](const auto* tp, const auto* pp) {
    internal::parallel_for_chunks(n, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) out[i] = match(tp[i], pp[i]) ? 1.0 : 0.0;
    });
  });
  return values;
}

void check_k(std::int64_t k, const char* owner) {
  if (k < 1) throw InvalidArgument(std::string(owner) + ": argument `k` must be >= 1; received " + std::to_string(k));
}

}  // namespace

// --- Accuracy -----------------------------------------------------------------------

const MetricSpec<BasicOptions>& Accuracy::spec() {
  static const MetricSpec<BasicOptions> spec{"Accuracy",
                                             "accuracy",
                                             "How often y_true equals y_pred, element by element.",
                                             Direction::kHigherIsBetter,
                                             InputContract{"values", "values", {1, 2, 3}},
                                             "scalar",
                                             OptionTable<BasicOptions>{}};
  return spec;
}

Accuracy::Accuracy(const Options& options) : ConfiguredMetric(options) {}

void Accuracy::accumulate(Variables& vars, const Batch& batch) const {
  auto match = [](auto t, auto p) { return to_double(t) == to_double(p); };
  accumulate_elementwise(vars, who(*this), batch, match,
                         [match](const auto* t, const auto* p, std::int64_t b, std::int64_t e) {
                           std::int64_t n = 0;
                           for (std::int64_t i = b; i < e; ++i) n += static_cast<std::int64_t>(match(t[i], p[i]));
                           return n;
                         });
}

std::unique_ptr<GroupedKernel> Accuracy::grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                        std::size_t groups, std::int64_t chunk_rows) const {
  return kernels::grouped_mean(who(*this), batch, group, groups, chunk_rows,
                               [](auto t, auto p) { return to_double(t) == to_double(p); });
}

// --- BinaryAccuracy -------------------------------------------------------------------

const MetricSpec<BinaryAccuracyOptions>& BinaryAccuracy::spec() {
  using O = BinaryAccuracyOptions;
  static const MetricSpec<O> spec{
      "BinaryAccuracy",
      "binary_accuracy",
      "How often (y_pred > threshold) equals the 0/1 label.",
      Direction::kHigherIsBetter,
      InputContract{"binary", "probabilities", {1, 2, 3}},
      "scalar",
      OptionTable<O>{name_and_dtype<O>(),
                     // Keras raises "Invalid value for argument `threshold`" outside [0, 1].
                     field("threshold", &O::threshold, "Scores strictly above it are predicted positive.",
                           rules::in_range(0.0, 1.0))}};
  return spec;
}

BinaryAccuracy::BinaryAccuracy(const Options& options) : ConfiguredMetric(options) {}

void BinaryAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const double threshold = options().threshold;
  accumulate_elementwise(
      vars, who(*this), batch, [threshold](auto t, auto p) { return kernels::binary_match(t, p, threshold); },
      [threshold](const auto* t, const auto* p, std::int64_t b, std::int64_t e) {
        return kernels::count_binary_matches(t, p, b, e, threshold);
      });
}

std::unique_ptr<GroupedKernel> BinaryAccuracy::grouped_kernel(const Batch& batch, std::span<const std::int32_t> group,
                                                              std::size_t groups, std::int64_t chunk_rows) const {
  const double threshold = options().threshold;
  return kernels::grouped_mean(who(*this), batch, group, groups, chunk_rows, kernels::BinaryMatchValue{threshold});
}

// --- CategoricalAccuracy ----------------------------------------------------------------

namespace {
// Per-sample values of CategoricalAccuracy (also the functional form).
Tensor categorical_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred) {
  Tensor th, ph;
  const Rows t = rows_of(me, "y_true", y_true, th);
  const Rows p = rows_of(me, "y_pred", y_pred, ph);
  internal::check_same_shape(me, "y_true", y_true, "y_pred", y_pred);
  const std::vector<std::int32_t> ti = row_argmaxes(t);
  const std::vector<std::int32_t> pi = row_argmaxes(p);
  return per_row(p.leading, p.rows, [&](std::int64_t r) {
    return ti[static_cast<std::size_t>(r)] == pi[static_cast<std::size_t>(r)] ? 1.0 : 0.0;
  });
}
}  // namespace

const MetricSpec<BasicOptions>& CategoricalAccuracy::spec() {
  static const MetricSpec<BasicOptions> spec{"CategoricalAccuracy",
                                             "categorical_accuracy",
                                             "How often argmax(y_pred) equals argmax(one-hot y_true).",
                                             Direction::kHigherIsBetter,
                                             InputContract{"one_hot", "scores", {1, 2, 3}},
                                             "scalar",
                                             OptionTable<BasicOptions>{}};
  return spec;
}

CategoricalAccuracy::CategoricalAccuracy(const Options& options) : ConfiguredMetric(options) {}

void CategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me, categorical_values(me, batch.y_true, batch.y_pred), batch.sample_weight);
}

// --- SparseCategoricalAccuracy ------------------------------------------------------------

const MetricSpec<BasicOptions>& SparseCategoricalAccuracy::spec() {
  static const MetricSpec<BasicOptions> spec{"SparseCategoricalAccuracy",
                                             "sparse_categorical_accuracy",
                                             "How often argmax(y_pred) equals the integer label.",
                                             Direction::kHigherIsBetter,
                                             InputContract{"sparse_ids", "scores", {1, 2, 3}},
                                             "scalar",
                                             OptionTable<BasicOptions>{}};
  return spec;
}

SparseCategoricalAccuracy::SparseCategoricalAccuracy(const Options& options) : ConfiguredMetric(options) {}

namespace {

// Sparse labels against rows of scores: y_true has the leading shape of y_pred, or that
// shape plus a trailing unit axis (squeezed, as Keras does).
TensorView sparse_labels(std::string_view me, const TensorView& y_true, const Rows& p) {
  internal::check_not_empty(me, "y_true", y_true);
  TensorView t = y_true;
  if (t.ndim() == static_cast<std::int64_t>(p.leading.size()) + 1 && t.shape().back() == 1) t = t.squeeze(-1);
  if (t.shape() != p.leading) {
    throw ShapeError(internal::str_cat(me,
                                       ": argument `y_true` must hold one label per row of `y_pred`; received "
                                       "y_true shape ",
                                       shape_string(y_true.shape()), ", y_pred shape ",
                                       shape_string(Shape(p.leading.begin(), p.leading.end())), " + [", p.width, "]"));
  }
  return t;
}

}  // namespace

namespace {
// Per-sample values of SparseCategoricalAccuracy (also the functional form).
Tensor sparse_categorical_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred) {
  Tensor th, ph;
  const Rows p = rows_of(me, "y_pred", y_pred, ph);
  const TensorView labels = kernels::contiguous(sparse_labels(me, y_true, p), th);
  const std::vector<std::int32_t> pi = row_argmaxes(p);
  return visit_dtype(labels.dtype(), [&](auto ttag) {
    using T = decltype(ttag);
    const T* tp = static_cast<const T*>(labels.data());
    return per_row(p.leading, p.rows, [&](std::int64_t r) {
      // Keras casts y_true to y_pred's float type: a non-integral label never matches.
      return kernels::label_of(to_double(tp[r])) == pi[static_cast<std::size_t>(r)] ? 1.0 : 0.0;
    });
  });
}
}  // namespace

void SparseCategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me, sparse_categorical_values(me, batch.y_true, batch.y_pred), batch.sample_weight);
}

// --- TopKCategoricalAccuracy ------------------------------------------------------------

const MetricSpec<TopKOptions>& TopKCategoricalAccuracy::spec() {
  using O = TopKOptions;
  static const MetricSpec<O> spec{"TopKCategoricalAccuracy",
                                  "top_k_categorical_accuracy",
                                  "How often argmax(y_true) is in the top k scores.",
                                  Direction::kHigherIsBetter,
                                  InputContract{"one_hot", "scores", {1, 2, 3}},
                                  "scalar",
                                  OptionTable<O>{field("k", &O::k, "How many of the highest scores count as a hit.",
                                                       rules::at_least(1, RuleError::kConfig)),
                                                 name_and_dtype<O>()}};
  return spec;
}

TopKCategoricalAccuracy::TopKCategoricalAccuracy(const Options& options) : ConfiguredMetric(options) {}

namespace {
// Per-sample values of TopKCategoricalAccuracy (also the functional form).
Tensor top_k_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred, std::int64_t k) {
  Tensor th, ph;
  const Rows t = rows_of(me, "y_true", y_true, th);
  const Rows p = rows_of(me, "y_pred", y_pred, ph);
  internal::check_same_shape(me, "y_true", y_true, "y_pred", y_pred);
  const std::vector<std::int32_t> ids = row_argmaxes(t);
  return top_k_hits(p, std::vector<std::int64_t>(ids.begin(), ids.end()), k);
}
}  // namespace

void TopKCategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me, top_k_values(me, batch.y_true, batch.y_pred, options().k), batch.sample_weight);
}

// --- SparseTopKCategoricalAccuracy --------------------------------------------------------

const MetricSpec<SparseTopKOptions>& SparseTopKCategoricalAccuracy::spec() {
  using O = SparseTopKOptions;
  static const MetricSpec<O> spec{
      "SparseTopKCategoricalAccuracy",
      "sparse_top_k_categorical_accuracy",
      "How often the integer label is in the top k.",
      Direction::kHigherIsBetter,
      InputContract{"sparse_ids", "scores|ids", {1, 2, 3}},
      "scalar",
      OptionTable<O>{
          field("k", &O::k, "How many of the highest scores count as a hit.", rules::at_least(1, RuleError::kConfig)),
          name_and_dtype<O>(),
          listed_when_set(
              field("from_sorted_ids", &O::from_sorted_ids, "y_pred holds class ids sorted by decreasing score."))}};
  return spec;
}

SparseTopKCategoricalAccuracy::SparseTopKCategoricalAccuracy(const Options& options) : ConfiguredMetric(options) {}

namespace {
// Per-sample values of SparseTopKCategoricalAccuracy (also the functional form).
Tensor sparse_top_k_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred, std::int64_t k,
                           PredictionKind kind) {
  Tensor th, ph;
  const Rows p = rows_of(me, "y_pred", y_pred, ph);
  const TensorView labels = kernels::contiguous(sparse_labels(me, y_true, p), th);
  const bool sorted = kind == PredictionKind::kSortedIds;
  if (!sorted) {
    // Keras casts sparse targets to int32: truncation toward zero.
    // Ids outside (-1, C) are misses; test before casting (1e30 does not fit an int64).
    std::vector<std::int64_t> targets(static_cast<std::size_t>(p.rows));
    visit_dtype(labels.dtype(), [&](auto ttag) {
      using T = decltype(ttag);
      const T* tp = static_cast<const T*>(labels.data());
      for (std::int64_t r = 0; r < p.rows; ++r) {
        const double label = to_double(tp[r]);
        targets[static_cast<std::size_t>(r)] =
            label > -1.0 && label < static_cast<double>(p.width) ? static_cast<std::int64_t>(label) : -1;
      }
    });
    return top_k_hits(p, targets, k);
  }
  const Tensor values = visit_dtype(labels.dtype(), [&](auto ttag) {
    return visit_dtype(p.data.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = static_cast<const T*>(labels.data());
      const P* pp = static_cast<const P*>(p.data.data());
      return per_row(p.leading, p.rows, [&](std::int64_t r) {
        const double label = to_double(tp[r]);
        const P* row = pp + r * p.width;
        // Sorted ids: Keras compares y_true (cast to y_pred's dtype) with the first k ids.
        for (std::int64_t c = 0; c < std::min(k, p.width); ++c) {
          if (to_double(row[c]) == label) return 1.0;
        }
        return 0.0;
      });
    });
  });
  return values;
}
}  // namespace

void SparseTopKCategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(
      vars, me,
      sparse_top_k_values(me, batch.y_true, batch.y_pred, options().k,
                          options().from_sorted_ids ? PredictionKind::kSortedIds : PredictionKind::kScores),
      batch.sample_weight);
}

namespace functional {

Tensor accuracy(const TensorView& y_true, const TensorView& y_pred) {
  return elementwise_values("accuracy", y_true, y_pred, [](auto t, auto p) { return to_double(t) == to_double(p); });
}

Tensor binary_accuracy(const TensorView& y_true, const TensorView& y_pred, double threshold) {
  return elementwise_values("binary_accuracy", y_true, y_pred,
                            [threshold](auto t, auto p) { return kernels::binary_match(t, p, threshold); });
}

Tensor categorical_accuracy(const TensorView& y_true, const TensorView& y_pred) {
  return categorical_values("categorical_accuracy", y_true, y_pred);
}

Tensor sparse_categorical_accuracy(const TensorView& y_true, const TensorView& y_pred) {
  return sparse_categorical_values("sparse_categorical_accuracy", y_true, y_pred);
}

Tensor top_k_categorical_accuracy(const TensorView& y_true, const TensorView& y_pred, std::int64_t k) {
  check_k(k, "top_k_categorical_accuracy");
  return top_k_values("top_k_categorical_accuracy", y_true, y_pred, k);
}

Tensor sparse_top_k_categorical_accuracy(const TensorView& y_true, const TensorView& y_pred, std::int64_t k,
                                         bool from_sorted_ids) {
  check_k(k, "sparse_top_k_categorical_accuracy");
  return sparse_top_k_values("sparse_top_k_categorical_accuracy", y_true, y_pred, k,
                             from_sorted_ids ? PredictionKind::kSortedIds : PredictionKind::kScores);
}

}  // namespace functional
}  // namespace tally::metrics
