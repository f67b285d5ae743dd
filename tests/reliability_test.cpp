// Issue 19 "Reliability II", the library's part: deeply nested JSON from outside, state files
// whose values make no sense, I/O failures that name the path and the OS reason, and the
// memory limit on one update. Each test is one probe of docs/reliability.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "internal/atomic_file.h"
#include "internal/crc32c.h"
#include "internal/json_bounded.h"
#include "support/random_inputs.h"
#include "tally/tally.h"

namespace tally {
namespace {

namespace fs = std::filesystem;

std::string scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("tally_reliability_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "no error";
}

std::string nested(std::size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

// A state file with the given header JSON text and payload, with a valid checksum.
std::string state_file_bytes(const std::string& header, const std::string& payload) {
  std::string out = "TALLYSTF";
  auto put = [&out](auto value) { out.append(reinterpret_cast<const char*>(&value), sizeof value); };
  put(std::uint32_t{1});
  put(static_cast<std::uint32_t>(header.size()));
  out += header;
  put(static_cast<std::uint64_t>(payload.size()));
  out += payload;
  put(internal::crc32c(out.data(), out.size()));
  return out;
}

std::string header_of(const std::string& bytes) {
  std::uint32_t length = 0;
  std::memcpy(&length, bytes.data() + 12, 4);
  return bytes.substr(16, length);
}

std::string payload_of(const std::string& bytes) {
  const std::size_t header = header_of(bytes).size();
  return bytes.substr(16 + header + 8, bytes.size() - (16 + header + 8) - 4);
}

// --- 1. deeply nested JSON -------------------------------------------------------------------

TEST(DeepJson, SpecTextIsRefusedWithAConfigError) {
  const std::string prefix = R"({"class_name":"AUC","config":{"name":)";
  for (const std::size_t depth : {std::size_t{101}, std::size_t{60000}, std::size_t{200000}}) {
    const std::string spec = prefix + nested(depth) + "}}";
    const std::string message = error_of<ConfigError>([&] { (void)metrics::get(spec); });
    // The two objects and 98 brackets make 100 levels; the 99th bracket is one too many.
    EXPECT_NE(message.find(internal::str_cat("JSON nested deeper than 100 levels (at byte ", prefix.size() + 98, ")")),
              std::string::npos)
        << message;
    EXPECT_LT(message.size(), 300u);  // the spec is quoted, bounded
  }
  // Depth 100 parses, and the type error quotes a bounded rendering of the value.
  const std::string at_limit = R"({"class_name":"AUC","config":{"name":)" + nested(98) + "}}";
  const std::string message = error_of<ConfigError>([&] { (void)metrics::get(at_limit); });
  EXPECT_NE(message.find("argument `name` must be a string; received [[[[...]]]]"), std::string::npos) << message;
}

TEST(DeepJson, ParsedSpecsAndConfigsAreRefusedBeforeAnyRecursion) {
  // Built in place: copying a nested Json recurses once per level (the very hazard here).
  Json spec = {{"class_name", "AUC"}, {"config", {{"name", Json::array()}}}};
  Json* level = &spec["config"]["name"];
  for (int i = 0; i < 200000; ++i) level = &level->emplace_back(Json::array());
  EXPECT_NE(error_of<ConfigError>([&] { (void)metrics::get(spec); }).find("metrics.get: spec: JSON nested deeper"),
            std::string::npos);
  EXPECT_NE(error_of<ConfigError>([&] {
              (void)metrics::from_config("AUC", spec["config"]);
            }).find("AUC: config: JSON nested deeper than 100 levels"),
            std::string::npos);
  Json specs = Json::array();
  specs.push_back(std::move(spec));
  EXPECT_NE(error_of<ConfigError>([&] {
              (void)MetricCollection::from_json(specs);
            }).find("MetricCollection: specs: JSON nested deeper"),
            std::string::npos);
}

TEST(DeepJson, MessagesQuoteBoundedRenderings) {
  const std::string big(10 << 20, 'x');
  const std::string message = error_of<ConfigError>([&] { (void)metrics::get(Json::array({big, 1})); });
  EXPECT_NE(message.find("received [\"xxxxxxxx"), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 250u) << message.substr(0, 300);
  EXPECT_EQ(internal::describe_json_value(Json::parse(R"({"a":[1,2,{"b":[3]}],"c":"d"})")),
            R"({"a":[1,2,{"b":[...]}],"c":"d"})");
  EXPECT_EQ(internal::describe_text(std::string("a\0b\n\"", 5)), R"("a\x00b\n\"")");
  EXPECT_EQ(internal::describe_text(std::string(100, 'y'), 10), "\"yyyyyyyyyy...\"");
  const std::string long_list = internal::describe_json_value(Json(std::vector<int>(100000, 7)));
  EXPECT_LT(long_list.size(), 90u);
  EXPECT_EQ(long_list.substr(long_list.size() - 3), "...");
}

TEST(DeepJson, StateFileWithADeepSpecAndAValidChecksum) {
  metrics::Mean mean;
  mean.update_state(std::vector<double>{1, 2, 3});
  const std::string path = scratch("deep_spec.state");
  save_state(mean, path);
  const std::string good = internal::read_file(path);
  std::string header = header_of(good);
  const std::string name_field = R"("name":"mean")";
  ASSERT_NE(header.find(name_field), std::string::npos);
  header.replace(header.find(name_field), name_field.size(), "\"name\":" + nested(200000));
  internal::write_file_atomically(path, state_file_bytes(header, payload_of(good)));
  const std::string message = error_of<StateError>([&] { (void)load_state(path); });
  EXPECT_NE(message.find(path + ": malformed tally state file: header: JSON nested deeper than 103 levels"),
            std::string::npos)
      << message;
}

TEST(DeepJson, StateFileWithDeepUserData) {
  metrics::Mean mean;
  const std::string path = scratch("deep_user_data.state");
  save_state(mean, path, Json{{"epoch", 3}});
  const std::string good = internal::read_file(path);
  std::string header = header_of(good);
  const std::string field = R"("user_data":{"epoch":3})";
  ASSERT_NE(header.find(field), std::string::npos);
  for (const std::size_t depth : {std::size_t{101}, std::size_t{100000}}) {
    std::string value;  // {"k":{"k":...1}}, `depth` objects deep
    for (std::size_t i = 0; i < depth; ++i) value += R"({"k":)";
    value += "1" + std::string(depth, '}');
    std::string deep = header;
    deep.replace(deep.find(field), field.size(), "\"user_data\":" + value);
    internal::write_file_atomically(path, state_file_bytes(deep, payload_of(good)));
    const std::string message = error_of<StateError>([&] { (void)load_state(path); });
    EXPECT_NE(message.find("JSON nested deeper than"), std::string::npos) << depth << ": " << message.substr(0, 300);
  }
  // Writing is bounded the same way, so every file tally writes reads back.
  Json deep = 1;
  for (int i = 0; i < 101; ++i) deep = Json{{"k", std::move(deep)}};
  EXPECT_NE(error_of<InvalidArgument>([&] {
              save_state(mean, path, deep);
            }).find("save_state: user_data: JSON nested deeper than 100 levels"),
            std::string::npos);
}

TEST(DeepJson, SelectionRecordsAreBounded) {
  const std::string path = scratch("deep.json");
  {
    std::ofstream out(path);
    out << nested(200000);
  }
  EXPECT_NE(error_of<ConfigError>([&] { (void)ModelSelector::json_read(path); }).find("JSON nested deeper"),
            std::string::npos);
}

// --- 4. state files checked for meaning -------------------------------------------------------

TEST(StateMeaning, NegativeOrNaNCountsAreRefused) {
  metrics::Mean mean;
  mean.update_state(std::vector<double>{1, 2, 3});
  const std::vector<double> before = mean.to_vector();
  for (const double bad : {-5.0, std::nan(""), static_cast<double>(INFINITY)}) {
    const std::string message = error_of<StateError>([&] { mean.from_vector(std::vector<double>{10, bad}); });
    EXPECT_NE(message.find("mean: state vector element 1 (variable \"count\", a count or a sum of weights) must be "
                           "finite and >= 0"),
              std::string::npos)
        << message;
    EXPECT_EQ(mean.to_vector(), before);
    // A State may hold a noisy estimate (privatize): only restoring it into a metric checks.
    const State estimate = mean.state().from_vector(std::vector<double>{10, bad});
    EXPECT_THROW(mean.set_state(estimate), StateError);
    EXPECT_EQ(mean.to_vector(), before);
  }
  mean.from_vector(std::vector<double>{10, 4});  // a valid state still restores
  EXPECT_DOUBLE_EQ(mean.value(), 2.5);
  // Totals may be anything a batch can produce.
  mean.from_vector(std::vector<double>{-10, 4});
  EXPECT_DOUBLE_EQ(mean.value(), -2.5);
}

TEST(StateMeaning, Int64CountsMustBeNonNegative) {
  auto auc = metrics::get(R"({"class_name":"AUC","config":{"num_thresholds":3}})");
  std::vector<double> v = auc->to_vector();
  v[0] = -1;
  EXPECT_NE(error_of<StateError>([&] { auc->from_vector(v); }).find("must be finite and >= 0; received -1"),
            std::string::npos);
  v[0] = 2.5;
  EXPECT_NE(error_of<StateError>([&] { auc->from_vector(v); }).find("must be an integer"), std::string::npos);
}

TEST(StateMeaning, ChecksumValidFileWithANegativeCount) {
  metrics::Mean mean;
  mean.update_state(std::vector<double>{1, 2, 3});
  const std::string path = scratch("negative_count.state");
  save_state(mean, path);
  const std::string good = internal::read_file(path);
  for (const double bad : {-5.0, std::nan("")}) {
    std::string payload = payload_of(good);  // total, count
    std::memcpy(payload.data() + 8, &bad, 8);
    internal::write_file_atomically(path, state_file_bytes(header_of(good), payload));
    const SavedState saved = load_state(path);  // float64 counts: their domain is the metric's
    metrics::Mean target;
    target.update_state(std::vector<double>{7});
    const std::string message = error_of<StateError>([&] { saved.restore(target); });
    EXPECT_NE(message.find("state variable \"count\" element 0 is a count or a sum of weights and must be finite and "
                           ">= 0"),
              std::string::npos)
        << message;
    EXPECT_DOUBLE_EQ(target.value(), 7.0);  // unchanged
    EXPECT_THROW((void)saved.to_metric(), StateError);
  }
}

TEST(StateMeaning, ChecksumValidFileWithANegativeInt64CountFailsToLoad) {
  auto auc = metrics::get(R"({"class_name":"AUC","config":{"num_thresholds":3}})");
  auc->update_state(std::vector<double>{0, 1}, std::vector<double>{0.2, 0.8});
  const std::string path = scratch("negative_tp.state");
  save_state(*auc, path);
  const std::string good = internal::read_file(path);
  std::string payload = payload_of(good);
  const std::int64_t bad = -3;
  std::memcpy(payload.data(), &bad, 8);  // the first variable: true_positives, int64
  internal::write_file_atomically(path, state_file_bytes(header_of(good), payload));
  const std::string message = error_of<StateError>([&] { (void)load_state(path); });
  EXPECT_NE(message.find("malformed tally state file: AUC \"auc\": state variable \"true_positives\" element 0"),
            std::string::npos)
      << message;
}

TEST(StateMeaning, SetStateAndSetVariableValuesCheckDomains) {
  metrics::Mean good, bad;
  good.update_state(std::vector<double>{2});
  Variables values = bad.variable_values();
  values.f64(1)[0] = -1;
  EXPECT_THROW(good.set_variable_values(values), StateError);
  EXPECT_THROW(good.set_state(State(good.clone(), values)), StateError);
  EXPECT_DOUBLE_EQ(good.value(), 2.0);
}

// --- 5. I/O failures name the path and the OS reason ------------------------------------------
// Tests run as root, where permissions do not stop writes: the "read-only" places here are
// paths under a regular file (ENOTDIR, "Not a directory").

std::string under_a_file(const std::string& name) {
  const std::string file = scratch("plain_file");
  std::ofstream(file) << "x";
  return file + "/" + name;
}

TEST(IOErrors, ModelSelectorUnderAFile) {
  const std::string logdir = under_a_file("logdir");
  ModelSelector selector("auc", ModelSelector::greater(), logdir);
  const std::string message = error_of<IOError>([&] { selector.update(0.5, 1); });
  EXPECT_NE(message.find(logdir + "/best/auc/: cannot create the folder: Not a directory"), std::string::npos)
      << message;
  EXPECT_NE(error_of<IOError>([&] {
              ModelSelector::json_write(logdir + "/x.json", Json::object());
            }).find(logdir + "/x.json: cannot create a temporary file: Not a directory"),
            std::string::npos);
}

TEST(IOErrors, SinksUnderAFile) {
  const std::string dir = under_a_file("logs");
  const log::Results results{{"acc", Tensor::scalar(0.5)}};
  const std::string tb = error_of<IOError>([&] { log::TensorBoardSink sink(dir); });
  EXPECT_NE(tb.find(dir + ": cannot create the folder: Not a directory"), std::string::npos) << tb;
  log::JsonLinesSink jsonl(dir + "/m.jsonl");
  EXPECT_NE(error_of<IOError>([&] {
              jsonl.write(1, results);
            }).find(dir + "/m.jsonl: cannot open for appending: Not a directory"),
            std::string::npos);
  log::CsvSink csv(dir + "/m.csv");
  EXPECT_NE(error_of<IOError>([&] {
              csv.write(1, results);
            }).find(dir + "/m.csv: cannot open for appending: Not a directory"),
            std::string::npos);
}

TEST(IOErrors, WriteFailuresSayWhy) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const log::Results results{{"acc", Tensor::scalar(0.5)}};
  log::JsonLinesSink jsonl("/dev/full");
  EXPECT_NE(
      error_of<IOError>([&] { jsonl.write(1, results); }).find("/dev/full: write failed: No space left on device"),
      std::string::npos);
}

TEST(IOErrors, ReadingRefusesWhatIsNotARegularFile) {
  const std::string fifo = scratch("state.fifo");
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(error_of<IOError>([&] { (void)load_state(fifo); }).find(fifo + ": cannot read: not a regular file"),
            std::string::npos);
  EXPECT_NE(error_of<IOError>([&] {
              (void)load_state(fs::temp_directory_path().string());
            }).find("not a regular file (a folder)"),
            std::string::npos);
  EXPECT_NE(error_of<IOError>([&] { (void)load_state(under_a_file("x.state")); }).find("cannot open: Not a directory"),
            std::string::npos);
}

// --- 6. the memory limit ----------------------------------------------------------------------

class MemoryLimit : public ::testing::Test {
 protected:
  void TearDown() override { set_memory_limit(0); }
};

TEST_F(MemoryLimit, HugeConfigsFailFastWithAClearMessage) {
  EXPECT_EQ(memory_limit(), kDefaultMemoryLimit);
  const std::string auc = error_of<InvalidArgument>(
      [] { (void)metrics::get(R"({"class_name":"AUC","config":{"num_thresholds":16777216}})"); });
  EXPECT_NE(auc.find("AUC: its state would take 1 GiB, more than half the memory limit"), std::string::npos) << auc;
  EXPECT_NE(auc.find("over tally's memory limit of 1 GiB; raise it with tally::set_memory_limit"), std::string::npos);
  const std::string iou = error_of<InvalidArgument>(
      [] { (void)metrics::get(R"({"class_name":"MeanIoU","config":{"num_classes":8192}})"); });
  EXPECT_NE(iou.find("its state would take 1 GiB"), std::string::npos) << iou;
}

TEST_F(MemoryLimit, ScratchOfOneUpdateIsBudgeted) {
  // 2^17 thresholds: 8 MiB of state (at most half of 20 MiB) and 16.8 MiB of scratch (counts
  // and histograms, plus the radix path's key pool).
  set_memory_limit(20 << 20);
  auto auc = metrics::get(R"({"class_name":"AUC","config":{"num_thresholds":131072}})");
  const std::string message = error_of<InvalidArgument>([&] {
    auc->update_state(std::vector<double>{0, 1}, std::vector<double>{0.2, 0.8});
  });
  EXPECT_NE(message.find("this update needs"), std::string::npos) << message;
  EXPECT_NE(
      message.find("this update needs 16.8 MiB for confusion counts on top of 8 MiB of state, over tally's memory "
                   "limit of 20 MiB"),
      std::string::npos)
      << message;
  EXPECT_EQ(auc->to_vector(), std::vector<double>(auc->to_vector().size(), 0.0));  // unchanged
  set_memory_limit(64 << 20);
  auc->update_state(std::vector<double>{0, 1}, std::vector<double>{0.2, 0.8});
  EXPECT_NEAR(auc->value(), 1.0, 1e-9);
}

TEST_F(MemoryLimit, CollectionsCountTheirStateCopies) {
  set_memory_limit(10 << 20);
  MetricCollection c = MetricCollection::from_specs(
      {R"({"class_name":"AUC","config":{"num_thresholds":40000,"name":"a"}})",
       R"({"class_name":"AUC","config":{"num_thresholds":40000,"name":"b"}})",
       R"({"class_name":"AUC","config":{"num_thresholds":40000,"name":"c"}})"});  // 3 x 2.4 MiB of state
  const std::string message = error_of<InvalidArgument>([&] {
    c.update_state(std::vector<double>{0, 1}, std::vector<double>{0.2, 0.8});
  });
  EXPECT_NE(message.find("MetricCollection: this update holds 14.6 MiB of state and state copies"), std::string::npos)
      << message;
  set_memory_limit(64 << 20);
  c.update_state(std::vector<double>{0, 1}, std::vector<double>{0.2, 0.8});
  EXPECT_NEAR(c.metric("c").value(), 1.0, 1e-9);
}

TEST_F(MemoryLimit, BadLimitsAreRefused) {
  EXPECT_THROW(set_memory_limit(1000), InvalidArgument);
  EXPECT_THROW(set_memory_limit(-1), InvalidArgument);
  set_memory_limit(std::int64_t{3} << 30);
  EXPECT_EQ(memory_limit(), std::int64_t{3} << 30);
}

}  // namespace
}  // namespace tally
