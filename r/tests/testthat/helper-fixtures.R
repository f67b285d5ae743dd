# The fixture JSON the C++ tests use (tests/fixtures/*.json, scikit-learn / Keras values).
fixture <- function(name) {
  root <- Sys.getenv("TALLY_SOURCE_DIR")
  path <- file.path(root, "tests", "fixtures", paste0(name, ".json"))
  if (!nzchar(root) || !file.exists(path)) skip("TALLY_SOURCE_DIR not set: fixtures unavailable")
  skip_if_not_installed("jsonlite")
  jsonlite::fromJSON(path, simplifyVector = TRUE)
}
