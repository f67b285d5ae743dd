#include "tally/logging.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "internal/atomic_file.h"
#include "internal/check.h"
#include "internal/crc32c.h"

namespace tally::log {
namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Protobuf wire encoding, just what Event, Summary and Summary.Value need.
void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void key(std::string& out, int field, int wire_type) {
  varint(out, static_cast<std::uint64_t>(field << 3 | wire_type));
}
template <class T>
void fixed(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts, as protobuf requires
  out.append(bytes, sizeof(T));
}
void bytes_field(std::string& out, int field, const std::string& data) {
  key(out, field, 2);
  varint(out, data.size());
  out += data;
}

std::string event(double time, std::int64_t step, const std::string* file_version, const std::string* summary) {
  std::string e;
  key(e, 1, 1);  // wall_time: double
  fixed(e, time);
  key(e, 2, 0);  // step: int64
  varint(e, static_cast<std::uint64_t>(step));
  if (file_version != nullptr) bytes_field(e, 3, *file_version);
  if (summary != nullptr) bytes_field(e, 5, *summary);
  return e;
}

std::string summary(const std::vector<std::pair<std::string, double>>& values) {
  std::string s;
  for (const auto& [tag, value] : values) {
    std::string v;
    bytes_field(v, 1, tag);  // tag
    key(v, 2, 5);            // simple_value: float
    fixed(v, static_cast<float>(value));
    bytes_field(s, 1, v);  // repeated Value value = 1
  }
  return s;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string number(double x) {
  if (std::isnan(x)) return "nan";
  std::ostringstream out;
  out.precision(17);
  out << x;
  return out.str();
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size) { return internal::crc32c(data, size); }

std::uint32_t masked_crc32c(const void* data, std::size_t size) {
  const std::uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::vector<std::pair<std::string, double>> scalars(const Results& results) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, value] : results) {
    const std::vector<double> v = value.to_doubles();
    if (value.ndim() == 0) {
      out.emplace_back(name, v.at(0));
    } else {
      for (std::size_t i = 0; i < v.size(); ++i) out.emplace_back(name + "/" + std::to_string(i), v[i]);
    }
  }
  return out;
}

// --- JSON Lines --------------------------------------------------------------------------

JsonLinesSink::JsonLinesSink(std::string path) : path_(std::move(path)) {}

void JsonLinesSink::write(std::int64_t step, const Results& results) {
  Json metrics = Json::object();
  for (const auto& [name, value] : results) {
    const std::vector<double> v = value.to_doubles();
    auto element = [](double x) { return std::isfinite(x) ? Json(x) : Json(); };
    if (value.ndim() == 0) {
      metrics[name] = element(v.at(0));
    } else {
      Json list = Json::array();
      for (const double x : v) list.push_back(element(x));
      metrics[name] = list;
    }
  }
  // One write per line: a reader never sees half a line, and a failure names the OS reason.
  internal::append_file(path_, Json{{"step", step}, {"wall_time", wall_time()}, {"metrics", metrics}}.dump() + "\n");
}

// --- CSV -----------------------------------------------------------------------------------

CsvSink::CsvSink(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_);
  std::string line;
  if (in && std::getline(in, line) && !line.empty()) {
    std::stringstream fields(line);
    std::string f;
    while (std::getline(fields, f, ',')) header_.push_back(f);
  }
}

void CsvSink::write(std::int64_t step, const Results& results) {
  const auto values = scalars(results);
  std::vector<std::string> names{"step"};
  for (const auto& [name, value] : values) names.push_back(csv_field(name));
  std::ostringstream out;
  const bool new_header = header_.empty();
  if (new_header) {
    for (std::size_t i = 0; i < names.size(); ++i) out << (i ? "," : "") << names[i];
    out << "\n";
  } else if (header_ != names) {
    throw InvalidArgument(internal::str_cat(path_, ": the CSV header has ", header_.size() - 1,
                                            " metric columns and this row has other names; log a different set of "
                                            "metrics to a new file"));
  }
  out << step;
  for (const auto& [name, value] : values) out << "," << number(value);
  out << "\n";
  internal::append_file(path_, out.str());  // IOError with the OS reason; header_ kept unset then
  if (new_header) header_ = names;
}

// --- TensorBoard ---------------------------------------------------------------------------

TensorBoardSink::TensorBoardSink(const std::string& logdir) {
  internal::create_folders(logdir);
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  const auto seconds = static_cast<long long>(wall_time());
  path_ = (std::filesystem::path(logdir) / ("events.out.tfevents." + std::to_string(seconds) + "." + host + ".tally"))
              .string();
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr) throw IOError(path_ + ": cannot create: " + std::strerror(errno));
  const std::string version = "brain.Event:2";
  write_record(event(wall_time(), 0, &version, nullptr));
}

TensorBoardSink::~TensorBoardSink() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardSink::write_record(const std::string& data) {
  std::string record;
  const std::uint64_t length = data.size();
  fixed(record, length);
  fixed(record, masked_crc32c(&length, sizeof length));
  record += data;
  fixed(record, masked_crc32c(data.data(), data.size()));
  // One write per record, flushed: a reader never sees half a record from a finished call.
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    throw IOError(path_ + ": write failed: " + std::strerror(errno));
  }
}

void TensorBoardSink::write(std::int64_t step, const Results& results) {
  const std::string s = summary(scalars(results));
  write_record(event(wall_time(), step, nullptr, &s));
}

// --- Logger ---------------------------------------------------------------------------------

Logger& Logger::add(std::unique_ptr<Sink> sink) {
  if (!sink) throw InvalidArgument("Logger: cannot add a null sink");
  sinks_.push_back(std::move(sink));
  return *this;
}

void Logger::write(std::int64_t step, const Results& results) {
  for (const auto& s : sinks_) s->write(step, results);
}

void Logger::log(const Metric& metric, std::int64_t step) { write(step, {{metric.name(), metric.result()}}); }

void Logger::log(const MetricCollection& collection, std::int64_t step) { write(step, collection.result()); }

}  // namespace tally::log
