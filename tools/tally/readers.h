#pragma once
// Input files for `tally eval`: .npy arrays read through a memory map and .csv columns
// read as a stream, both handed out as row ranges so no file is ever held whole in memory.

#include <cstdint>
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

/// A FILE argument split into the path and an optional column selection ("FILE:a,b").
struct InputSpec {
  std::string path;
  std::vector<std::string> columns;  ///< names or indices; empty selects every column
};

/// Parses "FILE", "FILE:col" or "FILE:col1,col2"; a ':' that is part of an existing path stays in it.
InputSpec parse_input_spec(const std::string& argument);

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

/// Opens a .npy or .csv source by extension; throws InputError naming the file and the problem.
std::unique_ptr<ArraySource> open_source(const InputSpec& spec);

/// Opens a .npy file: format versions 1 to 3, either byte order, bool, uint8, int32, int64,
/// float16, float32 and float64, C or Fortran order, 1-D or 2-D.
std::unique_ptr<ArraySource> open_npy(const std::string& path);

/// Opens a .csv file with a header row; `columns` select by name or zero-based index.
std::unique_ptr<ArraySource> open_csv(const std::string& path, const std::vector<std::string>& columns);

}  // namespace tally::cli
