#pragma once
// MpiContext: a DistributedContext over MPI (OpenMPI from Debian's libopenmpi-dev).
// Installed and built only when tally is configured with TALLY_WITH_MPI.

#include <mpi.h>

#include <array>
#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tally/distributed.h"

namespace tally {

/// True when the process was started by mpirun/mpiexec (OpenMPI's OMPI_COMM_WORLD_SIZE,
/// PMIx's PMIX_RANK, or MPICH's PMI_SIZE is set): the analogue of horovod_is_active.
bool launched_under_mpi();

/// Seconds a collective waits for the other ranks by default (TALLY_MPI_TIMEOUT overrides):
/// long enough for ranks that reach a collective at different times, short enough that a
/// rank that died without signalling does not hold the job for long (docs/distributed.md).
inline constexpr double kDefaultCollectiveTimeout = 30.0;

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
  /// Sends `reason` to every other rank (their collectives then fail at once quoting it) and
  /// waits up to two seconds for them to take notice. Called by the destructor when an
  /// exception unwinds through the context. Afterwards every collective here throws.
  void signal_failure(std::string_view reason) override;
  /// The MPI communicator the context reduces over.
  MPI_Comm communicator() const { return comm_; }

  /// How long a collective waits for the other ranks before throwing DistributedError;
  /// zero waits forever. Default: $TALLY_MPI_TIMEOUT seconds, else kDefaultCollectiveTimeout.
  void set_collective_timeout(double seconds);
  double collective_timeout() const { return timeout_seconds_; }
  /// True once a collective has failed, a peer has signalled failure or this rank has:
  /// the communicator can no longer be used, and the destructor does not finalise MPI.
  bool failed() const { return !failure_.empty(); }

 protected:
  /// all_reduce_metrics' one collective: each region reduced by its own operation. Up to
  /// kExchangeLimit doubles, recursive doubling over non-blocking point-to-point messages
  /// (as fast as a blocking MPI_Allreduce; MPI_Iallreduce costs about twice that); above it,
  /// one MPI_Iallreduce of one contiguous element with a user-defined MPI_Op.
  bool all_reduce_regions(std::span<double> buffer, std::size_t min_count, std::size_t sum_count) override;

 private:
  using Clock = std::chrono::steady_clock;
  void init(MPI_Comm communicator);
  // Waits for `request` while watching for failure notices from peers and the deadline.
  void wait(MPI_Request& request, const char* what);
  // Waits for all `requests`, with the deadline counted from `start` (the collective's start).
  void wait_all(std::span<MPI_Request> requests, const char* what, Clock::time_point start);
  // all_reduce_regions by recursive doubling on exchange_comm_ (any world size).
  void exchange_reduce(std::span<double> buffer);
  // One step of exchange_reduce: swaps buffers with `peer` and reduces, lower rank first.
  void exchange_with(int peer, std::span<double> buffer, Clock::time_point start);
  void throw_if_failed(const char* what) const;
  // Sends failure_ to every other rank; optionally waits (2 s at most) for their acknowledgements.
  void notify_peers(bool wait_for_acknowledgements);

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm fault_comm_ = MPI_COMM_NULL;     // a duplicate, so notices never match user traffic
  MPI_Comm exchange_comm_ = MPI_COMM_NULL;  // another, for exchange_reduce's messages
  // The peer's values in exchange_reduce. Owned by pointer: after a failure a receive may
  // still be pending into it, so a failed context leaves it allocated (see the destructor).
  std::vector<double>* exchange_in_ = nullptr;
  MPI_Request fault_request_ = MPI_REQUEST_NULL;
  MPI_Op packed_op_ = MPI_OP_NULL;  // internal::reduce_packed as an MPI_Op
  // The contiguous datatype of the last packed buffer, kept while its length repeats:
  // creating and freeing one per call cost more than a small collective.
  MPI_Datatype packed_type_ = MPI_DATATYPE_NULL;
  std::size_t packed_type_length_ = 0;
  std::array<char, 1024> fault_message_{};
  std::string failure_;
  double timeout_seconds_ = kDefaultCollectiveTimeout;
  int uncaught_at_construction_ = 0;
  bool initialised_mpi_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace tally
