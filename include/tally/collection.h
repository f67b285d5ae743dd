#pragma once
// MetricCollection: named metrics updated together with the same inputs, with one state
// vector for all of them (pfl's Metrics). Metrics that can share per-batch work (the
// same Metric::shared_work_key()) compute it once per batch, like TorchMetrics' compute
// groups: today the confusion-matrix family with equal thresholds, top_k and class_id.
//
// Thread contract (docs/reliability.md): the verbs of one collection may be called from
// several threads at once. Each takes the collection's lock (updates are serialized per
// collection, all or nothing) and each member metric's lock while it reads or writes that
// member, so a member updated on its own at the same time stays consistent too.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tally/metric.h"

namespace tally {

class CollectionState;

/// A 64-bit hash of the metrics' layout: names, class names, configs, and every
/// variable's name, shape, dtype and aggregation. Equal for metrics whose states can be merged
/// (across ranks, or from a saved state file).
std::uint64_t layout_hash(std::span<const Metric* const> metrics);
/// layout_hash from the metrics' layout_fingerprint() values, in order.
std::uint64_t layout_hash(std::span<const std::uint64_t> fingerprints);

/// A named, ordered set of metrics with Keras's verbs and one flat state vector.
class MetricCollection {
 public:
  MetricCollection() = default;
  /// Takes ownership of the metrics; names must be unique (InvalidArgument names both).
  explicit MetricCollection(std::vector<std::unique_ptr<Metric>> metrics);
  /// Builds each metric with tally::metrics::get (names, aliases or JSON specs).
  static MetricCollection from_specs(const std::vector<std::string>& specs);
  /// Builds from a JSON array of specs (strings or {"class_name", "config"} objects).
  static MetricCollection from_json(const Json& specs);

  /// Clones every member, holding `other`'s lock.
  MetricCollection(const MetricCollection& other);
  MetricCollection& operator=(const MetricCollection& other);
  /// Moves the members; not synchronized (the source must not be in use by other threads).
  MetricCollection(MetricCollection&& other) noexcept;
  MetricCollection& operator=(MetricCollection&& other) noexcept;
  ~MetricCollection() = default;

  /// Adds a metric at the end; its name must be new.
  void add(std::unique_ptr<Metric> metric);

  /// Updates every metric with the batch. All or nothing: if any metric rejects the batch,
  /// no metric changes. Shared work is computed once per group.
  void update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight = {});
  /// Adds one batch with auxiliary per-row inputs (query ids, row index): each member gets
  /// the ones its contract takes, so ranking and plain metrics share one collection.
  void update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight,
                    const AuxInputs& aux);
  /// Each metric's name and result, in order.
  std::vector<std::pair<std::string, Tensor>> result() const;
  /// Forgets everything seen.
  void reset_state();
  /// Merges another collection with the same metrics (names, classes, configs) into this one.
  void merge_state(const MetricCollection& other);

  /// Every metric's state vector, concatenated in order.
  std::vector<double> to_vector() const;
  /// Restores every metric from one vector; checks the length first; unchanged on error.
  void from_vector(std::span<const double> values);
  /// Length of to_vector().
  std::int64_t vector_size() const;
  /// An immutable snapshot of every metric's state.
  CollectionState state() const;
  /// Restores a snapshot taken from a collection with the same metrics.
  void set_state(const CollectionState& state);

  std::size_t size() const { return metrics_.size(); }
  bool empty() const { return metrics_.empty(); }
  /// Names in order.
  std::vector<std::string> names() const;
  /// The metric called `name`; throws InvalidArgument listing the names if there is none.
  Metric& metric(std::string_view name);
  const Metric& metric(std::string_view name) const;
  /// The metrics in order.
  std::vector<Metric*> metrics();
  std::vector<const Metric*> metrics() const;
  /// Groups of member indices that share per-batch work (groups of one are omitted).
  std::vector<std::vector<std::size_t>> shared_work_groups() const;

 private:
  // Reads the member list into a reused buffer under the collection's lock (no allocation
  // per call, as metrics() would make): src/distributed/distributed.cpp.
  friend void all_reduce_metrics(MetricCollection& collection, DistributedContext& context);
  void check_same_members(const MetricCollection& other, std::string_view what) const;

  detail::ObjectLock lock_;  // guards metrics_ (the list) and serializes the verbs
  std::vector<std::unique_ptr<Metric>> metrics_;
};

/// An immutable snapshot of a collection's state with +, to_vector, from_vector, result.
class CollectionState {
 public:
  /// The member states, in order.
  explicit CollectionState(std::vector<State> states);
  /// The merged snapshot; throws StateError if the members differ.
  CollectionState operator+(const CollectionState& other) const;
  /// Every member's vector, concatenated.
  std::vector<double> to_vector() const;
  /// A snapshot of the same members holding `values`.
  CollectionState from_vector(std::span<const double> values) const;
  /// Each member's name and result.
  std::vector<std::pair<std::string, Tensor>> result() const;
  const std::vector<State>& states() const { return states_; }

 private:
  std::vector<State> states_;
};

}  // namespace tally
