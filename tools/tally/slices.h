#pragma once
// `tally eval --slice`: slice columns read from files (string columns interned once), and the
// per-slice part of the outputs (JSON "slices", the slice table, the HTML slice section).
// See docs/cli.md, "Sliced evaluation".

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "readers.h"
#include "tally/sliced.h"

namespace tally::cli {

/// One slicing feature read whole from a file: integer ids, or interned strings.
struct SliceInput {
  std::string feature;  ///< the CSV column name, the .npz key, or the file's stem
  std::string path;
  Tensor ids;                           ///< integer (or integral float) ids; empty for strings
  std::vector<std::int32_t> codes;      ///< string columns: one code per row
  std::vector<std::string> dictionary;  ///< string columns: the distinct values
  bool strings = false;
  std::int64_t rows = 0;
  /// Rows [begin, end) as a SliceColumn (a view for ids, a copy of the codes for strings).
  SliceColumn column(std::int64_t begin, std::int64_t end) const;
};

/// Reads `--slice FILE[:column]`: .npy/.npz (one integer column) or .csv/.csv.gz (one column,
/// by name or index; all-integer columns become ids, others strings). Throws InputError.
SliceInput read_slice_input(const std::string& argument, const OpenOptions& options);

/// How the slices are shown.
struct SliceDisplay {
  std::int64_t min_slice_size = 0;
  std::string sort_by;  ///< a metric name: rows sorted worst first; empty: canonical order
};

/// {"<feature>=<value>[,...]": {"samples": n, "metrics": {...}}} for the slices shown.
Json slices_json(const SlicedCollection& sliced, const SliceDisplay& display);
/// The slices as rows (sorted as asked): throws InvalidArgument for an unknown sort metric.
std::vector<SliceResult> shown_slices(const SlicedCollection& sliced, const SliceDisplay& display);
/// The slice table for --format table: one row per slice, scalar metrics as columns.
void write_slice_table(std::ostream& out, const SlicedCollection& sliced, const SliceDisplay& display);
/// CSV rows "<slice>/<metric>,value" (and "<slice>/samples").
void write_slice_csv(std::ostream& out, const SlicedCollection& sliced, const SliceDisplay& display);
/// The HTML section: a slice table and a bar chart of one metric per slice with the overall
/// value marked (`overall` NaN: no mark).
std::string slices_html(const SlicedCollection& sliced, const SliceDisplay& display, double overall);

}  // namespace tally::cli
