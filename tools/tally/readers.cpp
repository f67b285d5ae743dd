// The .npy reader is written here rather than taken from a library: Debian has no C++
// package that memory-maps .npy files (xtensor's loader reads the whole file into memory),
// and the format is a short header followed by raw data. .npz files are zip archives read
// with minizip (Debian's libminizip-dev): a stored member is mapped in place, a deflated one
// streamed; gzip-compressed CSV is streamed through zlib's gzFile, which reads plain files too.
#include "readers.h"

#include <minizip/unzip.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdint>
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

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ".npy", ".npz", ".csv", ".csv.gz" or the last extension.
std::string file_kind(const std::string& path) {
  const std::string name = lower(std::filesystem::path(path).filename().string());
  if (ends_with(name, ".csv.gz")) return ".csv.gz";
  return lower(std::filesystem::path(path).extension().string());
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

// The element types numpy writes that tally reads. Narrow integers and uint32/uint64 have
// no tally DType: their rows are widened into a scratch buffer (uint64 values above
// INT64_MAX are an input error, not a wrap-around).
struct NpyType {
  char kind = 'f';       // 'b' bool, 'i' signed, 'u' unsigned, 'f' float
  std::size_t size = 8;  // bytes per element in the file
  DType dtype{};         // element type of the views read() returns
  bool swap = false;     // stored in the other byte order
  bool convert = false;  // widened on reading
};

NpyType parse_descr(const std::string& descr, const std::string& path) {
  if (descr.size() < 3) fail(path, "unsupported dtype '" + quote_for_message(descr) + "'");
  const char order = descr[0];
  const std::string code = descr.substr(1);
  constexpr bool little = std::endian::native == std::endian::little;
  NpyType t;
  if (order == '<')
    t.swap = !little;
  else if (order == '>')
    t.swap = little;
  else if (order != '|' && order != '=')
    fail(path, "unsupported byte order in dtype '" + quote_for_message(descr) + "'");
  struct Known {
    const char* code;
    char kind;
    std::size_t size;
    DType dtype;
    bool convert;
  };
  static const Known kKnown[] = {
      {"b1", 'b', 1, DType::kBool, false},    {"u1", 'u', 1, DType::kUInt8, false},
      {"i1", 'i', 1, DType::kInt32, true},    {"i2", 'i', 2, DType::kInt32, true},
      {"u2", 'u', 2, DType::kInt32, true},    {"i4", 'i', 4, DType::kInt32, false},
      {"u4", 'u', 4, DType::kInt64, true},    {"i8", 'i', 8, DType::kInt64, false},
      {"u8", 'u', 8, DType::kInt64, true},    {"f2", 'f', 2, DType::kFloat16, false},
      {"f4", 'f', 4, DType::kFloat32, false}, {"f8", 'f', 8, DType::kFloat64, false},
  };
  for (const Known& k : kKnown) {
    if (code == k.code) {
      t.kind = k.kind;
      t.size = k.size;
      t.dtype = k.dtype;
      t.convert = k.convert;
      if (t.size == 1) t.swap = false;
      return t;
    }
  }
  fail(path, "unsupported dtype '" + quote_for_message(descr) +
                 "'; tally reads bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16, float32 "
                 "and float64 (cast with numpy first)");
}

// Everything the header says, and where the data starts.
struct NpyLayout {
  NpyType type;
  bool fortran = false;
  Shape shape;
  std::size_t data_offset = 0;
  std::size_t data_bytes = 0;
  std::string descr;
  std::int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  std::int64_t cols() const { return shape.size() == 2 ? shape[1] : 1; }
};

// Parses magic, version and header from the first bytes of an array of `total` bytes.
// `head` holds at least the prefix and header; returns std::nullopt-like 0 data_offset
// never: throws on anything malformed.
NpyLayout parse_npy(std::string_view head, std::size_t total, const std::string& path) {
  static const char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
  if (head.size() < 10) fail(path, "truncated .npy file (no header)");
  if (std::memcmp(head.data(), kMagic, 6) != 0) fail(path, "not a .npy file (bad magic)");
  const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(head[i])); };
  const int major = static_cast<int>(byte(6));
  std::size_t header_len = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    header_len = byte(8) | (byte(9) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (head.size() < 12) fail(path, "truncated .npy header");
    header_len = byte(8) | (byte(9) << 8) | (byte(10) << 16) | (byte(11) << 24);
    prefix = 12;
  } else {
    fail(path, fmt::format("unsupported .npy format version {}.{}", major, byte(7)));
  }
  if (prefix + header_len > head.size() || prefix + header_len > total) fail(path, "truncated .npy header");
  const NpyHeader header = HeaderParser(head.substr(prefix, header_len), path).parse();
  NpyLayout out;
  out.descr = header.descr;
  out.type = parse_descr(header.descr, path);
  out.fortran = header.fortran_order;
  out.shape = header.shape;
  if (out.shape.empty() || out.shape.size() > 2) {
    fail(path, fmt::format("arrays must be 1-D or 2-D; this one has shape {}", shape_string(out.shape)));
  }
  if (out.shape.size() == 2 && out.shape[1] == 0) {
    // Rows without values say nothing to a metric, and a huge row count of them would only
    // spin (found by fuzz_npy).
    fail(path, fmt::format("a 2-D array needs at least one column; this one has shape {}", shape_string(out.shape)));
  }
  out.data_offset = prefix + header_len;
  std::size_t elements = 1;
  for (const std::int64_t d : out.shape) {
    if (d != 0 && elements > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d) / out.type.size) {
      fail(path, "shape is too large");
    }
    elements *= static_cast<std::size_t>(d);
  }
  out.data_bytes = elements * out.type.size;
  if (total - out.data_offset < out.data_bytes) {
    fail(path, fmt::format("truncated: shape {} of {} needs {} data bytes but the file has {}", shape_string(out.shape),
                           out.descr, out.data_bytes, total - out.data_offset));
  }
  return out;
}

// One element of the file (already in native byte order) as the widened type.
template <class Out>
Out widen(const unsigned char* p, const NpyType& t, const std::string& path, std::int64_t row) {
  switch (t.size) {
    case 1:
      return t.kind == 'i' ? static_cast<Out>(static_cast<std::int8_t>(p[0])) : static_cast<Out>(p[0]);
    case 2: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return t.kind == 'i' ? static_cast<Out>(static_cast<std::int16_t>(v)) : static_cast<Out>(v);
    }
    case 4: {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return static_cast<Out>(v);  // only uint32 is widened
    }
    default: {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail(path, fmt::format("uint64 value {} at row {} does not fit in int64", v, row));
      }
      return static_cast<Out>(v);
    }
  }
}

// Reads rows of an array laid out as `layout` from `data` (the first byte of row `first`
// in C order, or of the whole array in Fortran order) and hands out views.
class NpyRows {
 public:
  NpyRows(const std::string& path, const NpyLayout& layout) : path_(path), layout_(layout) {}

  // Rows [begin, end) where `data` holds the array from row `first` on (C order; Fortran
  // order only with first = 0, the whole array).
  TensorView view(const unsigned char* data, std::int64_t first, std::int64_t begin, std::int64_t end) {
    const std::size_t item = layout_.type.size;
    const std::int64_t cols = layout_.cols();
    Shape shape{end - begin};
    if (layout_.shape.size() == 2) shape.push_back(cols);
    if (layout_.type.kind == 'b') check_bools(data, first, begin, end);
    // In place only when the elements are aligned: a stored .npz member starts wherever the zip
    // put it, and a misaligned load is undefined behaviour for every kernel that reads the view.
    const bool aligned = reinterpret_cast<std::uintptr_t>(data) % item == 0;
    if (!layout_.type.swap && !layout_.type.convert && aligned) {
      if (layout_.shape.size() == 2 && layout_.fortran) {
        // Column-major: a strided view, no copy.
        return TensorView(data + static_cast<std::size_t>(begin) * item, layout_.type.dtype, shape,
                          Shape{1, layout_.rows()});
      }
      return TensorView(data + static_cast<std::size_t>((begin - first) * cols) * item, layout_.type.dtype, shape);
    }
    // Other byte order, a widened type or misaligned data: copy the rows into a C-ordered buffer.
    const std::size_t out_item = dtype_size(layout_.type.dtype);
    scratch_.resize(static_cast<std::size_t>((end - begin) * cols) * out_item);
    unsigned char element[8];
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const std::int64_t src_index = layout_.fortran ? c * layout_.rows() + r : (r - first) * cols + c;
        const unsigned char* src = data + static_cast<std::size_t>(src_index) * item;
        for (std::size_t b = 0; b < item; ++b) element[b] = layout_.type.swap ? src[item - 1 - b] : src[b];
        unsigned char* dst = scratch_.data() + static_cast<std::size_t>((r - begin) * cols + c) * out_item;
        if (!layout_.type.convert) {
          std::memcpy(dst, element, item);
        } else if (layout_.type.dtype == DType::kInt32) {
          const auto v = widen<std::int32_t>(element, layout_.type, path_, r);
          std::memcpy(dst, &v, 4);
        } else {
          const auto v = widen<std::int64_t>(element, layout_.type, path_, r);
          std::memcpy(dst, &v, 8);
        }
      }
    }
    return TensorView(scratch_.data(), layout_.type.dtype, shape);
  }

 private:
  // A bool is one byte holding 0 or 1; any other byte would be undefined behaviour once read
  // as a C++ bool (found by fuzz_npy), so it is an input error naming the element.
  void check_bools(const unsigned char* data, std::int64_t first, std::int64_t begin, std::int64_t end) const {
    const std::int64_t cols = layout_.cols();
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const std::int64_t index = layout_.fortran ? c * layout_.rows() + r : (r - first) * cols + c;
        if (data[index] > 1) {
          fail(path_,
               fmt::format("bool element {} (row {}) holds the byte {}, not 0 or 1", index, r, int{data[index]}));
        }
      }
    }
  }

  const std::string& path_;
  const NpyLayout& layout_;
  std::vector<unsigned char> scratch_;
};

// A read-only memory map of a whole regular file, opened without blocking.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    // O_NONBLOCK: a FIFO that slipped past check_regular_file must not block open().
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fail(path, "not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (map == MAP_FAILED) {
        const int err = errno;
        ::close(fd_);
        fail(path, std::string("cannot map: ") + std::strerror(err));
      }
      map_ = static_cast<const unsigned char*>(map);
      ::madvise(map, size_, MADV_SEQUENTIAL);
    }
  }
  ~MappedFile() {
    if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), size_);
    if (fd_ >= 0) ::close(fd_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const unsigned char* data() const { return map_; }
  std::size_t size() const { return size_; }

 private:
  int fd_ = -1;
  std::size_t size_ = 0;
  const unsigned char* map_ = nullptr;
};

// An array in a mapped region: a .npy file, or a stored member of a .npz file.
class NpySource final : public ArraySource {
 public:
  // `offset` and `length` delimit the .npy bytes inside the file (the whole file for .npy).
  NpySource(std::string path, std::shared_ptr<MappedFile> file, std::size_t offset, std::size_t length)
      : path_(std::move(path)), file_(std::move(file)), rows_(path_, layout_) {
    if (offset > file_->size() || length > file_->size() - offset) fail(path_, "truncated archive member");
    if (length < 10) fail(path_, "truncated .npy file (no header)");
    base_ = file_->data() + offset;
    layout_ = parse_npy(std::string_view(reinterpret_cast<const char*>(base_), length), length, path_);
  }

  const std::string& path() const override { return path_; }
  std::int64_t rows() const override { return layout_.rows(); }
  Shape row_shape() const override { return layout_.shape.size() == 2 ? Shape{layout_.shape[1]} : Shape{}; }
  DType dtype() const override { return layout_.type.dtype; }

  TensorView read(std::int64_t begin, std::int64_t end) override {
    if (begin < 0 || end < begin || end > rows()) {
      throw InputError(fmt::format("{}: row range [{}, {}) is outside the {} rows", path_, begin, end, rows()));
    }
    return rows_.view(base_ + layout_.data_offset, 0, begin, end);
  }

 private:
  std::string path_;
  std::shared_ptr<MappedFile> file_;
  const unsigned char* base_ = nullptr;
  NpyLayout layout_;
  NpyRows rows_;
};

// --- .npz ---------------------------------------------------------------------------

// An open .npz archive (minizip); closed on destruction.
class Zip {
 public:
  explicit Zip(const std::string& path) : path_(path) {
    zip_ = unzOpen64(path.c_str());
    if (zip_ == nullptr) fail(path, "not a .npz file (cannot read it as a zip archive)");
  }
  ~Zip() {
    if (zip_ != nullptr) {
      if (open_) unzCloseCurrentFile(zip_);
      unzClose(zip_);
    }
  }
  Zip(const Zip&) = delete;
  Zip& operator=(const Zip&) = delete;

  // Names of every member, in archive order.
  std::vector<std::string> members() {
    std::vector<std::string> out;
    for (int rc = unzGoToFirstFile(zip_); rc == UNZ_OK; rc = unzGoToNextFile(zip_)) {
      char name[1024];
      unz_file_info64 info{};
      if (unzGetCurrentFileInfo64(zip_, &info, name, sizeof name, nullptr, 0, nullptr, 0) != UNZ_OK) break;
      out.emplace_back(name);
    }
    return out;
  }

  // Opens a member for reading; returns its info.
  unz_file_info64 open(const std::string& member) {
    if (open_) unzCloseCurrentFile(zip_);
    open_ = false;
    if (unzLocateFile(zip_, member.c_str(), 1) != UNZ_OK) fail(path_, "archive member '" + member + "' vanished");
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(zip_, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
      fail(path_, "cannot read the archive directory");
    }
    if ((info.flag & 1) != 0) fail(path_, "member '" + member + "' is encrypted");
    if (info.compression_method != 0 && info.compression_method != Z_DEFLATED) {
      fail(path_, fmt::format("member '{}' uses compression method {}; tally reads stored and deflated members", member,
                              info.compression_method));
    }
    if (unzOpenCurrentFile(zip_) != UNZ_OK) fail(path_, "cannot open archive member '" + member + "'");
    open_ = true;
    return info;
  }

  // File offset of the open member's (compressed) data.
  std::size_t data_offset() { return static_cast<std::size_t>(unzGetCurrentFileZStreamPos64(zip_)); }

  // Reads exactly n bytes of the open member.
  void read_exactly(unsigned char* dst, std::size_t n, const std::string& what) {
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1U << 30));
      const int got = unzReadCurrentFile(zip_, dst, chunk);
      if (got <= 0) fail(what, got == 0 ? "truncated archive member" : "corrupt compressed data");
      dst += got;
      n -= static_cast<std::size_t>(got);
    }
  }

 private:
  std::string path_;
  unzFile zip_ = nullptr;
  bool open_ = false;
};

// A deflated .npz member, inflated forward as rows are asked for; going back re-opens it.
class NpzStreamSource final : public ArraySource {
 public:
  NpzStreamSource(std::string path, std::unique_ptr<Zip> zip, std::string member)
      : path_(std::move(path)), zip_(std::move(zip)), member_(std::move(member)), rows_(path_, layout_) {
    const unz_file_info64 info = zip_->open(member_);
    const auto total = static_cast<std::size_t>(info.uncompressed_size);
    // Magic and version (8 bytes), then a 2-byte (version 1) or 4-byte header length.
    std::string head(std::min<std::size_t>(total, 10), '\0');
    read_into(head, 0);
    if (head.size() == 10 && head[6] != 1) {
      head.resize(std::min<std::size_t>(total, 12));
      read_into(head, 10);
    }
    if (head.size() >= 10) {
      const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(head[i])); };
      std::size_t header_len = byte(8) | (byte(9) << 8);
      if (head.size() == 12) header_len |= (byte(10) << 16) | (byte(11) << 24);
      if (head.size() + header_len <= total) {
        const std::size_t have = head.size();
        head.resize(have + header_len);
        read_into(head, have);
      }
    }
    layout_ = parse_npy(head, total, path_);
    if (layout_.fortran && layout_.shape.size() == 2 && layout_.shape[1] > 1) {
      fail(path_,
           "a Fortran-order 2-D array in a compressed .npz cannot be read row by row; save it in C order "
           "(np.ascontiguousarray) or with np.savez");
    }
  }

  const std::string& path() const override { return path_; }
  std::int64_t rows() const override { return layout_.rows(); }
  Shape row_shape() const override { return layout_.shape.size() == 2 ? Shape{layout_.shape[1]} : Shape{}; }
  DType dtype() const override { return layout_.type.dtype; }

  TensorView read(std::int64_t begin, std::int64_t end) override {
    if (begin < 0 || end < begin || end > rows()) {
      throw InputError(fmt::format("{}: row range [{}, {}) is outside the {} rows", path_, begin, end, rows()));
    }
    if (end == begin) return rows_.view(raw_.data(), begin, begin, end);
    const std::size_t row_bytes = static_cast<std::size_t>(layout_.cols()) * layout_.type.size;
    if (begin < next_row_) {
      // Back to the start: re-open the member and skip its header.
      zip_->open(member_);
      std::vector<unsigned char> skip(layout_.data_offset);
      zip_->read_exactly(skip.data(), skip.size(), path_);
      next_row_ = 0;
    }
    std::vector<unsigned char> discard;
    while (next_row_ < begin) {
      const std::int64_t n = std::min<std::int64_t>(begin - next_row_, 1 << 16);
      discard.resize(static_cast<std::size_t>(n) * row_bytes);
      take(discard.data(), discard.size());
      next_row_ += n;
    }
    raw_.resize(static_cast<std::size_t>(end - begin) * row_bytes);
    take(raw_.data(), raw_.size());
    next_row_ = end;
    return rows_.view(raw_.data(), begin, begin, end);  // the buffer starts at row `begin`
  }

 private:
  void take(unsigned char* dst, std::size_t n) { zip_->read_exactly(dst, n, path_); }
  void read_into(std::string& s, std::size_t from) {
    zip_->read_exactly(reinterpret_cast<unsigned char*>(s.data()) + from, s.size() - from, path_);
  }

  std::string path_;
  std::unique_ptr<Zip> zip_;
  std::string member_;
  NpyLayout layout_;
  NpyRows rows_;
  std::int64_t next_row_ = 0;
  std::vector<unsigned char> raw_;
};

// --- .csv ---------------------------------------------------------------------------

// Splits one CSV line into fields; double quotes may enclose delimiters and "" is a quote.
bool split_csv_line(const std::string& line, char delimiter, std::vector<std::string>& fields) {
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
    } else if (c == delimiter) {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return !quoted;
}

// The delimiter of a header line: the most frequent of ',', ';' and tab outside quotes
// (',' when none occurs, a one-column file).
char detect_delimiter(const std::string& header) {
  std::size_t comma = 0, semicolon = 0, tab = 0;
  bool quoted = false;
  for (const char c : header) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    comma += c == ',' ? 1 : 0;
    semicolon += c == ';' ? 1 : 0;
    tab += c == '\t' ? 1 : 0;
  }
  if (semicolon > comma && semicolon >= tab) return ';';
  if (tab > comma && tab > semicolon) return '\t';
  return ',';
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

// Lines of a plain or gzip-compressed file through zlib's gzFile (which reads plain files
// as they are), in 256 KiB reads.
class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path) { open(); }
  ~LineReader() {
    if (gz_ != nullptr) gzclose(gz_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  void rewind() {
    if (gz_ != nullptr) gzclose(gz_);
    gz_ = nullptr;
    open();
  }

  // The next line without its '\n'; false at the end.
  bool next(std::string& line) {
    line.clear();
    while (true) {
      if (pos_ == len_) {
        if (eof_) return !line.empty();
        fill();
        continue;
      }
      const char* start = buffer_.data() + pos_;
      const void* nl = std::memchr(start, '\n', len_ - pos_);
      if (nl != nullptr) {
        const auto n = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
        line.append(start, n);
        pos_ += n + 1;
        return true;
      }
      line.append(start, len_ - pos_);
      pos_ = len_;
    }
  }

  // Bytes of the file consumed so far (compressed bytes for a .gz file).
  std::int64_t offset() const { return gz_ != nullptr ? static_cast<std::int64_t>(gzoffset(gz_)) : 0; }

 private:
  void open() {
    // O_NONBLOCK: a FIFO that slipped past check_regular_file must not block open().
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) fail(path_, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(path_, "not a regular file");
    }
    gz_ = gzdopen(fd, "rb");
    if (gz_ == nullptr) {
      ::close(fd);
      fail(path_, "cannot open: out of memory");
    }
    gzbuffer(gz_, 1U << 18);
    buffer_.resize(1U << 18);
    pos_ = len_ = 0;
    eof_ = false;
  }

  void fill() {
    const int got = gzread(gz_, buffer_.data(), static_cast<unsigned>(buffer_.size()));
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(gz_, &code);
      fail(path_, std::string("cannot read: ") + (code == Z_ERRNO ? std::strerror(errno) : message));
    }
    pos_ = 0;
    len_ = static_cast<std::size_t>(got);
    eof_ = got == 0;
  }

  std::string path_;
  gzFile gz_ = nullptr;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
};

class CsvSource final : public ArraySource {
 public:
  CsvSource(std::string path, const std::vector<std::string>& columns, const OpenOptions& options)
      : path_(std::move(path)), in_(path_) {
    std::string line;
    if (!in_.next(line)) fail(path_, "empty file (a header row is required)");
    // Excel writes a UTF-8 byte-order mark before the header.
    if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    delimiter_ = options.delimiter != '\0' ? options.delimiter : detect_delimiter(line);
    std::vector<std::string> header;
    if (!split_csv_line(line, delimiter_, header)) fail(path_, "line 1: unterminated quote in the header");
    for (std::string& h : header) h = trim(h);
    width_ = header.size();
    select_columns(header, columns);
    // First pass: count and check rows, so MPI ranks can take their share and every
    // length mismatch is found before any metric is updated.
    struct stat st {};
    const std::int64_t size = ::stat(path_.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
    std::int64_t line_number = 1;
    std::vector<std::string> fields;
    while (in_.next(line)) {
      ++line_number;
      if ((line_number & 0xffff) == 0 && options.on_count_progress) options.on_count_progress(in_.offset(), size);
      if (trim(line).empty()) continue;
      if (!split_csv_line(line, delimiter_, fields))
        fail(path_, fmt::format("line {}: unterminated quote", line_number));
      if (fields.size() != width_) {
        fail(path_, fmt::format("line {}: {} fields, the header has {} (delimiter {})", line_number, fields.size(),
                                width_, delimiter_name()));
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
    try {
      while (next_row_ < end) {
        if (!in_.next(line)) fail(path_, "file changed while reading (fewer rows than counted)");
        ++line_number_;
        if (trim(line).empty()) continue;
        if (next_row_ >= begin) {
          split_csv_line(line, delimiter_, fields);
          if (fields.size() != width_) fail(path_, "file changed while reading");
          double* out = buffer_.data() + static_cast<std::size_t>(next_row_ - begin) * cols;
          for (std::size_t k = 0; k < cols; ++k) out[k] = parse_number(trim(fields[selected_[k]]), k);
        }
        ++next_row_;
      }
    } catch (...) {
      next_row_ = std::numeric_limits<std::int64_t>::max();  // the stream is mid-line: the next read rewinds
      throw;
    }
    Shape shape{end - begin};
    if (cols > 1) shape.push_back(static_cast<std::int64_t>(cols));
    return TensorView(buffer_.data(), DType::kFloat64, shape);
  }

 private:
  std::string delimiter_name() const {
    return delimiter_ == '\t' ? std::string("tab") : std::string("'") + delimiter_ + "'";
  }

  void rewind() {
    in_.rewind();
    std::string header;
    in_.next(header);
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
          std::vector<std::string> shown;
          for (std::size_t i = 0; i < header.size() && i < 20; ++i) shown.push_back(quote_for_message(header[i]));
          if (header.size() > 20) shown.push_back(fmt::format("... ({} columns)", header.size()));
          fail(path_, fmt::format("unknown column '{}'; the header has {} (delimiter {})", quote_for_message(wanted),
                                  fmt::join(shown, ", "), delimiter_name()));
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
      fail(path_, fmt::format("line {}: column '{}': cannot parse '{}' as a number", line_number_,
                              quote_for_message(names_[column]), quote_for_message(text)));
    }
    return value;
  }

  std::string path_;
  LineReader in_;
  char delimiter_ = ',';
  std::size_t width_ = 0;
  std::vector<std::size_t> selected_;
  std::vector<std::string> names_;
  std::int64_t rows_ = 0;
  std::int64_t next_row_ = 0;
  std::int64_t line_number_ = 1;
  std::vector<double> buffer_;
};

}  // namespace

std::string quote_for_message(std::string_view text) {
  constexpr std::size_t kMax = 80;
  std::string out;
  std::size_t i = 0;
  for (; i < text.size() && out.size() < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  // Do not leave half a UTF-8 character at the cut.
  if (i < text.size()) {
    while (i > 0 && i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) {
      --i;
      out.pop_back();
    }
    out += fmt::format("... ({} bytes)", text.size());
  }
  return out;
}

void check_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    const char* what = S_ISFIFO(st.st_mode)   ? "a FIFO"
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device";
    fail(path, fmt::format("is {}, not a regular file; tally reads only regular files (it needs their size and "
                           "a second pass)",
                           what));
  }
}

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

std::unique_ptr<ArraySource> open_npy(const std::string& path) {
  check_regular_file(path);
  auto file = std::make_shared<MappedFile>(path);
  const std::size_t size = file->size();
  return std::make_unique<NpySource>(path, std::move(file), 0, size);
}

std::unique_ptr<ArraySource> open_npz(const std::string& path, const std::string& key) {
  check_regular_file(path);
  auto zip = std::make_unique<Zip>(path);
  const std::vector<std::string> members = zip->members();
  std::vector<std::string> keys;
  for (const std::string& m : members) keys.push_back(ends_with(m, ".npy") ? m.substr(0, m.size() - 4) : m);
  std::string member;
  if (key.empty()) {
    if (members.size() != 1) {
      fail(path, fmt::format("holds {} arrays ({}); choose one with FILE.npz:key", members.size(),
                             quote_for_message(fmt::format("{}", fmt::join(keys, ", ")))));
    }
    member = members.front();
  } else {
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (keys[i] == key || members[i] == key) member = members[i];
    }
    if (member.empty()) {
      fail(path, fmt::format("no array '{}'; the archive holds {}", quote_for_message(key),
                             quote_for_message(fmt::format("{}", fmt::join(keys, ", ")))));
    }
  }
  const std::string shown =
      fmt::format("{}:{}", path, member.substr(0, member.size() - (ends_with(member, ".npy") ? 4 : 0)));
  const unz_file_info64 info = zip->open(member);
  if (info.compression_method == 0) {
    // Stored: the member's bytes lie in the file as they are; map them in place.
    const std::size_t offset = zip->data_offset();
    zip.reset();
    return std::make_unique<NpySource>(shown, std::make_shared<MappedFile>(path), offset,
                                       static_cast<std::size_t>(info.uncompressed_size));
  }
  return std::make_unique<NpzStreamSource>(shown, std::move(zip), member);
}

std::unique_ptr<ArraySource> open_csv(const std::string& path, const std::vector<std::string>& columns,
                                      const OpenOptions& options) {
  check_regular_file(path);
  return std::make_unique<CsvSource>(path, columns, options);
}

std::unique_ptr<ArraySource> open_source(const InputSpec& spec, const OpenOptions& options) {
  const std::string kind = file_kind(spec.path);
  if (kind == ".npy") {
    if (!spec.columns.empty()) fail(spec.path, "column selection (FILE:col) applies to .csv files only");
    return open_npy(spec.path);
  }
  if (kind == ".npz") {
    if (spec.columns.size() > 1) fail(spec.path, "name one array: FILE.npz:key");
    return open_npz(spec.path, spec.columns.empty() ? std::string() : spec.columns.front());
  }
  if (kind == ".csv" || kind == ".csv.gz") return open_csv(spec.path, spec.columns, options);
  check_regular_file(spec.path);
  fail(spec.path, "unsupported file type '" + quote_for_message(kind) + "'; use .npy, .npz, .csv or .csv.gz");
}

}  // namespace tally::cli
