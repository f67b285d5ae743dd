#include "eval.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "tally/metrics/bootstrap.h"
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

void check_no_nan(const TensorView& view, const std::string& path, std::int64_t first_row, const char* what) {
  if (!is_floating(view.dtype())) return;
  const std::int64_t n = view.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = view.value_at(i);
    if (std::isnan(x)) {
      const std::int64_t per_row = view.ndim() >= 2 ? view.shape()[1] : 1;
      throw InputError(fmt::format("{}: NaN in {} at row {}", path, what, first_row + i / per_row));
    }
  }
}

// NaN check of a batch (labels or predictions): a fast scan for the contiguous floating case
// (the common one), falling back to value_at. Keeps the range of finite values seen.
void check_values(const TensorView& view, const std::string& path, std::int64_t first_row, const char* what,
                  double& low, double& high) {
  bool has_nan = false;
  if (view.is_contiguous() && (view.dtype() == DType::kFloat32 || view.dtype() == DType::kFloat64)) {
    const std::int64_t n = view.numel();
    double lo = low, hi = high;
    if (view.dtype() == DType::kFloat32) {
      const float* p = static_cast<const float*>(view.data());
      for (std::int64_t i = 0; i < n; ++i) {
        has_nan |= std::isnan(p[i]);
        lo = std::min(lo, static_cast<double>(p[i]));
        hi = std::max(hi, static_cast<double>(p[i]));
      }
    } else {
      const double* p = static_cast<const double*>(view.data());
      for (std::int64_t i = 0; i < n; ++i) {
        has_nan |= std::isnan(p[i]);
        lo = std::min(lo, p[i]);
        hi = std::max(hi, p[i]);
      }
    }
    if (!has_nan) {
      low = lo;
      high = hi;
      return;
    }
  }
  check_no_nan(view, path, first_row, what);
  for (std::int64_t i = 0; i < view.numel(); ++i) {
    low = std::min(low, view.value_at(i));
    high = std::max(high, view.value_at(i));
  }
}

// Seconds before a progress bar appears: 1, or TALLY_PROGRESS_AFTER (the end-to-end test
// sets 0 to see the bars on a pseudo-terminal without a slow input).
double progress_delay() {
  const char* text = std::getenv("TALLY_PROGRESS_AFTER");
  if (text == nullptr) return 1.0;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  return end != text && v >= 0.0 ? v : 1.0;
}

class ProgressBar {
 public:
  ProgressBar(bool enabled, std::string label) : enabled_(enabled && ::isatty(2) != 0), label_(std::move(label)) {}
  void update(std::int64_t done, std::int64_t total, bool show_rate = true) {
    if (!enabled_) return;
    const double elapsed = seconds();
    if (elapsed < delay_ || (drawn_ && elapsed - last_ < 0.1)) return;
    last_ = elapsed;
    drawn_ = true;
    const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
    const int width = 30;
    const int filled = static_cast<int>(fraction * width);
    std::fprintf(stderr, "\r%s [%s%s] %5.1f%%  ", label_.c_str(),
                 std::string(static_cast<std::size_t>(filled), '=').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), 100.0 * fraction);
    if (show_rate) std::fprintf(stderr, "%.3g rows/s ", static_cast<double>(done) / std::max(elapsed, 1e-9));
  }
  void finish() {
    if (drawn_) std::fprintf(stderr, "\r%75s\r", "");
    drawn_ = false;
  }

 private:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  bool enabled_;
  std::string label_;
  double delay_ = progress_delay();
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double last_ = 0.0;
  bool drawn_ = false;
};

// Whether a metric reads --y-pred as probabilities (thresholds at 0.5, crossentropy of
// probabilities): its declared input contract says so (docs/metrics.md), or, for metrics not
// yet declaring one, its family does. Argmax-based metrics ("scores") work on logits as they are.
bool expects_probabilities(const Metric& m) {
  const Json config = m.get_config();
  if (config.contains("from_logits") && config["from_logits"] == true) return false;
  const std::optional<metrics::MetricInfo> info = metrics::find(m.class_name());
  if (!info) return false;
  if (!info->inputs.y_pred.empty()) return info->inputs.y_pred.find("probabilities") != std::string::npos;
  const std::string& f = info->family;
  return f == "confusion" || f == "probabilistic" || f == "f_score";
}

// Sigmoid of every score, or softmax of every row, into a float64 tensor.
Tensor probabilities(const TensorView& scores, bool softmax) {
  const Tensor copy = Tensor::copy_of(scores);
  std::vector<double> v = copy.to_doubles();
  if (!softmax || scores.ndim() < 2) {
    for (double& x : v) x = 1.0 / (1.0 + std::exp(-x));
  } else {
    const auto cols = static_cast<std::size_t>(scores.shape()[1]);
    for (std::size_t r = 0; r + cols <= v.size(); r += cols) {
      double top = -std::numeric_limits<double>::infinity();
      for (std::size_t c = 0; c < cols; ++c) top = std::max(top, v[r + c]);
      double sum = 0.0;
      for (std::size_t c = 0; c < cols; ++c) sum += (v[r + c] = std::exp(v[r + c] - top));
      for (std::size_t c = 0; c < cols; ++c) v[r + c] /= sum;
    }
  }
  return Tensor::from_vector(std::span<const double>(v), scores.shape());
}

// Query ids read from --query as int64 (a CSV column arrives as float64): whole numbers only.
Tensor query_ids_of(const TensorView& v, const std::string& path, std::int64_t first_row) {
  const std::vector<double> values = Tensor::copy_of(v).to_doubles();
  std::vector<std::int64_t> ids(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (!(std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9007199254740992.0)) {
      throw InputError(fmt::format("{} at row {}: a query id must be a whole number; received {}", path,
                                   first_row + static_cast<std::int64_t>(i), x));
    }
    ids[i] = static_cast<std::int64_t>(x);
  }
  return Tensor::from_vector(std::span<const std::int64_t>(ids));
}

// A row range of a view (rows of a 1-D or 2-D C-contiguous or strided view).
TensorView rows_of(const TensorView& v, std::int64_t begin, std::int64_t end) {
  if (!v.has_value() || v.ndim() == 0) return v;
  return v.slice_rows(begin, end);
}

// The metric threw on a batch that starts at global row `first`: find the first row that
// fails on its own (a fresh copy of the metric, bisecting), so the message names the
// global row whatever --batch-size and the MPI rank count are.
std::int64_t failing_row(const Metric& metric, const TensorView& t, const TensorView& p, const TensorView& w) {
  const std::int64_t rows = p.ndim() == 0 ? 1 : p.shape()[0];
  auto fails = [&](std::int64_t b, std::int64_t e) {
    std::unique_ptr<Metric> fresh = metric.clone();
    fresh->reset_state();
    try {
      fresh->update_state(rows_of(t, b, e), rows_of(p, b, e), rows_of(w, b, e));
    } catch (const Error&) {
      return true;
    }
    return false;
  };
  std::int64_t lo = 0, hi = rows;  // the first failing row lies in [lo, hi)
  if (!fails(0, rows)) return -1;  // fails only with this metric's history (e.g. a width change)
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (fails(lo, mid)) {
      hi = mid;
    } else if (fails(mid, hi)) {
      lo = mid;
    } else {
      return -1;  // only the rows together fail (a batch-level rule)
    }
  }
  return lo;
}

// The metric's message for row `row` alone, where "flat index J" (an index into that one-row
// batch: 0 for a 1-D argument, the column for a 2-D one) names the element of that row, so
// no batch-relative index reaches the user.
std::string row_message(const Metric& metric, const TensorView& t, const TensorView& p, const TensorView& w,
                        std::int64_t row) {
  std::unique_ptr<Metric> fresh = metric.clone();
  fresh->reset_state();
  std::string message;
  try {
    fresh->update_state(rows_of(t, row, row + 1), rows_of(p, row, row + 1), rows_of(w, row, row + 1));
  } catch (const Error& e) {
    message = e.what();
  }
  const std::string key = "flat index ";
  for (std::size_t at = message.find(key); at != std::string::npos; at = message.find(key, at)) {
    std::size_t end = at + key.size();
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end])) != 0) ++end;
    const std::string index = message.substr(at + key.size(), end - at - key.size());
    const std::string replacement = index == "0" ? std::string("that row") : "element " + index + " of that row";
    message.replace(at, end - at, replacement);
    at += replacement.size();
  }
  return message;
}

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

TaskInference infer(ArraySource& y_true, ArraySource& y_pred, std::int64_t probe_rows) {
  TaskInference out;
  const std::int64_t rows = std::min(y_true.rows(), probe_rows);
  const std::int64_t pred_cols = columns_of(y_pred);
  const std::int64_t true_cols = columns_of(y_true);
  out.classes = pred_cols > 1 ? pred_cols : 2;
  if (rows == 0) {
    out.task = pred_cols > 1 ? Task::kMulticlass : Task::kBinary;
    return out;
  }
  const TensorView labels = y_true.read(0, rows);
  bool binary = true, integral = true, one_hot = true;
  double max_label = 0.0, min_label = 0.0;
  for (std::int64_t r = 0; r < rows; ++r) {
    double row_sum = 0.0;
    for (std::int64_t c = 0; c < true_cols; ++c) {
      const double v = labels.value_at(r * true_cols + c);
      binary = binary && (v == 0.0 || v == 1.0);
      integral = integral && v >= 0.0 && v == std::floor(v);
      max_label = std::max(max_label, v);
      min_label = std::min(min_label, v);
      row_sum += v;
    }
    one_hot = one_hot && row_sum == 1.0;
  }
  out.integer_labels = true_cols == 1 && integral;
  if (pred_cols > 1) {
    if (true_cols == 1 && integral) {
      out.task = Task::kMulticlass;
      out.sparse_labels = true;
      if (max_label >= static_cast<double>(pred_cols)) {
        out.conflict = fmt::format(
            "{}: labels look like class indices (integers, up to {}), but {} has {} score columns (classes 0 to {}); "
            "a label must be below the number of columns",
            y_true.path(), max_label, y_pred.path(), pred_cols, pred_cols - 1);
      }
      return out;
    }
    if (true_cols == pred_cols && binary) {
      out.task = one_hot ? Task::kMulticlass : Task::kMultilabel;
      return out;
    }
    out.classes = 0;
    out.task = Task::kRegression;
    if (true_cols != pred_cols) {
      out.conflict = fmt::format(
          "{} has {} columns and {} has {}: neither class indices (one integer label per row) "
          "nor one label per score column",
          y_true.path(), true_cols, y_pred.path(), pred_cols);
    }
    return out;
  }
  out.task = binary ? Task::kBinary : Task::kRegression;
  if (!binary) out.classes = 0;
  if (binary && true_cols != 1) {
    out.conflict =
        fmt::format("{} has {} label columns for one score column in {}", y_true.path(), true_cols, y_pred.path());
  }
  return out;
}

void apply_num_classes(TaskInference& inferred, std::int64_t num_classes, std::int64_t pred_cols, ArraySource& y_true,
                       ArraySource& y_pred) {
  if (num_classes <= 0) return;
  if (pred_cols > 1) {
    if (pred_cols != num_classes) {
      throw InputError(
          fmt::format("--num-classes {} but {} has {} score columns", num_classes, y_pred.path(), pred_cols));
    }
    return;
  }
  if (!inferred.integer_labels) {
    throw InputError(fmt::format("--num-classes {}: {} does not hold integer class labels (one per row)", num_classes,
                                 y_true.path()));
  }
  inferred.task = Task::kMulticlass;
  inferred.classes = num_classes;
  inferred.sparse_labels = false;
  inferred.predicted_ids = true;
  inferred.conflict.clear();
}

std::vector<std::string> integer_label_metrics(const TaskInference& inferred) {
  const std::int64_t c = inferred.classes;
  std::vector<std::string> out;
  if (inferred.predicted_ids) out.emplace_back("accuracy");
  out.push_back(fmt::format(
      R"({{"class_name": "F1Score", "config": {{"name": "f1_score_macro", "average": "macro", "num_classes": {}}}}})",
      c));
  if (inferred.predicted_ids) {
    out.push_back(
        fmt::format(R"({{"class_name": "MatthewsCorrelationCoefficient", "config": {{"num_classes": {}}}}})", c));
  } else {
    out.push_back(fmt::format(
        R"({{"class_name": "AUC", "config": {{"name": "auc_ovr", "multi_class": "ovr", "num_classes": {}}}}})", c));
  }
  return out;
}

Task infer_task(ArraySource& y_true, ArraySource& y_pred, std::int64_t probe_rows) {
  return infer(y_true, y_pred, probe_rows).task;
}

std::vector<std::string> default_metrics(Task task, std::int64_t outputs) {
  switch (task) {
    case Task::kBinary:
    case Task::kMultilabel:
      return {"binary_accuracy", "precision", "recall", "auc"};
    case Task::kMulticlass: {
      std::vector<std::string> out{"categorical_accuracy"};
      if (outputs > 5) out.push_back("top_k_categorical_accuracy");
      out.push_back("categorical_crossentropy");
      return out;
    }
    case Task::kRegression:
      break;
  }
  std::vector<std::string> out{"mean_squared_error", "mean_absolute_error", "root_mean_squared_error", "r2_score"};
  if (outputs > 1) {
    // R2Score gives per-output values; the mean errors average over outputs as Keras does.
    out.emplace_back(
        R"({"class_name": "R2Score", "config": {"name": "r2_score_per_output", "class_aggregation": null}})");
  }
  return out;
}

EvalResult run_eval(EvalOptions options, const Participation& participation) {
  if (options.batch_size <= 0) {
    throw InvalidArgument(fmt::format("--batch-size must be positive; received {}", options.batch_size));
  }
  auto say = [&](const std::string& line) {
    if (options.notice && participation.rank == 0) options.notice(line);
  };
  OpenOptions open;
  open.delimiter = options.delimiter;
  ProgressBar counting(options.progress && participation.rank == 0, "counting rows");
  open.on_count_progress = [&](std::int64_t done, std::int64_t total) { counting.update(done, total, false); };
  auto y_true = open_source(parse_input_spec(options.y_true), open);
  auto y_pred = open_source(parse_input_spec(options.y_pred), open);
  std::unique_ptr<ArraySource> weights;
  if (!options.sample_weight.empty()) weights = open_source(parse_input_spec(options.sample_weight), open);
  std::unique_ptr<ArraySource> queries;
  if (!options.query.empty()) queries = open_source(parse_input_spec(options.query), open);
  counting.finish();
  if (queries && queries->rows() != y_true->rows()) {
    throw InputError(fmt::format("{}: {} rows, but --y-true {} has {}", queries->path(), queries->rows(),
                                 y_true->path(), y_true->rows()));
  }
  if (queries && !queries->row_shape().empty()) {
    throw InputError(fmt::format("{}: query ids must be one column; received rows of shape {}", queries->path(),
                                 shape_string(queries->row_shape())));
  }

  if (y_true->rows() != y_pred->rows()) {
    throw InputError(fmt::format("{}: {} rows, but --y-true {} has {}", y_pred->path(), y_pred->rows(), y_true->path(),
                                 y_true->rows()));
  }
  if (weights && weights->rows() != y_true->rows()) {
    throw InputError(fmt::format("{}: {} rows, but --y-true {} has {}", weights->path(), weights->rows(),
                                 y_true->path(), y_true->rows()));
  }
  if (y_true->rows() == 0) {
    // The library rejects empty batches; an empty file has no result to print.
    throw InputError(fmt::format("{}: no rows (an empty file evaluates nothing)", y_true->path()));
  }
  if (weights && !weights->row_shape().empty()) {
    throw InputError(fmt::format("{}: sample weights must be one column; received rows of shape {}", weights->path(),
                                 shape_string(weights->row_shape())));
  }

  EvalResult out;
  out.samples = y_true->rows();
  TaskInference inferred = infer(*y_true, *y_pred);
  apply_num_classes(inferred, options.num_classes, columns_of(*y_pred), *y_true, *y_pred);
  if (inferred.predicted_ids && options.make_extra) {
    throw InputError("--report needs one score column per class; --y-pred holds predicted class ids");
  }
  out.task = inferred.task;
  std::vector<std::string> specs = options.metrics;
  if (specs.empty()) {
    if (!inferred.conflict.empty()) {
      throw InputError(inferred.conflict + "; choose metrics with --metric, or fix the files");
    }
    specs = default_metrics(out.task, columns_of(*y_pred));
    // With sparse labels the sparse variants of the one-hot defaults apply, and the
    // integer-label F1 and one-vs-rest AUC over the class ids (docs/cli.md).
    if (out.task == Task::kMulticlass && inferred.sparse_labels) {
      for (std::string& s : specs) s = "sparse_" + s;
      for (std::string& s : integer_label_metrics(inferred)) specs.push_back(std::move(s));
    }
    if (inferred.predicted_ids) specs = integer_label_metrics(inferred);
    // Defaults name catalog metrics; a build without some family still evaluates the rest.
    std::erase_if(specs,
                  [](const std::string& spec) { return spec.front() != '{' && !metrics::find(spec).has_value(); });
    if (specs.empty()) specs = {"mean"};
    out.default_specs = specs;
  }
  std::set<std::string> names;
  std::vector<bool> wants_probabilities;
  std::vector<std::string> given_logits, given_probabilities;
  for (const std::string& spec : specs) {
    std::unique_ptr<Metric> m = metrics::get(spec);
    if (options.from_logits && m->get_config().contains("from_logits")) {
      Json s = metrics::serialize(*m);
      s["config"]["from_logits"] = true;
      m = metrics::get(s.dump());
      given_logits.push_back(m->name());
    }
    if (!names.insert(m->name()).second) {
      throw InvalidArgument(
          fmt::format("two metrics are named \"{}\"; give one a different \"name\" in its JSON spec", m->name()));
    }
    const bool probs = out.task != Task::kRegression && !inferred.predicted_ids && expects_probabilities(*m);
    if (options.from_logits && probs) given_probabilities.push_back(m->name());
    wants_probabilities.push_back(probs);
    out.metrics.push_back(std::move(m));
  }
  if (options.make_extra) out.extra = options.make_extra(out.task, columns_of(*y_pred), *y_true, *y_pred);

  if (participation.world_size < 1 || participation.rank < 0 || participation.rank >= participation.world_size) {
    throw InvalidArgument(
        fmt::format("rank {} is outside a world of {}", participation.rank, participation.world_size));
  }
  if (!out.default_specs.empty()) {
    // By name: a default given as a JSON spec (integer-label F1, per-output R²) reads as its name.
    std::vector<std::string> chosen;
    for (const auto& m : out.metrics) chosen.push_back(m->name());
    say(fmt::format("no --metric given; {} task, using {}", task_name(out.task), fmt::join(chosen, ", ")));
  }
  const bool softmax = out.task == Task::kMulticlass;
  if (options.from_logits) {
    if (!given_logits.empty())
      say(fmt::format("--from-logits: set from_logits=true for {}", fmt::join(given_logits, ", ")));
    if (!given_probabilities.empty() || !out.extra.empty()) {
      std::vector<std::string> who = given_probabilities;
      if (!out.extra.empty()) who.emplace_back("the report");
      say(fmt::format("--from-logits: applied {} to the scores for {} (no from_logits option)",
                      softmax ? "softmax" : "sigmoid", fmt::join(who, ", ")));
    }
  }
  bool any_probabilities = false;
  for (const bool b : wants_probabilities) any_probabilities |= b;
  if (!out.extra.empty() && out.task != Task::kRegression) any_probabilities = true;

  // Slice columns are read whole (string columns interned once) and checked against the rows.
  std::vector<SliceInput> slice_inputs;
  if (!options.slices.empty()) {
    if (options.from_logits && !given_probabilities.empty()) {
      throw InvalidArgument(fmt::format(
          "--slice with --from-logits: {} need probabilities but have no from_logits option; drop --from-logits "
          "and pass probabilities, or choose metrics with a from_logits option",
          fmt::join(given_probabilities, ", ")));
    }
    std::vector<std::string> features;
    for (const std::string& arg : options.slices) {
      slice_inputs.push_back(read_slice_input(arg, open));
      const SliceInput& in = slice_inputs.back();
      if (in.rows != out.samples) {
        throw InputError(
            fmt::format("{}: {} rows, but --y-true {} has {}", in.path, in.rows, y_true->path(), out.samples));
      }
      if (std::find(features.begin(), features.end(), in.feature) != features.end()) {
        throw InvalidArgument(
            fmt::format("two --slice columns are named \"{}\"; slice features need distinct names", in.feature));
      }
      features.push_back(in.feature);
    }
    std::vector<std::vector<std::string>> slicings;
    for (const std::string& f : features) slicings.push_back({f});
    for (const std::string& cross : options.crosses) {
      std::vector<std::string> parts;
      std::size_t start = 0;
      for (std::size_t comma = cross.find(',');; comma = cross.find(',', start)) {
        parts.push_back(cross.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (parts.size() < 2) {
        throw InvalidArgument(fmt::format("--cross takes two or more slice features, as a,b; received \"{}\"", cross));
      }
      slicings.push_back(parts);
    }
    std::vector<std::unique_ptr<Metric>> members;
    for (const auto& m : out.metrics) members.push_back(m->clone());
    out.sliced = std::make_shared<SlicedCollection>(MetricCollection(std::move(members)), features, slicings,
                                                    options.max_slices);
  } else if (!options.crosses.empty()) {
    throw InvalidArgument("--cross needs the --slice columns it crosses");
  }

  auto [begin, end] = shard(out.samples, participation.rank, participation.world_size);
  // With --query, shard and batch boundaries move forward to the next query start, so that a
  // query's rows stay in one batch of one rank (every rank computes the same boundaries).
  auto query_at = [&](std::int64_t row) { return query_ids_of(queries->read(row, row + 1), queries->path(), row); };
  auto align = [&](std::int64_t pos) {
    if (!queries || pos <= 0 || pos >= out.samples) return pos;
    const std::int64_t last = query_at(pos - 1).data_as<std::int64_t>()[0];
    while (pos < out.samples && query_at(pos).data_as<std::int64_t>()[0] == last) ++pos;
    return pos;
  };
  begin = align(begin);
  end = align(end);
  // BootstrapInterval keys its resamples by global row index: this rank's rows start at `begin`.
  for (auto& m : out.metrics) {
    if (auto* bootstrap = dynamic_cast<metrics::BootstrapInterval*>(m.get())) bootstrap->set_row_offset(begin);
  }
  ProgressBar progress(options.progress && participation.rank == 0, "evaluating");
  const std::string files = weights ? fmt::format("{}, {}, {}", y_true->path(), y_pred->path(), weights->path())
                                    : fmt::format("{}, {}", y_true->path(), y_pred->path());
  double label_low = 0, label_high = 0, low = std::numeric_limits<double>::infinity(),
         high = -std::numeric_limits<double>::infinity();
  for (std::int64_t b = begin, e = begin; b < end; b = e) {
    e = align(std::min(end, b + options.batch_size));
    const Tensor q = queries ? query_ids_of(queries->read(b, e), queries->path(), b) : Tensor();
    const TensorView t = y_true->read(b, e);
    check_values(t, y_true->path(), b, "labels", label_low, label_high);
    const TensorView p = y_pred->read(b, e);
    check_values(p, y_pred->path(), b, "predictions", low, high);
    const TensorView w = weights ? weights->read(b, e) : TensorView();
    Tensor converted;
    if (options.from_logits && any_probabilities) converted = probabilities(p, softmax);
    auto update = [&](Metric& m, bool probs) {
      const TensorView scores = probs && options.from_logits ? converted.view() : p;
      try {
        if (m.aux_use(kAuxQueryIds) == AuxUse::kRequired && !queries) {
          throw InputError(
              fmt::format("{} ({}) ranks documents per query: give the query id of each row with --query FILE",
                          m.name(), m.class_name()));
        }
        m.update_state(t, scores, w, m.accepted_aux(AuxInputs{queries ? q.view() : TensorView(), {}}));
      } catch (const InputError&) {
        throw;
      } catch (const Error& error) {
        // Per-query metrics fail on a query, not on a row: name the batch's rows.
        if (m.aux_use(kAuxQueryIds) != AuxUse::kNone) {
          throw InputError(fmt::format("{} at rows {} to {}: {}", files, b, e - 1, error.what()));
        }
        const std::int64_t row = failing_row(m, t, scores, w);
        if (row < 0) throw InputError(fmt::format("{} at rows {} to {}: {}", files, b, e - 1, error.what()));
        throw InputError(fmt::format("{} at row {}: {}", files, b + row, row_message(m, t, scores, w, row)));
      }
    };
    for (std::size_t i = 0; i < out.metrics.size(); ++i) update(*out.metrics[i], wants_probabilities[i]);
    for (auto& m : out.extra) update(*m, out.task != Task::kRegression);
    if (out.sliced) {
      std::vector<SliceColumn> columns;
      for (const SliceInput& in : slice_inputs) columns.push_back(in.column(b, e));
      try {
        out.sliced->update_state(t, p, w, columns);
      } catch (const Error& error) {
        throw InputError(fmt::format("--slice at rows {} to {}: {}", b, e - 1, error.what()));
      }
    }
    progress.update(e - begin, end - begin);
  }
  progress.finish();
  out.score_low = low;
  out.score_high = high;
  out.reads_probabilities = any_probabilities;
  out.y_pred_path = y_pred->path();
  // Under MPI each rank saw only its rows: the caller merges the ranges and warns.
  if (participation.world_size == 1) {
    const std::string warning = score_range_warning(out, options.from_logits);
    if (!warning.empty()) say(warning);
  }
  return out;
}

std::string score_range_warning(const EvalResult& result, bool from_logits) {
  if (!result.reads_probabilities || from_logits || !(result.score_low < 0.0 || result.score_high > 1.0)) return {};
  return fmt::format(
      "warning: scores in {} range over [{:.6g}, {:.6g}], outside [0, 1], but {} read them as probabilities; pass "
      "--from-logits if they are logits",
      result.y_pred_path, result.score_low, result.score_high, result.metrics.empty() ? "the report" : "the metrics");
}

}  // namespace tally::cli
