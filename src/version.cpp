#include "tally/version.h"

#include <string>

namespace tally {

std::string version() {
  return std::to_string(TALLY_VERSION_MAJOR) + "." + std::to_string(TALLY_VERSION_MINOR) + "." +
         std::to_string(TALLY_VERSION_PATCH);
}

std::string build_info() {
  std::string out = "tally " + version() + "\n";
#if defined(__clang__)
  out += "compiler: clang " __clang_version__ "\n";
#elif defined(__GNUC__)
  out += "compiler: gcc " __VERSION__ "\n";
#endif
#ifdef _OPENMP
  out += "openmp: ON (" + std::to_string(_OPENMP) + ")\n";
#else
  out += "openmp: OFF\n";
#endif
#ifdef TALLY_HAS_MPI
  out += "mpi: ON\n";
#else
  out += "mpi: OFF\n";
#endif
#ifdef TALLY_HAS_PYTHON
  out += "python: ON\n";
#else
  out += "python: OFF\n";
#endif
#ifdef TALLY_SANITIZE_BUILD
  out += "sanitizers: address,undefined\n";
#endif
#ifdef NDEBUG
  out += "build: release\n";
#else
  out += "build: debug\n";
#endif
  return out;
}

}  // namespace tally
