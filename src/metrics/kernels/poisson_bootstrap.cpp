#include "metrics/kernels/poisson_bootstrap.h"

#include <Random123/philox.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

// The hot loop is compiled twice, for AVX2 and for the baseline, and chosen at load time
// (GCC function multi-versioning); other compilers get the baseline only.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define TALLY_BOOTSTRAP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TALLY_BOOTSTRAP_CLONES
#endif

namespace tally::metrics::kernels {
namespace {

// T_j = round(2^16 · P(Poisson(1) <= j)), j = 0..7: the count is #{j : u >= T_j}.
std::array<std::uint16_t, 8> make_thresholds() {
  std::array<std::uint16_t, 8> t{};
  double p = std::exp(-1.0), cdf = 0.0;
  for (int j = 0; j < 8; ++j) {
    cdf += p;
    p /= static_cast<double>(j + 1);
    t[static_cast<std::size_t>(j)] = static_cast<std::uint16_t>(std::min(65535.0, std::round(cdf * 65536.0)));
  }
  return t;
}

const std::array<std::uint16_t, 8>& thresholds() {
  static const std::array<std::uint16_t, 8> t = make_thresholds();
  return t;
}

// Rows per Philox group: the rounds run on kLanes counters at once (structure of arrays),
// which the compiler turns into vector multiplies.
constexpr int kLanes = 16;

// Philox4x32-10 on kLanes counters; the same bits as r123::Philox4x32 (checked by tests).
inline __attribute__((always_inline)) void philox_lanes(std::uint32_t (&x)[4][kLanes], std::uint32_t k0,
                                                        std::uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    for (int l = 0; l < kLanes; ++l) {
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * x[0][l];
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * x[2][l];
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ x[1][l] ^ k0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ x[3][l] ^ k1;
      x[1][l] = static_cast<std::uint32_t>(p1);
      x[3][l] = static_cast<std::uint32_t>(p0);
      x[0][l] = n0;
      x[2][l] = n2;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// Counts of kLanes rows (starting at `first`, padded rows get index 0) for 8 resamples.
inline __attribute__((always_inline)) void lane_counts(std::uint64_t seed, const std::int64_t* index,
                                                       std::int64_t first, std::int64_t n, std::uint64_t block,
                                                       std::uint8_t (&k)[8][kLanes]) {
  std::uint32_t x[4][kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const std::uint64_t i = first + l < n ? static_cast<std::uint64_t>(index[first + l]) : 0;
    x[0][l] = static_cast<std::uint32_t>(i);
    x[1][l] = static_cast<std::uint32_t>(i >> 32);
    x[2][l] = static_cast<std::uint32_t>(block);
    x[3][l] = static_cast<std::uint32_t>(block >> 32);
  }
  philox_lanes(x, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  const auto& t = thresholds();
  for (int j = 0; j < 8; ++j) {
    for (int l = 0; l < kLanes; ++l) {
      const std::uint16_t u = static_cast<std::uint16_t>(x[j / 2][l] >> (16 * (j % 2)));
      int c = 0;
      for (int s = 0; s < 8; ++s) c += u >= t[static_cast<std::size_t>(s)] ? 1 : 0;
      k[j][l] = static_cast<std::uint8_t>(c);
    }
  }
}

// Lane-wise accumulation (no reassociation: each lane sums its own rows in order, the lanes
// are added in lane order at the end), D contributions per row (0: d at run time).
template <int D>
inline __attribute__((always_inline)) void add_block_impl(std::uint64_t seed, const std::int64_t* index, std::int64_t n,
                                                          std::uint64_t block, const double* c, std::int64_t d_runtime,
                                                          double* acc) {
  const std::int64_t d = D > 0 ? D : d_runtime;
  std::vector<double> lanes(static_cast<std::size_t>(8 * d * kLanes), 0.0);
  std::uint8_t k[8][kLanes];
  for (std::int64_t g = 0; g < n; g += kLanes) {
    lane_counts(seed, index, g, n, block, k);
    const std::int64_t valid = std::min<std::int64_t>(kLanes, n - g);
    for (int j = 0; j < 8; ++j) {
      double kd[kLanes];
      for (int l = 0; l < kLanes; ++l) kd[l] = l < valid ? static_cast<double>(k[j][l]) : 0.0;
      for (std::int64_t t = 0; t < d; ++t) {
        double* out = lanes.data() + (j * d + t) * kLanes;
        const double* col = c + t * n + g;
        if (valid == kLanes) {
          for (int l = 0; l < kLanes; ++l) out[l] += kd[l] * col[l];
        } else {
          for (int l = 0; l < valid; ++l) out[l] += kd[l] * col[l];
        }
      }
    }
  }
  for (std::int64_t jt = 0; jt < 8 * d; ++jt) {
    double s = 0.0;
    for (int l = 0; l < kLanes; ++l) s += lanes[static_cast<std::size_t>(jt * kLanes + l)];
    acc[jt] += s;
  }
}

TALLY_BOOTSTRAP_CLONES void add_block_d1(std::uint64_t seed, const std::int64_t* index, std::int64_t n,
                                         std::uint64_t block, const double* c, double* acc) {
  add_block_impl<1>(seed, index, n, block, c, 1, acc);
}

TALLY_BOOTSTRAP_CLONES void add_block_d2(std::uint64_t seed, const std::int64_t* index, std::int64_t n,
                                         std::uint64_t block, const double* c, double* acc) {
  add_block_impl<2>(seed, index, n, block, c, 2, acc);
}

TALLY_BOOTSTRAP_CLONES void add_block_dn(std::uint64_t seed, const std::int64_t* index, std::int64_t n,
                                         std::uint64_t block, const double* c, std::int64_t d, double* acc) {
  add_block_impl<0>(seed, index, n, block, c, d, acc);
}

TALLY_BOOTSTRAP_CLONES void counts_block(std::uint64_t seed, const std::int64_t* index, std::int64_t n,
                                         std::uint64_t block, std::uint8_t* out) {
  std::uint8_t k[8][kLanes];
  for (std::int64_t g = 0; g < n; g += kLanes) {
    lane_counts(seed, index, g, n, block, k);
    const std::int64_t valid = std::min<std::int64_t>(kLanes, n - g);
    for (int j = 0; j < 8; ++j) {
      for (std::int64_t l = 0; l < valid; ++l) out[j * n + g + l] = k[j][l];
    }
  }
}

}  // namespace

int poisson_count(std::uint64_t seed, std::uint64_t index, std::uint64_t r) {
  const std::uint64_t block = r / kResamplesPerDraw;
  const r123::Philox4x32::ctr_type ctr = {{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
                                           static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32)}};
  const r123::Philox4x32::key_type key = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const auto out = r123::Philox4x32()(ctr, key);
  const std::uint64_t j = r % kResamplesPerDraw;
  const auto u = static_cast<std::uint16_t>(out.v[j / 2] >> (16 * (j % 2)));
  int c = 0;
  for (const std::uint16_t t : thresholds()) c += u >= t ? 1 : 0;
  return c;
}

void poisson_counts_block(std::uint64_t seed, const std::int64_t* index, std::int64_t n, std::uint64_t block,
                          std::uint8_t* out) {
  counts_block(seed, index, n, block, out);
}

void add_resampled_block(std::uint64_t seed, const std::int64_t* index, std::int64_t n, std::uint64_t block,
                         const double* c, std::int64_t d, double* acc) {
  if (d == 1) {
    add_block_d1(seed, index, n, block, c, acc);
  } else if (d == 2) {
    add_block_d2(seed, index, n, block, c, acc);
  } else {
    add_block_dn(seed, index, n, block, c, d, acc);
  }
}

}  // namespace tally::metrics::kernels
