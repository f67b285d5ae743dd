// A toy training loop: every step it evaluates a validation collection, logs it to JSON
// Lines, CSV and TensorBoard, and keeps the best "checkpoint" by validation AUC.
//   build/examples/train_loop [output folder]   (default: train_loop_out)
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <tally/tally.h>

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "train_loop_out";
  std::filesystem::create_directories(out);
  tally::log::Logger logger;
  logger.add(std::make_unique<tally::log::JsonLinesSink>(out + "/metrics.jsonl"))
      .add(std::make_unique<tally::log::CsvSink>(out + "/metrics.csv"))
      .add(std::make_unique<tally::log::TensorBoardSink>(out + "/tensorboard"));
  tally::ModelSelector selector("auc", tally::ModelSelector::greater(), out);

  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<int> labels(2000);
  for (auto& y : labels) y = static_cast<int>(rng() % 2);
  for (int step = 1; step <= 10; ++step) {
    // The "model" improves with training: its scores separate the classes more each step.
    const double signal = 0.3 * step;
    std::vector<double> scores(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      scores[i] = 1.0 / (1.0 + std::exp(-(signal * (2 * labels[i] - 1) + noise(rng))));
    }
    tally::MetricCollection validation =
        tally::MetricCollection::from_specs({"auc", "binary_accuracy", "binary_crossentropy"});
    validation.update_state(labels, scores);
    logger.log(validation, step);
    const bool improved = selector.update(validation.metric("auc"), step, [&](const std::string& folder) {
      std::ofstream(folder + "checkpoint.txt") << "weights of step " << step << "\n";  // a real loop saves its model
    });
    std::printf("step %2d  auc %.4f%s\n", step, validation.metric("auc").value(), improved ? "  (best)" : "");
  }
  std::printf("best auc %.4f at step %lld; record %s\n", *selector.best_value(),
              static_cast<long long>(*selector.best_step()), selector.best_model_sel_file().c_str());
  return 0;
}
