#pragma once
// Thread control for tally's OpenMP kernels. Kernels split work into fixed-size
// chunks whose boundaries depend only on the data size, so results are identical
// bit for bit whatever the number of threads.

namespace tally {

/// Sets the number of threads tally kernels use (>= 1; 0 restores the OpenMP default).
void set_num_threads(int threads);
/// The number of threads tally kernels use.
int num_threads();

}  // namespace tally
