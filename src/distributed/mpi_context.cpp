#include <cstdlib>
#include <limits>

#include "internal/check.h"
#include "tally/mpi.h"

namespace tally {
namespace {

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, message, &length);
    throw DistributedError(internal::str_cat("MPI: ", what, " failed: ", std::string(message, static_cast<std::size_t>(length))));
  }
}

MPI_Op op_of(ReduceOp op) {
  switch (op) {
    case ReduceOp::kMin: return MPI_MIN;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kSum: break;
  }
  return MPI_SUM;
}

int count_of(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw DistributedError(internal::str_cat("MPI: buffer of ", n, " elements exceeds MPI's int count"));
  }
  return static_cast<int>(n);
}

}  // namespace

bool launched_under_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

MpiContext::MpiContext() { init(MPI_COMM_WORLD); }

MpiContext::MpiContext(MPI_Comm communicator) { init(communicator); }

void MpiContext::init(MPI_Comm communicator) {
  int initialised = 0;
  check(MPI_Initialized(&initialised), "MPI_Initialized");
  if (!initialised) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    initialised_mpi_ = true;
  }
  comm_ = communicator;
  // Errors come back as codes so they become DistributedError instead of aborting.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  MPI_Comm local = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local), "MPI_Comm_split_type");
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
}

MpiContext::~MpiContext() {
  if (initialised_mpi_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

void MpiContext::all_reduce_in_place(std::span<double> buffer, ReduceOp op) {
  check(MPI_Allreduce(MPI_IN_PLACE, buffer.data(), count_of(buffer.size()), MPI_DOUBLE, op_of(op), comm_),
        "MPI_Allreduce");
}

void MpiContext::broadcast(std::span<double> buffer, int root) {
  if (root < 0 || root >= size_) {
    throw InvalidArgument(internal::str_cat("broadcast: root ", root, " is not a rank of a world of ", size_));
  }
  check(MPI_Bcast(buffer.data(), count_of(buffer.size()), MPI_DOUBLE, root, comm_), "MPI_Bcast");
}

std::vector<double> MpiContext::all_gather(std::span<const double> local) {
  std::vector<double> out(local.size() * static_cast<std::size_t>(size_));
  check(MPI_Allgather(local.data(), count_of(local.size()), MPI_DOUBLE, out.data(), count_of(local.size()),
                      MPI_DOUBLE, comm_),
        "MPI_Allgather");
  return out;
}

void MpiContext::barrier() { check(MPI_Barrier(comm_), "MPI_Barrier"); }

}  // namespace tally
