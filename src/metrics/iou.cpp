#include "tally/metrics/iou.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "internal/check.h"
#include "internal/memory.h"
#include "internal/parallel.h"
#include "metrics/kernels/iou_counts.h"

namespace tally::metrics {
namespace {

using kernels::CmPartial;
using kernels::count_sparse_ints;
using kernels::count_sparse_ints_pred;
using kernels::decode;
using kernels::is_index_dtype;
using kernels::Side;

using internal::str_cat;

// Keras's IoU dtype: "int" (int32 outside TensorFlow) by default; int64 or a float dtype
// may be given. Only the config echoes it; counts are int64/float64 in tally.
DType read_iou_dtype(std::string_view owner, const Json& raw) {
  constexpr std::string_view kWanted = "one of int, int32, int64, float16, bfloat16, float32, float64";
  std::string name;
  if (raw.is_string()) {
    name = raw.get<std::string>();
  } else if (raw.is_object() && raw.contains("config") && raw["config"].is_object() && raw["config"].contains("name") &&
             raw["config"]["name"].is_string()) {
    name = raw["config"]["name"].get<std::string>();  // a serialized DTypePolicy
  }
  if (name == "int") return DType::kInt32;
  if (name == "int32") return DType::kInt32;
  if (name == "int64") return DType::kInt64;
  if (name == "float16" || name == "bfloat16" || name == "float32" || name == "float64") return dtype_from_name(name);
  detail::throw_option(RuleError::kConfig, owner, "dtype", kWanted, raw);
}

DType check_iou_dtype(DType dtype, const std::string& who) {
  if (dtype == DType::kInt32 || dtype == DType::kInt64 || is_floating(dtype)) return dtype;
  throw DTypeError(
      str_cat(who, ": argument `dtype` must be int32, int64 or a floating dtype; received ", dtype_name(dtype)));
}

// C x C counts, unweighted and weighted, within the state limit.
constexpr std::int64_t kMaxIoUClasses = 8192;
static_assert(2 * kMaxIoUClasses * kMaxIoUClasses <= kMaxStateElements);  // int64 and float64 matrices

// Every class id, for MeanIoU and OneHotMeanIoU (empty for a count the option table rejects).
std::vector<std::int64_t> all_classes(std::int64_t num_classes) {
  if (num_classes < 1 || num_classes > kMaxIoUClasses) return {};
  std::vector<std::int64_t> ids(static_cast<std::size_t>(num_classes));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  return ids;
}

// The options the IoU classes share, declared once for their tables.
template <class O>
OptionField<O> num_classes_field() {
  return required(field("num_classes", &O::num_classes, "The number of classes (the state is C x C).",
                        OptionRule{str_cat("between 1 and ", kMaxIoUClasses, " (the state is C x C)"),
                                   [](const Json& v) {
                                     return v.is_number() && v.get<double>() >= 1 &&
                                            v.get<double>() <= static_cast<double>(kMaxIoUClasses);
                                   },
                                   RuleError::kValue}));
}

template <class O>
OptionField<O> target_ids_field(std::string doc) {
  return field("target_class_ids", &O::target_class_ids, std::move(doc), rules::not_empty(), rules::each_at_least(0));
}

// Keras's int dtype replaces the generic float dtype option (options.h, "own dtype field").
template <class O>
OptionField<O> iou_dtype_field() {
  OptionField<O> f = field("dtype", &O::dtype,
                           "Keras's dtype of the confusion matrix, echoed in configs: int32 (default), int64 or a "
                           "floating dtype (float labels are truncated toward zero only with an integer dtype).");
  f.info.choices = {"int32", "int64", "float16", "bfloat16", "float32", "float64"};
  f.read = [](O& o, const Json& v, std::string_view owner) { o.dtype = read_iou_dtype(owner, v); };
  return f;
}

template <class O>
OptionField<O> ignore_class_field() {
  return field("ignore_class", &O::ignore_class, "A label id whose pairs are skipped (e.g. -1 or 255 for \"void\").");
}

template <class O>
OptionField<O> sparse_y_true_field() {
  return field("sparse_y_true", &O::sparse_y_true, "y_true holds class ids (else class scores, reduced by argmax).");
}

template <class O>
OptionField<O> sparse_y_pred_field() {
  return field("sparse_y_pred", &O::sparse_y_pred, "y_pred holds class ids (else class scores, reduced by argmax).");
}

template <class O>
OptionField<O> axis_field() {
  return field("axis", &O::axis, "The class axis of dense inputs (negative counts from the end).");
}

IoUOptions one_hot(const std::optional<std::int64_t>& ignore_class, bool sparse_y_pred, std::int64_t axis) {
  IoUOptions options;
  options.ignore_class = ignore_class;
  options.sparse_y_true = false;
  options.sparse_y_pred = sparse_y_pred;
  options.axis = axis;
  return options;
}

}  // namespace

// --- IoUBase ----------------------------------------------------------------------

IoUBase::IoUBase(std::string name, DType dtype, const std::string& owner, std::int64_t num_classes,
                 std::vector<std::int64_t> target_class_ids, IoUOptions options, std::optional<double> threshold)
    : Metric(std::move(name), DType::kFloat32),
      config_dtype_(dtype),
      num_classes_(num_classes),
      target_class_ids_(std::move(target_class_ids)),
      iou_(options),
      threshold_(threshold) {
  const std::string me = str_cat(owner, " \"", this->name(), "\"");
  check_iou_dtype(dtype, me);
  for (const std::int64_t id : target_class_ids_) {
    if (id < 0 || id >= num_classes_) {
      throw InvalidArgument(
          str_cat(me, ": argument `target_class_ids` must lie in [0, ", num_classes_, "); received ", id));
    }
  }
  check_state_budget(2 * num_classes_ * num_classes_);
  add_variable("total_confusion_matrix", {num_classes_, num_classes_}, DType::kInt64);
  add_variable("weighted_confusion_matrix", {num_classes_, num_classes_}, DType::kFloat64, Aggregation::kSum,
               Domain::kNonNegative);
}

Tensor IoUBase::confusion_matrix() const {
  const Variables& vars = variable_values();
  const std::span<const std::int64_t> counts = vars.i64(0);
  const std::span<const double> weights = vars.f64(1);
  std::vector<double> cm(counts.size());
  for (std::size_t i = 0; i < cm.size(); ++i) cm[i] = static_cast<double>(counts[i]) + weights[i];
  return Tensor::from_vector(std::span<const double>(cm), Shape{num_classes_, num_classes_});
}

void IoUBase::accumulate(Variables& vars, const Batch& batch) const {
  const std::string me = str_cat(class_name(), " \"", name(), "\"");
  const std::int64_t classes = num_classes_;
  // 1. Validate: shapes, the class axis of dense inputs, pair counts, weights.
  internal::check_present(me, "y_true", batch.y_true);
  internal::check_present(me, "y_pred", batch.y_pred);
  internal::check_not_empty(me, "y_true", batch.y_true);  // an empty batch is an error (docs/guide.md)
  internal::check_not_empty(me, "y_pred", batch.y_pred);
  auto make_side = [&](const TensorView& in, bool sparse, std::string_view arg) {
    Side side;
    side.dense = !sparse;
    TensorView v = in;
    if (side.dense) {
      if (v.ndim() < 1) {
        throw ShapeError(str_cat(me, ": argument `", arg, "` holds class scores (sparse_", arg,
                                 "=false) and needs a class axis; received shape ", shape_string(v.shape())));
      }
      const std::int64_t axis = iou_.axis < 0 ? iou_.axis + v.ndim() : iou_.axis;
      if (axis < 0 || axis >= v.ndim()) {
        throw ShapeError(str_cat(me, ": argument `axis` = ", iou_.axis, " is out of range for `", arg, "` of shape ",
                                 shape_string(v.shape())));
      }
      side.width = v.shape()[static_cast<std::size_t>(axis)];
      if (side.width < 1 && v.numel() > 0) {
        throw ShapeError(
            str_cat(me, ": argument `", arg, "` has an empty class axis; received shape ", shape_string(v.shape())));
      }
      if (axis != v.ndim() - 1) v = v.move_axis_to_end(axis);
    }
    if (!v.is_contiguous()) {
      side.copy = Tensor::copy_of(v);
      v = side.copy.view();
    }
    side.view = v;
    return side;
  };
  const bool binary = threshold_.has_value();
  Side truth = make_side(batch.y_true, iou_.sparse_y_true, "y_true");
  Side pred = make_side(batch.y_pred, binary || iou_.sparse_y_pred, "y_pred");
  const std::int64_t pairs = truth.width > 0 ? truth.view.numel() / truth.width : 0;
  const std::int64_t pred_pairs = pred.width > 0 ? pred.view.numel() / pred.width : 0;
  if (pairs != pred_pairs) {
    throw ShapeError(str_cat(me,
                             ": arguments `y_true` and `y_pred` must give the same number of labels; received "
                             "y_true shape ",
                             shape_string(batch.y_true.shape()), " (", pairs, " labels), y_pred shape ",
                             shape_string(batch.y_pred.shape()), " (", pred_pairs, " predictions)"));
  }
  // Weights: one for all pairs, one per pair, or one per row of y_true's first axis.
  std::int64_t pairs_per_weight = 0;  // 0: unweighted
  Tensor weight_copy;
  TensorView weight;
  if (batch.sample_weight.has_value()) {
    const std::int64_t wn = batch.sample_weight.numel();
    // Per row only when y_true's first axis survives (sparse labels, or argmax over another axis).
    const bool first_axis_kept =
        iou_.sparse_y_true || (iou_.axis < 0 ? iou_.axis + batch.y_true.ndim() : iou_.axis) != 0;
    const bool per_row =
        batch.y_true.ndim() >= 1 && first_axis_kept && wn > 0 && wn == batch.y_true.shape()[0] && pairs % wn == 0;
    if (wn == 1) {
      pairs_per_weight = std::max<std::int64_t>(pairs, 1);
    } else if (wn == pairs) {
      pairs_per_weight = 1;
    } else if (per_row) {
      pairs_per_weight = pairs / wn;
    } else {
      throw ShapeError(str_cat(me, ": argument `sample_weight` must have 1 element, one per label (", pairs,
                               "), or one per row of y_true; received shape ",
                               shape_string(batch.sample_weight.shape()), " for y_true shape ",
                               shape_string(batch.y_true.shape())));
    }
    internal::check_sample_weight_values(me, batch.sample_weight);
    weight = batch.sample_weight;
    if (!weight.is_contiguous()) {
      weight_copy = Tensor::copy_of(weight);
      weight = weight_copy.view();
    }
  }

  // 2. Count the batch in one pass: fixed chunks, folded in chunk order (thread invariant).
  const bool weighted = pairs_per_weight > 0;
  const bool truncate_first = !is_floating(config_dtype_);
  const bool has_ignore = iou_.ignore_class.has_value();
  const std::int64_t ignore = iou_.ignore_class.value_or(0);
  const std::size_t cells = static_cast<std::size_t>(classes * classes);
  const std::int64_t chunk = std::max<std::int64_t>(internal::kChunkSize, 4 * classes * classes);
  // At most ~64 MiB of per-chunk matrices alive at once, whatever C and the batch size.
  const std::int64_t chunks_per_block =
      std::max<std::int64_t>(1, (std::int64_t{64} << 20) / static_cast<std::int64_t>(cells * 8));
  // Working memory, budgeted before it is allocated (internal/memory.h): the initial and
  // total matrices and the per-chunk matrices of one block.
  internal::reserve_scratch(
      me, "per-chunk confusion matrices",
      static_cast<std::int64_t>(cells + 1) * 8 *
          (2 + std::min(chunks_per_block, std::max<std::int64_t>(1, (pairs + chunk - 1) / chunk))));
  const bool fused = !weighted && !binary && !truth.dense && !pred.dense && is_index_dtype(truth.view.dtype()) &&
                     is_index_dtype(pred.view.dtype());
  const std::int64_t ignored = has_ignore ? ignore : -1;  // a valid id is never -1
  const bool small_table = classes * classes < std::numeric_limits<std::int32_t>::max();
  const bool int32_truth = !truth.dense && truth.view.dtype() == DType::kInt32 && !has_ignore;
  CmPartial init;
  if (weighted) {
    init.weights.assign(cells, 0.0);
  } else {
    init.counts.assign(cells + 1, 0);  // + the spare cell of the fused loop
  }
  CmPartial total = init;
  bool nan = false;
  const std::int64_t block = chunk * chunks_per_block;
  for (std::int64_t block_begin = 0; block_begin < pairs; block_begin += block) {
    const std::int64_t block_n = std::min(block, pairs - block_begin);
    std::vector<CmPartial> partials = internal::chunk_partials(
        block_n, init,
        [&](std::int64_t rb, std::int64_t re, CmPartial& acc) {
          // Decode ids in L1-sized blocks, then count them: two short loops the compiler
          // keeps tight, without a buffer as large as the chunk.
          if (fused) {
            const std::int64_t b = block_begin + rb;
            const std::int64_t e = block_begin + re;
            std::int64_t* cm = acc.counts.data();
            switch (truth.view.dtype()) {
              case DType::kInt32:
                count_sparse_ints_pred(truth.view.data_as<std::int32_t>(), pred.view, b, e, classes, ignored, cm);
                break;
              case DType::kInt64:
                count_sparse_ints_pred(truth.view.data_as<std::int64_t>(), pred.view, b, e, classes, ignored, cm);
                break;
              default:
                count_sparse_ints_pred(truth.view.data_as<std::uint8_t>(), pred.view, b, e, classes, ignored, cm);
                break;
            }
            return;
          }
          constexpr std::int64_t kBlock = 1024;
          std::int32_t t[kBlock];
          std::int32_t p[kBlock];
          std::int32_t cell_ids[kBlock];
          // Unweighted: cell indices in SIMD (kSkip sends a pair to the spare cell, which the
          // totals below leave out), counted in interleaved sub-histograms (cell_counter.h).
          std::optional<kernels::CellCounter> counter;
          if (!weighted && small_table)
            counter.emplace(static_cast<std::int64_t>(cells) + 1, re - rb, acc.counts.data());
          for (std::int64_t b = block_begin + rb; b < block_begin + re; b += kBlock) {
            const std::int64_t e = std::min(block_begin + re, b + kBlock);
            const std::int64_t n = e - b;
            if (counter && int32_truth) {
              // class_cells sends ids outside [0, classes) to the spare cell: no decoding.
              acc.nan |= decode(pred, b, e, classes, truncate_first, false, 0, threshold_, p);
              kernels::simd::class_cells(truth.view.data_as<std::int32_t>() + b, p, n,
                                         static_cast<std::int32_t>(classes), cell_ids);
              counter->add(cell_ids, n);
              continue;
            }
            acc.nan |= decode(truth, b, e, classes, truncate_first, has_ignore, ignore, std::nullopt, t);
            acc.nan |= decode(pred, b, e, classes, truncate_first, false, 0, threshold_, p);
            if (counter) {
              kernels::simd::class_cells(t, p, n, static_cast<std::int32_t>(classes), cell_ids);
              counter->add(cell_ids, n);
              continue;
            }
            if (!weighted) {
              std::int64_t* cm = acc.counts.data();
              for (std::int64_t i = 0; i < n; ++i) {
                if ((t[i] | p[i]) >= 0) ++cm[t[i] * classes + p[i]];
              }
              continue;
            }
            double* cm = acc.weights.data();
            visit_dtype(weight.dtype(), [&](auto tag) {
              using W = decltype(tag);
              const W* w = static_cast<const W*>(weight.data());
              const bool one = weight.numel() == 1;
              for (std::int64_t i = 0; i < n; ++i) {
                if ((t[i] | p[i]) < 0) continue;
                const std::int64_t at = one ? 0 : (b + i) / pairs_per_weight;
                cm[t[i] * classes + p[i]] += to_double(w[at]);
              }
            });
          }
        },
        chunk);
    for (const CmPartial& part : partials) {
      nan |= part.nan;
      for (std::size_t i = 0; i < cells && i < part.counts.size(); ++i) total.counts[i] += part.counts[i];
      for (std::size_t i = 0; i < part.weights.size(); ++i) total.weights[i] += part.weights[i];
    }
  }
  if (nan) {
    throw InvalidArgument(str_cat(me, ": arguments `y_true` and `y_pred` must not contain NaN; received y_true ",
                                  batch.y_true.describe(), ", y_pred ", batch.y_pred.describe()));
  }

  // 3. Add it to the state.
  if (weighted) {
    std::span<double> cm = vars.f64(1);
    for (std::size_t i = 0; i < cells; ++i) cm[i] += total.weights[i];
  } else {
    std::span<std::int64_t> cm = vars.i64(0);
    for (std::size_t i = 0; i < cells; ++i) cm[i] += total.counts[i];
  }
}

Tensor IoUBase::result_from(const Variables& vars) const {
  const std::span<const std::int64_t> counts = vars.i64(0);
  const std::span<const double> weights = vars.f64(1);
  const auto c = static_cast<std::size_t>(num_classes_);
  auto cell = [&](std::size_t r, std::size_t k) { return static_cast<double>(counts[r * c + k]) + weights[r * c + k]; };
  double sum = 0.0;
  double valid = 0.0;
  for (const std::int64_t id : target_class_ids_) {
    const auto k = static_cast<std::size_t>(id);
    double row = 0.0;
    double column = 0.0;
    for (std::size_t j = 0; j < c; ++j) {
      row += cell(k, j);
      column += cell(j, k);
    }
    double iou = 0.0;
    if (kernels::class_iou(row, column, cell(k, k), iou)) {
      sum += iou;
      valid += 1.0;
    }
  }
  return Tensor::scalar(sum / (valid + kernels::kKerasEpsilon));
}

// --- IoU --------------------------------------------------------------------------

const MetricSpec<IoUMetricOptions>& IoU::spec() {
  using O = IoUMetricOptions;
  static const MetricSpec<O> spec{
      "IoU",
      "io_u",
      "Mean intersection-over-union over target_class_ids, from a confusion matrix.",
      Direction::kHigherIsBetter,
      InputContract{"sparse_ids|one_hot", "ids|scores", {1, 2, 3}},
      "scalar",
      OptionTable<O>{num_classes_field<O>(),
                     required(target_ids_field<O>("The classes averaged (one id gives that class's IoU).")),
                     name_and_dtype<O>(), iou_dtype_field<O>(), ignore_class_field<O>(), sparse_y_true_field<O>(),
                     sparse_y_pred_field<O>(), axis_field<O>()},
      Json{{"num_classes", 3}, {"target_class_ids", {0}}}};
  return spec;
}

IoU::IoU(const Options& o)
    : ConfiguredMetric(o, spec().class_name, o.num_classes, o.target_class_ids,
                       IoUOptions{o.ignore_class, o.sparse_y_true, o.sparse_y_pred, o.axis}, std::nullopt) {}

// --- BinaryIoU --------------------------------------------------------------------

const MetricSpec<BinaryIoUOptions>& BinaryIoU::spec() {
  using O = BinaryIoUOptions;
  static const MetricSpec<O> spec{
      "BinaryIoU",
      "binary_io_u",
      "IoU of two classes with y_pred >= threshold as class 1.",
      Direction::kHigherIsBetter,
      InputContract{"binary", "probabilities|logits", {1, 2, 3}},
      "scalar",
      OptionTable<O>{target_ids_field<O>("The classes averaged, within {0, 1}."),
                     field("threshold", &O::threshold,
                           "Scores >= threshold are class 1 (inclusive, compared in float32).", rules::finite()),
                     name_and_dtype<O>(), iou_dtype_field<O>()}};
  return spec;
}

BinaryIoU::BinaryIoU(const Options& o)
    : ConfiguredMetric(o, spec().class_name, 2, o.target_class_ids, IoUOptions{}, o.threshold) {}

// --- MeanIoU ----------------------------------------------------------------------

const MetricSpec<MeanIoUOptions>& MeanIoU::spec() {
  using O = MeanIoUOptions;
  static const MetricSpec<O> spec{
      "MeanIoU",
      "mean_io_u",
      "Mean intersection-over-union over all num_classes classes.",
      Direction::kHigherIsBetter,
      InputContract{"sparse_ids|one_hot", "ids|scores", {1, 2, 3}},
      "scalar",
      OptionTable<O>{num_classes_field<O>(), name_and_dtype<O>(), iou_dtype_field<O>(), ignore_class_field<O>(),
                     sparse_y_true_field<O>(), sparse_y_pred_field<O>(), axis_field<O>()},
      Json{{"num_classes", 3}}};
  return spec;
}

MeanIoU::MeanIoU(const Options& o)
    : ConfiguredMetric(o, spec().class_name, o.num_classes, all_classes(o.num_classes),
                       IoUOptions{o.ignore_class, o.sparse_y_true, o.sparse_y_pred, o.axis}, std::nullopt) {}

// --- OneHotIoU --------------------------------------------------------------------

const MetricSpec<OneHotIoUMetricOptions>& OneHotIoU::spec() {
  using O = OneHotIoUMetricOptions;
  static const MetricSpec<O> spec{
      "OneHotIoU",
      "one_hot_io_u",
      "IoU over target_class_ids with one-hot y_true.",
      Direction::kHigherIsBetter,
      InputContract{"one_hot", "scores|ids", {1, 2, 3}},
      "scalar",
      OptionTable<O>{num_classes_field<O>(),
                     required(target_ids_field<O>("The classes averaged (one id gives that class's IoU).")),
                     name_and_dtype<O>(), iou_dtype_field<O>(), ignore_class_field<O>(), sparse_y_pred_field<O>(),
                     axis_field<O>()},
      Json{{"num_classes", 3}, {"target_class_ids", {0}}}};
  return spec;
}

OneHotIoU::OneHotIoU(const Options& o)
    : ConfiguredMetric(o, spec().class_name, o.num_classes, o.target_class_ids,
                       one_hot(o.ignore_class, o.sparse_y_pred, o.axis), std::nullopt) {}

// --- OneHotMeanIoU ----------------------------------------------------------------

const MetricSpec<OneHotMeanIoUOptions>& OneHotMeanIoU::spec() {
  using O = OneHotMeanIoUOptions;
  static const MetricSpec<O> spec{"OneHotMeanIoU",
                                  "one_hot_mean_io_u",
                                  "Mean IoU over all classes with one-hot y_true.",
                                  Direction::kHigherIsBetter,
                                  InputContract{"one_hot", "scores|ids", {1, 2, 3}},
                                  "scalar",
                                  OptionTable<O>{num_classes_field<O>(), name_and_dtype<O>(), iou_dtype_field<O>(),
                                                 ignore_class_field<O>(), sparse_y_pred_field<O>(), axis_field<O>()},
                                  Json{{"num_classes", 3}}};
  return spec;
}

OneHotMeanIoU::OneHotMeanIoU(const Options& o)
    : ConfiguredMetric(o, spec().class_name, o.num_classes, all_classes(o.num_classes),
                       one_hot(o.ignore_class, o.sparse_y_pred, o.axis), std::nullopt) {}

}  // namespace tally::metrics
