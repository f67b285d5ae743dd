#pragma once
// The Metric base class with Keras 3's verbs, the immutable State value (pfl's
// MetricValue), and Keras 3's stateless_* functions.
//
// A metric is configuration (immutable after construction) plus Variables. The
// subclass supplies two pure functions: accumulate(vars, batch) and
// result_from(vars); everything else (update, merge, vectors, stateless API) is
// built on them here.
//
// Thread contract (docs/reliability.md): every verb of one Metric (update_state, result,
// value, reset_state, merge_state, to_vector, from_vector, state, set_state,
// set_variable_values, layout_fingerprint, copies and clone) may be called from several
// threads at once; each takes the metric's own lock, so updates are serialized per object
// and result() sees whole batches only. variable_values() and variables() return
// references that another thread's update may change: use state() or to_vector() for a
// snapshot while other threads update.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tally/tensor.h"
#include "tally/variables.h"

namespace tally {

/// JSON value used for configs and specs.
using Json = nlohmann::json;

/// Whether a larger or a smaller value of a metric is better (used by ModelSelector).
enum class Direction : std::uint8_t { kNone, kHigherIsBetter, kLowerIsBetter };

/// "up", "down" or "none", as Keras's `_direction`.
std::string_view direction_name(Direction direction);

/// Per-row inputs beyond (y_true, y_pred, sample_weight) that a few metrics need
/// (docs/metrics.md, "Auxiliary inputs"). Each is one value per row of y_pred, absent when
/// has_value() is false. A metric declares in its InputContract which ones it requires
/// and which it accepts; Metric::update_state refuses one the metric does not take, and a
/// collection hands each member only the ones it takes.
struct AuxInputs {
  TensorView query_ids;  ///< ranking metrics: integer query id per row; a query's rows are contiguous
  TensorView index;      ///< BootstrapInterval: integer global row index per row

  /// True when no auxiliary input is present.
  bool empty() const { return !query_ids.has_value() && !index.has_value(); }
};

/// The names of the auxiliary inputs, as contracts, describe(), Python keywords and the CLI spell them.
inline constexpr std::string_view kAuxQueryIds = "query_ids";
/// See kAuxQueryIds.
inline constexpr std::string_view kAuxIndex = "index";

/// Whether a metric uses an auxiliary input.
enum class AuxUse : std::uint8_t { kNone, kOptional, kRequired };

/// The inputs of one update. Value-reducing metrics (Mean, Sum) read `y_pred` as the values.
struct Batch {
  TensorView y_true;
  TensorView y_pred;
  TensorView sample_weight;  ///< absent when has_value() is false
  AuxInputs aux{};           ///< empty for every metric that declares no auxiliary input
};

/// The most elements a metric's state may hold (2^27: 1 GiB of float64). Configs that ask
/// for more (num_thresholds, num_classes) are rejected up front rather than failing to allocate.
inline constexpr std::int64_t kMaxStateElements = std::int64_t{1} << 27;

class State;
class MetricCollection;
class DistributedContext;

namespace detail {

/// A mutex that copies and moves as a fresh, unlocked mutex, so that objects holding one
/// (Metric, MetricCollection) stay copyable; the copy constructor locks the source itself.
class ObjectLock {
 public:
  ObjectLock() = default;
  ObjectLock(const ObjectLock& /*other*/) {}
  ObjectLock& operator=(const ObjectLock& /*other*/) { return *this; }
  ~ObjectLock() = default;
  /// The mutex; mutable so that const verbs (result, to_vector) can lock it.
  std::mutex& get() const { return mutex_; }

 private:
  mutable std::mutex mutex_;
};

}  // namespace detail

/// The result of work that several metrics can share for one batch (for example the
/// confusion counts behind Precision, Recall and AUC with the same thresholds).
/// Subclasses hold whatever the metrics of one group need.
class SharedWork {
 public:
  virtual ~SharedWork() = default;
};

/// A metric's grouped update of sliced evaluation bound to one batch (Metric::grouped_kernel,
/// docs/performance.md "Sliced evaluation"). The caller cuts the rows into chunks of a size
/// fixed by the row and group counts alone and feeds every metric of a collection the same
/// block of rows in turn (the rows are read from memory once); several threads each feed their
/// own fork(). Float sums are kept per chunk and added in chunk order, integer tables are
/// merged exactly, so the groups' states do not depend on the thread count.
class GroupedKernel {
 public:
  virtual ~GroupedKernel() = default;
  /// Adds rows [begin, end), all in chunk `chunk`; one chunk's ranges come in order, on one thread.
  virtual void add(std::int64_t begin, std::int64_t end, std::int64_t chunk) = 0;
  /// Whether add_checked() checks the group ids itself (the driver then runs no pass of its
  /// own over ids it has not checked yet: the kernel checks them as it reads the rows).
  virtual bool checks_ids() const { return false; }
  /// Like add(), for rows whose group ids are not checked yet: returns false, and adds no row
  /// to a table slot outside its groups, when an id of [begin, end) is outside [0, groups)
  /// (the caller then discards the kernel). Called only when checks_ids().
  virtual bool add_checked(std::int64_t begin, std::int64_t end, std::int64_t chunk) {
    add(begin, end, chunk);
    return true;
  }
  /// Hints that rows [begin, end) of the batch (begin < end <= rows) are added soon: a kernel
  /// may issue software prefetches of its inputs, so that the driver overlaps the next
  /// block's reads from memory with the current block's table updates (docs/performance.md,
  /// "Sliced evaluation").
  virtual void prefetch(std::int64_t /*begin*/, std::int64_t /*end*/) const {}
  /// An empty kernel of the same batch for another thread, or nullptr when this kernel must
  /// see every chunk itself (a float histogram whose per-chunk copies would be too large).
  virtual std::unique_ptr<GroupedKernel> fork() const = 0;
  /// Folds a fork's tables into this kernel (after every add of both).
  virtual void merge(GroupedKernel& fork) = 0;
  /// Adds group g's totals into *groups[g] (rows[g]: its row count). May throw (a NaN score):
  /// callers pass copies of the states and keep them only on success.
  virtual void finish(std::span<Variables* const> groups, std::span<const std::int64_t> rows) = 0;
  /// Whether row_counts() can give each group's row count, so that the driver need not
  /// count the rows itself (one less table update per row).
  virtual bool counts_rows() const { return false; }
  /// Adds each group's row count over the rows added (and merged) so far into `rows`.
  virtual void row_counts(std::span<std::int64_t> /*rows*/) {}
  /// Whether those counts cost this kernel work of their own (kept only for the driver): the
  /// driver prefers another kernel's counts and then calls drop_row_counts().
  virtual bool row_counts_cost() const { return false; }
  /// Stops keeping row counts only the driver reads (another kernel gives them); called
  /// before any add, so forks inherit it.
  virtual void drop_row_counts() {}

  // Refinement (docs/performance.md, "Sliced evaluation / One table for two counting
  // metrics"): a kernel whose whole state is a count per (group, cell) hands each row's
  // refined id, group x cells + cell, to a kernel that counts rows in a table (a histogram),
  // which then counts per refined group: one table update per row serves both.

  /// Cells per group when this kernel can be refined into another's table (its state is a
  /// count per (group, cell) and nothing else); 0 when it cannot.
  virtual std::uint32_t refines() const { return 0; }
  /// Writes the refined id of each row of [begin, end) into `refined` (end - begin values)
  /// instead of counting the rows; with `check`, returns false on a group id outside
  /// [0, groups), as add_checked() does. Called only when refines() > 0.
  virtual bool refine(std::int64_t /*begin*/, std::int64_t /*end*/, std::uint32_t* /*refined*/, bool /*check*/) {
    return true;
  }
  /// Adds the row count of each refined group (groups x refines() of them) to this kernel's counts.
  virtual void add_refined_counts(std::span<const std::int64_t> /*rows*/) {}
  /// Switches this kernel, before any add, to count per refined group of `cells` cells per
  /// group (forks included); false, changing nothing, when it cannot.
  virtual bool host(std::uint32_t /*cells*/) { return false; }
  /// Like add(), with each row's refined id read from `refined` (end - begin values, checked).
  virtual void add_hosted(std::int64_t /*begin*/, std::int64_t /*end*/, std::int64_t /*chunk*/,
                          const std::uint32_t* /*refined*/) {}
  /// Adds each refined group's row count over the rows added (and merged) so far into `rows`.
  virtual void hosted_row_counts(std::span<std::int64_t> /*rows*/) {}
};

/// Base of every metric. Subclasses declare variables in their constructor with
/// add_variable() and implement accumulate(), result_from(), class_name(), clone(),
/// and get_config() when they have options.
class Metric {
 public:
  virtual ~Metric() = default;

  /// Adds one batch. On any error the state is left exactly as it was.
  void update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight = {});
  /// Adds one batch with auxiliary per-row inputs (query ids, row index); throws
  /// InvalidArgument for one this metric does not take or a required one that is absent.
  void update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight,
                    const AuxInputs& aux);
  /// The metric's value over everything seen: a float64 tensor, 0-d for scalar metrics.
  Tensor result() const;
  /// The result of a scalar metric as double; throws ShapeError for vector results.
  double value() const;
  /// Forgets everything seen (every variable back to its identity value).
  void reset_state();
  /// Merges another metric's state into this one; it must be the same class and layout.
  void merge_state(const Metric& other);
  /// Merges every metric of a list into this one (all-or-nothing: checked before merging).
  void merge_state(std::span<const Metric* const> others);
  /// Keras __call__: update_state with the batch, then result().
  Tensor operator()(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight = {});

  const std::string& name() const { return name_; }
  /// The Keras dtype of the metric; it sets clipping constants, arithmetic is float64.
  DType dtype() const { return dtype_; }
  /// The Keras class name ("AUC", "MeanSquaredError").
  virtual std::string class_name() const = 0;
  /// Keras config: {"name", "dtype"} plus the subclass's options.
  virtual Json get_config() const;
  /// Whether higher or lower values are better; kNone for counts and plain reductions.
  virtual Direction direction() const { return Direction::kNone; }
  /// A deep copy with configuration and state.
  virtual std::unique_ptr<Metric> clone() const = 0;
  /// How this metric uses the auxiliary input `name` (kAuxQueryIds, kAuxIndex); none by default.
  virtual AuxUse aux_use(std::string_view /*name*/) const { return AuxUse::kNone; }
  /// `aux` reduced to the inputs this metric takes (what a collection hands each member).
  AuxInputs accepted_aux(const AuxInputs& aux) const;
  /// Throws InvalidArgument when `batch.aux` holds an input this metric does not take or
  /// lacks one it requires, or one whose length differs from y_pred's rows.
  void check_aux(const Batch& batch) const;

  /// A 64-bit hash of class name, name, config and variable layout; cached, since configs
  /// never change and layouts only when the variables are replaced.
  std::uint64_t layout_fingerprint() const;

  /// Declared variables, in declaration order (not synchronized: see the thread contract above).
  const VariableLayout& variables() const { return variables_.layout(); }
  /// Current values of the variables (not synchronized: see the thread contract above).
  const Variables& variable_values() const { return variables_; }
  /// Replaces the variable values; throws StateError if the layout differs or a value lies
  /// outside its variable's domain (a negative count).
  void set_variable_values(const Variables& values);
  /// Immutable snapshot of the state, bound to a copy of this metric's configuration.
  State state() const;
  /// Replaces the state with one taken from a metric of the same class and layout.
  void set_state(const State& state);
  /// A copy of the variable values taken under the metric's lock (a consistent snapshot).
  Variables snapshot_variables() const;
  /// Replaces the values with ones this metric's own accumulate() produced from a snapshot, or
  /// that were reduced from states of its layout (the commit step of collections and
  /// all-reduce, as of update_state: a first batch may fix the layout). Takes the lock.
  void commit_variables(Variables values);
  /// The state flattened to one float64 vector (sum of two vectors = merge, for sum variables).
  std::vector<double> to_vector() const;
  /// Replaces the state from a flat vector; checks length, integrality and each variable's
  /// domain; unchanged on error.
  void from_vector(std::span<const double> values);

  /// The pure update: adds `batch` into `vars`. Must validate before writing, so that a
  /// throw leaves `vars` untouched (the base also restores small states on a throw).
  virtual void accumulate(Variables& vars, const Batch& batch) const = 0;
  /// The pure result: the metric's value for the given variable values.
  virtual Tensor result_from(const Variables& vars) const = 0;

  /// Metrics of a collection that return the same non-empty key compute prepare_shared()
  /// once per batch and each takes its part with accumulate_shared(). Empty: no sharing.
  virtual std::string shared_work_key() const { return {}; }
  /// Validates the batch and computes the group's shared work (called once per group).
  virtual std::shared_ptr<const SharedWork> prepare_shared(const Batch& batch) const;
  /// Adds this metric's part of the shared work; must not throw for work from its own key.
  virtual void accumulate_shared(Variables& vars, const Batch& batch, const SharedWork& work) const;

  /// Grouped update of sliced evaluation (docs/performance.md, "Sliced evaluation"): adds
  /// row r of `batch` into `*groups[group[r]]` in one pass, without gathering each group's
  /// rows. Returns false, touching nothing, when this metric or this batch's layout has no
  /// grouped kernel (the caller then gathers and calls accumulate). May throw after writing:
  /// callers pass copies and keep them only on success.
  /// The default runs grouped_kernel() over the rows; metrics that have none return false.
  virtual bool accumulate_grouped(std::span<Variables* const> groups, const Batch& batch,
                                  std::span<const std::int32_t> group) const;
  /// This metric's grouped kernel for `batch` with row r in group group[r] < `groups`, chunks of
  /// `chunk_rows` rows (GroupedKernel); validates the batch with the metric's messages. nullptr
  /// when this metric or layout has none (the caller gathers each group's rows instead).
  virtual std::unique_ptr<GroupedKernel> grouped_kernel(const Batch& /*batch*/, std::span<const std::int32_t> /*group*/,
                                                        std::size_t /*groups*/, std::int64_t /*chunk_rows*/) const {
    return nullptr;
  }

 protected:
  /// Sets the name and the Keras dtype (float16, bfloat16, float32 or float64).
  explicit Metric(std::string name, DType dtype = DType::kFloat32);
  /// Copies configuration and state, holding `other`'s lock while reading it.
  Metric(const Metric& other);
  /// Copies configuration and state, holding both locks.
  Metric& operator=(const Metric& other);

  /// Declares a variable (Keras add_variable); call only from constructors. Returns its index.
  /// `domain` defaults to default_domain(dtype, aggregation); pass Domain::kNonNegative for
  /// float64 counts and sums of weights, so that states from outside are checked.
  std::size_t add_variable(std::string name, Shape shape, DType dtype = DType::kFloat64,
                           Aggregation aggregation = Aggregation::kSum, std::optional<Domain> domain = std::nullopt);
  /// Throws InvalidArgument when a state of `elements` values would not fit the memory limit
  /// (tally/memory.h); call before add_variable so that a too-large config allocates nothing.
  void check_state_budget(std::int64_t elements) const;

 private:
  // Packs every metric's variables straight into its one buffer and writes the reduced values
  // straight back, holding the metrics' locks (src/distributed/distributed.cpp).
  friend void all_reduce_metrics(std::span<Metric* const> metrics, DistributedContext& context);
  void check_mergeable(const Metric& other) const;  // caller holds both locks
  // layout_fingerprint() for a caller that holds the lock (all_reduce_metrics, which holds
  // every metric's lock for the whole call and so takes each lock once). The cached case is
  // inline: all_reduce_metrics asks every metric on every call.
  std::uint64_t fingerprint_locked() const {
    if (config_hash_ && fingerprint_layout_.get() == variables_.layout_ptr().get()) return fingerprint_;
    return compute_fingerprint_locked();
  }
  std::uint64_t compute_fingerprint_locked() const;  // fills the caches behind fingerprint_locked
  // `values` under this metric's declared domains, checked; caller holds the lock.
  Variables checked_values(const Variables& values) const;

  detail::ObjectLock lock_;  // guards variables_ and the fingerprint caches
  std::string name_;
  DType dtype_;
  Variables variables_;
  mutable std::optional<std::uint64_t> config_hash_;  // class name, name and config
  // The layout the cached fingerprint covers, held: with a bare pointer, a different layout
  // allocated at a freed one's address would get the old layout's fingerprint.
  mutable std::shared_ptr<const VariableLayout> fingerprint_layout_;
  mutable std::uint64_t fingerprint_ = 0;
};

/// Implements clone() for a metric class by copy construction.
template <class Derived, class Base = Metric>
class MetricWithClone : public Base {
 public:
  using Base::Base;
  std::unique_ptr<Metric> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

/// An immutable metric state (pfl MetricValue): values bound to the metric's configuration.
/// `a + b` merges; to_vector / from_vector flatten and restore; result() evaluates.
class State {
 public:
  /// A state of `metric`'s configuration holding `values` (layout must match).
  State(std::shared_ptr<const Metric> metric, Variables values);

  const Metric& metric() const { return *metric_; }
  const Variables& variables() const { return values_; }
  /// The merged state; throws StateError if the two come from different metrics or layouts.
  State operator+(const State& other) const;
  /// The flat float64 vector of all variables.
  std::vector<double> to_vector() const { return values_.to_vector(); }
  /// A state of the same metric holding `values`; checks length and integrality.
  State from_vector(std::span<const double> values) const;
  /// A state of `metric`'s configuration holding `values`.
  static State from_vector(const Metric& metric, std::span<const double> values);
  /// The metric's result for this state.
  Tensor result() const { return metric_->result_from(values_); }
  /// The scalar result; throws ShapeError for vector results.
  double value() const;

 private:
  std::shared_ptr<const Metric> metric_;
  Variables values_;
};

/// Keras stateless_update_state: returns `vars` updated with one batch; `metric` is untouched.
Variables stateless_update_state(const Metric& metric, Variables vars, const TensorView& y_true,
                                 const TensorView& y_pred, const TensorView& sample_weight = {});
/// Keras stateless_result: the metric's result for `vars` (layout checked).
Tensor stateless_result(const Metric& metric, const Variables& vars);
/// Keras stateless_reset_state: fresh identity values for the metric's variables.
Variables stateless_reset_state(const Metric& metric);

}  // namespace tally
