#pragma once
// Metric options declared once (docs/contributing.md, "Options").
//
// A metric's options are one plain struct (one member per Keras config key, with the
// default as the member's initializer) and one OptionTable describing it: key, member,
// one-line doc and rules. From that table come from_config (type checks, unknown keys,
// required keys), get_config, validation with one message shape,
//   <Class> "<name>": argument `<key>` must be <rule>; received <value>
// and the machine-readable description that `tally list --format json`, the Python
// signatures, the R argument lists and docs/metrics.md are generated from.
//
// Every options struct has `std::string name` (empty means the class's default name,
// declared in its MetricSpec) and `DType dtype`; the table handles these two once. A table
// may declare its own "dtype" field instead (IoU: Keras's integer dtype, int32 by default);
// that field then replaces the generic one in reading, writing, keys and the description.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/error.h"
#include "tally/metric.h"

namespace tally {

/// The JSON type of an option as the description reports it.
enum class OptionType : std::uint8_t { kBool, kInt, kFloat, kString, kDType, kFloats, kInts, kJson };

/// "bool", "int", "float", "string", "dtype", "floats", "ints" or "json".
std::string_view option_type_name(OptionType type);

/// Which error a violated rule raises: ConfigError for a config that cannot mean anything
/// (unknown choice, k = 0), InvalidArgument where Keras raises ValueError for a value out
/// of range (num_thresholds = 1, threshold = 1.5).
enum class RuleError : std::uint8_t { kConfig, kValue };

/// A check on one option's value (as JSON; null values of nullable options always pass).
struct OptionRule {
  std::string text;                     ///< completes "must be ...", e.g. "an integer >= 2"
  std::function<bool(const Json&)> ok;  ///< true when the value satisfies the rule
  RuleError error = RuleError::kValue;
};

namespace rules {
/// A number >= `min`.
OptionRule at_least(double min, RuleError error = RuleError::kValue);
/// A number > `min`.
OptionRule greater_than(double min, RuleError error = RuleError::kValue);
/// A number in [lo, hi].
OptionRule in_range(double lo, double hi, RuleError error = RuleError::kValue);
/// A finite number.
OptionRule finite(RuleError error = RuleError::kValue);
/// A list (or a number) whose every element is >= `min`.
OptionRule each_at_least(double min, RuleError error = RuleError::kValue);
/// A non-empty list.
OptionRule not_empty(RuleError error = RuleError::kValue);
}  // namespace rules

/// How an enum member is spelled in configs.
template <class E>
struct Spelling {
  std::string_view name;
  E value;
};

/// How string choices are matched: exactly, or after upper/lower-casing (Keras's AUC
/// accepts "roc" and "ROC").
enum class CaseFold : std::uint8_t { kExact, kUpper, kLower };

/// One option as described (non-template form, shared by describe() and the front ends).
struct OptionInfo {
  std::string key;
  OptionType type = OptionType::kJson;
  Json default_value;  ///< null for required options
  bool required = false;
  bool nullable = false;
  std::string doc;
  std::string rule;                  ///< every rule's text joined with " and "; empty when none
  std::vector<std::string> choices;  ///< allowed strings, empty when free
};

/// The option description as JSON: key, type, default, required, nullable, doc, rule, choices.
Json to_json(const OptionInfo& option);

namespace detail {

/// Formats "<Class> \"<name>\": " (or "<Class>: " before the name is known).
std::string option_owner(std::string_view class_name, std::string_view name);
/// A short, bounded rendering of a JSON value for messages (deep or long values elided).
std::string received(const Json& value);
/// Throws ConfigError "<owner>argument `<key>` must be <what>; received <value>".
[[noreturn]] void throw_option(RuleError error, std::string_view owner, std::string_view key, std::string_view what,
                               const Json& value);
/// A JSON boolean, or ConfigError naming the key and the value received.
bool read_bool(std::string_view owner, std::string_view key, const Json& v);
/// A JSON integer (or integral float) that fits int64, or ConfigError with the value as received.
std::int64_t read_int(std::string_view owner, std::string_view key, const Json& v);
/// A JSON number, or ConfigError.
double read_double(std::string_view owner, std::string_view key, const Json& v);
/// A JSON string, or ConfigError.
std::string read_string(std::string_view owner, std::string_view key, const Json& v);
/// A floating dtype name or a serialized Keras DTypePolicy, or ConfigError.
DType read_dtype(std::string_view owner, const Json& v);
/// A number or a list of numbers (a number becomes one element), or ConfigError.
std::vector<double> read_doubles(std::string_view owner, std::string_view key, const Json& v);
/// An integer or a list of integers, or ConfigError.
std::vector<std::int64_t> read_ints(std::string_view owner, std::string_view key, const Json& v);
/// Applies a case fold to a string choice.
std::string fold(std::string s, CaseFold fold);
/// The "unknown config key" error listing the valid keys.
[[noreturn]] void throw_unknown_keys(std::string_view owner, const std::vector<std::string>& unknown,
                                     std::vector<std::string> valid);

template <class T>
struct Unwrap {
  using type = T;
  static constexpr bool optional = false;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
  static constexpr bool optional = true;
};

}  // namespace detail

/// One declared option of an options struct `Opts`.
template <class Opts>
struct OptionField {
  OptionInfo info;
  std::function<void(Opts&, const Json&, std::string_view owner)> read;  ///< JSON -> member (throws ConfigError)
  std::function<Json(const Opts&)> write;                                ///< member -> JSON (null when absent)
  std::vector<OptionRule> rules;
  bool common = false;            ///< the name/dtype pseudo-field marking where those two go in the key order
  bool emit_when_default = true;  ///< false: get_config omits the key at its default (Keras from_sorted_ids)
  bool null_is_value = false;     ///< an explicit null is a value, not "use the default" (R2Score's None)
};

/// Declares an option: `key`, the member holding it, a one-line doc, then rules.
/// Member types: bool, int64, double, string, DType, vector<double>, vector<int64>, Json,
/// and std::optional of any of these (nullable). Enums use field(key, member, doc, spellings).
template <class Opts, class T, class... Rules>
OptionField<Opts> field(std::string key, T Opts::*member, std::string doc, Rules... rules) {
  using U = typename detail::Unwrap<T>::type;
  OptionField<Opts> f;
  f.info.key = key;
  f.info.doc = std::move(doc);
  f.info.nullable = detail::Unwrap<T>::optional;
  (f.rules.push_back(std::move(rules)), ...);
  if constexpr (std::is_same_v<U, bool>) {
    f.info.type = OptionType::kBool;
  } else if constexpr (std::is_same_v<U, std::int64_t>) {
    f.info.type = OptionType::kInt;
  } else if constexpr (std::is_same_v<U, double>) {
    f.info.type = OptionType::kFloat;
  } else if constexpr (std::is_same_v<U, std::string>) {
    f.info.type = OptionType::kString;
  } else if constexpr (std::is_same_v<U, DType>) {
    f.info.type = OptionType::kDType;
  } else if constexpr (std::is_same_v<U, std::vector<double>>) {
    f.info.type = OptionType::kFloats;
  } else if constexpr (std::is_same_v<U, std::vector<std::int64_t>>) {
    f.info.type = OptionType::kInts;
  } else {
    static_assert(std::is_same_v<U, Json>, "unsupported option member type");
    f.info.type = OptionType::kJson;
  }
  f.read = [member, key](Opts& o, const Json& v, std::string_view owner) {
    U value{};
    if constexpr (std::is_same_v<U, bool>) {
      value = detail::read_bool(owner, key, v);
    } else if constexpr (std::is_same_v<U, std::int64_t>) {
      value = detail::read_int(owner, key, v);
    } else if constexpr (std::is_same_v<U, double>) {
      value = detail::read_double(owner, key, v);
    } else if constexpr (std::is_same_v<U, std::string>) {
      value = detail::read_string(owner, key, v);
    } else if constexpr (std::is_same_v<U, DType>) {
      value = detail::read_dtype(owner, v);
    } else if constexpr (std::is_same_v<U, std::vector<double>>) {
      value = detail::read_doubles(owner, key, v);
    } else if constexpr (std::is_same_v<U, std::vector<std::int64_t>>) {
      value = detail::read_ints(owner, key, v);
    } else {
      value = v;
    }
    o.*member = std::move(value);
  };
  f.write = [member](const Opts& o) -> Json {
    if constexpr (detail::Unwrap<T>::optional) {
      if (!(o.*member).has_value()) return Json();
      if constexpr (std::is_same_v<U, DType>) return std::string(dtype_name(*(o.*member)));
      return Json(*(o.*member));
    } else if constexpr (std::is_same_v<U, DType>) {
      return std::string(dtype_name(o.*member));
    } else {
      return Json(o.*member);
    }
  };
  return f;
}

/// Declares a string option restricted to `choices` (matched after `case_fold`).
template <class Opts>
OptionField<Opts> choice_field(std::string key, std::string Opts::*member, std::string doc,
                               std::vector<std::string> choices, std::string what,
                               CaseFold case_fold = CaseFold::kExact, RuleError error = RuleError::kConfig) {
  OptionField<Opts> f = field(key, member, std::move(doc));
  f.info.choices = choices;
  f.read = [member, key, choices, what, case_fold, error](Opts& o, const Json& v, std::string_view owner) {
    std::string s = detail::fold(detail::read_string(owner, key, v), case_fold);
    if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
      detail::throw_option(error, owner, key, what, v);
    }
    o.*member = std::move(s);
  };
  f.rules.push_back(OptionRule{what,
                               [choices](const Json& v) {
                                 return v.is_string() && std::find(choices.begin(), choices.end(),
                                                                   v.get<std::string>()) != choices.end();
                               },
                               error});
  return f;
}

/// Declares an enum option spelled by `spellings` in configs (the first spelling of a value
/// is the one get_config writes); `null_value`, when given, is what an explicit JSON null means.
template <class Opts, class E>
OptionField<Opts> enum_field(std::string key, E Opts::*member, std::string doc, std::vector<Spelling<E>> spellings,
                             std::string what, CaseFold case_fold = CaseFold::kExact,
                             RuleError error = RuleError::kConfig, std::optional<E> null_value = std::nullopt) {
  OptionField<Opts> f;
  f.info.key = key;
  f.info.doc = std::move(doc);
  f.info.type = OptionType::kString;
  f.info.nullable = null_value.has_value();
  f.null_is_value = null_value.has_value();
  for (const auto& s : spellings) {
    if (std::find(f.info.choices.begin(), f.info.choices.end(), s.name) == f.info.choices.end()) {
      f.info.choices.emplace_back(s.name);
    }
  }
  f.read = [member, key, spellings, what, case_fold, error, null_value](Opts& o, const Json& v,
                                                                        std::string_view owner) {
    if (v.is_null() && null_value) {
      o.*member = *null_value;
      return;
    }
    const std::string s = detail::fold(detail::read_string(owner, key, v), case_fold);
    for (const auto& sp : spellings) {
      if (sp.name == s) {
        o.*member = sp.value;
        return;
      }
    }
    detail::throw_option(error, owner, key, what, v);
  };
  f.write = [member, spellings, null_value](const Opts& o) -> Json {
    if (null_value && o.*member == *null_value) return Json();
    for (const auto& sp : spellings) {
      if (sp.value == o.*member) return std::string(sp.name);
    }
    return Json();
  };
  return f;
}

/// Marks an option as required (no default; from_config fails without it).
template <class Opts>
OptionField<Opts> required(OptionField<Opts> f) {
  f.info.required = true;
  return f;
}

/// Marks an option that get_config lists only when it differs from its default.
template <class Opts>
OptionField<Opts> listed_when_set(OptionField<Opts> f) {
  f.emit_when_default = false;
  return f;
}

/// Where `name` and `dtype` go in the key order (Keras constructor order); first when absent.
template <class Opts>
OptionField<Opts> name_and_dtype() {
  OptionField<Opts> f;
  f.common = true;
  return f;
}

/// The options of one metric class: reads and writes configs, validates, describes.
template <class Opts>
class OptionTable {
 public:
  /// Declares the fields in Keras's constructor order.
  OptionTable(std::initializer_list<OptionField<Opts>> fields) : fields_(fields) {
    bool has_common = false;
    for (const auto& f : fields_) has_common = has_common || f.common;
    if (!has_common) fields_.insert(fields_.begin(), name_and_dtype<Opts>());
  }

  /// Builds options from a Keras config (null or {} means defaults); unknown keys, wrong
  /// types, missing required keys and violated rules throw with the metric's class and name.
  Opts read(std::string_view class_name, std::string_view default_name, const Json& config) const {
    if (!config.is_null() && !config.is_object()) {
      throw ConfigError(std::string(class_name) + ": config must be a JSON object; received " +
                        detail::received(config));
    }
    Opts o{};
    std::string owner = detail::option_owner(class_name, {});
    const Json* name = config.is_object() && config.contains("name") ? &config["name"] : nullptr;
    if (name != nullptr && !name->is_null()) o.name = detail::read_string(owner, "name", *name);
    if (o.name.empty()) o.name = default_name;
    owner = detail::option_owner(class_name, o.name);
    if (!own_dtype() && config.is_object() && config.contains("dtype") && !config["dtype"].is_null()) {
      o.dtype = detail::read_dtype(owner, config["dtype"]);
    }
    std::vector<std::string> unknown;
    if (config.is_object()) {
      for (const auto& item : config.items()) {
        if (item.key() != "name" && item.key() != "dtype" && find(item.key()) == nullptr) unknown.push_back(item.key());
      }
    }
    if (!unknown.empty()) detail::throw_unknown_keys(owner, unknown, keys());
    for (const auto& f : fields_) {
      if (f.common) continue;
      const bool present =
          config.is_object() && config.contains(f.info.key) && (!config[f.info.key].is_null() || f.null_is_value);
      if (!present) {
        if (f.info.required) {
          throw ConfigError(owner + "argument `" + f.info.key + "` is required (" + f.info.doc + ")");
        }
        continue;
      }
      f.read(o, config[f.info.key], owner);
    }
    validate(class_name, o);
    return o;
  }

  /// Throws unless every rule holds for `o` (used by constructors too, so C++ callers get
  /// the same messages as configs).
  void validate(std::string_view class_name, const Opts& o) const {
    for (const auto& f : fields_) {
      if (f.common || f.rules.empty()) continue;
      const Json v = f.write(o);
      if (v.is_null()) continue;
      for (const OptionRule& rule : f.rules) {
        if (!rule.ok(v))
          detail::throw_option(rule.error, detail::option_owner(class_name, o.name), f.info.key, rule.text, v);
      }
    }
  }

  /// Writes every option into `config` (which already holds name and dtype), in key order.
  void write(const Opts& o, Json& config) const {
    const Opts defaults{};
    for (const auto& f : fields_) {
      if (f.common) continue;
      Json v = f.write(o);
      if (!f.emit_when_default && v == f.write(defaults)) continue;
      config[f.info.key] = std::move(v);
    }
  }

  /// Every option described, in Keras's key order, with name's default `default_name`.
  std::vector<OptionInfo> describe(std::string_view default_name) const {
    const Opts defaults{};
    std::vector<OptionInfo> out;
    for (const auto& f : fields_) {
      if (f.common) {
        OptionInfo name{"name",
                        OptionType::kString,
                        std::string(default_name),
                        false,
                        false,
                        "The metric's name (result keys, logs).",
                        "",
                        {}};
        OptionInfo dtype{"dtype",   OptionType::kDType,
                         "float32", false,
                         false,     "Keras dtype: sets clipping constants; tally accumulates in float64.",
                         "",        {"float16", "bfloat16", "float32", "float64"}};
        out.push_back(std::move(name));
        if (!own_dtype()) out.push_back(std::move(dtype));
        continue;
      }
      OptionInfo info = f.info;
      info.default_value = info.required ? Json() : f.write(defaults);
      for (const OptionRule& r : f.rules) info.rule += (info.rule.empty() ? "" : " and ") + r.text;
      out.push_back(std::move(info));
    }
    return out;
  }

  /// The keys in key order, name and dtype included.
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& f : fields_) {
      if (f.common) {
        out.emplace_back("name");
        if (!own_dtype()) out.emplace_back("dtype");
      } else {
        out.push_back(f.info.key);
      }
    }
    return out;
  }

 private:
  /// True when the table declares its own "dtype" field (which then replaces the generic one).
  bool own_dtype() const { return find("dtype") != nullptr; }

  const OptionField<Opts>* find(std::string_view key) const {
    for (const auto& f : fields_) {
      if (!f.common && f.info.key == key) return &f;
    }
    return nullptr;
  }

  std::vector<OptionField<Opts>> fields_;
};

/// What a metric's inputs may be, as `tally list` and the front ends describe them.
struct InputContract {
  std::string y_true;                       ///< "binary", "sparse_ids", "one_hot", "values", "none", or "a|b"
  std::string y_pred;                       ///< "probabilities", "logits", "scores", "values", "ids", or "a|b"
  std::vector<int> ranks{1, 2};             ///< accepted ranks of y_pred
  std::vector<std::string> requires_aux{};  ///< auxiliary inputs it needs (kAuxQueryIds, kAuxIndex)
  std::vector<std::string> accepts_aux{};   ///< auxiliary inputs it may take

  /// How the contract uses the auxiliary input `name`.
  AuxUse aux_use(std::string_view name) const {
    if (std::find(requires_aux.begin(), requires_aux.end(), name) != requires_aux.end()) return AuxUse::kRequired;
    if (std::find(accepts_aux.begin(), accepts_aux.end(), name) != accepts_aux.end()) return AuxUse::kOptional;
    return AuxUse::kNone;
  }
};

/// Everything a metric class declares about itself, once: the single source of its class
/// name, default name, doc line, direction, input contract, result shape and options.
template <class Opts>
struct MetricSpec {
  std::string class_name;    ///< Keras class name
  std::string default_name;  ///< Keras's default `name`
  std::string doc;           ///< one line
  Direction direction = Direction::kNone;
  InputContract inputs;
  std::string result = "scalar";  ///< "scalar", "vector" (per threshold/class/output) or "matrix"
  OptionTable<Opts> options;
  Json example_config = Json::object();  ///< a valid config for describing the state (required keys filled)
};

/// Base of catalog metrics: a class with a MetricSpec (`static const MetricSpec<Opts>& spec()`)
/// gets from_config, get_config, class_name, direction, clone and validated options from it.
template <class Derived, class Opts, class Base = Metric>
class ConfiguredMetric : public Base {
 public:
  using Options = Opts;

  /// Builds from a Keras config, validated against the spec's option table.
  static std::unique_ptr<Metric> from_config(const Json& config) {
    const auto& s = Derived::spec();
    return std::make_unique<Derived>(s.options.read(s.class_name, s.default_name, config));
  }
  std::string class_name() const override { return Derived::spec().class_name; }
  Direction direction() const override { return Derived::spec().direction; }
  AuxUse aux_use(std::string_view name) const override { return Derived::spec().inputs.aux_use(name); }
  Json get_config() const override {
    Json c = Metric::get_config();
    Derived::spec().options.write(options_, c);
    return c;
  }
  std::unique_ptr<Metric> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
  /// The options this metric was built with (name resolved to the default when empty).
  const Opts& options() const { return options_; }

 protected:
  /// Validates `o` against the spec, then constructs the base with (name, dtype, base_args...).
  template <class... BaseArgs>
  explicit ConfiguredMetric(const Opts& o, BaseArgs&&... base_args)
      : Base(resolved(o).name, o.dtype, std::forward<BaseArgs>(base_args)...), options_(resolved(o)) {}

  /// `o` with the default name filled in, after validation (throws on a violated rule).
  static Opts resolved(Opts o) {
    const auto& s = Derived::spec();
    if (o.name.empty()) o.name = s.default_name;
    s.options.validate(s.class_name, o);
    return o;
  }

 private:
  Opts options_;
};

/// Options of metrics whose only keys are name and dtype.
struct BasicOptions {
  std::string name;  ///< empty: the class's default name
  DType dtype = DType::kFloat32;
};

}  // namespace tally
