#include "eval.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "tally/registry.h"

namespace tally::cli {
namespace {

std::int64_t columns_of(const ArraySource& s) { return s.row_shape().empty() ? 1 : s.row_shape()[0]; }

// Rows [begin, end) of this rank: the first n % world ranks take one extra row
// (pfl's distribute_range: 5 rows over 2 ranks are [0, 3) and [3, 5)).
std::pair<std::int64_t, std::int64_t> shard(std::int64_t n, int rank, int world) {
  const std::int64_t base = n / world;
  const std::int64_t extra = n % world;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

void check_no_nan(const TensorView& view, const std::string& path, std::int64_t first_row) {
  if (!is_floating(view.dtype())) return;
  const std::int64_t n = view.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = view.value_at(i);
    if (std::isnan(x)) {
      const std::int64_t per_row = view.ndim() >= 2 ? view.shape()[1] : 1;
      throw InputError(fmt::format("{}: NaN in predictions at row {}", path, first_row + i / per_row));
    }
  }
}

// Fast NaN scan for the contiguous floating case (the common one), falling back to value_at.
void check_predictions(const TensorView& view, const std::string& path, std::int64_t first_row) {
  bool has_nan = false;
  if (view.is_contiguous() && (view.dtype() == DType::kFloat32 || view.dtype() == DType::kFloat64)) {
    const std::int64_t n = view.numel();
    if (view.dtype() == DType::kFloat32) {
      const float* p = static_cast<const float*>(view.data());
      float acc = 0.0f;
      for (std::int64_t i = 0; i < n; ++i) acc += p[i] - p[i];  // NaN or inf -> NaN
      has_nan = std::isnan(acc);
    } else {
      const double* p = static_cast<const double*>(view.data());
      double acc = 0.0;
      for (std::int64_t i = 0; i < n; ++i) acc += p[i] - p[i];
      has_nan = std::isnan(acc);
    }
    if (!has_nan) return;
  }
  check_no_nan(view, path, first_row);
}

class ProgressBar {
 public:
  ProgressBar(bool enabled, std::int64_t total) : enabled_(enabled && ::isatty(2) != 0), total_(total) {}
  void update(std::int64_t done) {
    if (!enabled_) return;
    const double elapsed = seconds();
    if (elapsed < 1.0 || elapsed - last_ < 0.1) return;
    last_ = elapsed;
    drawn_ = true;
    const double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width);
    std::fprintf(stderr, "\r[%s%s] %5.1f%%  %.3g rows/s ", std::string(static_cast<std::size_t>(filled), '=').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), 100.0 * fraction,
                 static_cast<double>(done) / elapsed);
  }
  void finish() {
    if (drawn_) std::fprintf(stderr, "\r%60s\r", "");
  }

 private:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  bool enabled_;
  std::int64_t total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_ = 0.0;
  bool drawn_ = false;
};

}  // namespace

std::string_view task_name(Task task) {
  switch (task) {
    case Task::kBinary:
      return "binary";
    case Task::kMulticlass:
      return "multiclass";
    case Task::kMultilabel:
      return "multilabel";
    case Task::kRegression:
      break;
  }
  return "regression";
}

Task infer_task(ArraySource& y_true, ArraySource& y_pred, std::int64_t probe_rows) {
  const std::int64_t rows = std::min(y_true.rows(), probe_rows);
  const std::int64_t pred_cols = columns_of(y_pred);
  const std::int64_t true_cols = columns_of(y_true);
  if (rows == 0) return pred_cols > 1 ? Task::kMulticlass : Task::kBinary;
  const TensorView labels = y_true.read(0, rows);
  bool binary = true, integral = true, one_hot = true;
  double max_label = 0.0;
  for (std::int64_t r = 0; r < rows; ++r) {
    double row_sum = 0.0;
    for (std::int64_t c = 0; c < true_cols; ++c) {
      const double v = labels.value_at(r * true_cols + c);
      binary = binary && (v == 0.0 || v == 1.0);
      integral = integral && v >= 0.0 && v == std::floor(v);
      max_label = std::max(max_label, v);
      row_sum += v;
    }
    one_hot = one_hot && row_sum == 1.0;
  }
  if (pred_cols > 1) {
    if (true_cols == 1 && integral && max_label < static_cast<double>(pred_cols)) return Task::kMulticlass;
    if (true_cols == pred_cols && binary) return one_hot ? Task::kMulticlass : Task::kMultilabel;
    return Task::kRegression;
  }
  return binary ? Task::kBinary : Task::kRegression;
}

std::vector<std::string> default_metrics(Task task, std::int64_t classes) {
  switch (task) {
    case Task::kBinary:
    case Task::kMultilabel:
      return {"binary_accuracy", "precision", "recall", "auc"};
    case Task::kMulticlass: {
      std::vector<std::string> out{"categorical_accuracy"};
      if (classes > 5) out.push_back("top_k_categorical_accuracy");
      out.push_back("categorical_crossentropy");
      return out;
    }
    case Task::kRegression:
      break;
  }
  return {"mean_squared_error", "mean_absolute_error", "root_mean_squared_error", "r2_score"};
}

EvalResult run_eval(EvalOptions options, const Participation& participation) {
  if (options.batch_size <= 0) {
    throw InvalidArgument(fmt::format("--batch-size must be positive; received {}", options.batch_size));
  }
  auto y_true = open_source(parse_input_spec(options.y_true));
  auto y_pred = open_source(parse_input_spec(options.y_pred));
  std::unique_ptr<ArraySource> weights;
  if (!options.sample_weight.empty()) weights = open_source(parse_input_spec(options.sample_weight));

  if (y_true->rows() != y_pred->rows()) {
    throw InputError(fmt::format("{}: {} rows, but --y-true {} has {}", y_pred->path(), y_pred->rows(), y_true->path(),
                                 y_true->rows()));
  }
  if (weights && weights->rows() != y_true->rows()) {
    throw InputError(fmt::format("{}: {} rows, but --y-true {} has {}", weights->path(), weights->rows(),
                                 y_true->path(), y_true->rows()));
  }
  if (weights && !weights->row_shape().empty()) {
    throw InputError(fmt::format("{}: sample weights must be one column; received rows of shape {}", weights->path(),
                                 shape_string(weights->row_shape())));
  }

  EvalResult out;
  out.samples = y_true->rows();
  out.task = infer_task(*y_true, *y_pred);
  // With sparse labels and one-hot-style defaults, the sparse variants apply.
  std::vector<std::string> specs = options.metrics;
  if (specs.empty()) {
    specs = default_metrics(out.task, columns_of(*y_pred));
    if (out.task == Task::kMulticlass && columns_of(*y_true) == 1) {
      for (std::string& s : specs) s = "sparse_" + s;
    }
    // Defaults name catalog metrics; a build without some family still evaluates the rest.
    std::erase_if(specs, [](const std::string& spec) { return !metrics::find(spec).has_value(); });
    if (specs.empty()) specs = {"mean"};
    out.default_specs = specs;
  }
  std::set<std::string> names;
  for (const std::string& spec : specs) {
    std::unique_ptr<Metric> m = metrics::get(spec);
    if (!names.insert(m->name()).second) {
      throw InvalidArgument(
          fmt::format("two metrics are named \"{}\"; give one a different \"name\" in its JSON spec", m->name()));
    }
    out.metrics.push_back(std::move(m));
  }
  if (options.make_extra) out.extra = options.make_extra(out.task, columns_of(*y_pred));

  if (participation.world_size < 1 || participation.rank < 0 || participation.rank >= participation.world_size) {
    throw InvalidArgument(
        fmt::format("rank {} is outside a world of {}", participation.rank, participation.world_size));
  }
  const auto [begin, end] = shard(out.samples, participation.rank, participation.world_size);
  ProgressBar progress(options.progress && participation.rank == 0, end - begin);
  for (std::int64_t b = begin; b < end; b += options.batch_size) {
    const std::int64_t e = std::min(end, b + options.batch_size);
    const TensorView t = y_true->read(b, e);
    const TensorView p = y_pred->read(b, e);
    check_predictions(p, y_pred->path(), b);
    const TensorView w = weights ? weights->read(b, e) : TensorView();
    for (auto& m : out.metrics) m->update_state(t, p, w);
    for (auto& m : out.extra) m->update_state(t, p, w);
    progress.update(e - begin);
  }
  progress.finish();
  return out;
}

}  // namespace tally::cli
