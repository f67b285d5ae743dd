#include "tally/metrics/accuracy.h"

#include <cmath>

#include "internal/parallel.h"
#include "metrics/kernels/accuracy_math.h"
#include "metrics/kernels/mean_update.h"
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

template <class Match>
Tensor elementwise_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred, Match&& match);

// Elementwise match counting for Accuracy and BinaryAccuracy. `match(t, p)` -> 0 or 1.
template <class Match, class Count>
void accumulate_elementwise(Variables& vars, const std::string& me, const Batch& batch, Match&& match, Count&& count) {
  TensorView t = batch.y_true, p = batch.y_pred;
  kernels::align_same_shape(me, t, p);
  const TensorView& w = batch.sample_weight;
  Tensor th, ph;
  const TensorView tc = kernels::contiguous(t, th);
  const TensorView pc = kernels::contiguous(p, ph);
  const std::int64_t n = pc.numel();
  const std::int64_t rows = pc.ndim() == 0 ? 1 : pc.shape()[0];
  if (!w.has_value()) {
    // Fast path: count matches exactly (int64), then Keras's mean of per-row means.
    const std::int64_t matches = visit_dtype(tc.dtype(), [&](auto ttag) {
      return visit_dtype(pc.dtype(), [&](auto ptag) {
        using T = decltype(ttag);
        using P = decltype(ptag);
        const T* tp = static_cast<const T*>(tc.data());
        const P* pp = static_cast<const P*>(pc.data());
        return internal::chunked_reduce(
            n, std::int64_t{0}, [&](std::int64_t b, std::int64_t e, std::int64_t& acc) { acc += count(tp, pp, b, e); },
            [](std::int64_t& total, std::int64_t part) { total += part; });
      });
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
  const TensorView tc = kernels::contiguous(t, th);
  const TensorView pc = kernels::contiguous(p, ph);
  const std::int64_t n = pc.numel();
  Tensor values(DType::kFloat64, pc.shape());
  double* out = values.data_as<double>();
  visit_dtype(tc.dtype(), [&](auto ttag) {
    visit_dtype(pc.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = static_cast<const T*>(tc.data());
      const P* pp = static_cast<const P*>(pc.data());
      internal::parallel_for_chunks(n, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) out[i] = match(tp[i], pp[i]) ? 1.0 : 0.0;
      });
    });
  });
  return values;
}

std::int64_t read_k(ConfigReader& r, const char* owner) {
  const std::int64_t k = r.get_int("k", 5);
  if (k < 1) throw ConfigError(std::string(owner) + ": config key `k` must be >= 1; received " + std::to_string(k));
  return k;
}

void check_k(std::int64_t k, const char* owner) {
  if (k < 1) throw InvalidArgument(std::string(owner) + ": argument `k` must be >= 1; received " + std::to_string(k));
}

}  // namespace

// --- Accuracy -----------------------------------------------------------------------

Accuracy::Accuracy(std::string name, DType dtype) : MeanBasedMetric(std::move(name), dtype) {}

std::unique_ptr<Metric> Accuracy::from_config(const Json& config) {
  ConfigReader r("Accuracy", config);
  auto m = std::make_unique<Accuracy>(r.name("accuracy"), r.dtype());
  r.finish();
  return m;
}

void Accuracy::accumulate(Variables& vars, const Batch& batch) const {
  auto match = [](auto t, auto p) { return to_double(t) == to_double(p); };
  accumulate_elementwise(vars, who(*this), batch, match,
                         [match](const auto* t, const auto* p, std::int64_t b, std::int64_t e) {
                           std::int64_t n = 0;
                           for (std::int64_t i = b; i < e; ++i) n += static_cast<std::int64_t>(match(t[i], p[i]));
                           return n;
                         });
}

// --- BinaryAccuracy -------------------------------------------------------------------

BinaryAccuracy::BinaryAccuracy(std::string name, DType dtype, double threshold)
    : MeanBasedMetric(std::move(name), dtype), threshold_(threshold) {
  // Keras: "Invalid value for argument `threshold`" outside [0, 1].
  if (!(threshold >= 0.0 && threshold <= 1.0)) {
    throw InvalidArgument(
        internal::str_cat("BinaryAccuracy: Invalid value for argument `threshold`: it must be in [0, 1]; "
                          "received ",
                          threshold));
  }
}

std::unique_ptr<Metric> BinaryAccuracy::from_config(const Json& config) {
  ConfigReader r("BinaryAccuracy", config);
  const std::string name = r.name("binary_accuracy");
  const DType dtype = r.dtype();
  const double threshold = r.get_double("threshold", 0.5);
  r.finish();
  return std::make_unique<BinaryAccuracy>(name, dtype, threshold);
}

Json BinaryAccuracy::get_config() const {
  Json c = Metric::get_config();
  c["threshold"] = threshold_;
  return c;
}

void BinaryAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const double threshold = threshold_;
  accumulate_elementwise(
      vars, who(*this), batch, [threshold](auto t, auto p) { return kernels::binary_match(t, p, threshold); },
      [threshold](const auto* t, const auto* p, std::int64_t b, std::int64_t e) {
        return kernels::count_binary_matches(t, p, b, e, threshold);
      });
}

// --- CategoricalAccuracy ----------------------------------------------------------------

CategoricalAccuracy::CategoricalAccuracy(std::string name, DType dtype) : MeanBasedMetric(std::move(name), dtype) {}

std::unique_ptr<Metric> CategoricalAccuracy::from_config(const Json& config) {
  ConfigReader r("CategoricalAccuracy", config);
  auto m = std::make_unique<CategoricalAccuracy>(r.name("categorical_accuracy"), r.dtype());
  r.finish();
  return m;
}

namespace {
// Per-sample values of CategoricalAccuracy (also the functional form).
Tensor categorical_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred) {
  Tensor th, ph;
  const Rows t = rows_of(me, "y_true", y_true, th);
  const Rows p = rows_of(me, "y_pred", y_pred, ph);
  internal::check_same_shape(me, "y_true", y_true, "y_pred", y_pred);
  const Tensor values = visit_dtype(t.data.dtype(), [&](auto ttag) {
    return visit_dtype(p.data.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = static_cast<const T*>(t.data.data());
      const P* pp = static_cast<const P*>(p.data.data());
      return per_row(p.leading, p.rows, [&](std::int64_t r) {
        return kernels::argmax_row(tp + r * t.width, t.width) == kernels::argmax_row(pp + r * p.width, p.width) ? 1.0
                                                                                                                : 0.0;
      });
    });
  });
  return values;
}
}  // namespace

void CategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me, categorical_values(me, batch.y_true, batch.y_pred), batch.sample_weight);
}

// --- SparseCategoricalAccuracy ------------------------------------------------------------

SparseCategoricalAccuracy::SparseCategoricalAccuracy(std::string name, DType dtype)
    : MeanBasedMetric(std::move(name), dtype) {}

std::unique_ptr<Metric> SparseCategoricalAccuracy::from_config(const Json& config) {
  ConfigReader r("SparseCategoricalAccuracy", config);
  auto m = std::make_unique<SparseCategoricalAccuracy>(r.name("sparse_categorical_accuracy"), r.dtype());
  r.finish();
  return m;
}

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
  const Tensor values = visit_dtype(labels.dtype(), [&](auto ttag) {
    return visit_dtype(p.data.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = static_cast<const T*>(labels.data());
      const P* pp = static_cast<const P*>(p.data.data());
      return per_row(p.leading, p.rows, [&](std::int64_t r) {
        // Keras casts y_true to y_pred's float type: a non-integral label never matches.
        return kernels::label_of(to_double(tp[r])) == kernels::argmax_row(pp + r * p.width, p.width) ? 1.0 : 0.0;
      });
    });
  });
  return values;
}
}  // namespace

void SparseCategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me, sparse_categorical_values(me, batch.y_true, batch.y_pred), batch.sample_weight);
}

// --- TopKCategoricalAccuracy ------------------------------------------------------------

TopKCategoricalAccuracy::TopKCategoricalAccuracy(std::int64_t k, std::string name, DType dtype)
    : MeanBasedMetric(std::move(name), dtype), k_(k) {
  check_k(k, "TopKCategoricalAccuracy");
}

std::unique_ptr<Metric> TopKCategoricalAccuracy::from_config(const Json& config) {
  ConfigReader r("TopKCategoricalAccuracy", config);
  const std::string name = r.name("top_k_categorical_accuracy");
  const DType dtype = r.dtype();
  const std::int64_t k = read_k(r, "TopKCategoricalAccuracy");
  r.finish();
  return std::make_unique<TopKCategoricalAccuracy>(k, name, dtype);
}

Json TopKCategoricalAccuracy::get_config() const {
  Json c = Metric::get_config();
  c["k"] = k_;
  return c;
}

namespace {
// Per-sample values of TopKCategoricalAccuracy (also the functional form).
Tensor top_k_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred, std::int64_t k) {
  Tensor th, ph;
  const Rows t = rows_of(me, "y_true", y_true, th);
  const Rows p = rows_of(me, "y_pred", y_pred, ph);
  internal::check_same_shape(me, "y_true", y_true, "y_pred", y_pred);
  const Tensor values = visit_dtype(t.data.dtype(), [&](auto ttag) {
    return visit_dtype(p.data.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = static_cast<const T*>(t.data.data());
      const P* pp = static_cast<const P*>(p.data.data());
      return per_row(p.leading, p.rows, [&](std::int64_t r) {
        const std::int64_t target = kernels::argmax_row(tp + r * t.width, t.width);
        return kernels::in_top_k(pp + r * p.width, p.width, target, k) ? 1.0 : 0.0;
      });
    });
  });
  return values;
}
}  // namespace

void TopKCategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me, top_k_values(me, batch.y_true, batch.y_pred, k_), batch.sample_weight);
}

// --- SparseTopKCategoricalAccuracy --------------------------------------------------------

SparseTopKCategoricalAccuracy::SparseTopKCategoricalAccuracy(std::int64_t k, PredictionKind kind, std::string name,
                                                             DType dtype)
    : MeanBasedMetric(std::move(name), dtype), k_(k), kind_(kind) {
  check_k(k, "SparseTopKCategoricalAccuracy");
}

std::unique_ptr<Metric> SparseTopKCategoricalAccuracy::from_config(const Json& config) {
  ConfigReader r("SparseTopKCategoricalAccuracy", config);
  const std::string name = r.name("sparse_top_k_categorical_accuracy");
  const DType dtype = r.dtype();
  const std::int64_t k = read_k(r, "SparseTopKCategoricalAccuracy");
  const bool sorted = r.get_bool("from_sorted_ids", false);
  r.finish();
  return std::make_unique<SparseTopKCategoricalAccuracy>(
      k, sorted ? PredictionKind::kSortedIds : PredictionKind::kScores, name, dtype);
}

Json SparseTopKCategoricalAccuracy::get_config() const {
  Json c = Metric::get_config();
  c["k"] = k_;
  if (kind_ == PredictionKind::kSortedIds) c["from_sorted_ids"] = true;
  return c;
}

namespace {
// Per-sample values of SparseTopKCategoricalAccuracy (also the functional form).
Tensor sparse_top_k_values(const std::string& me, const TensorView& y_true, const TensorView& y_pred, std::int64_t k,
                           PredictionKind kind) {
  Tensor th, ph;
  const Rows p = rows_of(me, "y_pred", y_pred, ph);
  const TensorView labels = kernels::contiguous(sparse_labels(me, y_true, p), th);
  const bool sorted = kind == PredictionKind::kSortedIds;
  const Tensor values = visit_dtype(labels.dtype(), [&](auto ttag) {
    return visit_dtype(p.data.dtype(), [&](auto ptag) {
      using T = decltype(ttag);
      using P = decltype(ptag);
      const T* tp = static_cast<const T*>(labels.data());
      const P* pp = static_cast<const P*>(p.data.data());
      return per_row(p.leading, p.rows, [&](std::int64_t r) {
        const double label = to_double(tp[r]);
        const P* row = pp + r * p.width;
        if (sorted) {
          // Keras compares y_true (cast to y_pred's dtype) with the first k ids.
          for (std::int64_t c = 0; c < std::min(k, p.width); ++c) {
            if (to_double(row[c]) == label) return 1.0;
          }
          return 0.0;
        }
        // Keras casts sparse targets to int32: truncation toward zero.
        // Ids outside (-1, C) are misses; test before casting (1e30 does not fit an int64).
        const std::int64_t target =
            label > -1.0 && label < static_cast<double>(p.width) ? static_cast<std::int64_t>(label) : -1;
        return kernels::in_top_k(row, p.width, target, k) ? 1.0 : 0.0;
      });
    });
  });
  return values;
}
}  // namespace

void SparseTopKCategoricalAccuracy::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = who(*this);
  kernels::add_samplewise(vars, me, sparse_top_k_values(me, batch.y_true, batch.y_pred, k_, kind_),
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
