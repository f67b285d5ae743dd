// Distributed evaluation over MPI: every rank evaluates its share of the bundled
// breast-cancer predictions, one all_reduce_metrics merges the states, rank 0 prints.
//   mpirun -n 2 build/examples/distributed_eval   (add --allow-run-as-root as root)
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <tally/mpi.h>
#include <tally/tally.h>

namespace {

// Reads a 1-D little-endian .npy of int64 or float32 written by examples/data/make_example_data.py.
template <class T>
std::vector<T> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tally::IOError(path + ": cannot open");
  char header[10];
  in.read(header, 10);
  const auto header_len = static_cast<unsigned char>(header[8]) | (static_cast<unsigned char>(header[9]) << 8);
  in.seekg(10 + header_len);
  std::vector<T> values;
  T v{};
  while (in.read(reinterpret_cast<char*>(&v), sizeof(T))) values.push_back(v);
  return values;
}

}  // namespace

int main() {
  tally::MpiContext ctx;  // initialises MPI if needed, finalises it at exit
  const std::string dir = TALLY_EXAMPLES_DATA_DIR;
  const auto labels = read_npy<std::int64_t>(dir + "/breast_cancer_y_true.npy");
  const auto scores = read_npy<float>(dir + "/breast_cancer_y_pred.npy");

  tally::MetricCollection metrics = tally::MetricCollection::from_specs(
      {"binary_accuracy", "mse", R"({"class_name": "F1Score", "config": {"num_classes": 1, "threshold": 0.5}})"});
  const auto [begin, end] = ctx.distribute_range(static_cast<std::int64_t>(labels.size()));
  const tally::TensorView y(labels.data() + begin, tally::DType::kInt64, {end - begin, 1});
  const tally::TensorView p(scores.data() + begin, tally::DType::kFloat32, {end - begin, 1});
  if (end > begin) metrics.update_state(y, p);
  std::printf("rank %d of %d evaluated rows [%lld, %lld)\n", ctx.global_rank(), ctx.world_size(),
              static_cast<long long>(begin), static_cast<long long>(end));

  tally::all_reduce_metrics(metrics, ctx);  // one collective for every metric
  if (ctx.global_rank() == 0) {
    for (const auto& [name, value] : metrics.result()) {
      std::printf("%-20s %.6f\n", name.c_str(), value.to_doubles().at(0));
    }
  }
  return 0;
}
