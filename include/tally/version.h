#pragma once
// Version numbers and a description of the build (which optional parts are compiled in).

#include <string>

#define TALLY_VERSION_MAJOR 0
#define TALLY_VERSION_MINOR 1
#define TALLY_VERSION_PATCH 0

namespace tally {

/// The library version as "MAJOR.MINOR.PATCH".
std::string version();
/// One line per fact: version, compiler, OpenMP, MPI, Python, sanitizers, build type.
std::string build_info();

}  // namespace tally
