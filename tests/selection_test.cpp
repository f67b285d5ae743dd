// ModelSelector: operators, ties, NaN, restart from the record, crashes between the
// temporary file and the rename, corrupt and foreign records.
#include "tally/selection.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tally/metrics/accuracy.h"
#include "tally/metrics/reduction.h"

namespace tally {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("tally_selection_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

TEST(ModelSelector, GreaterLessTiesAndNaN) {
  ModelSelector up("auc", ModelSelector::greater(), fresh_dir("up"));
  int checkpoints = 0;
  auto save = [&](const std::string& folder) {
    ++checkpoints;
    EXPECT_TRUE(fs::is_directory(folder));
  };
  EXPECT_TRUE(up.update(0.7, 1, save));  // the first value always improves
  EXPECT_FALSE(up.update(0.6, 2, save));
  EXPECT_FALSE(up.update(0.7, 3, save));  // a tie does not
  EXPECT_FALSE(up.update(std::nan(""), 4, save));
  EXPECT_TRUE(up.update(0.9, 5, save));
  EXPECT_EQ(checkpoints, 2);
  EXPECT_EQ(up.best_value(), 0.9);
  EXPECT_EQ(up.best_step(), 5);
  const Json record = ModelSelector::json_read(up.best_model_sel_file());
  EXPECT_EQ(record, (Json{{"metric", "auc"}, {"value", 0.9}, {"step", 5}}));
  EXPECT_NE(up.best_model_sel_file().find("best/auc/auc.json"), std::string::npos);

  ModelSelector down("loss", ModelSelector::less(), fresh_dir("down"));
  EXPECT_TRUE(down.update(1.0, 1));
  EXPECT_TRUE(down.update(0.5, 2));
  EXPECT_FALSE(down.update(0.8, 3));
  ModelSelector none("x", {}, fresh_dir("none"));
  EXPECT_FALSE(none.update(1.0, 1));  // no operator: no selection
  EXPECT_FALSE(fs::exists(none.best_model_sel_file()));
}

TEST(ModelSelector, DirectionComesFromTheMetric) {
  metrics::BinaryAccuracy acc;
  acc.update_state(std::vector<double>{1, 0}, std::vector<double>{0.9, 0.1});
  ModelSelector s(acc.name(), ModelSelector::from_direction(acc), fresh_dir("metric"));
  EXPECT_TRUE(s.update(acc, 10));
  EXPECT_EQ(s.best_value(), 1.0);
  metrics::Mean mean;
  EXPECT_THROW(ModelSelector::from_direction(mean), InvalidArgument);
}

TEST(ModelSelector, RestartsFromTheRecordAndSurvivesAStrayTemporaryFile) {
  const std::string dir = fresh_dir("restart");
  {
    ModelSelector s("acc", ModelSelector::greater(), dir);
    s.update(0.8, 3);
  }
  // A crash after writing the temporary file but before the rename leaves this behind.
  std::ofstream(fs::path(dir) / "best" / "acc" / ".acc.json.tmp-abc123") << "{\"metric\": \"acc\", \"val";
  ModelSelector again("acc", ModelSelector::greater(), dir);
  EXPECT_EQ(again.best_value(), 0.8);
  EXPECT_EQ(again.best_step(), 3);
  EXPECT_FALSE(again.update(0.7, 4));
  EXPECT_TRUE(again.update(0.85, 5));
}

TEST(ModelSelector, AKilledWriterNeverLeavesABrokenRecord) {
  const std::string dir = fresh_dir("killed");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ModelSelector s("m", ModelSelector::greater(), dir);
    for (int i = 1;; ++i) s.update(static_cast<double>(i), i);
  }
  ::usleep(200000);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ModelSelector after("m", ModelSelector::greater(), dir);  // parses, or it would throw
  ASSERT_TRUE(after.best_value().has_value());
  EXPECT_GE(*after.best_value(), 1.0);
  EXPECT_EQ(static_cast<double>(*after.best_step()), *after.best_value());
}

TEST(ModelSelector, CorruptAndForeignRecordsAreErrorsAndUntouched) {
  const std::string dir = fresh_dir("corrupt");
  fs::create_directories(fs::path(dir) / "best" / "f1");
  const fs::path record = fs::path(dir) / "best" / "f1" / "f1.json";
  std::ofstream(record) << "{not json";
  EXPECT_THROW(ModelSelector("f1", ModelSelector::greater(), dir), ConfigError);
  // Found by fuzz_selection: a value beyond double's range escaped as a JSON library exception.
  std::ofstream(record) << R"({"metric": "f1", "value": 2e308, "step": 3})";
  EXPECT_THROW(ModelSelector("f1", ModelSelector::greater(), dir), ConfigError);
  std::ofstream(record) << R"({"metric": "other", "value": 1.0, "step": 2})";
  try {
    ModelSelector("f1", ModelSelector::greater(), dir);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to overwrite"), std::string::npos);
  }
  std::ifstream in(record);
  const std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(kept.find("other"), std::string::npos);
  EXPECT_THROW(ModelSelector("a/b", ModelSelector::greater(), dir), InvalidArgument);
}

}  // namespace
}  // namespace tally
