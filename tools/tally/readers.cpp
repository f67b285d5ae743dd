// The .npy reader is written here rather than taken from a library: Debian has no C++
// package that memory-maps .npy files (xtensor's loader reads the whole file into memory),
// and the format is a short header followed by raw data.
#include "readers.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace tally::cli {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw InputError(fmt::format("{}: {}", path, problem));
}

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// --- .npy ---------------------------------------------------------------------------

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

// Parses numpy's header, a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (10, 3), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader header;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"')
          bad("'descr' is not a simple dtype string (structured arrays are not supported)");
        header.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        header.shape = tuple();
        have_shape = true;
      } else {
        bad("unexpected header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') bad("expected ',' or '}'");
    }
    if (!have_descr || !have_order || !have_shape) bad("header lacks descr, fortran_order or shape");
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const { fail(path_, "malformed .npy header: " + what); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("fortran_order must be True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      std::int64_t value = 0;
      const auto [ptr, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
      if (ec != std::errc() || value < 0) bad("shape entries must be non-negative integers");
      pos_ = static_cast<std::size_t>(ptr - text_.data());
      shape.push_back(value);
      skip_space();
      if (peek() == ',') ++pos_;
    }
    return shape;
  }

  std::string_view text_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

struct NpyType {
  DType dtype;
  bool swap;  // stored in the other byte order
};

NpyType parse_descr(const std::string& descr, const std::string& path) {
  if (descr.size() < 3) fail(path, "unsupported dtype '" + descr + "'");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  constexpr bool little = std::endian::native == std::endian::little;
  bool swap = false;
  if (order == '<')
    swap = !little;
  else if (order == '>')
    swap = little;
  else if (order != '|' && order != '=')
    fail(path, "unsupported byte order in dtype '" + descr + "'");
  DType dtype{};
  if (code == "b1")
    dtype = DType::kBool;
  else if (code == "u1")
    dtype = DType::kUInt8;
  else if (code == "i4")
    dtype = DType::kInt32;
  else if (code == "i8")
    dtype = DType::kInt64;
  else if (code == "f2")
    dtype = DType::kFloat16;
  else if (code == "f4")
    dtype = DType::kFloat32;
  else if (code == "f8")
    dtype = DType::kFloat64;
  else
    fail(path, "unsupported dtype '" + descr +
                   "'; tally reads bool, uint8, int32, int64, float16, float32 and float64 (cast with numpy first)");
  if (dtype_size(dtype) == 1) swap = false;
  return {dtype, swap};
}

class NpySource final : public ArraySource {
 public:
  explicit NpySource(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(path_, std::string("cannot open: ") + std::strerror(errno));
    // A throwing constructor runs no destructor: release the file and the map here (fuzz_npy
    // ran out of file descriptors on rejected files before this).
    try {
      map_and_parse();
    } catch (...) {
      release();
      throw;
    }
  }
  ~NpySource() override { release(); }
  NpySource(const NpySource&) = delete;
  NpySource& operator=(const NpySource&) = delete;

 private:
  void release() {
    if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), size_);
    if (fd_ >= 0) ::close(fd_);
    map_ = nullptr;
    fd_ = -1;
  }

  void map_and_parse() {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(path_, std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail(path_, "not a regular file");
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ < 10) fail(path_, "truncated .npy file (no header)");
    void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (map == MAP_FAILED) fail(path_, std::string("cannot map: ") + std::strerror(errno));
    map_ = static_cast<const unsigned char*>(map);
    ::madvise(map, size_, MADV_SEQUENTIAL);
    parse_header();
  }

 public:
  const std::string& path() const override { return path_; }
  std::int64_t rows() const override { return shape_.empty() ? 1 : shape_[0]; }
  Shape row_shape() const override { return shape_.size() == 2 ? Shape{shape_[1]} : Shape{}; }
  DType dtype() const override { return type_.dtype; }

  TensorView read(std::int64_t begin, std::int64_t end) override {
    if (begin < 0 || end < begin || end > rows()) {
      throw InputError(fmt::format("{}: row range [{}, {}) is outside the {} rows", path_, begin, end, rows()));
    }
    const std::size_t item = dtype_size(type_.dtype);
    const std::int64_t cols = shape_.size() == 2 ? shape_[1] : 1;
    const unsigned char* data = map_ + data_offset_;
    Shape shape{end - begin};
    if (shape_.size() == 2) shape.push_back(cols);
    if (type_.dtype == DType::kBool) check_bools(data, begin, end, cols);
    if (!type_.swap) {
      if (shape_.size() == 2 && fortran_) {
        // Column-major: a strided view, no copy.
        return TensorView(data + static_cast<std::size_t>(begin) * item, type_.dtype, shape, Shape{1, rows()});
      }
      return TensorView(data + static_cast<std::size_t>(begin * cols) * item, type_.dtype, shape);
    }
    // Other byte order: copy the rows into a C-ordered, byte-swapped buffer.
    const auto count = static_cast<std::size_t>((end - begin) * cols);
    scratch_.resize(count * item);
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const std::int64_t src_index = fortran_ ? c * rows() + r : r * cols + c;
        const unsigned char* src = data + static_cast<std::size_t>(src_index) * item;
        unsigned char* dst = scratch_.data() + static_cast<std::size_t>((r - begin) * cols + c) * item;
        for (std::size_t b = 0; b < item; ++b) dst[b] = src[item - 1 - b];
      }
    }
    return TensorView(scratch_.data(), type_.dtype, shape);
  }

 private:
  // A bool is one byte holding 0 or 1; any other byte would be undefined behaviour once read
  // as a C++ bool (found by fuzz_npy), so it is an input error naming the element.
  void check_bools(const unsigned char* data, std::int64_t begin, std::int64_t end, std::int64_t cols) const {
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const std::int64_t index = fortran_ ? c * rows() + r : r * cols + c;
        if (data[index] > 1) {
          fail(path_,
               fmt::format("bool element {} (row {}) holds the byte {}, not 0 or 1", index, r, int{data[index]}));
        }
      }
    }
  }

  void parse_header() {
    static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (std::memcmp(map_, kMagic, 6) != 0) fail(path_, "not a .npy file (bad magic)");
    const int major = map_[6];
    std::size_t header_len = 0;
    std::size_t prefix = 0;
    if (major == 1) {
      header_len = static_cast<std::size_t>(map_[8]) | (static_cast<std::size_t>(map_[9]) << 8);
      prefix = 10;
    } else if (major == 2 || major == 3) {
      if (size_ < 12) fail(path_, "truncated .npy header");
      header_len = static_cast<std::size_t>(map_[8]) | (static_cast<std::size_t>(map_[9]) << 8) |
                   (static_cast<std::size_t>(map_[10]) << 16) | (static_cast<std::size_t>(map_[11]) << 24);
      prefix = 12;
    } else {
      fail(path_, fmt::format("unsupported .npy format version {}.{}", major, int{map_[7]}));
    }
    if (prefix + header_len > size_) fail(path_, "truncated .npy header");
    const std::string_view text(reinterpret_cast<const char*>(map_ + prefix), header_len);
    const NpyHeader header = HeaderParser(text, path_).parse();
    type_ = parse_descr(header.descr, path_);
    fortran_ = header.fortran_order;
    shape_ = header.shape;
    if (shape_.empty() || shape_.size() > 2) {
      fail(path_, fmt::format("arrays must be 1-D or 2-D; this one has shape {}", shape_string(shape_)));
    }
    if (shape_.size() == 2 && shape_[1] == 0) {
      // Rows without values say nothing to a metric, and a huge row count of them would only
      // spin (found by fuzz_npy).
      fail(path_, fmt::format("a 2-D array needs at least one column; this one has shape {}", shape_string(shape_)));
    }
    data_offset_ = prefix + header_len;
    const std::size_t item = dtype_size(type_.dtype);
    std::size_t elements = 1;
    for (const std::int64_t d : shape_) {
      if (d != 0 && elements > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d) / item) {
        fail(path_, "shape is too large");
      }
      elements *= static_cast<std::size_t>(d);
    }
    const std::size_t needed = elements * item;
    if (size_ - data_offset_ < needed) {
      fail(path_, fmt::format("truncated: shape {} of {} needs {} data bytes but the file has {}", shape_string(shape_),
                              header.descr, needed, size_ - data_offset_));
    }
  }

  std::string path_;
  int fd_ = -1;
  std::size_t size_ = 0;
  const unsigned char* map_ = nullptr;
  std::size_t data_offset_ = 0;
  NpyType type_{DType::kFloat64, false};
  bool fortran_ = false;
  Shape shape_;
  std::vector<unsigned char> scratch_;
};

// --- .csv ---------------------------------------------------------------------------

// Splits one CSV line into fields; double quotes may enclose commas and "" is a quote.
bool split_csv_line(const std::string& line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return !quoted;
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

class CsvSource final : public ArraySource {
 public:
  CsvSource(std::string path, const std::vector<std::string>& columns) : path_(std::move(path)) {
    open_stream();
    std::string line;
    if (!std::getline(in_, line)) fail(path_, "empty file (a header row is required)");
    std::vector<std::string> header;
    if (!split_csv_line(line, header)) fail(path_, "line 1: unterminated quote in the header");
    for (std::string& h : header) h = trim(h);
    width_ = header.size();
    select_columns(header, columns);
    // First pass: count and check rows, so MPI ranks can take their share and every
    // length mismatch is found before any metric is updated.
    std::int64_t line_number = 1;
    std::vector<std::string> fields;
    while (std::getline(in_, line)) {
      ++line_number;
      if (trim(line).empty()) continue;
      if (!split_csv_line(line, fields)) fail(path_, fmt::format("line {}: unterminated quote", line_number));
      if (fields.size() != width_) {
        fail(path_, fmt::format("line {}: {} fields, the header has {}", line_number, fields.size(), width_));
      }
      ++rows_;
    }
    rewind();
  }

  const std::string& path() const override { return path_; }
  std::int64_t rows() const override { return rows_; }
  Shape row_shape() const override {
    return selected_.size() == 1 ? Shape{} : Shape{static_cast<std::int64_t>(selected_.size())};
  }
  DType dtype() const override { return DType::kFloat64; }

  TensorView read(std::int64_t begin, std::int64_t end) override {
    if (begin < 0 || end < begin || end > rows_) {
      throw InputError(fmt::format("{}: row range [{}, {}) is outside the {} rows", path_, begin, end, rows_));
    }
    if (begin < next_row_) rewind();
    const std::size_t cols = selected_.size();
    buffer_.assign(static_cast<std::size_t>(end - begin) * cols, 0.0);
    std::string line;
    std::vector<std::string> fields;
    while (next_row_ < end) {
      if (!std::getline(in_, line)) fail(path_, "file changed while reading (fewer rows than counted)");
      ++line_number_;
      if (trim(line).empty()) continue;
      if (next_row_ >= begin) {
        split_csv_line(line, fields);
        double* out = buffer_.data() + static_cast<std::size_t>(next_row_ - begin) * cols;
        for (std::size_t k = 0; k < cols; ++k) out[k] = parse_number(trim(fields[selected_[k]]), k);
      }
      ++next_row_;
    }
    Shape shape{end - begin};
    if (cols > 1) shape.push_back(static_cast<std::int64_t>(cols));
    return TensorView(buffer_.data(), DType::kFloat64, shape);
  }

 private:
  void open_stream() {
    in_.close();
    in_.clear();
    in_.open(path_);
    if (!in_) fail(path_, std::string("cannot open: ") + std::strerror(errno));
  }

  void rewind() {
    open_stream();
    std::string header;
    std::getline(in_, header);
    next_row_ = 0;
    line_number_ = 1;
  }

  void select_columns(const std::vector<std::string>& header, const std::vector<std::string>& columns) {
    if (columns.empty()) {
      for (std::size_t i = 0; i < header.size(); ++i) selected_.push_back(i);
      names_ = header;
      return;
    }
    for (const std::string& wanted : columns) {
      const auto it = std::find(header.begin(), header.end(), wanted);
      if (it != header.end()) {
        selected_.push_back(static_cast<std::size_t>(it - header.begin()));
      } else {
        std::size_t index = 0;
        const auto [ptr, ec] = std::from_chars(wanted.data(), wanted.data() + wanted.size(), index);
        if (ec != std::errc() || ptr != wanted.data() + wanted.size() || index >= header.size()) {
          fail(path_, fmt::format("unknown column '{}'; the header has {}", wanted, fmt::join(header, ", ")));
        }
        selected_.push_back(index);
      }
      names_.push_back(header[selected_.back()]);
    }
  }

  double parse_number(const std::string& text, std::size_t column) const {
    double value = 0.0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (!text.empty() && *first == '+') ++first;
    const auto [ptr, ec] = std::from_chars(first, last, value);
    if (text.empty() || ec != std::errc() || ptr != last) {
      // Accept the spellings numpy and pandas write for booleans.
      if (text == "True" || text == "true") return 1.0;
      if (text == "False" || text == "false") return 0.0;
      fail(path_,
           fmt::format("line {}: column '{}': cannot parse '{}' as a number", line_number_, names_[column], text));
    }
    return value;
  }

  std::string path_;
  std::ifstream in_;
  std::size_t width_ = 0;
  std::vector<std::size_t> selected_;
  std::vector<std::string> names_;
  std::int64_t rows_ = 0;
  std::int64_t next_row_ = 0;
  std::int64_t line_number_ = 1;
  std::vector<double> buffer_;
};

}  // namespace

InputSpec parse_input_spec(const std::string& argument) {
  InputSpec spec;
  const auto colon = argument.rfind(':');
  if (colon == std::string::npos || std::filesystem::exists(argument)) {
    spec.path = argument;
    return spec;
  }
  spec.path = argument.substr(0, colon);
  std::string rest = argument.substr(colon + 1);
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto comma = rest.find(',', start);
    const std::string col = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (col.empty()) throw InputError(fmt::format("{}: empty column name in '{}'", spec.path, argument));
    spec.columns.push_back(col);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return spec;
}

std::unique_ptr<ArraySource> open_npy(const std::string& path) { return std::make_unique<NpySource>(path); }

std::unique_ptr<ArraySource> open_csv(const std::string& path, const std::vector<std::string>& columns) {
  return std::make_unique<CsvSource>(path, columns);
}

std::unique_ptr<ArraySource> open_source(const InputSpec& spec) {
  const std::string ext = lower_extension(spec.path);
  if (ext == ".npy") {
    if (!spec.columns.empty()) fail(spec.path, "column selection (FILE:col) applies to .csv files only");
    return open_npy(spec.path);
  }
  if (ext == ".csv") return open_csv(spec.path, spec.columns);
  if (!std::filesystem::exists(spec.path)) fail(spec.path, "no such file");
  fail(spec.path, "unsupported file type '" + ext + "'; use .npy or .csv");
}

}  // namespace tally::cli
