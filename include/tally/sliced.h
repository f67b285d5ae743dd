#pragma once
// Sliced evaluation (docs/guide.md, "Sliced evaluation"): every metric of a collection per
// slice of the data. A slice is a value of one slicing feature (country=FR), a cross of
// several (country=FR,device=phone) or the overall slice. Each distinct slice gets its own
// collection state when first seen; states merge slice by slice and all-reduce across ranks
// that saw different slices, because a collection's state merges by addition.
//
// Layer: above collection, distributed and privacy (DESIGN.md); it uses only their public API.

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tally/collection.h"
#include "tally/distributed.h"
#include "tally/privacy.h"

namespace tally {

/// One slicing feature's values for one batch: integer ids (any integer dtype, or floats
/// holding integers; NaN is rejected) or strings interned to codes into a dictionary.
class SliceColumn {
 public:
  /// Integer ids, viewed (not copied): the memory must outlive the update_state call.
  static SliceColumn ids(const TensorView& values);
  /// String values, interned once here (one code per row, one dictionary entry per value).
  static SliceColumn strings(std::span<const std::string> values);
  /// Already interned strings: codes[i] indexes `dictionary`; the codes are copied.
  static SliceColumn codes(std::span<const std::int32_t> codes, std::vector<std::string> dictionary);

  /// Number of rows.
  std::int64_t size() const;
  /// True for string columns.
  bool is_string() const { return codes_ != nullptr; }
  /// Integer ids (integer columns only).
  const TensorView& id_view() const { return ids_; }
  /// Codes and dictionary (string columns only).
  std::span<const std::int32_t> code_span() const { return *codes_; }
  const std::vector<std::string>& dictionary() const { return dictionary_; }

 private:
  TensorView ids_;
  std::shared_ptr<const std::vector<std::int32_t>> codes_;
  std::vector<std::string> dictionary_;
};

/// The value of one feature in a slice key: an integer id or a string.
using SliceValue = std::variant<std::int64_t, std::string>;

/// Which slicing (index into SlicedCollection::slicings()) and the feature values.
/// Ordered by slicing, then values (integers before strings): the canonical order of
/// results, state vectors and the all-reduce layout.
struct SliceKey {
  std::size_t slicing = 0;
  std::vector<SliceValue> values;
  auto operator<=>(const SliceKey&) const = default;
  bool operator==(const SliceKey&) const = default;
};

/// One slice's results: its name ("country=FR,device=phone", or "overall"), key, number of
/// rows seen (unweighted), and each metric's name and value.
struct SliceResult {
  std::string name;
  SliceKey key;
  std::int64_t samples = 0;
  std::vector<std::pair<std::string, Tensor>> metrics;
};

/// Default bound on the number of slices (all slicings together).
inline constexpr std::int64_t kDefaultMaxSlices = 10000;

/// Every metric of a collection, per slice. Not thread-safe across verbs (one owner at a time).
class SlicedCollection {
 public:
  /// `prototype`: the metrics (its state is ignored; each slice starts from a reset copy).
  /// `features`: names of the slicing features, in the order update_state receives columns.
  /// `slicings`: which features to slice by, each a list of feature names (one name: that
  /// feature alone; several: their cross; an empty list: the overall slice). Empty: the overall
  /// slice plus each feature alone. `max_slices`: more distinct slices is an InvalidArgument
  /// (state unchanged), so a high-cardinality column cannot exhaust memory.
  SlicedCollection(const MetricCollection& prototype, std::vector<std::string> features,
                   std::vector<std::vector<std::string>> slicings = {}, std::int64_t max_slices = kDefaultMaxSlices);

  SlicedCollection(const SlicedCollection& other);
  SlicedCollection& operator=(const SlicedCollection& other);
  SlicedCollection(SlicedCollection&&) noexcept = default;
  SlicedCollection& operator=(SlicedCollection&&) noexcept = default;
  ~SlicedCollection();

  /// Adds a batch: `columns` holds one column per feature (in `features` order), each with
  /// one value per row of y_true. Rows are grouped by slice in one pass (a counting sort),
  /// then each slice's collection is updated once with its rows. All or nothing.
  void update_state(const TensorView& y_true, const TensorView& y_pred, const TensorView& sample_weight,
                    std::span<const SliceColumn> columns);
  /// Merges another sliced collection with the same metrics, features and slicings, slice by
  /// slice; slices present on one side only are kept. All or nothing.
  void merge_state(const SlicedCollection& other);
  /// Forgets every slice.
  void reset_state();

  /// Per slice, in canonical order: name, samples, metric values. Slices with fewer than
  /// `min_slice_size` samples are left out (TFMA's min_slice_size).
  std::vector<SliceResult> result(std::int64_t min_slice_size = 0) const;

  /// The slicing features' names.
  const std::vector<std::string>& features() const { return features_; }
  /// The slicings, each as indices into features().
  const std::vector<std::vector<std::size_t>>& slicings() const { return slicings_; }
  std::int64_t max_slices() const { return max_slices_; }
  /// Number of slices seen.
  std::size_t num_slices() const { return slices_.size(); }
  /// Keys of the slices seen, in canonical order.
  std::vector<SliceKey> keys() const;
  /// "country=FR,device=phone"; "overall" for the empty slicing.
  std::string slice_name(const SliceKey& key) const;
  /// The collection of a slice; throws InvalidArgument naming the slice if it was never seen.
  const MetricCollection& slice(const SliceKey& key) const;
  /// Rows seen by a slice (0 for a slice never seen).
  std::int64_t samples(const SliceKey& key) const;
  /// The metrics every slice holds (reset state).
  const MetricCollection& prototype() const { return *prototype_; }

  /// Per slice in canonical order: [samples, collection vector...]; length
  /// num_slices() * slice_vector_size().
  std::vector<double> to_vector() const;
  /// Length of one slice's part of to_vector().
  std::int64_t slice_vector_size() const;
  /// Replaces every slice: `keys` (canonical order, unique) and their concatenated vectors.
  /// Checks lengths, keys and domains first; unchanged on error.
  void from_vector(std::span<const SliceKey> keys, std::span<const double> values);
  /// Every slice's metrics in canonical order, each slice's sample counter first: what
  /// all_reduce_metrics reduces in one collective.
  std::vector<Metric*> members();
  /// A 64-bit hash of metrics layout, features and slicings: equal for mergeable collections.
  std::uint64_t layout_hash() const;

 private:
  struct Slice;
  struct Scratch;
  Slice& add_slice(const SliceKey& key);
  void check_same_layout(const SlicedCollection& other, std::string_view what) const;

  std::unique_ptr<MetricCollection> prototype_;
  std::vector<std::string> features_;
  std::vector<std::vector<std::size_t>> slicings_;
  std::int64_t max_slices_;
  std::map<SliceKey, std::unique_ptr<Slice>> slices_;
  std::unique_ptr<Scratch> scratch_;  // update_state's buffers, kept between batches (not copied)
};

/// Merges every rank's sliced collection so that each holds the state over all ranks' data,
/// even when ranks saw different slices: a gather of the key sets (after one of their sizes;
/// both gathers are sum all-reduces of zeroed buffers, so any context works),
/// the union in canonical order on every rank, then one all_reduce_metrics over all slices'
/// states laid out in that order (its layout check covers metrics and the number of slices;
/// the gather checks features, slicings and metrics). Throws DistributedError on every rank
/// when layouts differ, InvalidArgument on every rank when the union exceeds max_slices.
void all_reduce_metrics(SlicedCollection& sliced, DistributedContext& context);

/// Per-slice private release of result(): each slice's state and its sample count get noise
/// from `mechanism` (an independent draw per slice, seeded from `seed` and the slice's
/// position in canonical order). Noisy counts are rounded and clamped at 0 (post-processing);
/// `min_slice_size` applies to the noisy counts. The slice keys themselves are not noised:
/// release them only when the set of slice values is public (docs/privacy.md).
std::vector<SliceResult> private_result(const SlicedCollection& sliced, const Mechanism& mechanism, Seed seed = {},
                                        std::int64_t min_slice_size = 0);

}  // namespace tally
