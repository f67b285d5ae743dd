#include <cstring>

#include "internal/check.h"
#include "tally/distributed.h"
#include "tally/registry.h"

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
    out.push_back(Tensor::from_vector(std::span<const double>(flat).subspan(pos, n), Shape{t.numel()})
                      .reshaped(t.shape()));
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

void mix(std::uint64_t& h, std::string_view bytes) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;  // FNV-1a
  }
  h ^= 0xff;
  h *= 0x100000001b3ULL;
}

}  // namespace

std::uint64_t layout_hash(std::span<const Metric* const> metrics) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const Metric* m : metrics) {
    mix(h, m->name());
    mix(h, m->class_name());
    mix(h, m->get_config().dump());
    for (const Variable& v : m->variables()) {
      mix(h, v.name);
      mix(h, shape_string(v.shape));
      mix(h, dtype_name(v.dtype));
      mix(h, aggregation_name(v.aggregation));
    }
  }
  return h;
}

void all_reduce_metrics(std::span<Metric* const> metrics, DistributedContext& context) {
  // Layout check in one collective: the min of (hash pieces, -hash pieces) equals
  // (pieces, -pieces) on every rank only if all ranks have the same hash. 16-bit pieces
  // are exact in float64; every rank sees the same reduced values, so all fail together.
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

  // One flat buffer per aggregation.
  std::vector<std::vector<double>> vectors;
  std::vector<double> sums, mins, maxs;
  for (Metric* m : metrics) {
    vectors.push_back(m->to_vector());
    std::size_t pos = 0;
    for (const Variable& v : m->variables()) {
      const auto n = static_cast<std::size_t>(v.numel());
      auto& target = v.aggregation == Aggregation::kSum ? sums : (v.aggregation == Aggregation::kMin ? mins : maxs);
      target.insert(target.end(), vectors.back().begin() + static_cast<std::ptrdiff_t>(pos),
                    vectors.back().begin() + static_cast<std::ptrdiff_t>(pos + n));
      pos += n;
    }
  }
  if (!sums.empty()) context.all_reduce_in_place(sums, ReduceOp::kSum);
  if (!mins.empty()) context.all_reduce_in_place(mins, ReduceOp::kMin);
  if (!maxs.empty()) context.all_reduce_in_place(maxs, ReduceOp::kMax);

  std::size_t s = 0, lo = 0, hi = 0;
  std::vector<Variables> merged;
  for (std::size_t k = 0; k < metrics.size(); ++k) {
    std::size_t pos = 0;
    for (const Variable& v : metrics[k]->variables()) {
      const auto n = static_cast<std::size_t>(v.numel());
      const std::vector<double>& source =
          v.aggregation == Aggregation::kSum ? sums : (v.aggregation == Aggregation::kMin ? mins : maxs);
      std::size_t& cursor = v.aggregation == Aggregation::kSum ? s : (v.aggregation == Aggregation::kMin ? lo : hi);
      std::copy_n(source.begin() + static_cast<std::ptrdiff_t>(cursor), n,
                  vectors[k].begin() + static_cast<std::ptrdiff_t>(pos));
      cursor += n;
      pos += n;
    }
    Variables v = metrics[k]->variable_values();
    v.assign_vector(vectors[k], metrics[k]->name());
    merged.push_back(std::move(v));
  }
  for (std::size_t k = 0; k < metrics.size(); ++k) metrics[k]->set_variable_values(merged[k]);
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
