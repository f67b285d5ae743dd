#pragma once
// Distributed evaluation: the DistributedContext interface of pfl (ranks, sizes,
// all_reduce over a list of tensors, distribute_range / distribute_value, barrier,
// broadcast, all_gather), the single-process NotDistributedContext, and
// all_reduce_metrics, which merges every rank's metrics in ONE collective.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "tally/collection.h"
#include "tally/metric.h"

namespace tally {

/// The element-wise reduction of a collective.
enum class ReduceOp : std::uint8_t { kSum, kMin, kMax };

/// A group of processes (or threads) that reduce buffers together. Implement the pure
/// virtual members to plug in any transport (MPI, torch.distributed, a test harness).
class DistributedContext {
 public:
  virtual ~DistributedContext() = default;
  /// Rank of this process among the processes on its machine.
  virtual int local_rank() const = 0;
  /// Rank of this process among all processes.
  virtual int global_rank() const = 0;
  /// Number of processes.
  virtual int world_size() const = 0;
  /// Number of processes on this machine.
  virtual int local_size() const = 0;
  /// Reduces `buffer` element-wise across all processes, in place; every process passes
  /// the same length and ends with the same values. Blocks until all have called it.
  virtual void all_reduce_in_place(std::span<double> buffer, ReduceOp op) = 0;
  /// Copies `buffer` from process `root` to every process.
  virtual void broadcast(std::span<double> buffer, int root) = 0;
  /// Concatenates every process's `local` (all the same length) in rank order.
  virtual std::vector<double> all_gather(std::span<const double> local) = 0;
  /// Blocks until every process has called it.
  virtual void barrier() = 0;
  /// Tells the other processes that this one has failed, so that their pending and later
  /// collectives fail with DistributedError quoting `reason` instead of waiting for it.
  /// Transports without out-of-band messages do nothing here (see docs/distributed.md).
  virtual void signal_failure(std::string_view /*reason*/) {}

  /// pfl all_reduce: sums (or averages) each tensor across processes, in one collective
  /// over a flat float64 buffer; returns float64 tensors of the same shapes.
  std::vector<Tensor> all_reduce(const std::vector<Tensor>& tensors, bool average = false);
  /// This process's share [begin, end) of range(n): the first n % world_size processes
  /// take one extra (5 over 2 workers: [0, 3) and [3, 5)).
  std::pair<std::int64_t, std::int64_t> distribute_range(std::int64_t n) const;
  /// This process's share of an integer n (5 over 2 workers: 3 and 2).
  std::int64_t distribute_value(std::int64_t n) const;

 protected:
  /// One collective over `buffer` whose first `min_count` elements reduce by min, the next
  /// `sum_count` by sum and the rest by max; every process passes the same length, and
  /// buffer[0], buffer[1] hold the two counts (for reductions that see only data). Transports
  /// that can (MpiContext, with a user-defined MPI_Op) override it and return true; the
  /// default returns false, and all_reduce_metrics then uses all_reduce_in_place per region.
  virtual bool all_reduce_regions(std::span<double> /*buffer*/, std::size_t /*min_count*/, std::size_t /*sum_count*/) {
    return false;
  }

 private:
  friend void all_reduce_metrics(std::span<Metric* const> metrics, DistributedContext& context);
  // all_reduce_metrics over all_reduce_regions: the state length every process last agreed
  // on (SIZE_MAX: none yet), so that each packed collective has the same length everywhere.
  std::size_t agreed_state_length_ = static_cast<std::size_t>(-1);
};

/// A single process: every collective is the identity.
class NotDistributedContext final : public DistributedContext {
 public:
  int local_rank() const override { return 0; }
  int global_rank() const override { return 0; }
  int world_size() const override { return 1; }
  int local_size() const override { return 1; }
  void all_reduce_in_place(std::span<double> /*buffer*/, ReduceOp /*op*/) override {}
  void broadcast(std::span<double> /*buffer*/, int root) override;
  std::vector<double> all_gather(std::span<const double> local) override { return {local.begin(), local.end()}; }
  void barrier() override {}

 protected:
  /// A world of one: the packed buffer is already its own reduction, so all_reduce_metrics
  /// takes the same one-collective path as over MPI, minus the communication.
  bool all_reduce_regions(std::span<double> /*buffer*/, std::size_t /*min_count*/, std::size_t /*sum_count*/) override {
    return true;
  }
};

/// Merges every rank's metrics so that each rank holds the state over all ranks' data;
/// every rank fails with DistributedError if any rank's metrics differ. Over MPI: one
/// collective carrying the layout check and every sum, min and max variable (two when the
/// layout changed since the last call); other contexts: a layout check, then one
/// all_reduce_in_place per aggregation present (docs/distributed.md).
void all_reduce_metrics(std::span<Metric* const> metrics, DistributedContext& context);
/// all_reduce_metrics over every metric of a collection.
void all_reduce_metrics(MetricCollection& collection, DistributedContext& context);
/// all_reduce_metrics over one metric.
void all_reduce_metrics(Metric& metric, DistributedContext& context);

}  // namespace tally
