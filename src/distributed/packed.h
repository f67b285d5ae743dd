#pragma once
// The reduction of all_reduce_metrics' packed buffer, shared by the library and the MPI
// context (whose MPI_Op sees only the data): buffer[0] and buffer[1] hold the length of the
// min region and of the sum region that follows it; the rest reduces by max.

#include <cstddef>

namespace tally::internal {

/// inout[i] = op(in[i], inout[i]) per region of a packed buffer of n doubles; buffers whose
/// region counts differ (ranks with different layouts) reduce entirely by min.
void reduce_packed(const double* in, double* inout, std::size_t n);

}  // namespace tally::internal
