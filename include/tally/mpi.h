#pragma once
// MpiContext: a DistributedContext over MPI (OpenMPI from Debian's libopenmpi-dev).
// Installed and built only when tally is configured with TALLY_WITH_MPI.

#include <mpi.h>

#include "tally/distributed.h"

namespace tally {

/// True when the process was started by mpirun/mpiexec (OpenMPI's OMPI_COMM_WORLD_SIZE,
/// PMIx's PMIX_RANK, or MPICH's PMI_SIZE is set): the analogue of horovod_is_active.
bool launched_under_mpi();

/// A context over an MPI communicator. Initialises MPI only if nobody has, and finalises
/// only what it initialised; local rank and size come from a shared-memory split.
class MpiContext final : public DistributedContext {
 public:
  /// Over MPI_COMM_WORLD.
  MpiContext();
  /// Over a communicator the caller owns (it must outlive the context).
  explicit MpiContext(MPI_Comm communicator);
  ~MpiContext() override;
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  int local_rank() const override { return local_rank_; }
  int global_rank() const override { return rank_; }
  int world_size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void all_reduce_in_place(std::span<double> buffer, ReduceOp op) override;
  void broadcast(std::span<double> buffer, int root) override;
  std::vector<double> all_gather(std::span<const double> local) override;
  void barrier() override;
  MPI_Comm communicator() const { return comm_; }

 private:
  void init(MPI_Comm communicator);

  MPI_Comm comm_ = MPI_COMM_NULL;
  bool initialised_mpi_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace tally
