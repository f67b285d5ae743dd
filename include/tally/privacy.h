#pragma once
// Seeded counter-based noise and differentially private release of metric states.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tally/collection.h"
#include "tally/metric.h"
#include "tally/tensor.h"

namespace tally {

/// Seed for noise functions; nullopt takes SeedScope's default, else std::random_device.
using Seed = std::optional<std::uint64_t>;

/// Sets the thread-local default seed for its lifetime, restoring the previous one.
class SeedScope {
 public:
  /// `seed` nullopt clears the default inside the scope.
  explicit SeedScope(Seed seed);
  ~SeedScope();
  SeedScope(const SeedScope&) = delete;
  SeedScope& operator=(const SeedScope&) = delete;
  /// The current thread's default seed, if a scope set one.
  static Seed current();

 private:
  Seed previous_;
};

/// The seed actually used: explicit, else the scope default, else one from the OS.
std::uint64_t resolve_seed(Seed seed);

/// Adds N(0, stddev^2) noise; element i of tensor t uses Philox counter (t, i), so the
/// noise is identical for any thread count. Returns float64 tensors of the same shapes.
std::vector<Tensor> add_gaussian_noise(std::span<const Tensor> tensors, double stddev, Seed seed = {});
/// Adds Laplace(0, scale) noise, same counter scheme as add_gaussian_noise.
std::vector<Tensor> add_laplacian_noise(std::span<const Tensor> tensors, double scale, Seed seed = {});
/// Gaussian noise on a flat vector (stream index `stream`).
std::vector<double> add_gaussian_noise(std::span<const double> values, double stddev, Seed seed = {},
                                       std::uint32_t stream = 0);
/// Laplace noise on a flat vector (stream index `stream`).
std::vector<double> add_laplacian_noise(std::span<const double> values, double scale, Seed seed = {},
                                        std::uint32_t stream = 0);

/// Norm used for clipping and sensitivity.
enum class NormOrder : std::uint8_t { kL1, kL2 };

/// Scales `values` so its norm is at most max_norm (unchanged if already within).
std::vector<double> clip_by_norm(std::span<const double> values, double max_norm, NormOrder order);
/// Sum of contributions, each clipped first, so one contribution moves the sum by <= max_norm.
std::vector<double> sum_clipped(std::span<const std::vector<double>> contributions, double max_norm, NormOrder order);

/// Standard normal CDF.
double standard_normal_cdf(double x);
/// Analytic Gaussian mechanism sigma (Balle and Wang 2018, Algorithm 1) for (eps, delta).
double analytic_gaussian_sigma(double epsilon, double delta, double l2_sensitivity);

/// A noise-adding mechanism applied to a flat state vector.
class Mechanism {
 public:
  virtual ~Mechanism() = default;
  /// Returns values plus noise.
  virtual std::vector<double> apply(std::span<const double> values, Seed seed) const = 0;
};

/// Gaussian noise with a fixed standard deviation.
class GaussianMechanism : public Mechanism {
 public:
  /// From a noise standard deviation (>= 0).
  static GaussianMechanism from_stddev(double stddev);
  /// (epsilon, delta)-DP for the given L2 sensitivity, via the analytic Gaussian mechanism.
  static GaussianMechanism from_budget(double epsilon, double delta, double l2_sensitivity);
  /// The noise standard deviation.
  double stddev() const { return stddev_; }
  std::vector<double> apply(std::span<const double> values, Seed seed) const override;

 private:
  explicit GaussianMechanism(double stddev) : stddev_(stddev) {}
  double stddev_;
};

/// Laplace noise with a fixed scale b.
class LaplaceMechanism : public Mechanism {
 public:
  /// From a noise scale b (>= 0).
  static LaplaceMechanism from_scale(double scale);
  /// epsilon-DP for the given L1 sensitivity: b = sensitivity / epsilon.
  static LaplaceMechanism from_budget(double epsilon, double l1_sensitivity);
  /// The noise scale b.
  double scale() const { return scale_; }
  std::vector<double> apply(std::span<const double> values, Seed seed) const override;

 private:
  explicit LaplaceMechanism(double scale) : scale_(scale) {}
  double scale_;
};

/// A noisy copy of a flat state vector (from a metric or a collection).
std::vector<double> privatize(std::span<const double> state, const Mechanism& mechanism, Seed seed = {});
/// A noisy copy of a metric State; results from it are estimates (see docs/privacy.md).
/// Noisy values of int64 count variables are rounded to integers (post-processing, so the
/// guarantee is unchanged).
State privatize(const State& state, const Mechanism& mechanism, Seed seed = {});
/// A noisy copy of a collection's state: one draw over the whole concatenated vector.
CollectionState privatize(const CollectionState& state, const Mechanism& mechanism, Seed seed = {});

}  // namespace tally
