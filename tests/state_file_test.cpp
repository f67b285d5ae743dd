// save_state / load_state: round trips, every way a file can be bad, and an evaluation that
// is killed with SIGKILL and restarted from its last save ending bit for bit where an
// uninterrupted one does.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "internal/atomic_file.h"
#include "internal/crc32c.h"
#include "support/random_inputs.h"
#include "tally/state_file.h"
#include "tally/tally.h"

extern char** environ;

namespace tally {
namespace {

namespace fs = std::filesystem;

std::string scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("tally_state_file_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

const std::vector<std::string> kSpecs = {
    "auc", "mean_squared_error", "binary_accuracy",
    R"({"class_name": "Precision", "config": {"thresholds": [0.3, 0.6]}})",
    // No num_classes: the state is sized by the first batch, and must restore into a fresh one.
    R"({"class_name": "F1Score", "config": {"average": "macro", "threshold": 0.5}})"};

constexpr int kBatches = 400;
constexpr std::int64_t kRows = 256;

// Batch k of the evaluation, the same in every process.
void update_with_batch(MetricCollection& c, int k) {
  const Tensor y_true = testing::random_labels({kRows, 3}, 1000 + static_cast<std::uint64_t>(k), 2, DType::kFloat32);
  const Tensor y_pred = testing::random_uniform({kRows, 3}, 5000 + static_cast<std::uint64_t>(k), 0.0, 1.0);
  const Tensor weight = testing::random_uniform({kRows}, 9000 + static_cast<std::uint64_t>(k), 0.0, 2.0);
  c.update_state(y_true, y_pred, weight);
}

TEST(StateFile, MetricRoundTripIsExactAndCarriesUserData) {
  auto auc = metrics::get(R"({"class_name": "AUC", "config": {"num_thresholds": 50, "curve": "PR"}})");
  auc->update_state(testing::random_labels({1000}, 1, 2, DType::kFloat32), testing::random_uniform({1000}, 2));
  const std::string path = scratch("auc.state");
  save_state(*auc, path, Json{{"next_batch", 7}});
  const SavedState saved = load_state(path);
  EXPECT_EQ(saved.kind(), SavedState::Kind::kMetric);
  EXPECT_EQ(saved.user_data()["next_batch"], 7);
  EXPECT_EQ(saved.names(), std::vector<std::string>{"auc"});
  const Metric* one[] = {auc.get()};
  EXPECT_EQ(saved.layout_hash(), layout_hash(one));

  const std::unique_ptr<Metric> built = saved.to_metric();
  EXPECT_EQ(built->to_vector(), auc->to_vector());
  EXPECT_EQ(built->value(), auc->value());
  auto fresh = metrics::get(metrics::serialize(*auc));
  saved.restore(*fresh);
  EXPECT_EQ(fresh->to_vector(), auc->to_vector());
}

TEST(StateFile, Int64CountsBeyondTwoToThe53AreKeptExactly) {
  auto tp = metrics::get("TruePositives");
  Variables v = tp->variable_values();
  v.i64(0)[0] = (std::int64_t{1} << 60) + 1;  // not representable as a double
  tp->set_variable_values(v);
  const std::string path = scratch("tp.state");
  save_state(*tp, path);
  EXPECT_EQ(load_state(path).to_metric()->variable_values().i64(0)[0], (std::int64_t{1} << 60) + 1);
}

TEST(StateFile, CollectionRoundTripIncludingAStateSizedOnTheFirstBatch) {
  MetricCollection c = MetricCollection::from_specs(kSpecs);
  for (int k = 0; k < 3; ++k) update_with_batch(c, k);
  const std::string path = scratch("collection.state");
  save_state(c, path);
  const SavedState saved = load_state(path);
  EXPECT_EQ(saved.kind(), SavedState::Kind::kCollection);
  EXPECT_EQ(saved.names(), c.names());
  EXPECT_EQ(saved.to_collection().to_vector(), c.to_vector());
  MetricCollection fresh = MetricCollection::from_specs(kSpecs);
  saved.restore(fresh);
  EXPECT_EQ(fresh.to_vector(), c.to_vector());
  // The restored collection goes on exactly as the original.
  update_with_batch(c, 3);
  update_with_batch(fresh, 3);
  EXPECT_EQ(fresh.to_vector(), c.to_vector());
}

TEST(StateFile, MismatchedTargetsAreErrorsAndLeaveTheTargetUnchanged) {
  auto auc = metrics::get("auc");
  auc->update_state(testing::random_labels({100}, 3, 2, DType::kFloat32), testing::random_uniform({100}, 4));
  const std::string path = scratch("auc200.state");
  save_state(*auc, path);
  const SavedState saved = load_state(path);

  auto other = metrics::get(R"({"class_name": "AUC", "config": {"num_thresholds": 100}})");
  other->update_state(testing::random_labels({10}, 5, 2, DType::kFloat32), testing::random_uniform({10}, 6));
  const std::vector<double> before = other->to_vector();
  const std::string message = error_of([&] { saved.restore(*other); });
  EXPECT_NE(message.find("\"num_thresholds\":200"), std::string::npos) << message;
  EXPECT_NE(message.find("\"num_thresholds\":100"), std::string::npos) << message;
  EXPECT_EQ(other->to_vector(), before);

  auto renamed = metrics::get(R"({"class_name": "AUC", "config": {"name": "roc"}})");
  EXPECT_THROW(saved.restore(*renamed), StateError);

  MetricCollection c = MetricCollection::from_specs({"auc"});
  EXPECT_NE(error_of([&] { saved.restore(c); }).find("restore it into a Metric"), std::string::npos);
  EXPECT_THROW((void)saved.to_collection(), StateError);

  // A collection restore is all or nothing: the second member mismatches, the first stays.
  MetricCollection two = MetricCollection::from_specs({"auc", "mse"});
  update_with_batch(two, 0);
  save_state(two, scratch("two.state"));
  MetricCollection target = MetricCollection::from_specs({"auc", "mae"});
  const std::vector<double> target_before = target.to_vector();
  EXPECT_THROW(load_state(scratch("two.state")).restore(target), StateError);
  EXPECT_EQ(target.to_vector(), target_before);
}

class BadStateFile : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mse = metrics::get("mse");
    mse->update_state(testing::random_uniform({64}, 7), testing::random_uniform({64}, 8));
    path_ = scratch("good.state");
    save_state(*mse, path_);
    good_ = internal::read_file(path_);
  }
  std::string load_error(const std::string& bytes) {
    const std::string path = scratch("bad.state");
    internal::write_file_atomically(path, bytes);
    return error_of([&] { (void)load_state(path); });
  }
  // Rewrites the trailing checksum so the damage reaches the later checks.
  static std::string with_crc(std::string bytes) {
    const std::uint32_t crc = internal::crc32c(bytes.data(), bytes.size() - 4);
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
    return bytes;
  }
  std::string path_, good_;
};

TEST_F(BadStateFile, MissingFile) {
  EXPECT_NE(
      error_of([] { (void)load_state("/nonexistent/dir/x.state"); }).find("/nonexistent/dir/x.state: cannot open"),
      std::string::npos);
}

TEST_F(BadStateFile, ForeignFile) {
  EXPECT_NE(load_error("{\"metric\": \"auc\"}").find("not a tally state file"), std::string::npos);
  EXPECT_NE(load_error("").find("not a tally state file"), std::string::npos);
}

TEST_F(BadStateFile, TruncatedAtEveryLength) {
  for (std::size_t n = 8; n < good_.size(); n += 3) {
    const std::string message = load_error(good_.substr(0, n));
    EXPECT_NE(message.find("truncated"), std::string::npos) << n << ": " << message;
  }
}

TEST_F(BadStateFile, EveryFlippedByteIsCaught) {
  for (std::size_t i = 0; i < good_.size(); ++i) {
    std::string bad = good_;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_NE(load_error(bad), "no error") << "byte " << i;
  }
  std::string bad = good_;
  bad[bad.size() - 20] ^= 1;  // inside the payload: only the checksum can tell
  EXPECT_NE(load_error(bad).find("checksum mismatch"), std::string::npos);
}

TEST_F(BadStateFile, NewerFormatVersion) {
  std::string bad = good_;
  bad[8] = 2;
  EXPECT_NE(load_error(with_crc(bad)).find("format version 2 is not supported"), std::string::npos);
}

TEST_F(BadStateFile, ValidChecksumButInconsistentHeader) {
  std::string bad = good_;
  const std::size_t dtype = bad.find("\"float64\"");
  ASSERT_NE(dtype, std::string::npos);
  bad.replace(dtype, 9, "\"float32\"");
  EXPECT_NE(load_error(with_crc(bad)).find("is not float64 or int64"), std::string::npos);

  // A header that claims a larger variable than the payload holds: caught before allocating.
  std::string big = good_;
  const std::size_t shape = big.find("\"shape\":[]");
  ASSERT_NE(shape, std::string::npos);
  big.replace(shape, 10, "\"shape\":[9]");
  const auto header_bytes = static_cast<std::uint32_t>(big.size() - good_.size()) + [&] {
    std::uint32_t n;
    std::memcpy(&n, good_.data() + 12, 4);
    return n;
  }();
  std::memcpy(big.data() + 12, &header_bytes, 4);
  EXPECT_NE(load_error(with_crc(big)).find("variables larger than the payload"), std::string::npos);

  std::string hash = good_;
  const std::size_t h = hash.find("\"layout_hash\":\"") + 15;
  hash[h] = hash[h] == '0' ? '1' : '0';
  EXPECT_NE(load_error(with_crc(hash)).find("does not match the metrics' fingerprints"), std::string::npos);
}

TEST_F(BadStateFile, SavingIsAtomic) {
  // No temporary file is left next to the target, and an existing file is replaced whole.
  auto mae = metrics::get("mae");
  const fs::path alone = fs::path(scratch("atomic")) / "mae.state";
  fs::create_directories(alone.parent_path());
  save_state(*mae, alone.string());
  save_state(*mae, path_);
  for (const auto& entry : fs::directory_iterator(alone.parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  EXPECT_EQ(load_state(path_).to_metric()->class_name(), "MeanAbsoluteError");
  // Written with the mode a plain open() gives (0666 less the umask), not mkstemp's 0600.
  const mode_t mask = ::umask(027);
  save_state(*mae, alone.string());
  ::umask(mask);
  EXPECT_EQ(fs::status(alone).permissions(), fs::perms(0640));
  EXPECT_THROW(save_state(*mae, "/nonexistent/dir/x.state"), IOError);
}

// The evaluation that the restart test kills: batches from `next_batch` in the saved file
// (or 0) to kBatches, saving after each. Runs only when the parent test starts it.
TEST(StateFileChild, Evaluate) {
  const char* path = std::getenv("TALLY_STATE_FILE_CHILD");
  if (path == nullptr) GTEST_SKIP() << "run by StateFile.KilledAndRestartedEvaluationEndsTheSame";
  MetricCollection c = MetricCollection::from_specs(kSpecs);
  int start = 0;
  if (fs::exists(path)) {
    const SavedState saved = load_state(path);
    saved.restore(c);
    start = saved.user_data()["next_batch"].get<int>();
  }
  for (int k = start; k < kBatches; ++k) {
    update_with_batch(c, k);
    save_state(c, path, Json{{"next_batch", k + 1}});
  }
}

pid_t spawn_child(const std::string& state_path) {
  const std::string env = "TALLY_STATE_FILE_CHILD=" + state_path;
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
  envs.push_back(env);
  std::vector<char*> envp;
  for (std::string& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=StateFileChild.Evaluate";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()), 0);
  return pid;
}

TEST(StateFile, KilledAndRestartedEvaluationEndsTheSame) {
  MetricCollection uninterrupted = MetricCollection::from_specs(kSpecs);
  for (int k = 0; k < kBatches; ++k) update_with_batch(uninterrupted, k);

  std::mt19937 rng(12345);
  int killed_midway = 0;
  for (int trial = 0; trial < 4; ++trial) {
    const std::string path = scratch("restart_" + std::to_string(trial) + ".state");
    fs::remove(path);
    // Kill it twice at random moments, then let a third run finish.
    for (int run = 0; run < 3; ++run) {
      const pid_t child = spawn_child(path);
      ASSERT_GT(child, 0);
      int status = 0;
      if (run < 2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng)));
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
        if (WIFSIGNALED(status)) ++killed_midway;
      } else {
        ::waitpid(child, &status, 0);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the final run failed";
      }
    }
    const SavedState saved = load_state(path);
    EXPECT_EQ(saved.user_data()["next_batch"], kBatches);
    const MetricCollection restarted = saved.to_collection();
    // Bit for bit: the restarted run adds the same batches in the same order.
    EXPECT_EQ(restarted.to_vector(), uninterrupted.to_vector()) << "trial " << trial;
  }
  // Most kills must land mid-run, or the test proves little.
  EXPECT_GE(killed_midway, 4);
}

}  // namespace
}  // namespace tally
