#include "tally/collection.h"

#include <cctype>
#include <map>

#include "internal/check.h"
#include "internal/fnv.h"
#include "internal/json_bounded.h"
#include "internal/memory.h"
#include "tally/registry.h"

namespace tally {

using internal::fnv_mix;

namespace {

// "a Mean", "an AUC", "an MSE", "an F1Score": "an" before a vowel, and before an initial
// spoken as a letter name with a vowel sound (A E F H I L M N O R S X followed by a capital
// or a digit).
std::string with_article(const std::string& noun) {
  if (noun.empty()) return "a";
  const char c = noun[0];
  const bool vowel = std::string_view("AEIOUaeiou").find(c) != std::string_view::npos;
  const bool initialism = noun.size() > 1 && (std::isupper(static_cast<unsigned char>(noun[1])) != 0 ||
                                              std::isdigit(static_cast<unsigned char>(noun[1])) != 0);
  const bool letter_vowel_sound = initialism && std::string_view("AEFHILMNORSX").find(c) != std::string_view::npos;
  return (vowel || letter_vowel_sound ? "an " : "a ") + noun;
}

}  // namespace

std::uint64_t layout_hash(std::span<const std::uint64_t> fingerprints) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::uint64_t f : fingerprints) fnv_mix(h, std::string_view(reinterpret_cast<const char*>(&f), sizeof f));
  return h;
}

std::uint64_t layout_hash(std::span<const Metric* const> metrics) {
  std::vector<std::uint64_t> fingerprints;
  fingerprints.reserve(metrics.size());
  for (const Metric* m : metrics) fingerprints.push_back(m->layout_fingerprint());
  return layout_hash(fingerprints);
}

MetricCollection::MetricCollection(std::vector<std::unique_ptr<Metric>> metrics) {
  for (auto& m : metrics) add(std::move(m));
}

MetricCollection MetricCollection::from_specs(const std::vector<std::string>& specs) {
  MetricCollection c;
  for (const std::string& spec : specs) c.add(metrics::get(spec));
  return c;
}

MetricCollection MetricCollection::from_json(const Json& specs) {
  internal::check_json_depth<ConfigError>(specs, "MetricCollection: specs");
  if (!specs.is_array()) {
    throw ConfigError("MetricCollection: specs must be a JSON array of names or specs; received " +
                      internal::describe_json_value(specs));
  }
  MetricCollection c;
  for (const Json& spec : specs) c.add(metrics::get(spec));
  return c;
}

MetricCollection::MetricCollection(const MetricCollection& other) {
  const std::lock_guard hold(other.lock_.get());
  for (const auto& m : other.metrics_) metrics_.push_back(m->clone());  // clone() locks each member
}

MetricCollection& MetricCollection::operator=(const MetricCollection& other) {
  if (this != &other) *this = MetricCollection(other);
  return *this;
}

MetricCollection::MetricCollection(MetricCollection&& other) noexcept : metrics_(std::move(other.metrics_)) {}

MetricCollection& MetricCollection::operator=(MetricCollection&& other) noexcept {
  if (this != &other) {
    const std::lock_guard hold(lock_.get());
    metrics_ = std::move(other.metrics_);
  }
  return *this;
}

void MetricCollection::add(std::unique_ptr<Metric> metric) {
  if (!metric) throw InvalidArgument("MetricCollection: cannot add a null metric");
  const std::lock_guard hold(lock_.get());
  for (const auto& m : metrics_) {
    if (m->name() == metric->name()) {
      throw InvalidArgument(internal::str_cat("MetricCollection: two metrics are named \"", metric->name(), "\" (",
                                              with_article(m->class_name()), " and ",
                                              with_article(metric->class_name()), "); give one a different name"));
    }
  }
  metrics_.push_back(std::move(metric));
}

std::vector<std::vector<std::size_t>> MetricCollection::shared_work_groups() const {
  // Called with or without the lock held: reads only the members' immutable configuration.
  std::map<std::string, std::vector<std::size_t>> by_key;
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    const std::string key = metrics_[i]->shared_work_key();
    if (!key.empty()) by_key[key].push_back(i);
  }
  for (auto& [key, members] : by_key) {
    if (members.size() > 1) out.push_back(std::move(members));
  }
  return out;
}

void MetricCollection::update_state(const TensorView& y_true, const TensorView& y_pred,
                                    const TensorView& sample_weight) {
  update_state(y_true, y_pred, sample_weight, AuxInputs{});
}

void MetricCollection::update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight,
                                    const AuxInputs& aux) {
  const Batch batch{y_true, y_pred, sample_weight};
  const std::lock_guard hold(lock_.get());  // one collection update at a time
  // An auxiliary input must be taken by at least one member; each member sees only its own.
  std::vector<Batch> member_batches;
  member_batches.reserve(metrics_.size());
  bool query_taken = false, index_taken = false;
  for (const auto& m : metrics_) {
    member_batches.push_back(Batch{y_true, y_pred, sample_weight, m->accepted_aux(aux)});
    m->check_aux(member_batches.back());
    query_taken = query_taken || member_batches.back().aux.query_ids.has_value();
    index_taken = index_taken || member_batches.back().aux.index.has_value();
  }
  if ((aux.query_ids.has_value() && !query_taken) || (aux.index.has_value() && !index_taken)) {
    throw InvalidArgument(internal::str_cat("MetricCollection: no member takes `",
                                            aux.query_ids.has_value() && !query_taken ? kAuxQueryIds : kAuxIndex, "`"));
  }
  // Update copies of every state, then commit all at once: a batch that one metric
  // rejects leaves every metric as it was.
  std::vector<Variables> updated;
  updated.reserve(metrics_.size());
  std::int64_t state_bytes = 0;
  for (const auto& m : metrics_) {
    updated.push_back(m->snapshot_variables());
    state_bytes += updated.back().vector_size() * 8;
  }
  // The states and their working copies count against the memory limit (tally/memory.h).
  const internal::UpdateBudget budget("MetricCollection", 2 * state_bytes);
  std::vector<bool> done(metrics_.size(), false);
  for (const std::vector<std::size_t>& group : shared_work_groups()) {
    const std::shared_ptr<const SharedWork> work = metrics_[group.front()]->prepare_shared(batch);
    if (!work) continue;  // the metric chose not to share this batch; update separately below
    for (const std::size_t i : group) {
      metrics_[i]->accumulate_shared(updated[i], member_batches[i], *work);
      done[i] = true;
    }
  }
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    if (!done[i]) metrics_[i]->accumulate(updated[i], member_batches[i]);
  }
  // Committed directly, as Metric::update_state does: a metric whose class count is fixed
  // by its first batch (F1Score without num_classes) changes its layout here.
  // A member updated on its own meanwhile (through metric(name)) is overwritten by the
  // commit: the contract asks callers to update members through the collection.
  for (std::size_t i = 0; i < metrics_.size(); ++i) metrics_[i]->commit_variables(std::move(updated[i]));
}

std::vector<std::pair<std::string, Tensor>> MetricCollection::result() const {
  const std::lock_guard hold(lock_.get());  // results of whole batches, of one moment
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& m : metrics_) out.emplace_back(m->name(), m->result());
  return out;
}

void MetricCollection::reset_state() {
  const std::lock_guard hold(lock_.get());
  for (const auto& m : metrics_) m->reset_state();
}

void MetricCollection::check_same_members(const MetricCollection& other, std::string_view what) const {
  if (other.metrics_.size() != metrics_.size()) {
    throw StateError(internal::str_cat("MetricCollection: cannot ", what, " a collection of ", other.metrics_.size(),
                                       " metrics with one of ", metrics_.size()));
  }
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    if (metrics_[i]->name() != other.metrics_[i]->name() ||
        metrics_[i]->class_name() != other.metrics_[i]->class_name() ||
        !metrics_[i]->variable_values().same_layout(other.metrics_[i]->variable_values())) {
      throw StateError(internal::str_cat("MetricCollection: cannot ", what, ": member ", i, " is \"",
                                         other.metrics_[i]->name(), "\" (", other.metrics_[i]->class_name(),
                                         ") but this collection has \"", metrics_[i]->name(), "\" (",
                                         metrics_[i]->class_name(), ")"));
    }
  }
}

void MetricCollection::merge_state(const MetricCollection& other) {
  if (&other == this) {
    const std::lock_guard hold(lock_.get());
    for (const auto& m : metrics_) m->merge_state(*m);
    return;
  }
  const std::scoped_lock hold(lock_.get(), other.lock_.get());  // deadlock-free order
  check_same_members(other, "merge");
  for (std::size_t i = 0; i < metrics_.size(); ++i) metrics_[i]->merge_state(*other.metrics_[i]);
}

std::int64_t MetricCollection::vector_size() const {
  const std::lock_guard hold(lock_.get());
  std::int64_t n = 0;
  for (const auto& m : metrics_) n += m->variable_values().vector_size();
  return n;
}

std::vector<double> MetricCollection::to_vector() const {
  const std::lock_guard hold(lock_.get());
  std::vector<double> out;
  for (const auto& m : metrics_) {
    const std::vector<double> part = m->to_vector();  // under the member's lock
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

void MetricCollection::from_vector(std::span<const double> values) {
  const std::lock_guard hold(lock_.get());
  std::vector<Variables> restored;
  restored.reserve(metrics_.size());
  std::int64_t expected = 0;
  for (const auto& m : metrics_) {
    restored.push_back(m->snapshot_variables());
    expected += restored.back().vector_size();
  }
  if (static_cast<std::int64_t>(values.size()) != expected) {
    throw StateError(internal::str_cat("MetricCollection: state vector has ", values.size(), " elements; expected ",
                                       expected, " for ", metrics_.size(), " metrics"));
  }
  std::size_t pos = 0;
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    Variables& v = restored[i];
    const auto& m = metrics_[i];
    const auto n = static_cast<std::size_t>(v.vector_size());
    v.assign_vector(values.subspan(pos, n), m->name());  // validates before anything is committed
    pos += n;
  }
  for (std::size_t i = 0; i < metrics_.size(); ++i) metrics_[i]->set_variable_values(restored[i]);
}

CollectionState MetricCollection::state() const {
  const std::lock_guard hold(lock_.get());
  std::vector<State> states;
  for (const auto& m : metrics_) states.push_back(m->state());
  return CollectionState(std::move(states));
}

void MetricCollection::set_state(const CollectionState& state) {
  const std::lock_guard hold(lock_.get());
  if (state.states().size() != metrics_.size()) {
    throw StateError(internal::str_cat("MetricCollection: snapshot has ", state.states().size(),
                                       " metrics; this collection has ", metrics_.size()));
  }
  for (std::size_t i = 0; i < metrics_.size(); ++i) {
    const Metric& snapshot = state.states()[i].metric();
    if (snapshot.name() != metrics_[i]->name() || snapshot.class_name() != metrics_[i]->class_name() ||
        !snapshot.variable_values().same_layout(metrics_[i]->variable_values())) {
      throw StateError(internal::str_cat("MetricCollection: snapshot member ", i, " is \"", snapshot.name(),
                                         "\"; this collection has \"", metrics_[i]->name(), "\""));
    }
  }
  for (std::size_t i = 0; i < metrics_.size(); ++i) metrics_[i]->set_state(state.states()[i]);
}

std::vector<std::string> MetricCollection::names() const {
  const std::lock_guard hold(lock_.get());
  std::vector<std::string> out;
  for (const auto& m : metrics_) out.push_back(m->name());
  return out;
}

Metric& MetricCollection::metric(std::string_view name) {
  return const_cast<Metric&>(static_cast<const MetricCollection&>(*this).metric(name));
}

const Metric& MetricCollection::metric(std::string_view name) const {
  const std::lock_guard hold(lock_.get());
  std::string known;
  for (const auto& m : metrics_) {
    if (m->name() == name) return *m;
    known += (known.empty() ? "" : ", ") + m->name();
  }
  throw InvalidArgument(internal::str_cat("MetricCollection: no metric named \"", name, "\"; the metrics are ", known));
}

std::vector<Metric*> MetricCollection::metrics() {
  const std::lock_guard hold(lock_.get());
  std::vector<Metric*> out;
  for (const auto& m : metrics_) out.push_back(m.get());
  return out;
}

std::vector<const Metric*> MetricCollection::metrics() const {
  const std::lock_guard hold(lock_.get());
  std::vector<const Metric*> out;
  for (const auto& m : metrics_) out.push_back(m.get());
  return out;
}

// --- CollectionState -------------------------------------------------------------------

CollectionState::CollectionState(std::vector<State> states) : states_(std::move(states)) {}

CollectionState CollectionState::operator+(const CollectionState& other) const {
  if (other.states_.size() != states_.size()) {
    throw StateError(internal::str_cat("CollectionState: cannot add snapshots of ", states_.size(), " and ",
                                       other.states_.size(), " metrics"));
  }
  std::vector<State> sum;
  for (std::size_t i = 0; i < states_.size(); ++i) sum.push_back(states_[i] + other.states_[i]);
  return CollectionState(std::move(sum));
}

std::vector<double> CollectionState::to_vector() const {
  std::vector<double> out;
  for (const State& s : states_) {
    const std::vector<double> v = s.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

CollectionState CollectionState::from_vector(std::span<const double> values) const {
  std::int64_t expected = 0;
  for (const State& s : states_) expected += s.variables().vector_size();
  if (static_cast<std::int64_t>(values.size()) != expected) {
    throw StateError(
        internal::str_cat("CollectionState: state vector has ", values.size(), " elements; expected ", expected));
  }
  std::vector<State> out;
  std::size_t pos = 0;
  for (const State& s : states_) {
    const auto n = static_cast<std::size_t>(s.variables().vector_size());
    out.push_back(s.from_vector(values.subspan(pos, n)));
    pos += n;
  }
  return CollectionState(std::move(out));
}

std::vector<std::pair<std::string, Tensor>> CollectionState::result() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const State& s : states_) out.emplace_back(s.metric().name(), s.result());
  return out;
}

}  // namespace tally
