#pragma once
// Logging metric results at a step to JSON Lines, CSV and TensorBoard event files, and a
// Logger that fans out to several sinks (ashpy's Metric.log(step)).
//
// TensorBoard files use the TFRecord framing (uint64 length, masked CRC-32C of the length,
// the data, masked CRC-32C of the data) around Event protobufs; the three tiny messages are
// encoded by hand, which avoids a libprotobuf dependency, and CRC-32C is a 1 KiB table.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tally/collection.h"
#include "tally/metric.h"

namespace tally::log {

/// Named results at one step, e.g. MetricCollection::result().
using Results = std::vector<std::pair<std::string, Tensor>>;

/// Flattens results to scalars: a scalar keeps its name, element i of a vector is "name/i".
std::vector<std::pair<std::string, double>> scalars(const Results& results);

/// Destination of logged results.
class Sink {
 public:
  virtual ~Sink() = default;
  /// Writes the results of one step.
  virtual void write(std::int64_t step, const Results& results) = 0;
};

/// One JSON object per line: {"step": s, "wall_time": t, "metrics": {"name": value or list}}.
class JsonLinesSink final : public Sink {
 public:
  /// Appends to `path` (created if missing).
  explicit JsonLinesSink(std::string path);
  void write(std::int64_t step, const Results& results) override;

 private:
  std::string path_;
};

/// CSV with a header "step,<scalar names>" taken from the first row. A later row with
/// other names is an InvalidArgument (start a new file for a new set of metrics).
class CsvSink final : public Sink {
 public:
  /// Writes to `path`; an existing file's header is reused and must match later rows.
  explicit CsvSink(std::string path);
  void write(std::int64_t step, const Results& results) override;

 private:
  std::string path_;
  std::vector<std::string> header_;
};

/// TensorBoard event file events.out.tfevents.<unix seconds>.<host>.tally in `logdir`.
class TensorBoardSink final : public Sink {
 public:
  /// Creates the folder and the file, whose first event carries file_version "brain.Event:2".
  explicit TensorBoardSink(const std::string& logdir);
  ~TensorBoardSink() override;
  TensorBoardSink(const TensorBoardSink&) = delete;
  TensorBoardSink& operator=(const TensorBoardSink&) = delete;
  void write(std::int64_t step, const Results& results) override;
  /// The event file's path.
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::string path_;
  std::FILE* file_ = nullptr;
};

/// Fans results out to several sinks.
class Logger {
 public:
  /// Adds a sink; the logger owns it.
  Logger& add(std::unique_ptr<Sink> sink);
  /// Writes results to every sink.
  void write(std::int64_t step, const Results& results);
  /// Logs one metric's result under its name (ashpy's Metric.log(step)).
  void log(const Metric& metric, std::int64_t step);
  /// Logs every metric of a collection.
  void log(const MetricCollection& collection, std::int64_t step);

 private:
  std::vector<std::unique_ptr<Sink>> sinks_;
};

/// CRC-32C (Castagnoli) of `data`, as TFRecord uses it.
std::uint32_t crc32c(const void* data, std::size_t size);
/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
std::uint32_t masked_crc32c(const void* data, std::size_t size);

}  // namespace tally::log
