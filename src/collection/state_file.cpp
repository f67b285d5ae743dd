#include "tally/state_file.h"

#include <bit>
#include <cstring>
#include <limits>

#include "internal/atomic_file.h"
#include "internal/check.h"
#include "internal/crc32c.h"
#include "internal/json_bounded.h"
#include "tally/registry.h"
#include "tally/version.h"

namespace tally {
namespace {

using internal::str_cat;

static_assert(std::endian::native == std::endian::little, "state files are written little-endian");

// Layout: magic | u32 version | u32 header length | header JSON | u64 payload length |
// payload (every variable's values, 8 bytes each, float64 or int64) | u32 CRC-32C of all before.
constexpr std::string_view kMagic = "TALLYSTF";
constexpr std::size_t kFixedBytes = kMagic.size() + 4 + 4 + 8 + 4;
// Generous caps so a corrupt length cannot make the reader allocate without bound.
constexpr std::uint64_t kMaxHeaderBytes = 64ull << 20;
constexpr std::int64_t kMaxDimension = std::int64_t{1} << 40;
// The header nests a spec three levels down (header, "metrics" array, member object) and
// user_data one level down; each of those may nest internal::kMaxJsonDepth levels.
constexpr std::size_t kMaxHeaderDepth = internal::kMaxJsonDepth + 3;

std::string hex64(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 0xf];
  return s;
}

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <class T>
T get(std::string_view bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

std::string encode(SavedState::Kind kind, std::span<const Metric* const> metrics, const Json& user_data) {
  Json members = Json::array();
  std::string payload;
  for (const Metric* m : metrics) {
    Json variables = Json::array();
    const Variables& values = m->variable_values();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const Variable& v = values.layout()[i];
      variables.push_back({{"name", v.name},
                           {"shape", v.shape},
                           {"dtype", std::string(dtype_name(v.dtype))},
                           {"aggregation", std::string(aggregation_name(v.aggregation))}});
      if (v.dtype == DType::kInt64) {
        for (const std::int64_t x : values.i64(i)) put(payload, x);
      } else {
        for (const double x : values.f64(i)) put(payload, x);
      }
    }
    members.push_back({{"spec", metrics::serialize(*m)},
                       {"fingerprint", hex64(m->layout_fingerprint())},
                       {"variables", std::move(variables)}});
  }
  const Json header = {{"kind", kind == SavedState::Kind::kMetric ? "metric" : "collection"},
                       {"tally_version", version()},
                       {"layout_hash", hex64(layout_hash(metrics))},
                       {"user_data", user_data},
                       {"metrics", std::move(members)}};
  const std::string header_text = header.dump();
  std::string out;
  out.reserve(kFixedBytes + header_text.size() + payload.size());
  out.append(kMagic);
  put<std::uint32_t>(out, kStateFileVersion);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(header_text.size()));
  out.append(header_text);
  put<std::uint64_t>(out, payload.size());
  out.append(payload);
  put<std::uint32_t>(out, internal::crc32c(out.data(), out.size()));
  return out;
}

void save(SavedState::Kind kind, std::span<const Metric* const> metrics, const std::string& path,
          const Json& user_data) {
  // Bounded as the reader bounds it, so every file tally writes can be read back.
  internal::check_json_depth<InvalidArgument>(user_data, path + ": save_state: user_data");
  // Consistent snapshots (clone() holds each metric's lock), so that a save running while
  // other threads update writes whole batches only.
  std::vector<std::unique_ptr<Metric>> copies;
  std::vector<const Metric*> snapshot;
  for (const Metric* m : metrics) snapshot.push_back(copies.emplace_back(m->clone()).get());
  internal::write_file_atomically(path, encode(kind, snapshot, user_data));
}

// Reads the header's fields with messages that say which field of which file is wrong.
class HeaderReader {
 public:
  explicit HeaderReader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(std::string_view what) const {
    throw StateError(str_cat(source_, ": malformed tally state file: ", what));
  }
  const Json& field(const Json& object, const char* key, Json::value_t type) const {
    if (!object.is_object()) fail(str_cat("expected an object holding `", key, "`"));
    const auto it = object.find(key);
    if (it == object.end()) fail(str_cat("missing `", key, "`"));
    const bool numeric_ok =
        type == Json::value_t::number_integer && (it->is_number_integer() || it->is_number_unsigned());
    if (it->type() != type && !numeric_ok) fail(str_cat("`", key, "` has the wrong type"));
    return *it;
  }
  std::uint64_t hex_field(const Json& object, const char* key) const {
    const std::string& text = field(object, key, Json::value_t::string).get_ref<const std::string&>();
    if (text.size() != 16) fail(str_cat("`", key, "` is not 16 hex digits"));
    std::uint64_t v = 0;
    for (const char c : text) {
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (d < 0) fail(str_cat("`", key, "` is not 16 hex digits"));
      v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return v;
  }

 private:
  const std::string& source_;
};

Variable read_variable(const HeaderReader& r, const Json& j) {
  Variable v;
  v.name = r.field(j, "name", Json::value_t::string).get<std::string>();
  for (const Json& d : r.field(j, "shape", Json::value_t::array)) {
    if (!d.is_number_integer() && !d.is_number_unsigned()) r.fail(str_cat("variable `", v.name, "`: bad shape"));
    const std::int64_t extent =
        d.is_number_unsigned() && d.get<std::uint64_t>() > std::uint64_t{1} << 62 ? -1 : d.get<std::int64_t>();
    if (extent < 0 || extent > kMaxDimension) r.fail(str_cat("variable `", v.name, "`: bad shape"));
    v.shape.push_back(extent);
  }
  const std::string dtype = r.field(j, "dtype", Json::value_t::string).get<std::string>();
  if (dtype == "float64") {
    v.dtype = DType::kFloat64;
  } else if (dtype == "int64") {
    v.dtype = DType::kInt64;
  } else {
    r.fail(str_cat("variable `", v.name, "`: dtype \"", dtype, "\" is not float64 or int64"));
  }
  const std::string aggregation = r.field(j, "aggregation", Json::value_t::string).get<std::string>();
  if (aggregation == "sum") {
    v.aggregation = Aggregation::kSum;
  } else if (aggregation == "min") {
    v.aggregation = Aggregation::kMin;
  } else if (aggregation == "max") {
    v.aggregation = Aggregation::kMax;
  } else {
    r.fail(str_cat("variable `", v.name, "`: unknown aggregation \"", aggregation, "\""));
  }
  v.domain = default_domain(v.dtype, v.aggregation);  // int64 counts; the metric's own domains apply on restore
  return v;
}

std::string describe(const Json& spec) {
  const Json* name = spec.contains("config") && spec["config"].is_object() && spec["config"].contains("name")
                         ? &spec["config"]["name"]
                         : nullptr;
  const bool named_class = spec.contains("class_name") && spec["class_name"].is_string();
  return str_cat(named_class ? spec["class_name"].get<std::string>() : std::string("?"), " \"",
                 name && name->is_string() ? name->get<std::string>() : std::string("?"), "\"");
}

}  // namespace

void save_state(const Metric& metric, const std::string& path, const Json& user_data) {
  const Metric* one[] = {&metric};
  save(SavedState::Kind::kMetric, one, path, user_data);
}

void save_state(const MetricCollection& collection, const std::string& path, const Json& user_data) {
  const MetricCollection copy = collection;  // one moment of every member: copies under the collection's lock
  const std::vector<const Metric*> metrics = copy.metrics();
  save(SavedState::Kind::kCollection, metrics, path, user_data);
}

SavedState load_state(const std::string& path) { return parse_state_file(internal::read_file(path), path); }

SavedState parse_state_file(std::string_view bytes, const std::string& source) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic) {
    throw StateError(str_cat(source, ": not a tally state file (it does not start with \"", kMagic, "\")"));
  }
  if (bytes.size() < kFixedBytes) {
    throw StateError(str_cat(source, ": truncated tally state file (", bytes.size(), " bytes)"));
  }
  const auto version = get<std::uint32_t>(bytes, kMagic.size());
  if (version == 0 || version > kStateFileVersion) {
    throw StateError(str_cat(source, ": tally state file format version ", version,
                             " is not supported (this tally reads version ", kStateFileVersion, ")"));
  }
  const auto header_bytes = get<std::uint32_t>(bytes, kMagic.size() + 4);
  const std::size_t header_at = kMagic.size() + 8;
  if (header_bytes > kMaxHeaderBytes || header_at + header_bytes + 8 + 4 > bytes.size()) {
    throw StateError(
        str_cat(source, ": truncated tally state file (", bytes.size(), " bytes, header of ", header_bytes, " bytes)"));
  }
  const std::size_t payload_at = header_at + header_bytes + 8;
  const auto payload_bytes = get<std::uint64_t>(bytes, header_at + header_bytes);
  const std::size_t available = bytes.size() - payload_at - 4;
  if (payload_bytes != available) {
    throw StateError(str_cat(source, payload_bytes > available ? ": truncated" : ": trailing bytes in",
                             " tally state file (payload of ", payload_bytes, " bytes, ", available, " present)"));
  }
  const auto stored_crc = get<std::uint32_t>(bytes, bytes.size() - 4);
  if (internal::crc32c(bytes.data(), bytes.size() - 4) != stored_crc) {
    throw StateError(str_cat(source, ": corrupt tally state file (checksum mismatch)"));
  }

  const HeaderReader r(source);
  const Json header = internal::parse_json_bounded<StateError>(
      bytes.substr(header_at, header_bytes), str_cat(source, ": malformed tally state file: header"), kMaxHeaderDepth);
  SavedState out;
  const std::string kind = r.field(header, "kind", Json::value_t::string).get<std::string>();
  if (kind == "metric") {
    out.kind_ = SavedState::Kind::kMetric;
  } else if (kind == "collection") {
    out.kind_ = SavedState::Kind::kCollection;
  } else {
    r.fail(str_cat("unknown kind \"", kind, "\""));
  }
  out.layout_hash_ = r.hex_field(header, "layout_hash");
  if (!header.contains("user_data")) r.fail("missing `user_data`");
  internal::check_json_depth<StateError>(header["user_data"], str_cat(source, ": `user_data`"));
  out.user_data_ = header["user_data"];
  const Json& members = r.field(header, "metrics", Json::value_t::array);
  if (out.kind_ == SavedState::Kind::kMetric && members.size() != 1) r.fail("a metric file must hold one metric");

  std::size_t offset = payload_at;
  const std::size_t payload_end = payload_at + payload_bytes;
  std::vector<std::uint64_t> fingerprints;
  for (const Json& m : members) {
    const Json& spec = r.field(m, "spec", Json::value_t::object);
    internal::check_json_depth<StateError>(spec, str_cat(source, ": a member's `spec`"));
    SavedState::Member member{spec, r.hex_field(m, "fingerprint"), {}};
    auto layout = std::make_shared<VariableLayout>();
    for (const Json& v : r.field(m, "variables", Json::value_t::array)) layout->push_back(read_variable(r, v));
    // Check the sizes against the bytes present before allocating anything.
    std::uint64_t elements = 0;
    for (const Variable& v : *layout) {
      std::uint64_t n = 1;
      for (const std::int64_t d : v.shape) {
        if (d != 0 && n > (payload_end - offset) / 8 / static_cast<std::uint64_t>(d)) {
          r.fail(str_cat(describe(member.spec), ": variables larger than the payload"));
        }
        n *= static_cast<std::uint64_t>(d);
      }
      elements += n;
      if (elements > (payload_end - offset) / 8)
        r.fail(str_cat(describe(member.spec), ": variables larger than the payload"));
    }
    Variables values(std::move(layout));
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values.layout()[i].dtype == DType::kInt64) {
        for (std::int64_t& x : values.i64(i)) x = get<std::int64_t>(bytes, offset), offset += 8;
      } else {
        for (double& x : values.f64(i)) x = get<double>(bytes, offset), offset += 8;
      }
    }
    try {
      values.check_domains(describe(member.spec));
    } catch (const StateError& e) {
      r.fail(e.what());
    }
    member.values = std::move(values);
    fingerprints.push_back(member.fingerprint);
    out.members_.push_back(std::move(member));
  }
  if (offset != payload_end)
    r.fail(str_cat("payload of ", payload_bytes, " bytes but the variables take ", offset - payload_at));
  if (layout_hash(std::span<const std::uint64_t>(fingerprints)) != out.layout_hash_)
    r.fail("`layout_hash` does not match the metrics' fingerprints");
  return out;
}

std::vector<std::string> SavedState::names() const {
  std::vector<std::string> out;
  for (const Member& m : members_) {
    const Json& config = m.spec.contains("config") ? m.spec["config"] : Json::object();
    out.push_back(config.is_object() && config.contains("name") && config["name"].is_string()
                      ? config["name"].get<std::string>()
                      : std::string());
  }
  return out;
}

void SavedState::restore_members(std::span<Metric* const> targets) const {
  if (targets.size() != members_.size()) {
    throw StateError(str_cat("state file holds ", members_.size(), " metrics; the target has ", targets.size()));
  }
  std::vector<Variables> accepted;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const Member& saved = members_[i];
    Metric& target = *targets[i];
    // Values checked against the target's declared domains first (a file describes its
    // variables without them), so a negative count is reported as such, not as a mismatch.
    const VariableLayout& declared = target.variables();
    if (declared.size() == saved.values.size()) {
      saved.values.check_domains(str_cat("state file holds ", describe(saved.spec)), &declared);
    }
    const std::unique_ptr<Metric> trial = target.clone();
    bool fits = true;
    try {
      trial->set_variable_values(saved.values);
    } catch (const StateError&) {
      fits = false;
    }
    if (!fits || trial->layout_fingerprint() != saved.fingerprint) {
      throw StateError(str_cat("state file holds ", describe(saved.spec), " with config ",
                               internal::describe_json_value(saved.spec, 400), "; it does not match the target ",
                               target.class_name(), " \"", target.name(), "\" with config ",
                               internal::describe_json_value(metrics::serialize(target), 400)));
    }
    accepted.push_back(saved.values);
  }
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i]->set_variable_values(accepted[i]);
}

void SavedState::restore(Metric& metric) const {
  if (kind_ != Kind::kMetric) throw StateError("state file holds a collection; restore it into a MetricCollection");
  Metric* one[] = {&metric};
  restore_members(one);
}

void SavedState::restore(MetricCollection& collection) const {
  if (kind_ != Kind::kCollection) throw StateError("state file holds a single metric; restore it into a Metric");
  const std::vector<Metric*> metrics = collection.metrics();
  restore_members(metrics);
}

std::unique_ptr<Metric> SavedState::to_metric() const {
  if (kind_ != Kind::kMetric) throw StateError("state file holds a collection; use to_collection()");
  std::unique_ptr<Metric> metric = metrics::get(members_[0].spec);
  restore(*metric);
  return metric;
}

MetricCollection SavedState::to_collection() const {
  if (kind_ != Kind::kCollection) throw StateError("state file holds a single metric; use to_metric()");
  MetricCollection collection;
  for (const Member& m : members_) collection.add(metrics::get(m.spec));
  restore(collection);
  return collection;
}

}  // namespace tally
