#include "tally/privacy.h"

#include <Random123/philox.h>

#include <cmath>
#include <random>
#include <string>

#include "tally/error.h"

namespace tally {
namespace {

thread_local Seed g_default_seed;

constexpr double kTwoPi = 6.283185307179586476925286766559;

// Two uniforms strictly inside (0, 1) for element `index` of stream `stream`.
std::pair<double, double> uniforms(std::uint64_t seed, std::uint32_t stream, std::uint64_t index) {
  r123::Philox4x32 gen;
  const r123::Philox4x32::ctr_type ctr = {
      {static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), stream, 0x74616c6cU}};
  const r123::Philox4x32::key_type key = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const auto r = gen(ctr, key);
  const std::uint64_t a = (static_cast<std::uint64_t>(r[0]) << 32) | r[1];
  const std::uint64_t b = (static_cast<std::uint64_t>(r[2]) << 32) | r[3];
  const double scale = 0x1.0p-53;
  return {(static_cast<double>(a >> 11) + 0.5) * scale, (static_cast<double>(b >> 11) + 0.5) * scale};
}

double gaussian(std::uint64_t seed, std::uint32_t stream, std::uint64_t index) {
  const auto [u1, u2] = uniforms(seed, stream, index);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

double laplace(std::uint64_t seed, std::uint32_t stream, std::uint64_t index) {
  const double u = uniforms(seed, stream, index).first - 0.5;  // in (-0.5, 0.5)
  return u < 0 ? std::log1p(2.0 * u) : -std::log1p(-2.0 * u);
}

void check_scale(double v, const char* fn, const char* arg) {
  if (!(v >= 0.0) || !std::isfinite(v)) {
    throw InvalidArgument(std::string(fn) + ": argument `" + arg + "` must be finite and >= 0; received " +
                          std::to_string(v));
  }
}

template <class Draw>
std::vector<double> noisy(std::span<const double> values, double scale, std::uint64_t seed, std::uint32_t stream,
                          Draw draw) {
  std::vector<double> out(values.size());
  const auto n = static_cast<std::int64_t>(values.size());
  // Each element's noise depends only on (seed, stream, index): any schedule gives the same bits.
#pragma omp parallel for schedule(static) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    out[k] = values[k] + scale * draw(seed, stream, static_cast<std::uint64_t>(i));
  }
  return out;
}

std::vector<Tensor> noisy_tensors(std::span<const Tensor> tensors, double scale, Seed seed,
                                  double (*draw)(std::uint64_t, std::uint32_t, std::uint64_t)) {
  const std::uint64_t s = resolve_seed(seed);
  std::vector<Tensor> out;
  out.reserve(tensors.size());
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const std::vector<double> v = tensors[t].to_doubles();
    const auto n = noisy(v, scale, s, static_cast<std::uint32_t>(t), draw);
    out.push_back(Tensor::from_vector(std::span<const double>(n), tensors[t].shape()));
  }
  return out;
}

double norm_of(std::span<const double> v, NormOrder order) {
  double acc = 0.0;
  for (double x : v) acc += order == NormOrder::kL1 ? std::fabs(x) : x * x;
  return order == NormOrder::kL1 ? acc : std::sqrt(acc);
}

}  // namespace

SeedScope::SeedScope(Seed seed) : previous_(g_default_seed) { g_default_seed = seed; }
SeedScope::~SeedScope() { g_default_seed = previous_; }
Seed SeedScope::current() { return g_default_seed; }

std::uint64_t resolve_seed(Seed seed) {
  if (seed) return *seed;
  if (g_default_seed) return *g_default_seed;
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::vector<Tensor> add_gaussian_noise(std::span<const Tensor> tensors, double stddev, Seed seed) {
  check_scale(stddev, "add_gaussian_noise", "stddev");
  return noisy_tensors(tensors, stddev, seed, &gaussian);
}

std::vector<Tensor> add_laplacian_noise(std::span<const Tensor> tensors, double scale, Seed seed) {
  check_scale(scale, "add_laplacian_noise", "scale");
  return noisy_tensors(tensors, scale, seed, &laplace);
}

std::vector<double> add_gaussian_noise(std::span<const double> values, double stddev, Seed seed, std::uint32_t stream) {
  check_scale(stddev, "add_gaussian_noise", "stddev");
  return noisy(values, stddev, resolve_seed(seed), stream, &gaussian);
}

std::vector<double> add_laplacian_noise(std::span<const double> values, double scale, Seed seed, std::uint32_t stream) {
  check_scale(scale, "add_laplacian_noise", "scale");
  return noisy(values, scale, resolve_seed(seed), stream, &laplace);
}

std::vector<double> clip_by_norm(std::span<const double> values, double max_norm, NormOrder order) {
  check_scale(max_norm, "clip_by_norm", "max_norm");
  const double n = norm_of(values, order);
  std::vector<double> out(values.begin(), values.end());
  if (!std::isfinite(n)) {
    throw InvalidArgument("clip_by_norm: argument `values` must be finite; received a norm of " + std::to_string(n));
  }
  if (n > max_norm) {
    const double f = max_norm / n;
    for (double& x : out) x *= f;
  }
  return out;
}

std::vector<double> sum_clipped(std::span<const std::vector<double>> contributions, double max_norm, NormOrder order) {
  if (contributions.empty()) throw InvalidArgument("sum_clipped: argument `contributions` is empty");
  std::vector<double> sum(contributions[0].size(), 0.0);
  for (std::size_t c = 0; c < contributions.size(); ++c) {
    if (contributions[c].size() != sum.size()) {
      throw ShapeError("sum_clipped: argument `contributions` must have equal lengths; received " +
                       std::to_string(contributions[c].size()) + " at index " + std::to_string(c) + " vs " +
                       std::to_string(sum.size()));
    }
  }
  for (const auto& c : contributions) {
    const auto clipped = clip_by_norm(c, max_norm, order);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += clipped[i];
  }
  return sum;
}

double standard_normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double analytic_gaussian_sigma(double epsilon, double delta, double l2_sensitivity) {
  if (!(epsilon > 0.0) || !std::isfinite(epsilon)) {
    throw InvalidArgument("analytic_gaussian_sigma: argument `epsilon` must be > 0; received " +
                          std::to_string(epsilon));
  }
  if (!(delta > 0.0 && delta < 1.0)) {
    throw InvalidArgument("analytic_gaussian_sigma: argument `delta` must be in (0, 1); received " +
                          std::to_string(delta));
  }
  check_scale(l2_sensitivity, "analytic_gaussian_sigma", "l2_sensitivity");
  const double e = epsilon;
  const double ee = std::exp(e);
  const auto& Phi = standard_normal_cdf;
  const double delta0 = Phi(0.0) - ee * Phi(-std::sqrt(2.0 * e));
  // Balle and Wang 2018, Algorithm 1: bracket by doubling, then bisect on the Phi condition.
  auto solve = [](auto pred) {  // smallest/largest boundary where pred flips from true to false
    double lo = 0.0, hi = 1.0;
    while (pred(hi)) {
      lo = hi;
      hi *= 2.0;
    }
    for (int i = 0; i < 200; ++i) {
      const double mid = 0.5 * (lo + hi);
      (pred(mid) ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
  };
  double alpha = 1.0;
  if (delta >= delta0) {
    // v* = sup{v >= 0 : B+(v) <= delta}, B+(v) = Phi(sqrt(e v)) - e^e Phi(-sqrt(e (v + 2))), increasing.
    const double v =
        solve([&](double x) { return Phi(std::sqrt(e * x)) - ee * Phi(-std::sqrt(e * (x + 2.0))) <= delta; });
    alpha = std::sqrt(1.0 + v / 2.0) - std::sqrt(v / 2.0);
  } else {
    // u* = inf{u >= 0 : B-(u) <= delta}, B-(u) = Phi(-sqrt(e u)) - e^e Phi(-sqrt(e (u + 2))), decreasing.
    const double u =
        solve([&](double x) { return Phi(-std::sqrt(e * x)) - ee * Phi(-std::sqrt(e * (x + 2.0))) > delta; });
    alpha = std::sqrt(1.0 + u / 2.0) + std::sqrt(u / 2.0);
  }
  return alpha * l2_sensitivity / std::sqrt(2.0 * e);
}

GaussianMechanism GaussianMechanism::from_stddev(double stddev) {
  check_scale(stddev, "GaussianMechanism", "stddev");
  return GaussianMechanism(stddev);
}

GaussianMechanism GaussianMechanism::from_budget(double epsilon, double delta, double l2_sensitivity) {
  return GaussianMechanism(analytic_gaussian_sigma(epsilon, delta, l2_sensitivity));
}

std::vector<double> GaussianMechanism::apply(std::span<const double> values, Seed seed) const {
  return add_gaussian_noise(values, stddev_, seed);
}

LaplaceMechanism LaplaceMechanism::from_scale(double scale) {
  check_scale(scale, "LaplaceMechanism", "scale");
  return LaplaceMechanism(scale);
}

LaplaceMechanism LaplaceMechanism::from_budget(double epsilon, double l1_sensitivity) {
  if (!(epsilon > 0.0) || !std::isfinite(epsilon)) {
    throw InvalidArgument("LaplaceMechanism: argument `epsilon` must be > 0; received " + std::to_string(epsilon));
  }
  check_scale(l1_sensitivity, "LaplaceMechanism", "l1_sensitivity");
  return LaplaceMechanism(l1_sensitivity / epsilon);
}

std::vector<double> LaplaceMechanism::apply(std::span<const double> values, Seed seed) const {
  return add_laplacian_noise(values, scale_, seed);
}

std::vector<double> privatize(std::span<const double> state, const Mechanism& mechanism, Seed seed) {
  return mechanism.apply(state, seed);
}

namespace {
// Rounds the slots of int64 variables so the noisy vector is a valid state again.
void round_counts(const VariableLayout& layout, std::span<double> values) {
  std::size_t pos = 0;
  for (const Variable& v : layout) {
    const auto n = static_cast<std::size_t>(v.numel());
    if (v.dtype == DType::kInt64) {
      for (std::size_t i = pos; i < pos + n; ++i) values[i] = std::nearbyint(values[i]);
    }
    pos += n;
  }
}
}  // namespace

State privatize(const State& state, const Mechanism& mechanism, Seed seed) {
  std::vector<double> noisy = mechanism.apply(state.to_vector(), seed);
  round_counts(state.variables().layout(), noisy);
  return state.from_vector(noisy);
}

CollectionState privatize(const CollectionState& state, const Mechanism& mechanism, Seed seed) {
  std::vector<double> noisy = mechanism.apply(state.to_vector(), seed);
  std::size_t pos = 0;
  for (const State& s : state.states()) {
    const auto n = static_cast<std::size_t>(s.variables().vector_size());
    round_counts(s.variables().layout(), std::span<double>(noisy).subspan(pos, n));
    pos += n;
  }
  return state.from_vector(noisy);
}

}  // namespace tally
