#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "distributed/packed.h"
#include "internal/check.h"
#include "tally/mpi.h"

namespace tally {
namespace {

// Tags on the duplicated fault communicator.
constexpr int kFaultTag = 7001;
constexpr int kAckTag = 7002;
// Tag of exchange_reduce's messages on their own communicator.
constexpr int kExchangeTag = 7003;

// Packed buffers up to this many doubles (64 KiB) reduce by recursive doubling over
// point-to-point messages: latency-bound sizes, where MPI itself uses recursive doubling and
// MPI_Iallreduce's schedule costs as much as the messages (docs/performance.md,
// "all_reduce_metrics"). Larger ones are bandwidth-bound and take MPI_Iallreduce, whose
// algorithms (ring, Rabenseifner) send less than log2(ranks) whole buffers.
constexpr std::size_t kExchangeLimit = 8192;

// While waiting, failure notices and the deadline are looked at every kLookEvery-th poll:
// each look is another pass through MPI's progress engine and a clock read, and a small
// collective completes within a few polls.
constexpr long kLookEvery = 16;

double timeout_from_environment() {
  const char* text = std::getenv("TALLY_MPI_TIMEOUT");
  if (text == nullptr || *text == '\0') return kDefaultCollectiveTimeout;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds >= 0.0)) {
    throw InvalidArgument(
        internal::str_cat("TALLY_MPI_TIMEOUT must be a number of seconds >= 0 (0: no limit); received \"", text, "\""));
  }
  return seconds;
}

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, message, &length);
    throw DistributedError(
        internal::str_cat("MPI: ", what, " failed: ", std::string(message, static_cast<std::size_t>(length))));
  }
}

MPI_Op op_of(ReduceOp op) {
  switch (op) {
    case ReduceOp::kMin:
      return MPI_MIN;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kSum:
      break;
  }
  return MPI_SUM;
}

int count_of(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw DistributedError(internal::str_cat("MPI: buffer of ", n, " elements exceeds MPI's int count"));
  }
  return static_cast<int>(n);
}

// The packed buffer travels as ONE element of a contiguous type of all its doubles, so MPI
// never splits it into segments and the reduction sees the region counts at its start.
void reduce_packed_op(void* in, void* inout, int* count, MPI_Datatype* type) {
  int bytes = 0;
  MPI_Type_size(*type, &bytes);
  const std::size_t n = static_cast<std::size_t>(bytes) / sizeof(double);
  for (int e = 0; e < *count; ++e) {
    internal::reduce_packed(static_cast<const double*>(in) + e * n, static_cast<double*>(inout) + e * n, n);
  }
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
  timeout_seconds_ = timeout_from_environment();
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
  // Failure notices travel on their own communicator, received at any time from any rank,
  // so a rank waiting in a collective learns at once that a peer will never arrive.
  check(MPI_Comm_dup(comm_, &fault_comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(fault_comm_, MPI_ERRORS_RETURN);
  check(MPI_Irecv(fault_message_.data(), static_cast<int>(fault_message_.size()), MPI_CHAR, MPI_ANY_SOURCE, kFaultTag,
                  fault_comm_, &fault_request_),
        "MPI_Irecv");
  check(MPI_Comm_dup(comm_, &exchange_comm_), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(exchange_comm_, MPI_ERRORS_RETURN);
  exchange_in_ = new std::vector<double>();
  check(MPI_Op_create(&reduce_packed_op, /*commute=*/1, &packed_op_), "MPI_Op_create");
  uncaught_at_construction_ = std::uncaught_exceptions();
}

MpiContext::~MpiContext() {
  if (std::uncaught_exceptions() > uncaught_at_construction_ && !failed()) {
    signal_failure(internal::str_cat("rank ", rank_, " left its MpiContext with an exception"));
  }
  if (failed()) {
    // A collective may still be pending here or on a peer, and MPI_Finalize could then wait
    // for ever: leave MPI as it is; the process is exiting with an error, and mpirun ends the job.
    // exchange_in_ stays allocated: a pending receive may still write into it. It is kept
    // reachable from a global so that leak checkers (the ASan pass runs the fault tests) do
    // not report the deliberate leak of a failing process.
    static std::mutex abandoned_mutex;
    static auto* abandoned = new std::vector<std::vector<double>*>();
    const std::lock_guard<std::mutex> lock(abandoned_mutex);
    abandoned->push_back(exchange_in_);
    return;
  }
  delete exchange_in_;
  if (fault_request_ != MPI_REQUEST_NULL) {
    MPI_Cancel(&fault_request_);
    MPI_Wait(&fault_request_, MPI_STATUS_IGNORE);
  }
  if (fault_comm_ != MPI_COMM_NULL) MPI_Comm_free(&fault_comm_);
  if (exchange_comm_ != MPI_COMM_NULL) MPI_Comm_free(&exchange_comm_);
  if (packed_op_ != MPI_OP_NULL) MPI_Op_free(&packed_op_);
  if (packed_type_ != MPI_DATATYPE_NULL) MPI_Type_free(&packed_type_);
  if (initialised_mpi_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

void MpiContext::set_collective_timeout(double seconds) {
  if (!(seconds >= 0.0)) {
    throw InvalidArgument(
        internal::str_cat("MpiContext: collective timeout must be >= 0 seconds (0: no limit); received ", seconds));
  }
  timeout_seconds_ = seconds;
}

void MpiContext::throw_if_failed(const char* what) const {
  if (failed()) {
    throw DistributedError(
        internal::str_cat("MPI: ", what, " on rank ", rank_, " refused: the job has already failed (", failure_, ")"));
  }
}

void MpiContext::wait(MPI_Request& request, const char* what) { wait_all({&request, 1}, what, Clock::now()); }

void MpiContext::wait_all(std::span<MPI_Request> requests, const char* what, Clock::time_point start) {
  for (long spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), what);
    if (done) return;
    if (spins % kLookEvery != kLookEvery - 1) continue;
    int noticed = 0;
    MPI_Status status;
    check(MPI_Test(&fault_request_, &noticed, &status), "MPI_Test");
    if (noticed) {
      int length = 0;
      MPI_Get_count(&status, MPI_CHAR, &length);
      failure_ = std::string(fault_message_.data(), static_cast<std::size_t>(std::max(length, 0)));
      // Acknowledge, so that the failing rank may exit without the job being torn down
      // before this rank has reported its error.
      char ack = 1;
      MPI_Send(&ack, 1, MPI_CHAR, status.MPI_SOURCE, kAckTag, fault_comm_);
      throw DistributedError(internal::str_cat("MPI: ", what, " on rank ", rank_, " abandoned: ", failure_));
    }
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    if (timeout_seconds_ > 0.0 && waited > timeout_seconds_) {
      failure_ = internal::str_cat("rank ", rank_, " timed out in ", what, " after ", timeout_seconds_, " s");
      // A stalled rank that arrives later learns at once that the job has failed.
      notify_peers(/*wait_for_acknowledgements=*/false);
      throw DistributedError(
          internal::str_cat("MPI: ", what, " on rank ", rank_, " timed out after ", timeout_seconds_,
                            " s waiting for the other ranks; a rank may have failed or stalled before reaching it "
                            "(set the limit with TALLY_MPI_TIMEOUT or MpiContext::set_collective_timeout)"));
    }
    // Spin first (most collectives finish in microseconds), then give the core away:
    // ranks are often oversubscribed, and the peer we wait for may need this core.
    if (spins > 2000) std::this_thread::sleep_for(std::chrono::microseconds(spins > 20000 ? 200 : 20));
  }
}

void MpiContext::signal_failure(std::string_view reason) {
  if (failed()) return;
  failure_ = internal::str_cat("rank ", rank_, " failed: ", reason);
  notify_peers(/*wait_for_acknowledgements=*/true);
}

void MpiContext::notify_peers(bool wait_for_acknowledgements) {
  const std::string notice = failure_.substr(0, fault_message_.size());
  std::vector<MPI_Request> sends, acks;
  std::vector<char> ack_bytes(static_cast<std::size_t>(size_));
  for (int peer = 0; peer < size_; ++peer) {
    if (peer == rank_) continue;
    MPI_Request r = MPI_REQUEST_NULL;
    if (MPI_Isend(notice.data(), static_cast<int>(notice.size()), MPI_CHAR, peer, kFaultTag, fault_comm_, &r) ==
        MPI_SUCCESS) {
      sends.push_back(r);
    }
    if (MPI_Irecv(&ack_bytes[static_cast<std::size_t>(peer)], 1, MPI_CHAR, peer, kAckTag, fault_comm_, &r) ==
        MPI_SUCCESS) {
      acks.push_back(r);
    }
  }
  // Bounded: a peer busy outside any collective acknowledges only when it next enters one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_for_acknowledgements ? 2 : 0);
  int all_sent = 0, all_acked = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    MPI_Testall(static_cast<int>(sends.size()), sends.data(), &all_sent, MPI_STATUSES_IGNORE);
    MPI_Testall(static_cast<int>(acks.size()), acks.data(), &all_acked, MPI_STATUSES_IGNORE);
    if (all_sent && all_acked) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void MpiContext::all_reduce_in_place(std::span<double> buffer, ReduceOp op) {
  throw_if_failed("MPI_Allreduce");
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(MPI_IN_PLACE, buffer.data(), count_of(buffer.size()), MPI_DOUBLE, op_of(op), comm_, &request),
        "MPI_Allreduce");
  wait(request, "MPI_Allreduce");
}

bool MpiContext::all_reduce_regions(std::span<double> buffer, std::size_t /*min_count*/, std::size_t /*sum_count*/) {
  // The counts travel in buffer[0] and buffer[1], where reduce_packed reads them.
  throw_if_failed("MPI_Allreduce");
  if (buffer.size() <= kExchangeLimit) {
    exchange_reduce(buffer);
    return true;
  }
  if (packed_type_ == MPI_DATATYPE_NULL || packed_type_length_ != buffer.size()) {
    if (packed_type_ != MPI_DATATYPE_NULL) MPI_Type_free(&packed_type_);
    packed_type_length_ = 0;
    check(MPI_Type_contiguous(count_of(buffer.size()), MPI_DOUBLE, &packed_type_), "MPI_Type_contiguous");
    const int rc = MPI_Type_commit(&packed_type_);
    if (rc != MPI_SUCCESS) MPI_Type_free(&packed_type_);
    check(rc, "MPI_Type_commit");
    packed_type_length_ = buffer.size();
  }
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(MPI_IN_PLACE, buffer.data(), 1, packed_type_, packed_op_, comm_, &request), "MPI_Allreduce");
  wait(request, "MPI_Allreduce");
  return true;
}

// Recursive doubling (as in MPICH's allreduce for short messages): with p2 the largest power
// of two <= ranks and rem = ranks - p2, ranks 0, 2, ..., 2 rem - 2 first hand their values to
// the next rank and take the result back at the end; the other p2 ranks swap and reduce with
// the rank whose (renumbered) rank differs in bit k, for each k. Each pair reduces the lower
// rank's values first, so both compute the same bits (min and max of a NaN depend on the
// order) and every rank ends with the same buffer. Every wait watches for failure notices
// and the deadline, counted from the start of the collective.
void MpiContext::exchange_reduce(std::span<double> buffer) {
  const Clock::time_point start = Clock::now();
  exchange_in_->resize(buffer.size());
  int p2 = 1;
  while (p2 <= size_ / 2) p2 *= 2;
  const int rem = size_ - p2;
  const int count = count_of(buffer.size());
  if (rank_ < 2 * rem && rank_ % 2 == 0) {
    // Hands its values to rank + 1 and takes the result back.
    MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    check(MPI_Isend(buffer.data(), count, MPI_DOUBLE, rank_ + 1, kExchangeTag, exchange_comm_, &requests[0]),
          "MPI_Allreduce");
    check(MPI_Irecv(exchange_in_->data(), count, MPI_DOUBLE, rank_ + 1, kExchangeTag, exchange_comm_, &requests[1]),
          "MPI_Allreduce");
    wait_all(requests, "MPI_Allreduce", start);
    std::copy(exchange_in_->begin(), exchange_in_->end(), buffer.begin());
    return;
  }
  if (rank_ < 2 * rem) {
    // Takes rank - 1's values (the lower rank's first).
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Irecv(exchange_in_->data(), count, MPI_DOUBLE, rank_ - 1, kExchangeTag, exchange_comm_, &request),
          "MPI_Allreduce");
    wait_all({&request, 1}, "MPI_Allreduce", start);
    internal::reduce_packed(exchange_in_->data(), buffer.data(), buffer.size());
  }
  const int renumbered = rank_ < 2 * rem ? rank_ / 2 : rank_ - rem;
  for (int bit = 1; bit < p2; bit *= 2) {
    const int partner = renumbered ^ bit;
    exchange_with(partner < rem ? 2 * partner + 1 : partner + rem, buffer, start);
  }
  if (rank_ < 2 * rem) {
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Isend(buffer.data(), count, MPI_DOUBLE, rank_ - 1, kExchangeTag, exchange_comm_, &request),
          "MPI_Allreduce");
    wait_all({&request, 1}, "MPI_Allreduce", start);
  }
}

void MpiContext::exchange_with(int peer, std::span<double> buffer, Clock::time_point start) {
  std::vector<double>& in = *exchange_in_;
  const int count = count_of(buffer.size());
  MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  check(MPI_Irecv(in.data(), count, MPI_DOUBLE, peer, kExchangeTag, exchange_comm_, &requests[0]), "MPI_Allreduce");
  check(MPI_Isend(buffer.data(), count, MPI_DOUBLE, peer, kExchangeTag, exchange_comm_, &requests[1]), "MPI_Allreduce");
  wait_all(requests, "MPI_Allreduce", start);
  if (peer < rank_) {
    internal::reduce_packed(in.data(), buffer.data(), buffer.size());
  } else {
    internal::reduce_packed(buffer.data(), in.data(), buffer.size());
    std::copy(in.begin(), in.end(), buffer.begin());
  }
}

void MpiContext::broadcast(std::span<double> buffer, int root) {
  if (root < 0 || root >= size_) {
    throw InvalidArgument(internal::str_cat("broadcast: root ", root, " is not a rank of a world of ", size_));
  }
  throw_if_failed("MPI_Bcast");
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Ibcast(buffer.data(), count_of(buffer.size()), MPI_DOUBLE, root, comm_, &request), "MPI_Bcast");
  wait(request, "MPI_Bcast");
}

std::vector<double> MpiContext::all_gather(std::span<const double> local) {
  throw_if_failed("MPI_Allgather");
  std::vector<double> out(local.size() * static_cast<std::size_t>(size_));
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallgather(local.data(), count_of(local.size()), MPI_DOUBLE, out.data(), count_of(local.size()), MPI_DOUBLE,
                       comm_, &request),
        "MPI_Allgather");
  wait(request, "MPI_Allgather");
  return out;
}

void MpiContext::barrier() {
  throw_if_failed("MPI_Barrier");
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Ibarrier(comm_, &request), "MPI_Barrier");
  wait(request, "MPI_Barrier");
}

}  // namespace tally
