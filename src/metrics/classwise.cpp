// Classwise: TorchMetrics' ClasswiseWrapper over any catalog metric with a per-class
// vector result (include/tally/metrics/classwise.h, docs/metrics.md "Classwise").

#include "tally/metrics/classwise.h"

#include <set>
#include <span>

#include "internal/check.h"
#include "metrics/kernels/mean_update.h"
#include "tally/registry.h"

namespace tally::metrics {
namespace {

// The wrapped metric built from its spec; any failure is reported as this option's.
std::unique_ptr<Metric> build_inner(const Json& spec) {
  try {
    return get(spec);
  } catch (const Error& e) {
    throw ConfigError(std::string("Classwise: argument `metric` must name a metric with a per-class result; ") +
                      e.what());
  }
}

std::vector<std::string> label_texts(const Json& labels) {
  std::vector<std::string> out;
  if (labels.is_null()) return out;
  for (const Json& l : labels) out.push_back(l.is_string() ? l.get<std::string>() : l.dump());
  return out;
}

// `o` with the metric spec in its canonical form and the name defaulted to the wrapped
// metric's, so that get_config round-trips and keys read "<wrapped name>_<label>".
ClasswiseOptions normalized(ClasswiseOptions o) {
  const std::unique_ptr<Metric> inner = build_inner(o.metric);
  o.metric = Json{{"class_name", inner->class_name()}, {"config", inner->get_config()}};
  if (o.name.empty()) o.name = inner->name();
  return o;
}

ClasswiseOptions options_of(const Metric& metric, std::vector<std::string> labels, std::string name) {
  ClasswiseOptions o;
  o.metric = Json{{"class_name", metric.class_name()}, {"config", metric.get_config()}};
  if (!labels.empty()) o.labels = Json(labels);
  o.name = std::move(name);
  return o;
}

}  // namespace

const MetricSpec<ClasswiseOptions>& Classwise::spec() {
  using O = ClasswiseOptions;
  static const MetricSpec<O> spec{
      "Classwise",
      "",  // the wrapped metric's name (the catalog row describes it so)
      "A per-class result keyed <name>_<label>, as TorchMetrics' ClasswiseWrapper.",
      Direction::kNone,
      InputContract{"one_hot|sparse_ids|binary", "probabilities|ids|values", {1, 2}},
      "vector",
      OptionTable<O>{
          required(field(
              "metric", &O::metric,
              "The wrapped metric: a name or {\"class_name\": ..., \"config\": {...}} whose result is a "
              "per-class vector.",
              OptionRule{"a metric name or a {\"class_name\", \"config\"} object",
                         [](const Json& v) { return v.is_string() || (v.is_object() && v.contains("class_name")); },
                         RuleError::kConfig})),
          field("labels", &O::labels, "One name per class (null: the class ids 0, 1, ...).",
                OptionRule{"null or a non-empty list of distinct strings or integers",
                           [](const Json& v) {
                             if (v.is_null()) return true;
                             if (!v.is_array() || v.empty()) return false;
                             std::set<std::string> seen;
                             for (const Json& l : v) {
                               if (!l.is_string() && !l.is_number_integer()) return false;
                               if (!seen.insert(l.is_string() ? l.get<std::string>() : l.dump()).second) return false;
                             }
                             return true;
                           },
                           RuleError::kConfig}),
          name_and_dtype<O>()},
      Json{{"metric", {{"class_name", "F1Score"}, {"config", {{"num_classes", 3}}}}},
           {"labels", {"cat", "dog", "bird"}}}};
  return spec;
}

Classwise::Classwise(const Options& options) : ConfiguredMetric(normalized(options)) {
  inner_ = build_inner(this->options().metric);
  labels_ = label_texts(this->options().labels);
  const Tensor fresh = inner_->result();
  const Json& inner_config = this->options().metric["config"];
  if (fresh.ndim() == 0 && inner_config.contains("class_id")) {
    // A scalar metric with class_id: one copy per label, each counting its own column.
    if (labels_.empty()) {
      throw ConfigError(internal::str_cat(kernels::who(*this), ": argument `labels` is required to wrap ",
                                          inner_->class_name(), " (one copy per class_id 0, 1, ...)"));
    }
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      Json config = inner_config;
      config["class_id"] = i;
      per_class_.push_back(build_inner(Json{{"class_name", inner_->class_name()}, {"config", config}}));
      for (const Variable& v : per_class_.back()->variables()) {
        add_variable("class_" + std::to_string(i) + "/" + v.name, v.shape, v.dtype, v.aggregation, v.domain);
      }
    }
    return;
  }
  if (fresh.ndim() != 1) {
    throw ConfigError(internal::str_cat(
        kernels::who(*this), ": argument `metric` must have a per-class vector result; ", inner_->class_name(), " \"",
        inner_->name(), "\" returns shape ", shape_string(fresh.shape()), " (for F1Score, FBetaScore: average=null)"));
  }
  if (!labels_.empty() && fresh.numel() != 0 && fresh.numel() != static_cast<std::int64_t>(labels_.size())) {
    throw ConfigError(internal::str_cat(kernels::who(*this), ": argument `labels` names ", labels_.size(),
                                        " classes but ", inner_->class_name(), " returns ", fresh.numel()));
  }
  for (const Variable& v : inner_->variables()) add_variable(v.name, v.shape, v.dtype, v.aggregation, v.domain);
}

Classwise::Classwise(const Metric& metric, std::vector<std::string> labels, std::string name)
    : Classwise(options_of(metric, std::move(labels), std::move(name))) {}

namespace {

// Runs `fn(copy, part)` on each per-class copy with its slice of `vars` as a Variables of the
// copy's own layout; when `write` is true the slices are written back.
template <class Fn>
void for_each_copy(const std::vector<std::shared_ptr<const Metric>>& copies, Variables& vars, bool write,
                   std::string_view owner, Fn fn) {
  std::vector<double> whole = vars.to_vector();
  std::size_t offset = 0;
  for (std::size_t i = 0; i < copies.size(); ++i) {
    Variables part(copies[i]->variable_values().layout_ptr());
    const auto size = static_cast<std::size_t>(part.vector_size());
    part.assign_vector(std::span<const double>(whole).subspan(offset, size), owner);
    fn(i, *copies[i], part);
    if (write) part.write_vector(std::span<double>(whole).subspan(offset, size));
    offset += size;
  }
  if (write) vars.assign_vector(whole, owner);
}

}  // namespace

void Classwise::accumulate(Variables& vars, const Batch& batch) const {
  if (!per_class_.empty()) {
    // Each copy validates and counts on its own slice of a copy of the state; written only
    // when every copy accepted the batch.
    Variables next = vars;
    for_each_copy(per_class_, next, true, kernels::who(*this),
                  [&](std::size_t, const Metric& copy, Variables& part) { copy.accumulate(part, batch); });
    vars = std::move(next);
    return;
  }
  // The wrapped metric updates a copy; the labels are checked against its result before
  // anything is written (the wrapped metric may fix its class count on this batch).
  Variables next = vars;
  inner_->accumulate(next, batch);
  const Tensor r = inner_->result_from(next);
  if (!labels_.empty() && r.numel() != static_cast<std::int64_t>(labels_.size())) {
    throw ShapeError(internal::str_cat(kernels::who(*this), ": argument `labels` names ", labels_.size(),
                                       " classes but this batch gives ", inner_->class_name(), " ", r.numel(),
                                       " (y_pred shape ", shape_string(batch.y_pred.shape()), ")"));
  }
  vars = std::move(next);
}

Tensor Classwise::result_from(const Variables& vars) const {
  if (per_class_.empty()) return inner_->result_from(vars);
  std::vector<double> out(per_class_.size());
  Variables copy = vars;
  for_each_copy(per_class_, copy, false, kernels::who(*this), [&](std::size_t i, const Metric& m, Variables& part) {
    out[i] = m.result_from(part).to_doubles().at(0);
  });
  return Tensor::from_vector(out);
}

std::vector<std::string> Classwise::result_keys(std::int64_t count) const {
  std::vector<std::string> keys;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto ii = static_cast<std::size_t>(i);
    keys.push_back(name() + "_" + (ii < labels_.size() ? labels_[ii] : std::to_string(i)));
  }
  return keys;
}

std::vector<std::pair<std::string, double>> Classwise::keyed_result() const {
  const std::vector<double> values = result().to_doubles();
  const std::vector<std::string> keys = result_keys(static_cast<std::int64_t>(values.size()));
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t i = 0; i < values.size(); ++i) out.emplace_back(keys[i], values[i]);
  return out;
}

std::vector<std::pair<std::string, double>> keyed_result(const Metric& metric) {
  const auto* classwise = dynamic_cast<const Classwise*>(&metric);
  return classwise != nullptr ? classwise->keyed_result() : std::vector<std::pair<std::string, double>>{};
}

}  // namespace tally::metrics
