// Logging sinks: JSON Lines and CSV contents, and TensorBoard event files read back by an
// independent C++ reader that checks both CRCs of every record and decodes the Events.
#include "tally/logging.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tally/metrics/reduction.h"

namespace tally::log {
namespace {

namespace fs = std::filesystem;

std::string fresh(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("tally_logging_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

Results sample(double a) {
  return {{"acc", Tensor::scalar(a)}, {"f1", Tensor::from_vector(std::vector<double>{0.5, 0.25})}};
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u);  // the CRC-32C check value
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(JsonLines, OneObjectPerStep) {
  const std::string path = fresh("metrics.jsonl");
  JsonLinesSink sink(path);
  sink.write(1, sample(0.5));
  sink.write(2, sample(0.75));
  std::ifstream in(path);
  std::string line;
  std::vector<Json> rows;
  while (std::getline(in, line)) rows.push_back(Json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["step"], 2);
  EXPECT_EQ(rows[1]["metrics"]["acc"], 0.75);
  EXPECT_EQ(rows[1]["metrics"]["f1"], Json::parse("[0.5, 0.25]"));
  EXPECT_GT(rows[0]["wall_time"].get<double>(), 1.7e9);
}

TEST(Csv, HeaderFromTheFirstRowAndNewMetricsAreAnError) {
  const std::string path = fresh("metrics.csv");
  CsvSink sink(path);
  sink.write(1, sample(0.5));
  sink.write(2, sample(0.75));
  EXPECT_THROW(sink.write(3, {{"other", Tensor::scalar(1.0)}}), InvalidArgument);
  std::ifstream in(path);
  std::string header, first, second;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_EQ(header, "step,acc,f1/0,f1/1");
  EXPECT_EQ(second, "2,0.75,0.5,0.25");
  CsvSink reopened(path);  // reuses the file's header
  EXPECT_NO_THROW(reopened.write(4, sample(1.0)));
  EXPECT_THROW(reopened.write(5, {{"acc", Tensor::scalar(1.0)}}), InvalidArgument);
}

// --- an independent reader of TFRecord + Event --------------------------------------------

struct Event {
  double wall_time = 0;
  std::int64_t step = 0;
  std::string file_version;
  std::vector<std::pair<std::string, float>> values;
};

std::uint64_t read_varint(const std::string& s, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(s.at(pos++));
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
}

std::string read_bytes(const std::string& s, std::size_t& pos) {
  const auto n = static_cast<std::size_t>(read_varint(s, pos));
  std::string out = s.substr(pos, n);
  pos += n;
  return out;
}

Event decode(const std::string& data) {
  Event e;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::uint64_t key = read_varint(data, pos);
    const int field = static_cast<int>(key >> 3);
    if (field == 1) {
      std::memcpy(&e.wall_time, data.data() + pos, 8);
      pos += 8;
    } else if (field == 2) {
      e.step = static_cast<std::int64_t>(read_varint(data, pos));
    } else if (field == 3) {
      e.file_version = read_bytes(data, pos);
    } else if (field == 5) {
      const std::string summary = read_bytes(data, pos);
      std::size_t sp = 0;
      while (sp < summary.size()) {
        read_varint(summary, sp);  // field 1, value
        const std::string value = read_bytes(summary, sp);
        std::size_t vp = 0;
        std::pair<std::string, float> tv;
        while (vp < value.size()) {
          const std::uint64_t k = read_varint(value, vp);
          if ((k >> 3) == 1) tv.first = read_bytes(value, vp);
          if ((k >> 3) == 2) {
            std::memcpy(&tv.second, value.data() + vp, 4);
            vp += 4;
          }
        }
        e.values.push_back(tv);
      }
    } else {
      ADD_FAILURE() << "unexpected field " << field;
      break;
    }
  }
  return e;
}

std::vector<Event> read_events(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Event> events;
  std::size_t pos = 0;
  while (pos < all.size()) {
    std::uint64_t length = 0;
    std::uint32_t length_crc = 0, data_crc = 0;
    std::memcpy(&length, all.data() + pos, 8);
    std::memcpy(&length_crc, all.data() + pos + 8, 4);
    EXPECT_EQ(length_crc, masked_crc32c(all.data() + pos, 8));
    const std::string data = all.substr(pos + 12, static_cast<std::size_t>(length));
    std::memcpy(&data_crc, all.data() + pos + 12 + length, 4);
    EXPECT_EQ(data_crc, masked_crc32c(data.data(), data.size()));
    events.push_back(decode(data));
    pos += 12 + static_cast<std::size_t>(length) + 4;
  }
  return events;
}

TEST(TensorBoard, EventsReadBackWithValidCrcs) {
  const std::string dir = fresh("tb");
  std::string path;
  {
    TensorBoardSink sink(dir);
    path = sink.path();
    sink.write(3, sample(0.5));
    sink.write(4, sample(0.875));
  }
  EXPECT_NE(path.find("events.out.tfevents."), std::string::npos);
  const std::vector<Event> events = read_events(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[2].step, 4);
  ASSERT_EQ(events[2].values.size(), 3u);
  EXPECT_EQ(events[2].values[0], (std::pair<std::string, float>{"acc", 0.875f}));
  EXPECT_EQ(events[2].values[2], (std::pair<std::string, float>{"f1/1", 0.25f}));
}

TEST(Logger, FansOutToEverySinkAndLogsMetrics) {
  const std::string dir = fresh("fan");
  fs::create_directories(dir);
  Logger logger;
  logger.add(std::make_unique<JsonLinesSink>(dir + "/m.jsonl")).add(std::make_unique<CsvSink>(dir + "/m.csv"));
  metrics::Mean loss("loss");
  loss.update_state(std::vector<double>{1.0, 2.0});
  logger.log(loss, 7);
  std::ifstream csv(dir + "/m.csv");
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  EXPECT_EQ(header, "step,loss");
  EXPECT_EQ(row, "7,1.5");
  EXPECT_THROW(logger.add(nullptr), InvalidArgument);
}

}  // namespace
}  // namespace tally::log
