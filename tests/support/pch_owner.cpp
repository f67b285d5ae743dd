// Compiles the test drivers' shared precompiled header (tests/CMakeLists.txt,
// tally_fast_test_build); the header itself is all this file needs.
