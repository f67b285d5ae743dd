#include "tally/sliced.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <unordered_map>
#include <utility>

#include "internal/check.h"
#include "internal/fnv.h"
#include "metric/grouped_run.h"

namespace tally {

using internal::str_cat;

namespace {

// The unweighted number of rows a slice has seen, as a metric so that it merges, flattens
// and all-reduces with the slice's collection in the same collective.
class SampleCount final : public MetricWithClone<SampleCount> {
 public:
  SampleCount() : MetricWithClone("samples", DType::kFloat64) {
    add_variable("count", Shape{}, DType::kInt64, Aggregation::kSum);
  }
  std::string class_name() const override { return "SliceSampleCount"; }
  void accumulate(Variables& vars, const Batch& batch) const override {
    vars.i64(0)[0] += batch.y_true.ndim() == 0 ? 1 : batch.y_true.dim(0);
  }
  Tensor result_from(const Variables& vars) const override {
    return Tensor::scalar(static_cast<double>(vars.i64(0)[0]));
  }
};

std::int64_t count_of(const Metric& m) { return m.variable_values().i64(0)[0]; }

std::string value_text(const SliceValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  return std::get<std::string>(v);
}

// One feature's values for one batch as dense local codes 0..values.size()-1.
struct LocalCodes {
  std::vector<std::int32_t> codes;     // storage for integer columns (kept between batches)
  std::span<const std::int32_t> view;  // the codes: `codes`, or a string column's own codes
  std::vector<SliceValue> values;
  bool direct = false;     // view is the caller's int32 ids themselves, values 0..values.size()-1
  bool unchecked = false;  // direct, with the range of the previous batch, not checked yet
};

// Most slice columns are small non-negative int32 ids (bins, category codes): they are their
// own codes, with no pass to write codes (values absent from the batch get empty groups).
constexpr std::int64_t kMaxDirectIds = 65536;

// Dense codes for integer ids read through get(i): a direct table when the id range is
// small (the common case: bins, country codes), else a hash map.
template <class Get>
void encode_integers(std::int64_t n, Get get, LocalCodes& out) {
  out.codes.resize(static_cast<std::size_t>(n));  // no fresh pages when the batch size repeats
  out.values.clear();
  out.view = out.codes;
  if (n == 0) return;
  std::int64_t lo = get(0), hi = lo;
  for (std::int64_t i = 1; i < n; ++i) {
    const std::int64_t x = get(i);
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const auto range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (range < (std::uint64_t{1} << 20) && range <= 4 * static_cast<std::uint64_t>(n) + 1024) {
    std::vector<std::int32_t> table(range + 1, -1);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t x = get(i);
      std::int32_t& code = table[static_cast<std::uint64_t>(x) - static_cast<std::uint64_t>(lo)];
      if (code < 0) {
        code = static_cast<std::int32_t>(out.values.size());
        out.values.emplace_back(x);
      }
      out.codes[static_cast<std::size_t>(i)] = code;
    }
  } else {
    std::unordered_map<std::int64_t, std::int32_t> table;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t x = get(i);
      const auto [it, inserted] = table.try_emplace(x, static_cast<std::int32_t>(out.values.size()));
      if (inserted) out.values.emplace_back(x);
      out.codes[static_cast<std::size_t>(i)] = it->second;
    }
  }
}

// Integer ids of any dtype to local codes; floats must hold integers (NaN and 0.5 are
// rejected, naming the row). Integer columns are read in place, without a copy. With
// `guess`, int32 ids whose previous batch was direct are taken as direct with that batch's
// range, without the pass that finds their range (`unchecked`: the kernel driver checks
// each block of ids before using it, and a miss redoes the batch with guess = false).
void encode_ids(const TensorView& view, const std::string& feature, LocalCodes& out, bool guess) {
  const std::int64_t n = view.dim(0);
  const std::int64_t stride = view.strides().empty() ? 1 : view.strides()[0];
  out.unchecked = false;
  if (view.dtype() == DType::kInt32 && stride == 1 && n > 0) {
    const auto* p = static_cast<const std::int32_t*>(view.data());
    if (guess && out.direct && !out.values.empty()) {
      out.view = std::span<const std::int32_t>(p, static_cast<std::size_t>(n));
      out.unchecked = true;
      return;
    }
    std::int32_t lo = p[0], hi = p[0];
    for (std::int64_t i = 1; i < n; ++i) {
      lo = std::min(lo, p[i]);
      hi = std::max(hi, p[i]);
    }
    if (lo >= 0 && hi < kMaxDirectIds && hi <= n + 1024) {
      const auto slots = static_cast<std::size_t>(hi) + 1;
      if (!out.direct || out.values.size() != slots) {
        out.values.clear();
        for (std::size_t c = 0; c < slots; ++c) out.values.emplace_back(static_cast<std::int64_t>(c));
      }
      out.direct = true;
      out.view = std::span<const std::int32_t>(p, static_cast<std::size_t>(n));
      return;
    }
  }
  out.direct = false;
  visit_dtype(view.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = static_cast<const T*>(view.data());
    if constexpr (std::is_integral_v<T>) {
      if (stride == 1) {
        encode_integers(
            n, [p](std::int64_t i) { return static_cast<std::int64_t>(p[i]); }, out);
      } else {
        encode_integers(
            n, [p, stride](std::int64_t i) { return static_cast<std::int64_t>(p[i * stride]); }, out);
      }
    } else {
      std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) {
        const double d = to_double(p[i * stride]);
        if (std::isnan(d)) {
          throw InvalidArgument(str_cat("SlicedCollection: slice column \"", feature, "\" holds NaN at row ", i,
                                        "; slice ids must be integers or strings"));
        }
        if (d != std::trunc(d) || std::fabs(d) > 9007199254740992.0) {
          throw InvalidArgument(str_cat("SlicedCollection: slice column \"", feature, "\" holds ", d, " at row ", i,
                                        "; slice ids must be integers or strings"));
        }
        ids[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(d);
      }
      encode_integers(
          n, [&ids](std::int64_t i) { return ids[static_cast<std::size_t>(i)]; }, out);
    }
  });
}

// Copies the rows of `source` (C-contiguous, rows of `row_bytes`) to their group's place:
// row i goes to position next[group[i]]++. One pass per tensor: the counting sort.
void scatter_rows(const TensorView& source, std::span<const std::int32_t> group, std::span<const std::int64_t> offsets,
                  Tensor& out) {
  // The buffers are reused from one slicing (and batch) to the next when the shape fits:
  // a fresh zero-filled tensor per call costs as much as the scatter itself.
  if (out.dtype() != source.dtype() || out.shape() != source.shape()) out = Tensor(source.dtype(), source.shape());
  const std::int64_t n = source.dim(0);
  if (n == 0) return;
  const std::size_t row_bytes = static_cast<std::size_t>(source.numel() / n) * dtype_size(source.dtype());
  std::vector<std::int64_t> next(offsets.begin(), offsets.end() - 1);
  const auto* from = static_cast<const unsigned char*>(source.data());
  auto* to = static_cast<unsigned char*>(out.mutable_data());
  // Fixed-size memcpy (one move instruction): the caller's rows need not be aligned to the
  // word size (two float32 columns are 8-byte rows at a 4-byte-aligned address).
  auto run = [&](auto word) {
    constexpr std::size_t w = sizeof(word);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t dest = next[static_cast<std::size_t>(group[static_cast<std::size_t>(i)])]++;
      std::memcpy(to + static_cast<std::size_t>(dest) * w, from + static_cast<std::size_t>(i) * w, w);
    }
  };
  if (row_bytes == 4) {
    run(std::uint32_t{});
  } else if (row_bytes == 8) {
    run(std::uint64_t{});
  } else if (row_bytes == 1) {
    run(std::uint8_t{});
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t dest = next[static_cast<std::size_t>(group[static_cast<std::size_t>(i)])]++;
      std::memcpy(to + static_cast<std::size_t>(dest) * row_bytes, from + static_cast<std::size_t>(i) * row_bytes,
                  row_bytes);
    }
  }
}

TensorView contiguous(const TensorView& view, Tensor& holder) {
  if (!view.has_value() || view.is_contiguous()) return view;
  holder = Tensor::copy_of(view);
  return holder.view();
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Every rank's `local` (all the same length) in rank order, through one sum all-reduce of a
// zeroed buffer where each rank fills its own segment: an all_gather that every context
// has, including contexts written in Python, which implement only all_reduce_in_place.
std::vector<double> gather_by_sum(DistributedContext& context, std::span<const double> local) {
  const auto world = static_cast<std::size_t>(context.world_size());
  const auto rank = static_cast<std::size_t>(context.global_rank());
  std::vector<double> all(world * local.size(), 0.0);
  std::copy(local.begin(), local.end(), all.begin() + static_cast<std::ptrdiff_t>(rank * local.size()));
  context.all_reduce_in_place(all, ReduceOp::kSum);
  return all;
}

// Key sets travel through all_gather as float64 words, each holding 32 bits exactly.
void put_u32(std::vector<double>& out, std::uint32_t x) { out.push_back(static_cast<double>(x)); }

void put_key(std::vector<double>& out, const SliceKey& key) {
  put_u32(out, static_cast<std::uint32_t>(key.slicing));
  for (const SliceValue& v : key.values) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      put_u32(out, 0);
      const auto bits = static_cast<std::uint64_t>(*i);
      put_u32(out, static_cast<std::uint32_t>(bits >> 32));
      put_u32(out, static_cast<std::uint32_t>(bits));
    } else {
      const std::string& s = std::get<std::string>(v);
      put_u32(out, 1);
      put_u32(out, static_cast<std::uint32_t>(s.size()));
      for (std::size_t k = 0; k < s.size(); k += 4) {
        std::uint32_t w = 0;
        for (std::size_t b = 0; b < 4 && k + b < s.size(); ++b) {
          w |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[k + b])) << (8 * b);
        }
        put_u32(out, w);
      }
    }
  }
}

struct WordReader {
  std::span<const double> words;
  std::size_t pos = 0;
  std::uint32_t next() {
    if (pos >= words.size()) throw DistributedError("all_reduce_metrics: a rank sent a truncated slice key set");
    return static_cast<std::uint32_t>(words[pos++]);
  }
};

SliceKey get_key(WordReader& in, const std::vector<std::vector<std::size_t>>& slicings) {
  SliceKey key;
  key.slicing = in.next();
  if (key.slicing >= slicings.size()) throw DistributedError("all_reduce_metrics: a rank sent an unknown slicing");
  for (std::size_t f = 0; f < slicings[key.slicing].size(); ++f) {
    if (in.next() == 0) {
      const std::uint64_t hi = in.next();
      const std::uint64_t lo = in.next();
      key.values.emplace_back(static_cast<std::int64_t>((hi << 32) | lo));
    } else {
      const std::uint32_t size = in.next();
      std::string s(size, '\0');
      for (std::size_t k = 0; k < size; k += 4) {
        const std::uint32_t w = in.next();
        for (std::size_t b = 0; b < 4 && k + b < size; ++b) s[k + b] = static_cast<char>((w >> (8 * b)) & 0xff);
      }
      key.values.emplace_back(std::move(s));
    }
  }
  return key;
}

}  // namespace

// ---- SliceColumn ----

SliceColumn SliceColumn::ids(const TensorView& values) {
  if (!values.has_value()) throw InvalidArgument("SliceColumn::ids: the column is absent");
  TensorView v = values;
  if (v.ndim() == 2 && v.dim(1) == 1) v = v.squeeze(1);
  if (v.ndim() != 1) {
    throw ShapeError(
        str_cat("SliceColumn::ids: a slice column must be one value per row (rank 1); received ", values.describe()));
  }
  SliceColumn c;
  c.ids_ = v;
  return c;
}

SliceColumn SliceColumn::strings(std::span<const std::string> values) {
  std::unordered_map<std::string_view, std::int32_t> index;
  auto codes = std::make_shared<std::vector<std::int32_t>>(values.size());
  SliceColumn c;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto [it, inserted] = index.try_emplace(values[i], static_cast<std::int32_t>(c.dictionary_.size()));
    if (inserted) c.dictionary_.push_back(values[i]);
    (*codes)[i] = it->second;
  }
  c.codes_ = std::move(codes);
  return c;
}

SliceColumn SliceColumn::codes(std::span<const std::int32_t> codes, std::vector<std::string> dictionary) {
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] < 0 || static_cast<std::size_t>(codes[i]) >= dictionary.size()) {
      throw InvalidArgument(str_cat("SliceColumn::codes: code ", codes[i], " at row ", i,
                                    " is outside the dictionary of ", dictionary.size(), " strings"));
    }
  }
  SliceColumn c;
  c.codes_ = std::make_shared<const std::vector<std::int32_t>>(codes.begin(), codes.end());
  c.dictionary_ = std::move(dictionary);
  return c;
}

std::int64_t SliceColumn::size() const {
  if (codes_) return static_cast<std::int64_t>(codes_->size());
  return ids_.has_value() ? ids_.dim(0) : 0;
}

// ---- SlicedCollection ----

// Buffers of update_state kept between batches: fresh pages for every batch (codes, groups,
// the scattered inputs) cost more than the grouping itself.
struct SlicedCollection::Scratch {
  std::vector<LocalCodes> local;
  std::vector<std::vector<std::int32_t>> groups;  // per slicing
  Tensor grouped_true, grouped_pred, grouped_weight;
};

struct SlicedCollection::Slice {
  SampleCount count;
  MetricCollection metrics;
};

SlicedCollection::SlicedCollection(const MetricCollection& prototype, std::vector<std::string> features,
                                   std::vector<std::vector<std::string>> slicings, std::int64_t max_slices)
    : prototype_(std::make_unique<MetricCollection>(prototype)),
      features_(std::move(features)),
      max_slices_(max_slices) {
  prototype_->reset_state();
  if (max_slices < 1)
    throw InvalidArgument(str_cat("SlicedCollection: max_slices must be >= 1; received ", max_slices));
  for (std::size_t i = 0; i < features_.size(); ++i) {
    if (features_[i].empty()) throw InvalidArgument("SlicedCollection: a slicing feature has an empty name");
    for (std::size_t j = 0; j < i; ++j) {
      if (features_[i] == features_[j]) {
        throw InvalidArgument(str_cat("SlicedCollection: slicing feature \"", features_[i], "\" is named twice"));
      }
    }
  }
  if (slicings.empty()) {
    slicings.emplace_back();
    for (const std::string& f : features_) slicings.push_back({f});
  }
  for (const auto& names : slicings) {
    std::vector<std::size_t> idx;
    for (const std::string& name : names) {
      const auto it = std::find(features_.begin(), features_.end(), name);
      if (it == features_.end()) {
        std::string known;
        for (const std::string& f : features_) known += (known.empty() ? "" : ", ") + f;
        throw InvalidArgument(
            str_cat("SlicedCollection: slicing by unknown feature \"", name, "\"; features are [", known, "]"));
      }
      const auto k = static_cast<std::size_t>(it - features_.begin());
      if (std::find(idx.begin(), idx.end(), k) != idx.end()) {
        throw InvalidArgument(str_cat("SlicedCollection: a slicing names feature \"", name, "\" twice"));
      }
      idx.push_back(k);
    }
    if (std::find(slicings_.begin(), slicings_.end(), idx) != slicings_.end()) {
      throw InvalidArgument("SlicedCollection: the same slicing is given twice");
    }
    slicings_.push_back(std::move(idx));
  }
}

SlicedCollection::SlicedCollection(const SlicedCollection& other)
    : prototype_(std::make_unique<MetricCollection>(*other.prototype_)),
      features_(other.features_),
      slicings_(other.slicings_),
      max_slices_(other.max_slices_) {
  for (const auto& [key, slice] : other.slices_) slices_.emplace(key, std::make_unique<Slice>(*slice));
}

SlicedCollection& SlicedCollection::operator=(const SlicedCollection& other) {
  if (this != &other) *this = SlicedCollection(other);
  return *this;
}

SlicedCollection::~SlicedCollection() = default;

SlicedCollection::Slice& SlicedCollection::add_slice(const SliceKey& key) {
  auto slice = std::make_unique<Slice>(Slice{SampleCount(), *prototype_});
  Slice& ref = *slice;
  slices_.emplace(key, std::move(slice));
  return ref;
}

std::string SlicedCollection::slice_name(const SliceKey& key) const {
  if (key.slicing >= slicings_.size()) throw InvalidArgument(str_cat("SlicedCollection: no slicing ", key.slicing));
  const auto& features = slicings_[key.slicing];
  if (features.empty()) return "overall";
  std::string name;
  for (std::size_t i = 0; i < features.size() && i < key.values.size(); ++i) {
    if (i > 0) name += ',';
    name += features_[features[i]] + "=" + value_text(key.values[i]);
  }
  return name;
}

std::vector<SliceKey> SlicedCollection::keys() const {
  std::vector<SliceKey> out;
  out.reserve(slices_.size());
  for (const auto& [key, slice] : slices_) out.push_back(key);
  return out;
}

const MetricCollection& SlicedCollection::slice(const SliceKey& key) const {
  const auto it = slices_.find(key);
  if (it == slices_.end()) throw InvalidArgument(str_cat("SlicedCollection: no slice ", slice_name(key), " was seen"));
  return it->second->metrics;
}

std::int64_t SlicedCollection::samples(const SliceKey& key) const {
  const auto it = slices_.find(key);
  return it == slices_.end() ? 0 : count_of(it->second->count);
}

void SlicedCollection::update_state(const TensorView& y_true_in, const TensorView& y_pred_in,
                                    const TensorView& sample_weight_in, std::span<const SliceColumn> columns) {
  if (columns.size() != features_.size()) {
    throw InvalidArgument(str_cat("SlicedCollection.update_state: expected ", features_.size(),
                                  " slice columns (one per feature); received ", columns.size()));
  }
  if (!y_true_in.has_value() || y_true_in.ndim() == 0) {
    throw ShapeError(str_cat("SlicedCollection.update_state: y_true must have one row per sample; received ",
                             y_true_in.has_value() ? y_true_in.describe() : std::string("nothing")));
  }
  const std::int64_t n = y_true_in.dim(0);
  if (!y_pred_in.has_value() || y_pred_in.ndim() == 0 || y_pred_in.dim(0) != n) {
    throw ShapeError(str_cat("SlicedCollection.update_state: y_pred must have as many rows as y_true (", n,
                             "); received ", y_pred_in.has_value() ? y_pred_in.describe() : std::string("nothing")));
  }
  const bool weight_rows = sample_weight_in.has_value() && sample_weight_in.ndim() > 0;
  if (weight_rows && sample_weight_in.dim(0) != n) {
    throw ShapeError(str_cat("SlicedCollection.update_state: sample_weight must have as many rows as y_true (", n,
                             ") or be a scalar; received ", sample_weight_in.describe()));
  }
  for (std::size_t f = 0; f < columns.size(); ++f) {
    if (columns[f].size() != n) {
      throw ShapeError(str_cat("SlicedCollection.update_state: slice column \"", features_[f], "\" has ",
                               columns[f].size(), " values; y_true has ", n, " rows"));
    }
  }
  if (n == 0) return;

  // Local codes per feature (only the features some slicing uses).
  if (!scratch_) scratch_ = std::make_unique<Scratch>();
  std::vector<LocalCodes>& local = scratch_->local;
  local.resize(features_.size());
  scratch_->groups.resize(slicings_.size());
  Tensor true_holder, pred_holder, weight_holder;
  const TensorView y_true = contiguous(y_true_in, true_holder);
  const TensorView y_pred = contiguous(y_pred_in, pred_holder);
  const TensorView sample_weight = weight_rows ? contiguous(sample_weight_in, weight_holder) : sample_weight_in;
  const std::vector<Metric*> kinds = prototype_->metrics();
  const Batch batch{y_true, y_pred, sample_weight};

  // Per slicing: a group id per row, dense over the groups present, and each group's key.
  struct Grouping {
    std::span<const std::int32_t> group;  // empty: every row is in group 0
    std::vector<std::int64_t> offsets;
    std::vector<SliceKey> keys;
    std::vector<char> used;                               // per group: rows present (direct ids may leave groups empty)
    std::vector<std::unique_ptr<GroupedKernel>> kernels;  // per metric; null: no grouped kernel
  };
  std::vector<Grouping> groupings;
  std::set<SliceKey> fresh;
  // Features sliced only on their own may skip the range pass (encode_ids' guess).
  std::vector<bool> alone(features_.size(), true);
  for (const auto& s : slicings_) {
    for (const std::size_t f : s) alone[f] = alone[f] && s.size() == 1;
  }
  for (bool guess = true;; guess = false) {
    std::vector<bool> used(features_.size(), false);
    for (const auto& s : slicings_)
      for (const std::size_t f : s) used[f] = true;
    for (std::size_t f = 0; f < features_.size(); ++f) {
      if (!used[f]) continue;
      if (columns[f].is_string()) {
        local[f].direct = false;
        local[f].view = columns[f].code_span();
        local[f].values.clear();
        for (const std::string& s : columns[f].dictionary()) local[f].values.emplace_back(s);
      } else {
        encode_ids(columns[f].id_view(), features_[f], local[f], guess && alone[f]);
      }
    }

    groupings.clear();
    groupings.resize(slicings_.size());
    fresh.clear();
    bool missed = false;  // a guessed id range did not hold
    for (std::size_t s = 0; s < slicings_.size() && !missed; ++s) {
      const auto& feats = slicings_[s];
      Grouping& g = groupings[s];
      if (feats.empty()) {
        g.offsets = {0, n};
        g.keys.push_back(SliceKey{s, {}});
        g.used = {1};
      } else {
        std::vector<std::int32_t>& storage = scratch_->groups[s];
        std::vector<std::uint64_t> present;  // combined code of each dense group
        const LocalCodes& first = local[feats[0]];
        if (feats.size() == 1 && !columns[feats[0]].is_string()) {
          // One integer feature: its codes are dense in first-seen order already; they are the groups.
          g.group = first.view;
          for (std::size_t c = 0; c < first.values.size(); ++c) present.push_back(c);
        } else if (feats.size() == 1) {
          // One string feature: its codes renumbered densely over the values present (the
          // dictionary may hold values this batch does not use).
          storage.resize(static_cast<std::size_t>(n));
          std::vector<std::int32_t> dense(std::max<std::size_t>(first.values.size(), 1), -1);
          for (std::int64_t i = 0; i < n; ++i) {
            const std::int32_t c = first.view[static_cast<std::size_t>(i)];
            std::int32_t& d = dense[static_cast<std::size_t>(c)];
            if (d < 0) {
              d = static_cast<std::int32_t>(present.size());
              present.push_back(static_cast<std::uint64_t>(c));
            }
            storage[static_cast<std::size_t>(i)] = d;
          }
          g.group = storage;
        } else {
          storage.resize(static_cast<std::size_t>(n));
          // Mixed-radix combined code per row, then dense over the combinations present.
          std::vector<std::uint64_t> combined(static_cast<std::size_t>(n), 0);
          std::uint64_t radix = 1;
          bool small = true;
          for (const std::size_t f : feats) {
            const auto card = static_cast<std::uint64_t>(std::max<std::size_t>(local[f].values.size(), 1));
            for (std::int64_t i = 0; i < n; ++i) {
              auto& c = combined[static_cast<std::size_t>(i)];
              c = c * card + static_cast<std::uint64_t>(local[f].view[static_cast<std::size_t>(i)]);
            }
            if (radix > (std::numeric_limits<std::uint64_t>::max() >> 1) / card) {
              throw InvalidArgument(str_cat("SlicedCollection.update_state: the cross of ", feats.size(),
                                            " features has more than 2^63 possible values in one batch; cross fewer "
                                            "or coarser features"));
            }
            if (radix > (std::uint64_t{1} << 40) / card) small = false;
            radix *= card;
          }
          // Past 2^40 possible combinations (or 4 per row) the hash map path is taken.
          if (small && radix <= 4 * static_cast<std::uint64_t>(n) + 1024) {
            std::vector<std::int32_t> table(radix, -1);
            for (std::int64_t i = 0; i < n; ++i) {
              std::int32_t& d = table[combined[static_cast<std::size_t>(i)]];
              if (d < 0) {
                d = static_cast<std::int32_t>(present.size());
                present.push_back(combined[static_cast<std::size_t>(i)]);
              }
              storage[static_cast<std::size_t>(i)] = d;
            }
          } else {
            std::unordered_map<std::uint64_t, std::int32_t> table;
            for (std::int64_t i = 0; i < n; ++i) {
              const auto [it, inserted] =
                  table.try_emplace(combined[static_cast<std::size_t>(i)], static_cast<std::int32_t>(present.size()));
              if (inserted) present.push_back(combined[static_cast<std::size_t>(i)]);
              storage[static_cast<std::size_t>(i)] = it->second;
            }
          }
          g.group = storage;
        }
        g.offsets.assign(present.size() + 1, 0);
        {
          // Every metric's grouped kernel (Metric::grouped_kernel) over the rows together: each
          // block of rows is read once for all of them, and the driver counts each group's rows
          // on the way. A metric's validation error is thrown here, before any slice changes.
          const std::size_t groups = present.size();
          const std::int64_t chunk_rows = internal::grouped_chunk_rows(n, groups);
          std::vector<GroupedKernel*> run;
          for (const Metric* kind : kinds) {
            g.kernels.push_back(kind->grouped_kernel(batch, g.group, groups, chunk_rows));
            if (g.kernels.back()) run.push_back(g.kernels.back().get());
          }
          const bool unchecked = feats.size() == 1 && first.unchecked;
          const std::vector<std::int64_t> rows =
              internal::run_grouped(run, g.group, groups, chunk_rows, unchecked ? &missed : nullptr);
          if (missed) break;
          std::copy(rows.begin(), rows.end(), g.offsets.begin() + 1);
        }
        g.used.resize(present.size());
        for (std::size_t d = 0; d < present.size(); ++d) {
          g.used[d] = g.offsets[d + 1] > 0;
          g.offsets[d + 1] += g.offsets[d];
        }
        for (const std::uint64_t code : present) {
          SliceKey key{s, std::vector<SliceValue>(feats.size())};
          std::uint64_t rest = code;
          for (std::size_t k = feats.size(); k-- > 0;) {
            const auto card = static_cast<std::uint64_t>(std::max<std::size_t>(local[feats[k]].values.size(), 1));
            key.values[k] = local[feats[k]].values[rest % card];
            rest /= card;
          }
          g.keys.push_back(std::move(key));
        }
      }
      for (std::size_t d = 0; d < g.keys.size(); ++d) {
        if (g.used[d] && !slices_.contains(g.keys[d])) fresh.insert(g.keys[d]);
      }
    }
    if (!missed) break;
  }
  const auto total = static_cast<std::int64_t>(slices_.size() + fresh.size());
  if (total > max_slices_) {
    throw InvalidArgument(str_cat("SlicedCollection.update_state: this batch would make ", total,
                                  " distinct slices, more than max_slices=", max_slices_, " (", fresh.size(),
                                  " new); raise max_slices or slice by a coarser feature"));
  }

  // Snapshot each slice just before this batch updates it in place (the single-group and
  // gather paths), so that a metric rejecting a group's rows leaves every slice as it was.
  // Grouped kernels write into copies committed at the end: their slices need no snapshot
  // (which would copy every state of every slice, once per batch). No slice belongs to two
  // slicings, so each is saved at most once, before its first change.
  std::vector<std::pair<Slice*, std::vector<double>>> saved;
  auto save = [&saved](Slice* slice) { saved.emplace_back(slice, slice->metrics.to_vector()); };
  std::vector<std::pair<Slice*, std::int64_t>> counted;
  // States filled by grouped kernels: copies of the slices' variables, committed only once
  // every metric of every slicing has accepted the batch.
  struct Pending {
    std::vector<Metric*> targets;
    std::vector<Variables> values;
  };
  std::vector<Pending> pending;
  try {
    Tensor& grouped_true = scratch_->grouped_true;
    Tensor& grouped_pred = scratch_->grouped_pred;
    Tensor& grouped_weight = scratch_->grouped_weight;
    for (const Grouping& g : groupings) {
      std::vector<Slice*> members;
      members.reserve(g.keys.size());
      for (std::size_t d = 0; d < g.keys.size(); ++d) {
        if (!g.used[d]) {
          members.push_back(nullptr);  // no rows: the kernels write zeros into a scratch state
          continue;
        }
        auto it = slices_.find(g.keys[d]);
        members.push_back(it != slices_.end() ? it->second.get() : &add_slice(g.keys[d]));
      }
      if (g.keys.size() == 1) {
        save(members[0]);
        members[0]->metrics.update_state(y_true, y_pred, sample_weight);
        counted.emplace_back(members[0], n);
        continue;
      }
      // Grouped kernels first (run above): their totals into copies of the groups' states;
      // then a metric's own accumulate_grouped pass, if it has one; else the gather path.
      std::vector<std::vector<Metric*>> slice_metrics;
      slice_metrics.reserve(members.size());
      for (Slice* slice : members) slice_metrics.push_back(slice ? slice->metrics.metrics() : std::vector<Metric*>());
      std::vector<std::size_t> gathered;  // metrics with no grouped kernel for this batch
      for (std::size_t m = 0; m < kinds.size(); ++m) {
        Pending p;
        p.targets.reserve(members.size());
        p.values.reserve(members.size());
        for (const auto& metrics : slice_metrics) {
          p.targets.push_back(metrics.empty() ? nullptr : metrics[m]);
          p.values.push_back((metrics.empty() ? kinds[m] : metrics[m])->snapshot_variables());
        }
        std::vector<Variables*> groups;
        groups.reserve(p.values.size());
        for (Variables& v : p.values) groups.push_back(&v);
        if (g.kernels[m]) {
          std::vector<std::int64_t> counts(members.size());
          for (std::size_t d = 0; d < members.size(); ++d) counts[d] = g.offsets[d + 1] - g.offsets[d];
          g.kernels[m]->finish(groups, counts);
          pending.push_back(std::move(p));
        } else if (kinds[m]->accumulate_grouped(groups, batch, g.group)) {
          pending.push_back(std::move(p));
        } else {
          gathered.push_back(m);
        }
      }
      if (!gathered.empty()) {
        // The gather path: rows scattered into per-group runs (a counting sort), then each
        // group's metrics updated with its run.
        scatter_rows(y_true, g.group, g.offsets, grouped_true);
        scatter_rows(y_pred, g.group, g.offsets, grouped_pred);
        if (weight_rows) scatter_rows(sample_weight, g.group, g.offsets, grouped_weight);
        for (std::size_t d = 0; d < members.size(); ++d) {
          if (members[d] == nullptr) continue;
          const std::int64_t b = g.offsets[d], e = g.offsets[d + 1];
          const TensorView t = grouped_true.view().slice_rows(b, e);
          const TensorView pr = grouped_pred.view().slice_rows(b, e);
          const TensorView w = weight_rows ? grouped_weight.view().slice_rows(b, e) : sample_weight;
          save(members[d]);
          if (gathered.size() == kinds.size()) {
            members[d]->metrics.update_state(t, pr, w);  // keeps the collection's shared work
          } else {
            for (const std::size_t m : gathered) slice_metrics[d][m]->update_state(t, pr, w);
          }
        }
      }
      for (std::size_t d = 0; d < members.size(); ++d) {
        if (members[d] != nullptr) counted.emplace_back(members[d], g.offsets[d + 1] - g.offsets[d]);
      }
    }
    for (Pending& p : pending) {
      for (std::size_t d = 0; d < p.targets.size(); ++d) {
        if (p.targets[d] != nullptr) p.targets[d]->commit_variables(std::move(p.values[d]));
      }
    }
  } catch (...) {
    for (auto& [slice, values] : saved) slice->metrics.from_vector(values);
    for (const SliceKey& key : fresh) slices_.erase(key);
    throw;
  }
  for (auto& [slice, rows] : counted) {
    Variables v = slice->count.snapshot_variables();
    v.i64(0)[0] += rows;
    slice->count.commit_variables(std::move(v));
  }
}

void SlicedCollection::check_same_layout(const SlicedCollection& other, std::string_view what) const {
  if (features_ != other.features_ || slicings_ != other.slicings_) {
    throw StateError(str_cat("SlicedCollection.", what,
                             ": the other collection slices by different features or "
                             "slicings"));
  }
  const std::vector<const Metric*> a = std::as_const(*prototype_).metrics();
  const std::vector<const Metric*> b = std::as_const(*other.prototype_).metrics();
  if (tally::layout_hash(a) != tally::layout_hash(b)) {
    throw StateError(str_cat("SlicedCollection.", what, ": the other collection holds different metrics"));
  }
}

void SlicedCollection::merge_state(const SlicedCollection& other) {
  if (this == &other) {
    const SlicedCollection copy(other);
    merge_state(copy);
    return;
  }
  check_same_layout(other, "merge_state");
  std::size_t total = slices_.size();
  for (const auto& [key, slice] : other.slices_) total += slices_.contains(key) ? 0 : 1;
  if (static_cast<std::int64_t>(total) > max_slices_) {
    throw InvalidArgument(str_cat("SlicedCollection.merge_state: the merge would hold ", total,
                                  " slices, more than max_slices=", max_slices_));
  }
  // Merge into copies, then swap in: all or nothing.
  std::map<SliceKey, std::unique_ptr<Slice>> merged;
  for (const auto& [key, slice] : slices_) merged.emplace(key, std::make_unique<Slice>(*slice));
  for (const auto& [key, slice] : other.slices_) {
    auto it = merged.find(key);
    if (it == merged.end()) {
      merged.emplace(key, std::make_unique<Slice>(*slice));
    } else {
      it->second->count.merge_state(slice->count);
      it->second->metrics.merge_state(slice->metrics);
    }
  }
  slices_ = std::move(merged);
}

void SlicedCollection::reset_state() { slices_.clear(); }

std::vector<SliceResult> SlicedCollection::result(std::int64_t min_slice_size) const {
  std::vector<SliceResult> out;
  for (const auto& [key, slice] : slices_) {
    const std::int64_t samples = count_of(slice->count);
    if (samples < min_slice_size) continue;
    out.push_back(SliceResult{slice_name(key), key, samples, slice->metrics.result()});
  }
  return out;
}

std::int64_t SlicedCollection::slice_vector_size() const { return 1 + prototype_->vector_size(); }

std::vector<double> SlicedCollection::to_vector() const {
  std::vector<double> out;
  out.reserve(slices_.size() * static_cast<std::size_t>(slice_vector_size()));
  for (const auto& [key, slice] : slices_) {
    out.push_back(static_cast<double>(count_of(slice->count)));
    const std::vector<double> v = slice->metrics.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void SlicedCollection::from_vector(std::span<const SliceKey> keys, std::span<const double> values) {
  const auto per = static_cast<std::size_t>(slice_vector_size());
  if (values.size() != keys.size() * per) {
    throw StateError(str_cat("SlicedCollection.from_vector: ", keys.size(), " slices need ", keys.size() * per,
                             " values; received ", values.size()));
  }
  if (static_cast<std::int64_t>(keys.size()) > max_slices_) {
    throw StateError(str_cat("SlicedCollection.from_vector: ", keys.size(), " slices exceed max_slices=", max_slices_));
  }
  std::map<SliceKey, std::unique_ptr<Slice>> fresh;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const SliceKey& key = keys[i];
    if (key.slicing >= slicings_.size() || key.values.size() != slicings_[key.slicing].size()) {
      throw StateError(str_cat("SlicedCollection.from_vector: key ", i, " does not fit the slicings"));
    }
    auto slice = std::make_unique<Slice>(Slice{SampleCount(), *prototype_});
    slice->count.from_vector(values.subspan(i * per, 1));
    slice->metrics.from_vector(values.subspan(i * per + 1, per - 1));
    if (!fresh.emplace(key, std::move(slice)).second) {
      throw StateError(str_cat("SlicedCollection.from_vector: slice ", slice_name(key), " is given twice"));
    }
  }
  slices_ = std::move(fresh);
}

std::uint64_t SlicedCollection::layout_hash() const {
  std::uint64_t h = internal::kFnvOffset;
  const std::vector<const Metric*> members = std::as_const(*prototype_).metrics();
  const std::uint64_t metrics_hash = tally::layout_hash(members);
  internal::fnv_mix(h, std::string_view(reinterpret_cast<const char*>(&metrics_hash), sizeof metrics_hash));
  for (const std::string& f : features_) internal::fnv_mix(h, f);
  for (const auto& s : slicings_) {
    std::string text = "[";
    for (const std::size_t f : s) text += std::to_string(f) + ",";
    internal::fnv_mix(h, text);
  }
  return h;
}

std::vector<Metric*> SlicedCollection::members() {
  std::vector<Metric*> out;
  for (auto& [key, slice] : slices_) {
    out.push_back(&slice->count);
    for (Metric* m : slice->metrics.metrics()) out.push_back(m);
  }
  return out;
}

// ---- distributed and private ----

void all_reduce_metrics(SlicedCollection& sliced, DistributedContext& context) {
  // 1. One gather of (layout hash in 16-bit pieces, number of key words): checks that every
  //    rank slices the same metrics by the same features, and sizes the key gather.
  std::vector<double> mine;
  for (const SliceKey& key : sliced.keys()) put_key(mine, key);
  const std::uint64_t h = sliced.layout_hash();
  std::vector<double> head(5);
  for (int i = 0; i < 4; ++i) head[static_cast<std::size_t>(i)] = static_cast<double>((h >> (16 * i)) & 0xffff);
  head[4] = static_cast<double>(mine.size());
  const std::vector<double> heads = gather_by_sum(context, head);
  const int world = context.world_size();
  std::size_t longest = 0;
  for (int r = 0; r < world; ++r) {
    for (std::size_t i = 0; i < 4; ++i) {
      if (heads[static_cast<std::size_t>(r) * 5 + i] != head[i]) {
        throw DistributedError(
            str_cat("all_reduce_metrics: ranks slice differently (metrics, features or slicings differ between rank ",
                    context.global_rank(), " and rank ", r, "); every rank must build the same SlicedCollection"));
      }
    }
    longest = std::max(longest, static_cast<std::size_t>(heads[static_cast<std::size_t>(r) * 5 + 4]));
  }
  // 2. One gather of the key sets (padded to the longest), then their union in canonical order.
  mine.resize(longest, 0.0);
  const std::vector<double> all = longest > 0 ? gather_by_sum(context, mine) : std::vector<double>{};
  std::set<SliceKey> keys;
  for (int r = 0; r < world; ++r) {
    const auto used = static_cast<std::size_t>(heads[static_cast<std::size_t>(r) * 5 + 4]);
    WordReader in{std::span<const double>(all).subspan(static_cast<std::size_t>(r) * longest, used)};
    while (in.pos < used) keys.insert(get_key(in, sliced.slicings()));
  }
  if (static_cast<std::int64_t>(keys.size()) > sliced.max_slices()) {
    throw InvalidArgument(str_cat("all_reduce_metrics: the ranks together hold ", keys.size(),
                                  " slices, more than max_slices=", sliced.max_slices()));
  }
  // 3. One all_reduce_metrics over [count, metrics...] of every slice in that order; slices
  //    this rank never saw take part with the reset state. Work on a copy, swap in at the end.
  const std::vector<SliceKey> order(keys.begin(), keys.end());
  std::vector<double> values;
  const auto per = static_cast<std::size_t>(sliced.slice_vector_size());
  values.reserve(order.size() * per);
  std::vector<double> empty(per, 0.0);
  {
    const std::vector<double> reset = sliced.prototype().to_vector();
    std::copy(reset.begin(), reset.end(), empty.begin() + 1);
  }
  const std::vector<double> current = sliced.to_vector();
  const std::vector<SliceKey> have = sliced.keys();
  for (std::size_t i = 0, j = 0; i < order.size(); ++i) {
    if (j < have.size() && have[j] == order[i]) {
      values.insert(values.end(), current.begin() + static_cast<std::ptrdiff_t>(j * per),
                    current.begin() + static_cast<std::ptrdiff_t>((j + 1) * per));
      ++j;
    } else {
      values.insert(values.end(), empty.begin(), empty.end());
    }
  }
  SlicedCollection work(sliced);
  work.from_vector(order, values);
  const std::vector<Metric*> members = work.members();
  all_reduce_metrics(std::span<Metric* const>(members), context);
  sliced = std::move(work);
}

std::vector<SliceResult> private_result(const SlicedCollection& sliced, const Mechanism& mechanism, Seed seed,
                                        std::int64_t min_slice_size) {
  const std::uint64_t base = resolve_seed(seed);
  std::vector<SliceResult> out;
  std::uint64_t position = 0;
  for (const SliceKey& key : sliced.keys()) {
    const std::uint64_t s = splitmix64(base ^ splitmix64(position++));
    const std::vector<double> count{static_cast<double>(sliced.samples(key))};
    const double noisy = mechanism.apply(count, s)[0];
    const auto samples = static_cast<std::int64_t>(std::max(0.0, std::round(noisy)));
    if (samples < min_slice_size) continue;
    const CollectionState state = privatize(sliced.slice(key).state(), mechanism, splitmix64(s));
    out.push_back(SliceResult{sliced.slice_name(key), key, samples, state.result()});
  }
  return out;
}

}  // namespace tally
