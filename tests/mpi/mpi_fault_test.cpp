// A rank that fails before a collective must make every rank fail, with a clear error and in
// bounded time, instead of leaving the others waiting for ever. run_fault_test.sh starts this
// under mpirun -n 3 and checks what each rank reported in <out>/rank<r>.txt.
//
// Modes: throw   rank 1 throws before all_reduce_metrics; its MpiContext unwinds and
//                signals the others, which abandon the collective quoting rank 1's failure.
//        signal  rank 1 catches its own error and calls signal_failure explicitly.
//        stall   rank 1 sleeps past the collective timeout (TALLY_MPI_TIMEOUT=2): the others
//                time out; rank 1 is refused when it arrives, and fails too.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/random_inputs.h"
#include "tally/mpi.h"
#include "tally/registry.h"

namespace {

void evaluate(const std::string& mode) {
  tally::MpiContext ctx;
  tally::MetricCollection metrics = tally::MetricCollection::from_specs({"auc", "mse"});
  const tally::Tensor y = tally::testing::random_labels({100}, 1, 2, tally::DType::kFloat32);
  const tally::Tensor p = tally::testing::random_uniform({100}, 2);
  metrics.update_state(y, p);
  if (ctx.global_rank() == 1) {
    if (mode == "throw") throw std::runtime_error("injected failure on rank 1 before the collective");
    if (mode == "signal") {
      try {
        throw std::runtime_error("injected failure on rank 1, caught and signalled");
      } catch (const std::exception& e) {
        ctx.signal_failure(e.what());
        throw;
      }
    }
    if (mode == "stall") std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  tally::all_reduce_metrics(metrics, ctx);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: mpi_fault_test throw|signal|stall OUT_DIR\n");
    return 2;
  }
  const char* rank_text = std::getenv("OMPI_COMM_WORLD_RANK");
  const std::string rank = rank_text != nullptr ? rank_text : "?";
  std::string outcome;
  int status = 0;
  try {
    evaluate(argv[1]);
    outcome = "ok";
  } catch (const std::exception& e) {
    outcome = e.what();
    status = 3;
  }
  std::ofstream(std::string(argv[2]) + "/rank" + rank + ".txt") << outcome << "\n";
  std::fprintf(stderr, "rank %s: %s\n", rank.c_str(), outcome.c_str());
  // mpirun ends the whole job as soon as one rank exits with an error; linger a moment so
  // that a busy machine cannot kill a peer between its error and its report.
  if (status != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return status;
}
