#pragma once
// Input files for `tally eval`: .npy arrays read through a memory map, .npz members
// (mapped when stored, streamed through zlib when deflated) and .csv / .csv.gz columns read
// as a stream, all handed out as row ranges so no file is ever held whole in memory.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tally/error.h"
#include "tally/tensor.h"

namespace tally::cli {

/// A problem with an input file; the message starts with the file name.
class InputError : public Error {
 public:
  using Error::Error;
};

/// A FILE argument split into the path and an optional column selection ("FILE:a,b"), or
/// for a .npz file the array's key ("FILE.npz:y_true").
struct InputSpec {
  std::string path;
  std::vector<std::string> columns;  ///< names or indices; empty selects every column
};

/// Parses "FILE", "FILE:col" or "FILE:col1,col2"; a ':' that is part of an existing path stays in it.
InputSpec parse_input_spec(const std::string& argument);

/// How files are opened.
struct OpenOptions {
  /// CSV field separator; '\0' detects ',', ';' or tab from the header line.
  char delimiter = '\0';
  /// Called during the first (counting) pass over a CSV file with (bytes read, file size).
  std::function<void(std::int64_t, std::int64_t)> on_count_progress;
};

/// Quotes untrusted text (a CSV cell, a column name) for an error message: at most about
/// 80 characters, control characters escaped, the length said when cut.
std::string quote_for_message(std::string_view text);

/// Throws InputError unless `path` names a regular file (a FIFO would block forever on open).
void check_regular_file(const std::string& path);

/// Rows of a 1-D or 2-D numeric array in a file.
class ArraySource {
 public:
  virtual ~ArraySource() = default;
  /// The file name used in messages.
  virtual const std::string& path() const = 0;
  /// Number of rows (the first dimension).
  virtual std::int64_t rows() const = 0;
  /// Shape of one row: {} for a 1-D array, {columns} for a 2-D one.
  virtual Shape row_shape() const = 0;
  /// Element type of the views read() returns.
  virtual DType dtype() const = 0;
  /// Rows [begin, end) as a view valid until the next call. CSV sources read forward most
  /// efficiently; going back re-reads the file from the start.
  virtual TensorView read(std::int64_t begin, std::int64_t end) = 0;
};

/// Opens a .npy, .npz, .csv or .csv.gz source by extension; throws InputError naming the file and the problem.
std::unique_ptr<ArraySource> open_source(const InputSpec& spec, const OpenOptions& options = {});

/// Opens a .npy file: format versions 1 to 3, either byte order, bool, int8, uint8, int16,
/// uint16, int32, uint32, int64, uint64, float16, float32 and float64, C or Fortran order,
/// 1-D or 2-D. Narrow integers are widened (to int32, or int64 for uint32 and uint64).
std::unique_ptr<ArraySource> open_npy(const std::string& path);

/// Opens the array `key` of a .npz file (numpy's savez / savez_compressed); an empty key
/// selects the only array. Stored members are memory-mapped, deflated ones streamed.
std::unique_ptr<ArraySource> open_npz(const std::string& path, const std::string& key);

/// Opens a .csv or gzip-compressed .csv.gz file with a header row (a UTF-8 byte-order
/// mark is skipped); `columns` select by name or zero-based index.
std::unique_ptr<ArraySource> open_csv(const std::string& path, const std::vector<std::string>& columns,
                                      const OpenOptions& options = {});

}  // namespace tally::cli
