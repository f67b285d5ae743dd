#include <cmath>
#include <cstring>
#include <limits>

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

std::vector<double>& buffer_for(Aggregation a, std::vector<double>& sums, std::vector<double>& mins,
                                std::vector<double>& maxs) {
  return a == Aggregation::kSum ? sums : (a == Aggregation::kMin ? mins : maxs);
}

}  // namespace

void all_reduce_metrics(std::span<Metric* const> metrics, DistributedContext& context) {
  // Layout check in its own small collective, before the data one: the min of
  // (hash pieces, -hash pieces) equals (pieces, -pieces) on every rank only if all ranks
  // have the same hash. 16-bit pieces are exact in float64; every rank sees the same
  // reduced values, so all fail together instead of some waiting in a mismatched collective.
  std::vector<const Metric*> view(metrics.begin(), metrics.end());
  const std::uint64_t h = layout_hash(view);
  double check[10];
  for (int i = 0; i < 4; ++i) {
    const double piece = static_cast<double>((h >> (16 * i)) & 0xffff);
    check[i] = piece;
    check[4 + i] = -piece;
  }
  check[8] = static_cast<double>(metrics.size());
  check[9] = -static_cast<double>(metrics.size());
  context.all_reduce_in_place(check, ReduceOp::kMin);
  bool same = true;
  for (int i = 0; i < 4; ++i) same = same && check[i] == -check[4 + i];
  same = same && check[8] == -check[9];
  if (!same) {
    throw DistributedError(internal::str_cat(
        "all_reduce_metrics: ranks hold different metrics (names, classes, configs or variable shapes differ; rank ",
        context.global_rank(), " has layout hash ", h, " over ", metrics.size(),
        " metrics); every rank must build the same metrics in the same order"));
  }

  // Pack every variable into one flat buffer per aggregation. The buffers keep their
  // capacity between calls: fresh pages for every evaluation cost more than the collective.
  static thread_local std::vector<double> sums, mins, maxs;
  sums.clear();
  mins.clear();
  maxs.clear();
  // Snapshots taken under each metric's lock; the reduced values are committed the same way.
  std::vector<Variables> values;
  values.reserve(metrics.size());
  for (const Metric* m : metrics) {
    values.push_back(m->snapshot_variables());
    const Variables& vars = values.back();
    for (std::size_t i = 0; i < vars.size(); ++i) {
      std::vector<double>& target = buffer_for(vars.layout()[i].aggregation, sums, mins, maxs);
      if (vars.layout()[i].dtype == DType::kInt64) {
        for (const std::int64_t x : vars.i64(i)) target.push_back(static_cast<double>(x));
      } else {
        target.insert(target.end(), vars.f64(i).begin(), vars.f64(i).end());
      }
    }
  }
  if (!sums.empty()) context.all_reduce_in_place(sums, ReduceOp::kSum);
  if (!mins.empty()) context.all_reduce_in_place(mins, ReduceOp::kMin);
  if (!maxs.empty()) context.all_reduce_in_place(maxs, ReduceOp::kMax);

  // Validate int64 slots (a sum past 2^53 cannot be represented) before writing anything.
  for (int pass = 0; pass < 2; ++pass) {
    std::size_t s = 0, lo = 0, hi = 0;
    for (std::size_t index = 0; index < metrics.size(); ++index) {
      const Metric* m = metrics[index];
      Variables& vars = values[index];
      for (std::size_t i = 0; i < vars.size(); ++i) {
        const Variable& v = vars.layout()[i];
        const std::vector<double>& source = buffer_for(v.aggregation, sums, mins, maxs);
        std::size_t& cursor = v.aggregation == Aggregation::kSum ? s : (v.aggregation == Aggregation::kMin ? lo : hi);
        const double* from = source.data() + cursor;
        const auto n = static_cast<std::size_t>(v.numel());
        cursor += n;
        if (v.dtype == DType::kInt64) {
          for (std::size_t k = 0; k < n; ++k) {
            if (pass == 0) {
              if (std::fabs(from[k]) > kMaxExactInteger &&
                  !(v.aggregation != Aggregation::kSum && std::isinf(from[k]))) {
                throw StateError(internal::str_cat(m->name(), ": merged count \"", v.name,
                                                   "\" exceeds 2^53 and "
                                                   "cannot be held exactly"));
              }
            } else if (std::isinf(from[k])) {
              vars.i64(i)[k] =
                  from[k] > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
            } else {
              vars.i64(i)[k] = static_cast<std::int64_t>(from[k]);
            }
          }
        } else if (pass == 1) {
          std::copy_n(from, n, vars.f64(i).begin());
        }
      }
    }
  }
  for (std::size_t index = 0; index < metrics.size(); ++index)
    metrics[index]->commit_variables(std::move(values[index]));
}

void all_reduce_metrics(MetricCollection& collection, DistributedContext& context) {
  const std::vector<Metric*> metrics = collection.metrics();
  all_reduce_metrics(metrics, context);
}

void all_reduce_metrics(Metric& metric, DistributedContext& context) {
  Metric* one[1] = {&metric};
  all_reduce_metrics(one, context);
}

}  // namespace tally
