#pragma once
// Durable metric state: save a metric's or a collection's state to a file and load it back,
// so that an evaluation killed midway restarts from its last save and ends with the same
// result as an uninterrupted run. Format and guarantees: docs/reliability.md.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tally/collection.h"
#include "tally/config.h"
#include "tally/metric.h"

namespace tally {

/// Format version written into every state file; readers refuse newer versions.
inline constexpr std::uint32_t kStateFileVersion = 1;

/// Writes `metric`'s configuration, variable layout and values to `path` atomically
/// (temporary file, fsync, rename); `user_data` (any JSON, e.g. the next batch index) is
/// stored alongside and returned by load_state. Throws IOError when the file cannot be written.
void save_state(const Metric& metric, const std::string& path, const Json& user_data = Json::object());
/// Writes every metric of `collection` to one file, as save_state(metric) does for one.
void save_state(const MetricCollection& collection, const std::string& path, const Json& user_data = Json::object());

/// A state file read and verified (magic, version, lengths, checksum, layout hash): what it
/// holds can be restored into metrics, or built into new ones from the saved configurations.
class SavedState {
 public:
  /// What was saved.
  enum class Kind : std::uint32_t { kMetric = 1, kCollection = 2 };

  Kind kind() const { return kind_; }
  /// The user_data given to save_state.
  const Json& user_data() const { return user_data_; }
  /// The layout hash of what was saved (tally::layout_hash over its metrics).
  std::uint64_t layout_hash() const { return layout_hash_; }
  /// Names of the saved metrics, in order.
  std::vector<std::string> names() const;

  /// Restores a single-metric file into `metric`, which must have the saved class, name,
  /// config and layout (a metric that sizes its state on the first batch may still be
  /// unsized). Throws StateError naming both sides otherwise; `metric` is unchanged on error.
  void restore(Metric& metric) const;
  /// Restores a collection file into `collection` (same names, classes, configs, layouts);
  /// all or nothing.
  void restore(MetricCollection& collection) const;
  /// A new metric built from the saved spec through the registry, holding the saved state.
  std::unique_ptr<Metric> to_metric() const;
  /// A new collection built from the saved specs, holding the saved state.
  MetricCollection to_collection() const;

 private:
  friend SavedState load_state(const std::string& path);
  friend SavedState parse_state_file(std::string_view bytes, const std::string& source);

  struct Member {
    Json spec;                  // tally::serialize(metric)
    std::uint64_t fingerprint;  // Metric::layout_fingerprint() when saved
    Variables values;           // with the saved layout
  };
  void restore_members(std::span<Metric* const> targets) const;

  Kind kind_ = Kind::kMetric;
  Json user_data_;
  std::uint64_t layout_hash_ = 0;
  std::vector<Member> members_;
};

/// Reads and verifies a state file. A missing, truncated, corrupt (checksum) or foreign
/// (not a tally state file, or a newer format version) file is an IOError or StateError
/// whose message names the file and what is wrong.
SavedState load_state(const std::string& path);
/// load_state over bytes already in memory; `source` names them in error messages.
SavedState parse_state_file(std::string_view bytes, const std::string& source);

}  // namespace tally
