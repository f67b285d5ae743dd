#pragma once
// The Poisson bootstrap kernel of BootstrapInterval (include/tally/metrics/bootstrap.h).
//
// Row i's weight in resample r is a Poisson(1) count taken from Philox4x32-10 (Random123):
// counter (i mod 2^32, i / 2^32, r / 8 mod 2^32, r / 8 / 2^32), key (seed mod 2^32, seed / 2^32); the 16-bit half
// (r mod 8) of the output, u, gives the count #{j : u >= T_j} where T_j = round(2^16 CDF(j)).
// One Philox call thus serves 8 resamples of a row. The 16-bit inverse CDF truncates the
// count at 8 and quantizes each probability to 2^-16 (docs/metrics.md, "Confidence intervals").

#include <cstdint>
#include <span>

namespace tally::metrics::kernels {

/// Resamples served by one Philox call.
inline constexpr std::int64_t kResamplesPerDraw = 8;

/// Poisson(1) count of row `index` in resample `r` (the scalar reference the kernels match).
int poisson_count(std::uint64_t seed, std::uint64_t index, std::uint64_t r);

/// Poisson counts of rows `index[0..n)` in resamples 8·block .. 8·block + 7:
/// out[j * n + i] is row i's count in resample 8·block + j.
void poisson_counts_block(std::uint64_t seed, const std::int64_t* index, std::int64_t n, std::uint64_t block,
                          std::uint8_t* out);

/// Adds Σ_i count(i, r) · c[t][i] to acc[j · d + t] for the 8 resamples r = 8·block + j, where
/// `c` holds the d per-row contributions column by column (c[t · n + i]). Each resample is
/// summed by one call in a fixed order, so the result does not depend on threads.
void add_resampled_block(std::uint64_t seed, const std::int64_t* index, std::int64_t n, std::uint64_t block,
                         const double* c, std::int64_t d, double* acc);

}  // namespace tally::metrics::kernels
