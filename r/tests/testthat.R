# Run by ctest (r/CMakeLists.txt, with R_LIBS=build/r-lib and TALLY_SOURCE_DIR) and by
# R CMD check. Tests that read tests/fixtures/*.json skip when TALLY_SOURCE_DIR is unset.
library(testthat)
library(tally)
test_check("tally")
