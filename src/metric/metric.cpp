#include "tally/metric.h"

#include <typeinfo>

#include "internal/check.h"
#include "internal/fnv.h"
#include "internal/memory.h"
#include "metric/grouped_run.h"

namespace tally {
namespace {

// States up to this many elements are snapshotted around accumulate(), so even a user
// metric that throws half-way leaves its state unchanged; larger built-in states rely
// on their kernels validating before they write.
constexpr std::int64_t kSnapshotLimit = 4096;

}  // namespace

std::string_view direction_name(Direction direction) {
  switch (direction) {
    case Direction::kHigherIsBetter:
      return "up";
    case Direction::kLowerIsBetter:
      return "down";
    case Direction::kNone:
      break;
  }
  return "none";
}

Metric::Metric(std::string name, DType dtype)
    : name_(std::move(name)), dtype_(dtype), variables_(std::make_shared<const VariableLayout>()) {
  if (name_.empty()) throw InvalidArgument("Metric: argument `name` must not be empty");
  if (!is_floating(dtype_)) {
    throw DTypeError(internal::str_cat("Metric \"", name_, "\": argument `dtype` must be a floating dtype; received ",
                                       dtype_name(dtype_)));
  }
}

Metric::Metric(const Metric& other) : name_(other.name_), dtype_(other.dtype_) {
  const std::lock_guard hold(other.lock_.get());
  variables_ = other.variables_;
  config_hash_ = other.config_hash_;
  fingerprint_layout_ = other.fingerprint_layout_;
  fingerprint_ = other.fingerprint_;
}

Metric& Metric::operator=(const Metric& other) {
  if (this == &other) return *this;
  const std::scoped_lock hold(lock_.get(), other.lock_.get());  // deadlock-free order
  name_ = other.name_;
  dtype_ = other.dtype_;
  variables_ = other.variables_;
  config_hash_ = other.config_hash_;
  fingerprint_layout_ = other.fingerprint_layout_;
  fingerprint_ = other.fingerprint_;
  return *this;
}

void Metric::check_state_budget(std::int64_t elements) const {
  if (elements < 0 || elements > kMaxStateElements) {  // negative: an overflowed product
    throw InvalidArgument(internal::str_cat(name_, ": a state of ",
                                            elements < 0 ? std::string("over 2^63") : std::to_string(elements),
                                            " elements would pass tally's limit of ", kMaxStateElements,
                                            " elements (1 GiB); ask for fewer thresholds or classes"));
  }
  internal::check_state_size(name_, elements * 8);
}

std::size_t Metric::add_variable(std::string name, Shape shape, DType dtype, Aggregation aggregation,
                                 std::optional<Domain> domain) {
  if (dtype != DType::kFloat64 && dtype != DType::kInt64) {
    throw DTypeError(
        internal::str_cat(name_, ": variable \"", name, "\" must be float64 or int64; received ", dtype_name(dtype)));
  }
  for (const Variable& v : variables_.layout()) {
    if (v.name == name) throw InvalidArgument(internal::str_cat(name_, ": variable \"", name, "\" declared twice"));
  }
  std::int64_t elements = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) throw ShapeError(internal::str_cat(name_, ": variable \"", name, "\" has a negative dimension"));
    elements = d == 0 || elements <= kMaxStateElements / d ? elements * d : kMaxStateElements + 1;
  }
  if (elements > kMaxStateElements - variables_.vector_size()) {
    throw InvalidArgument(internal::str_cat(name_, ": variable \"", name, "\" of shape ", shape_string(shape),
                                            " would take the state past tally's limit of ", kMaxStateElements,
                                            " elements (1 GiB); ask for fewer thresholds or classes"));
  }
  // The configurable budget (tally/memory.h): refused before the state is allocated.
  internal::check_state_size(name_, (variables_.vector_size() + elements) * 8);
  // Appended in place: rebuilding the whole state per variable made construction quadratic
  // (AUC(num_thresholds=1e6) zero-filled 36 x 8 MB; docs/performance.md, "Constructing a metric").
  variables_.append(Variable{std::move(name), std::move(shape), dtype, aggregation,
                             domain.value_or(default_domain(dtype, aggregation))});
  return variables_.size() - 1;
}

void Metric::update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight) {
  update_state(y_true, y_pred, sample_weight, AuxInputs{});
}

AuxInputs Metric::accepted_aux(const AuxInputs& aux) const {
  AuxInputs out;
  if (aux_use(kAuxQueryIds) != AuxUse::kNone) out.query_ids = aux.query_ids;
  if (aux_use(kAuxIndex) != AuxUse::kNone) out.index = aux.index;
  return out;
}

void Metric::check_aux(const Batch& batch) const {
  const auto check = [&](std::string_view key, const TensorView& view) {
    const AuxUse use = aux_use(key);
    if (!view.has_value()) {
      if (use == AuxUse::kRequired) {
        throw InvalidArgument(
            internal::str_cat(class_name(), " \"", name_, "\": argument `", key, "` is required (one value per row)"));
      }
      return;
    }
    if (use == AuxUse::kNone) {
      throw InvalidArgument(internal::str_cat(class_name(), " \"", name_, "\": this metric takes no `", key,
                                              "`; received ", view.describe()));
    }
    const std::int64_t rows = batch.y_pred.has_value() && batch.y_pred.ndim() > 0 ? batch.y_pred.shape()[0] : -1;
    if (view.ndim() != 1 || (rows >= 0 && view.shape()[0] != rows)) {
      throw ShapeError(internal::str_cat(class_name(), " \"", name_, "\": argument `", key,
                                         "` must be 1-D with one value per row of y_pred (", rows, "); received ",
                                         view.describe()));
    }
    if (!is_integral(view.dtype())) {
      throw DTypeError(internal::str_cat(class_name(), " \"", name_, "\": argument `", key,
                                         "` must hold integers; received ", view.describe()));
    }
  };
  check(kAuxQueryIds, batch.aux.query_ids);
  check(kAuxIndex, batch.aux.index);
}

void Metric::update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight,
                          const AuxInputs& aux) {
  const Batch batch{y_true, y_pred, sample_weight, aux};
  check_aux(batch);
  const std::lock_guard hold(lock_.get());  // one update at a time per metric
  const bool snapshot = variables_.vector_size() <= kSnapshotLimit;
  const internal::UpdateBudget budget(name_, variables_.vector_size() * 8 * (snapshot ? 2 : 1));
  if (snapshot) {
    Variables updated = variables_;
    accumulate(updated, batch);
    variables_ = std::move(updated);
  } else {
    accumulate(variables_, batch);
  }
}

std::shared_ptr<const SharedWork> Metric::prepare_shared(const Batch& /*batch*/) const { return nullptr; }

void Metric::accumulate_shared(Variables& vars, const Batch& batch, const SharedWork& /*work*/) const {
  accumulate(vars, batch);
}

bool Metric::accumulate_grouped(std::span<Variables* const> groups, const Batch& batch,
                                std::span<const std::int32_t> group) const {
  const auto rows = static_cast<std::int64_t>(group.size());
  const std::int64_t chunk_rows = internal::grouped_chunk_rows(rows, groups.size());
  const std::unique_ptr<GroupedKernel> kernel = grouped_kernel(batch, group, groups.size(), chunk_rows);
  if (!kernel) return false;
  GroupedKernel* const one[] = {kernel.get()};
  const std::vector<std::int64_t> counts = internal::run_grouped(one, group, groups.size(), chunk_rows);
  kernel->finish(groups, counts);
  return true;
}

Tensor Metric::result() const {
  const std::lock_guard hold(lock_.get());
  return result_from(variables_);
}

void Metric::reset_state() {
  const std::lock_guard hold(lock_.get());
  variables_.reset();
}

std::vector<double> Metric::to_vector() const {
  const std::lock_guard hold(lock_.get());
  return variables_.to_vector();
}

void Metric::from_vector(std::span<const double> values) {
  const std::lock_guard hold(lock_.get());
  variables_.assign_vector(values, name_);
}

double Metric::value() const {
  const Tensor r = result();
  if (r.numel() != 1) {
    throw ShapeError(internal::str_cat(name_, ": value() needs a scalar result; the result has shape ",
                                       shape_string(r.shape()), " (use result())"));
  }
  return r.item();
}

void Metric::check_mergeable(const Metric& other) const {
  if (typeid(*this) != typeid(other) || class_name() != other.class_name()) {
    throw StateError(internal::str_cat(name_, ": cannot merge a ", other.class_name(), " (\"", other.name(),
                                       "\") into a ", class_name()));
  }
  if (!variables_.same_layout(other.variables_)) {
    throw StateError(internal::str_cat(name_, ": cannot merge \"", other.name(),
                                       "\": variable layouts differ (different configuration)"));
  }
}

void Metric::merge_state(const Metric& other) {
  if (&other == this) {  // merging a metric into itself doubles its sums
    const std::lock_guard hold(lock_.get());
    const Variables copy = variables_;
    variables_.merge(copy, name_);
    return;
  }
  const std::scoped_lock hold(lock_.get(), other.lock_.get());  // deadlock-free order
  check_mergeable(other);
  variables_.merge(other.variables_, name_);
}

void Metric::merge_state(std::span<const Metric* const> others) {
  // Snapshot every other metric under its own lock (never two at once), then merge under ours.
  std::vector<std::unique_ptr<Metric>> snapshots;
  for (const Metric* other : others) {
    if (other == nullptr) throw InvalidArgument(name_ + ": merge_state received a null metric");
    snapshots.push_back(other->clone());
  }
  const std::lock_guard hold(lock_.get());
  for (const auto& other : snapshots) check_mergeable(*other);
  Variables merged = variables_;
  for (const auto& other : snapshots) merged.merge(other->variables_, name_);
  variables_ = std::move(merged);
}

Tensor Metric::operator()(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight) {
  update_state(y_true, y_pred, sample_weight);
  return result();
}

using internal::fnv_mix;

std::uint64_t Metric::layout_fingerprint() const {
  const std::lock_guard hold(lock_.get());
  return fingerprint_locked();
}

std::uint64_t Metric::compute_fingerprint_locked() const {
  if (!config_hash_) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const std::string& part : {class_name(), name_, get_config().dump()}) fnv_mix(h, part);
    config_hash_ = h;
  }
  // Called on a miss of fingerprint_locked's cache: the layout changed (or this is the first call).
  std::uint64_t h = *config_hash_;
  auto mix_value = [&h](std::uint64_t value) {
    fnv_mix(h, std::string_view(reinterpret_cast<const char*>(&value), 8));
  };
  for (const Variable& v : variables_.layout()) {
    fnv_mix(h, v.name);
    mix_value(v.shape.size());
    for (const std::int64_t d : v.shape) mix_value(static_cast<std::uint64_t>(d));
    mix_value((static_cast<std::uint64_t>(v.dtype) << 8) | static_cast<std::uint64_t>(v.aggregation));
  }
  fingerprint_ = h;
  fingerprint_layout_ = variables_.layout_ptr();
  return fingerprint_;
}

Json Metric::get_config() const { return Json{{"name", name_}, {"dtype", std::string(dtype_name(dtype_))}}; }

namespace {

// A metric that sizes its variables on the first batch (F1Score without num_classes,
// multi-label AUC without num_labels) takes sized values while it is still unsized.
bool sizes_unsized(const Variables& current, const Variables& values) {
  if (current.vector_size() != 0 || current.size() != values.size()) return false;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Variable& a = current.layout()[i];
    const Variable& b = values.layout()[i];
    if (a.name != b.name || a.dtype != b.dtype || a.aggregation != b.aggregation || a.shape.size() != b.shape.size()) {
      return false;
    }
  }
  return true;
}

}  // namespace

Variables Metric::checked_values(const Variables& values) const {
  if (!variables_.same_layout(values) && !sizes_unsized(variables_, values)) {
    throw StateError(name_ + ": the given variables do not match this metric's variable layout");
  }
  Variables out = values;
  // Values from a state file or another metric carry the layout without this metric's
  // domains: check them against the declaration, and keep it for later checks.
  bool same_domains = true;
  for (std::size_t i = 0; i < out.size(); ++i) same_domains &= out.layout()[i].domain == variables_.layout()[i].domain;
  if (!same_domains) {
    auto layout = std::make_shared<VariableLayout>(out.layout());
    for (std::size_t i = 0; i < layout->size(); ++i) (*layout)[i].domain = variables_.layout()[i].domain;
    out.adopt_layout(std::move(layout));
  }
  out.check_domains(name_);
  return out;
}

void Metric::set_variable_values(const Variables& values) {
  const std::lock_guard hold(lock_.get());
  Variables checked = checked_values(values);
  variables_ = std::move(checked);
}

Variables Metric::snapshot_variables() const {
  const std::lock_guard hold(lock_.get());
  return variables_;
}

void Metric::commit_variables(Variables values) {
  const std::lock_guard hold(lock_.get());
  variables_ = std::move(values);
}

State Metric::state() const {
  std::shared_ptr<const Metric> config = clone();  // a consistent copy, taken under our lock
  Variables values = config->variables_;
  return State(std::move(config), std::move(values));
}

void Metric::set_state(const State& state) {
  const std::lock_guard hold(lock_.get());
  check_mergeable(state.metric());
  Variables checked = checked_values(state.variables());
  variables_ = std::move(checked);
}

// --- State ------------------------------------------------------------------------

State::State(std::shared_ptr<const Metric> metric, Variables values)
    : metric_(std::move(metric)), values_(std::move(values)) {
  if (!metric_) throw InvalidArgument("State: null metric");
  if (!metric_->variable_values().same_layout(values_)) {
    throw StateError(metric_->name() + ": state values do not match the metric's variable layout");
  }
}

State State::operator+(const State& other) const {
  if (metric_->class_name() != other.metric_->class_name() || !values_.same_layout(other.values_)) {
    throw StateError(internal::str_cat(metric_->name(), ": cannot add a state of ", other.metric_->class_name(), " (\"",
                                       other.metric_->name(), "\") to a state of ", metric_->class_name()));
  }
  Variables sum = values_;
  sum.merge(other.values_, metric_->name());
  return State(metric_, std::move(sum));
}

State State::from_vector(std::span<const double> values) const {
  // A State may be a released estimate: privatize() (tally/privacy.h) adds noise, so its
  // counts can be negative. Lengths and integrality are checked here; the domains only when
  // the state is restored into a metric (set_state, docs/reliability.md).
  auto relaxed = std::make_shared<VariableLayout>(values_.layout());
  for (Variable& variable : *relaxed) variable.domain = Domain::kAny;
  Variables v(std::move(relaxed));
  v.assign_vector(values, metric_->name());
  v.adopt_layout(values_.layout_ptr());
  return State(metric_, std::move(v));
}

State State::from_vector(const Metric& metric, std::span<const double> values) {
  return metric.state().from_vector(values);
}

double State::value() const {
  const Tensor r = result();
  if (r.numel() != 1) {
    throw ShapeError(internal::str_cat(metric_->name(), ": value() needs a scalar result; the result has shape ",
                                       shape_string(r.shape())));
  }
  return r.item();
}

// --- stateless API ------------------------------------------------------------------

Variables stateless_update_state(const Metric& metric, Variables vars, const TensorView& y_true,
                                 const TensorView& y_pred, const TensorView& sample_weight) {
  if (!metric.variable_values().same_layout(vars)) {
    throw StateError(internal::str_cat(metric.name(), ": stateless_update_state expected ", metric.variables().size(),
                                       " variables of the metric's layout; received ", vars.size()));
  }
  const internal::UpdateBudget budget(metric.name(), vars.vector_size() * 8);
  metric.accumulate(vars, Batch{y_true, y_pred, sample_weight});
  return vars;
}

Tensor stateless_result(const Metric& metric, const Variables& vars) {
  if (!metric.variable_values().same_layout(vars)) {
    throw StateError(internal::str_cat(metric.name(), ": stateless_result expected ", metric.variables().size(),
                                       " variables of the metric's layout; received ", vars.size()));
  }
  return metric.result_from(vars);
}

Variables stateless_reset_state(const Metric& metric) { return Variables(metric.variable_values().layout_ptr()); }

}  // namespace tally
