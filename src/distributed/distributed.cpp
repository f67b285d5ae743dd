#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>

#include "distributed/packed.h"
#include "internal/check.h"
#include "tally/distributed.h"

namespace tally {

std::vector<Tensor> DistributedContext::all_reduce(const std::vector<Tensor>& tensors, bool average) {
  std::vector<double> flat;
  for (const Tensor& t : tensors) {
    const std::vector<double> v = t.to_doubles();
    flat.insert(flat.end(), v.begin(), v.end());
  }
  all_reduce_in_place(flat, ReduceOp::kSum);
  if (average) {
    for (double& x : flat) x /= static_cast<double>(world_size());
  }
  std::vector<Tensor> out;
  std::size_t pos = 0;
  for (const Tensor& t : tensors) {
    const auto n = static_cast<std::size_t>(t.numel());
    out.push_back(
        Tensor::from_vector(std::span<const double>(flat).subspan(pos, n), Shape{t.numel()}).reshaped(t.shape()));
    pos += n;
  }
  return out;
}

std::pair<std::int64_t, std::int64_t> DistributedContext::distribute_range(std::int64_t n) const {
  if (n < 0) throw InvalidArgument(internal::str_cat("distribute_range: n must be >= 0; received ", n));
  const std::int64_t world = world_size(), rank = global_rank();
  const std::int64_t base = n / world, extra = n % world;
  const std::int64_t begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::int64_t DistributedContext::distribute_value(std::int64_t n) const {
  const auto [begin, end] = distribute_range(n);
  return end - begin;
}

void NotDistributedContext::broadcast(std::span<double> /*buffer*/, int root) {
  if (root != 0) throw InvalidArgument(internal::str_cat("broadcast: root ", root, " is not a rank of a world of 1"));
}

namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// The layout check: 16-bit pieces of the layout hash, the metric count and the state length,
// each next to its negation. The min of (x, -x) over ranks is (x, -x) again only if every
// rank holds the same x; 16-bit pieces are exact in float64. Every rank sees the same
// reduced values, so all fail together instead of some waiting in a mismatched collective.
constexpr std::size_t kCheckLength = 12;

void fill_check(double* check, std::uint64_t hash, std::size_t metrics, std::size_t state_length) {
  for (int i = 0; i < 4; ++i) {
    const double piece = static_cast<double>((hash >> (16 * i)) & 0xffff);
    check[i] = piece;
    check[4 + i] = -piece;
  }
  check[8] = static_cast<double>(metrics);
  check[9] = -static_cast<double>(metrics);
  check[10] = static_cast<double>(state_length);
  check[11] = -static_cast<double>(state_length);
}

bool check_passed(const double* check) {
  bool same = true;
  for (int i = 0; i < 4; ++i) same = same && check[i] == -check[4 + i];
  return same && check[8] == -check[9] && check[10] == -check[11];
}

[[noreturn]] void throw_mismatch(const DistributedContext& context, std::uint64_t hash, std::size_t metrics) {
  throw DistributedError(internal::str_cat(
      "all_reduce_metrics: ranks hold different metrics (names, classes, configs or variable shapes differ; rank ",
      context.global_rank(), " has layout hash ", hash, " over ", metrics,
      " metrics); every rank must build the same metrics in the same order"));
}

}  // namespace

namespace internal {

void reduce_packed(const double* in, double* inout, std::size_t n) {
  const double min_count = inout[0], sum_count = inout[1];
  std::size_t lo = n, mid = n;
  // Ranks that disagree on the regions hold different layouts: min over everything keeps
  // the layout check exact, and all_reduce_metrics then throws on every rank.
  if (in[0] == min_count && in[1] == sum_count && min_count >= 2 && sum_count >= 0 &&
      min_count + sum_count <= static_cast<double>(n)) {
    lo = static_cast<std::size_t>(min_count);
    mid = lo + static_cast<std::size_t>(sum_count);
  }
  // The same comparisons as MPI_MIN / MPI_MAX on doubles.
  for (std::size_t i = 0; i < lo; ++i) inout[i] = in[i] < inout[i] ? in[i] : inout[i];
  for (std::size_t i = lo; i < mid; ++i) inout[i] += in[i];
  for (std::size_t i = mid; i < n; ++i) inout[i] = in[i] > inout[i] ? in[i] : inout[i];
}

}  // namespace internal

namespace {

// Holds the locks of a list of metrics for one all-reduce: each distinct metric once (a list
// may name one twice), in address order (two threads reducing overlapping lists cannot
// deadlock). `held` comes sorted and free of duplicates (sorted_locks).
class LockAll {
 public:
  explicit LockAll(const std::vector<std::mutex*>& held) : held_(held) { lock_all(); }
  ~LockAll() { release(); }
  /// Unlocks every metric (before collectives of other transports: they may run user code).
  void release() {
    if (!locked_) return;
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->unlock();
    locked_ = false;
  }
  /// Locks every metric again, in the same order.
  void reacquire() { lock_all(); }
  LockAll(const LockAll&) = delete;
  LockAll& operator=(const LockAll&) = delete;

 private:
  void lock_all() {
    std::size_t locked = 0;
    try {
      for (; locked < held_.size(); ++locked) held_[locked]->lock();
    } catch (...) {
      while (locked > 0) held_[--locked]->unlock();
      throw;
    }
    locked_ = true;
  }

  const std::vector<std::mutex*>& held_;
  bool locked_ = false;
};

// Buffers one call needs, kept between calls so that a call allocates nothing once the
// sizes repeat (fresh pages for every evaluation cost more than the collective). A call
// made while the thread's own buffers are in use (a transport's user code reducing again)
// gets fresh ones instead.
template <class Buffers>
class Reused {
 public:
  Reused() : mine_(!slot().busy) {
    if (mine_) slot().busy = true;
  }
  ~Reused() {
    if (mine_) slot().busy = false;
  }
  Reused(const Reused&) = delete;
  Reused& operator=(const Reused&) = delete;
  Buffers& get() { return mine_ ? slot().buffers : own_; }
  /// Gives the buffers up for good after a collective failed: the transport may have left
  /// an operation in flight that still writes into them (MPI cannot cancel a nonblocking
  /// collective: a stalled rank that arrives after this one timed out completes it), so they
  /// are neither freed nor reused, and the next call allocates fresh ones. They stay
  /// reachable, so that leak checkers do not report them (docs/distributed.md, "Failures").
  void abandon() {
    static std::mutex mutex;
    static auto* kept = new std::vector<std::unique_ptr<Buffers>>();
    const std::lock_guard lock(mutex);
    kept->push_back(std::make_unique<Buffers>(std::move(get())));
    get() = Buffers();
  }

 private:
  struct Slot {
    Buffers buffers;
    bool busy = false;
  };
  static Slot& slot() {
    thread_local Slot s;
    return s;
  }
  bool mine_;
  Buffers own_;
};

// Where each variable goes in the packed buffer, worked out once per set of layouts: one
// segment per run of float64 variables of one metric that lie next to each other both in
// the metric's storage and in the packed buffer (wherever those meet, whatever their
// aggregations: a copy only needs both ends contiguous), so that packing
// and writing back are one copy per run instead of a walk over every Variable (its name,
// shape and numel) three times per call. Valid while every metric holds the same layout
// objects; the plan keeps them alive, so a freed layout's address cannot be reused by a
// different one and pass for it.
struct Segment {
  std::size_t metric;    // index into the list of metrics
  std::size_t variable;  // the run's first variable
  std::size_t dst;       // offset in the packed buffer
  std::size_t n;         // doubles
  bool int64;            // int64 runs hold one variable each (the 2^53 check names it)
};

struct PackPlan {
  std::vector<std::shared_ptr<const VariableLayout>> layouts;
  std::vector<Segment> segments;
  std::array<std::size_t, 3> counts{0, 0, 0};  // values per aggregation (sum, min, max)
  bool any_int64 = false;
  bool valid = false;
};

struct ReduceBuffers {
  std::vector<std::mutex*> listed, last_listed, held;  // held: last_listed sorted, unique
  std::vector<std::uint64_t> fingerprints, last_fingerprints;
  std::uint64_t last_hash = 0;
  PackPlan plan;
  std::vector<double> packed, probe;
  std::vector<double> check;  // the layout check alone (transports without regions); on the heap, see abandon
};

// buffers.listed (the metrics' mutexes, in list order) in address order, each once. An
// evaluation loop reduces the same list again and again: then the previous call's order is
// reused instead of sorted again.
const std::vector<std::mutex*>& sorted_locks(ReduceBuffers& buffers) {
  if (buffers.listed != buffers.last_listed) {
    buffers.last_listed = buffers.listed;
    buffers.held = buffers.listed;
    std::sort(buffers.held.begin(), buffers.held.end());
    buffers.held.erase(std::unique(buffers.held.begin(), buffers.held.end()), buffers.held.end());
  }
  return buffers.held;
}

struct MemberBuffers {
  std::vector<Metric*> members;
};

}  // namespace

void all_reduce_metrics(std::span<Metric* const> metrics, DistributedContext& context) {
  Reused<ReduceBuffers> reused;
  ReduceBuffers& buffers = reused.get();
  // A collective that fails (DistributedError) may leave an operation in flight on these
  // buffers: they are then given up (Reused::abandon) when the error leaves this call. A
  // guard declared before lock_all rather than a catch around the collective, so that the
  // buffers move only after LockAll has unlocked the mutexes it lists in buffers.held.
  bool in_flight = false;
  struct AbandonIfInFlight {
    Reused<ReduceBuffers>& reused;
    const bool& in_flight;
    ~AbandonIfInFlight() {
      if (in_flight) reused.abandon();
    }
  } abandon_if_in_flight{reused, in_flight};
  auto collective = [&](auto&& call) {
    try {
      return call();
    } catch (const DistributedError&) {
      in_flight = true;
      throw;
    }
  };
  // Every metric's lock is held from the layout hash to writing back (each lock taken once),
  // so the reduced values replace exactly the values that were sent, under the layout that
  // was checked: the variables are read into the packed buffer and written back from it
  // directly, with no snapshot copies.
  buffers.listed.clear();
  for (const Metric* m : metrics) buffers.listed.push_back(&m->lock_.get());
  LockAll lock_all(sorted_locks(buffers));
  // The combined hash of the fingerprints, again only when one changed since the last call;
  // the packing plan, again only when a metric's layout object changed (one pass for both).
  PackPlan& plan = buffers.plan;
  const auto plan_matches = [&] {
    if (!plan.valid || plan.layouts.size() != metrics.size()) return false;
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      if (metrics[i]->variables_.layout_ptr().get() != plan.layouts[i].get()) return false;
    }
    return true;
  };
  std::vector<std::uint64_t>& fingerprints = buffers.fingerprints;
  fingerprints.clear();
  bool plan_current = plan.valid && plan.layouts.size() == metrics.size();
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const Metric* m = metrics[i];
    fingerprints.push_back(m->fingerprint_locked());
    plan_current = plan_current && m->variables_.layout_ptr().get() == plan.layouts[i].get();
  }
  if (fingerprints != buffers.last_fingerprints || fingerprints.empty()) {
    buffers.last_hash = layout_hash(std::span<const std::uint64_t>(fingerprints));
    buffers.last_fingerprints = fingerprints;
  }
  const std::uint64_t h = buffers.last_hash;
  constexpr std::size_t kHeader = 2 + kCheckLength;
  const auto build_plan = [&](PackPlan& into) {
    into.valid = false;
    into.layouts.clear();
    into.segments.clear();
    into.counts = {0, 0, 0};
    into.any_int64 = false;
    for (const Metric* m : metrics) {
      into.layouts.push_back(m->variables_.layout_ptr());
      for (const Variable& v : m->variables_.layout()) {
        into.counts[static_cast<int>(v.aggregation)] += static_cast<std::size_t>(v.numel());
      }
    }
    const std::size_t n_min = into.counts[static_cast<int>(Aggregation::kMin)];
    const std::size_t n_sum = into.counts[static_cast<int>(Aggregation::kSum)];
    std::size_t cursor[3] = {kHeader + n_min, kHeader, kHeader + n_min + n_sum};  // sum, min, max
    for (std::size_t mi = 0; mi < metrics.size(); ++mi) {
      const VariableLayout& layout = metrics[mi]->variables_.layout();
      for (std::size_t i = 0; i < layout.size(); ++i) {
        const Variable& v = layout[i];
        std::size_t& at = cursor[static_cast<int>(v.aggregation)];
        const auto n = static_cast<std::size_t>(v.numel());
        const bool int64 = v.dtype == DType::kInt64;
        into.any_int64 = into.any_int64 || int64;
        // Variables keeps one array per dtype, in declaration order: when the last segment
        // is a float64 one of this metric, it ends where this variable starts in storage, so
        // the two join when they also meet in the packed buffer.
        if (!int64 && !into.segments.empty()) {
          Segment& last = into.segments.back();
          if (last.metric == mi && !last.int64 && last.dst + last.n == at) {
            last.n += n;
            at += n;
            continue;
          }
        }
        if (n > 0) into.segments.push_back({mi, i, at, n, int64});
        at += n;
      }
    }
    into.valid = true;
  };
  if (!plan_current) build_plan(plan);
  bool any_int64 = plan.any_int64;  // with none, the validation pass below has nothing to check
  const std::array<std::size_t, 3> counts = plan.counts;
  const std::size_t n_sum = counts[static_cast<int>(Aggregation::kSum)];
  const std::size_t n_min = counts[static_cast<int>(Aggregation::kMin)];
  const std::size_t n_max = counts[static_cast<int>(Aggregation::kMax)];
  const std::size_t state_length = n_sum + n_min + n_max;

  // One packed buffer: [min count, sum count | layout check | mins | sums | maxs]; the two
  // counts and the check reduce by min with the min variables (internal::reduce_packed). It
  // keeps its capacity between calls: fresh pages for every evaluation cost more than the
  // collective.
  std::vector<double>& packed = buffers.packed;
  packed.resize(kHeader + state_length);
  const std::size_t base[3] = {kHeader + n_min, kHeader, kHeader + n_min + n_sum};  // sum, min, max
  for (const Segment& seg : plan.segments) {
    const Variables& vars = metrics[seg.metric]->variables_;
    double* to = packed.data() + seg.dst;
    if (seg.int64) {
      const std::int64_t* from = vars.i64(seg.variable).data();
      for (std::size_t k = 0; k < seg.n; ++k) to[k] = static_cast<double>(from[k]);
    } else {
      // A run spans several variables of the storage array: read through the first one's data().
      const double* from = vars.f64(seg.variable).data();
      if (seg.n <= 4) {
        for (std::size_t k = 0; k < seg.n; ++k) to[k] = from[k];  // a call to memcpy costs more
      } else {
        std::memcpy(to, from, seg.n * sizeof(double));
      }
    }
  }
  double* check = packed.data() + 2;
  fill_check(check, h, metrics.size(), state_length);
  // Transports with a packed collective: one collective per call. Its length must match on
  // every rank before the check has run, so it is the length all ranks agreed on last time;
  // when this rank's differs, it sends the check alone (padded to that length), and a second
  // collective follows once every rank has reported the same new layout.
  const std::size_t none = static_cast<std::size_t>(-1);
  const std::size_t agreed = context.agreed_state_length_;
  bool reduced = false;
  if (agreed == state_length) {
    packed[0] = static_cast<double>(kHeader + n_min);
    packed[1] = static_cast<double>(n_sum);
    reduced = collective([&] { return context.all_reduce_regions(packed, kHeader + n_min, n_sum); });
    if (reduced && !check_passed(check)) throw_mismatch(context, h, metrics.size());
  } else {
    const std::size_t padded = kHeader + (agreed == none ? 0 : agreed);
    std::vector<double>& probe = buffers.probe;
    probe.assign(padded, 0.0);
    probe[0] = static_cast<double>(padded);  // all min: the check alone
    std::copy_n(check, kCheckLength, probe.begin() + 2);
    if (collective([&] { return context.all_reduce_regions(probe, padded, 0); })) {
      if (!check_passed(probe.data() + 2)) throw_mismatch(context, h, metrics.size());
      context.agreed_state_length_ = state_length;
      packed[0] = static_cast<double>(kHeader + n_min);
      packed[1] = static_cast<double>(n_sum);
      reduced = collective([&] { return context.all_reduce_regions(packed, kHeader + n_min, n_sum); });
      if (!check_passed(check)) throw_mismatch(context, h, metrics.size());
    }
  }
  if (!reduced) {
    // Other transports (Python subclasses, NotDistributedContext, test harnesses): the check
    // in its own collective, then one all_reduce_in_place per aggregation present. They may
    // run user code, which may use these metrics: the locks are released meanwhile.
    lock_all.release();
    std::vector<double>& alone = buffers.check;
    alone.assign(check, check + kCheckLength);
    collective([&] { context.all_reduce_in_place(alone, ReduceOp::kMin); });
    if (!check_passed(alone.data())) throw_mismatch(context, h, metrics.size());
    const std::span<double> all(packed);
    collective([&] {
      if (n_sum > 0) context.all_reduce_in_place(all.subspan(base[0], n_sum), ReduceOp::kSum);
      if (n_min > 0) context.all_reduce_in_place(all.subspan(base[1], n_min), ReduceOp::kMin);
      if (n_max > 0) context.all_reduce_in_place(all.subspan(base[2], n_max), ReduceOp::kMax);
    });
    lock_all.reacquire();
    if (!plan_matches()) {
      // A layout changed while the locks were released: write back by the current layouts
      // if they place the same number of values per aggregation (as before this plan).
      build_plan(plan);
      any_int64 = plan.any_int64;
      if (plan.counts != counts) {
        throw StateError(
            "all_reduce_metrics: a metric's variables changed shape while its state was being reduced (another "
            "thread's first batch); nothing was written");
      }
    }
  }

  // Validate int64 slots (a sum past 2^53 cannot be represented) before writing anything:
  // a failure leaves every metric as it was. Then write the reduced values straight back,
  // one copy per segment of the plan (which matches the current layouts: they were held
  // locked throughout, or the plan was rebuilt above).
  for (int pass = any_int64 ? 0 : 1; pass < 2; ++pass) {
    for (const Segment& seg : plan.segments) {
      Variables& vars = metrics[seg.metric]->variables_;
      const double* from = packed.data() + seg.dst;
      if (seg.int64) {
        const Variable& v = vars.layout()[seg.variable];
        if (pass == 0) {
          for (std::size_t k = 0; k < seg.n; ++k) {
            if (std::fabs(from[k]) > kMaxExactInteger && !(v.aggregation != Aggregation::kSum && std::isinf(from[k]))) {
              throw StateError(internal::str_cat(metrics[seg.metric]->name(), ": merged count \"", v.name,
                                                 "\" exceeds 2^53 and cannot be held exactly"));
            }
          }
        } else {
          std::int64_t* out = vars.i64(seg.variable).data();
          for (std::size_t k = 0; k < seg.n; ++k) {
            out[k] = std::isinf(from[k]) ? (from[k] > 0 ? std::numeric_limits<std::int64_t>::max()
                                                        : std::numeric_limits<std::int64_t>::min())
                                         : static_cast<std::int64_t>(from[k]);
          }
        }
      } else if (pass == 1) {
        double* to = vars.f64(seg.variable).data();
        if (seg.n <= 4) {
          for (std::size_t k = 0; k < seg.n; ++k) to[k] = from[k];
        } else {
          std::memcpy(to, from, seg.n * sizeof(double));
        }
      }
    }
  }
}

void all_reduce_metrics(MetricCollection& collection, DistributedContext& context) {
  // collection.metrics() without its allocation: the member list under the collection's lock.
  Reused<MemberBuffers> reused;
  std::vector<Metric*>& members = reused.get().members;
  {
    const std::lock_guard hold(collection.lock_.get());
    members.clear();
    for (const auto& m : collection.metrics_) members.push_back(m.get());
  }
  all_reduce_metrics(members, context);
}

void all_reduce_metrics(Metric& metric, DistributedContext& context) {
  Metric* one[1] = {&metric};
  all_reduce_metrics(one, context);
}

}  // namespace tally
