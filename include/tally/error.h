#pragma once
// The tally error hierarchy. Every user-facing failure throws one of these; the
// message names the metric (or component), the argument and what was received.

#include <stdexcept>
#include <string>

namespace tally {

/// Base of every error tally throws for bad input or bad use.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An argument has a value outside its domain (negative weight, unknown name, k = 0).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// Shapes of inputs do not agree or have the wrong rank.
class ShapeError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// An input has a dtype the operation does not accept.
class DTypeError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// A state vector or saved state does not match the metric's variable layout.
class StateError : public Error {
 public:
  using Error::Error;
};

/// A configuration (JSON spec, options) is malformed or has unknown keys.
class ConfigError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// An I/O operation (file read or write) failed.
class IOError : public Error {
 public:
  using Error::Error;
};

/// A collective operation across workers failed or was given mismatched inputs.
class DistributedError : public Error {
 public:
  using Error::Error;
};

}  // namespace tally
