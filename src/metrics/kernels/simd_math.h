#pragma once
// Vectorised exp / log / log1p over arrays of float64, compiled for several SIMD targets in
// one binary (Google Highway: SSE4, AVX2, AVX-512 (AVX3) and Highway's portable SCALAR fallback) and dispatched at
// run time to the best one this CPU has, so a portable build still uses AVX2 / AVX-512.
// Accuracy: within a few ulp of libm (Highway's contrib math: exp 1 ulp, log 4, log1p 2;
// checked in tests/metrics/simd_kernels_test.cpp). Inputs outside the range where the vector
// formulas are exact (NaN, infinities, subnormal or huge values, zero or negative log
// arguments) take the libm call, so special values behave exactly as std::exp / std::log.
// Every lane runs the same code wherever it sits in the array (the tail too), so a value's
// result never depends on how a batch is split across threads. See docs/performance.md.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tally::metrics::kernels::simd {

/// x[i] = e^x[i] for every i < n, on the best SIMD target of this CPU.
void exp_in_place(double* x, std::size_t n);
/// x[i] = ln x[i] for every i < n, on the best SIMD target of this CPU.
void log_in_place(double* x, std::size_t n);
/// x[i] = ln(1 + x[i]) for every i < n, on the best SIMD target of this CPU.
void log1p_in_place(double* x, std::size_t n);

/// The targets compiled into this binary that this CPU supports (Highway target bits).
std::vector<std::int64_t> available_targets();
/// Restricts dispatch to the given targets (a mask of Highway target bits; 0 restores the
/// CPU's own), for tests that run every kernel on every target.
void restrict_targets_for_test(std::int64_t targets);
/// The name of the target the kernels use now ("AVX3", "AVX2", "SSE4", "SCALAR").
const char* current_target_name();
/// The name of a Highway target bit.
const char* target_name(std::int64_t target);

}  // namespace tally::metrics::kernels::simd
