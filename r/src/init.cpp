// Registers the .Call entry points of metric.cpp and sliced.cpp (R's native routine registration).
#include <R.h>
#include <R_ext/Rdynload.h>
#include <Rinternals.h>

extern "C" {
SEXP tally_r_get(SEXP);
SEXP tally_r_update(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_result(SEXP);
SEXP tally_r_reset(SEXP);
SEXP tally_r_merge(SEXP, SEXP);
SEXP tally_r_to_vector(SEXP);
SEXP tally_r_from_vector(SEXP, SEXP);
SEXP tally_r_config(SEXP);
SEXP tally_r_serialize(SEXP);
SEXP tally_r_info(SEXP);
SEXP tally_r_variables(SEXP);
SEXP tally_r_clone(SEXP);
SEXP tally_r_stateless_reset(SEXP);
SEXP tally_r_stateless_update(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_stateless_result(SEXP, SEXP);
SEXP tally_r_state_from_vector(SEXP, SEXP);
SEXP tally_r_state_variables(SEXP);
SEXP tally_r_rmetric_new(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_var_get(SEXP, SEXP, SEXP);
SEXP tally_r_var_set(SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_collection_new(SEXP);
SEXP tally_r_collection_update(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_fused_updates();
SEXP tally_r_collection_names(SEXP);
SEXP tally_r_collection_metric(SEXP, SEXP);
SEXP tally_r_collection_reset(SEXP);
SEXP tally_r_collection_merge(SEXP, SEXP);
SEXP tally_r_collection_to_vector(SEXP);
SEXP tally_r_collection_from_vector(SEXP, SEXP);
SEXP tally_r_all_reduce_local(SEXP);
SEXP tally_r_set_num_threads(SEXP);
SEXP tally_r_num_threads();
SEXP tally_r_mpi_available();
SEXP tally_r_mpi_new(SEXP);
SEXP tally_r_mpi_info(SEXP);
SEXP tally_r_mpi_close(SEXP);
SEXP tally_r_all_reduce_mpi(SEXP, SEXP);
SEXP tally_r_mpi_all_reduce_metric(SEXP, SEXP);
SEXP tally_r_save_metric(SEXP, SEXP, SEXP);
SEXP tally_r_save_collection(SEXP, SEXP, SEXP);
SEXP tally_r_load(SEXP, SEXP);
SEXP tally_r_selector_new(SEXP, SEXP, SEXP);
SEXP tally_r_selector_direction_op(SEXP);
SEXP tally_r_selector_update(SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_selector_info(SEXP);
SEXP tally_r_known_names();
SEXP tally_r_version();
SEXP tally_r_call_function(SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_time_update(SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_register_class(SEXP);
SEXP tally_r_check_na(SEXP);
SEXP tally_r_sliced_new(SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_sliced_update(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP tally_r_sliced_result(SEXP, SEXP);
SEXP tally_r_sliced_merge(SEXP, SEXP);
SEXP tally_r_sliced_reset(SEXP);
SEXP tally_r_sliced_info(SEXP);

static const R_CallMethodDef kCallMethods[] = {
    {"tally_r_get", reinterpret_cast<DL_FUNC>(&tally_r_get), 1},
    {"tally_r_update", reinterpret_cast<DL_FUNC>(&tally_r_update), 6},
    {"tally_r_result", reinterpret_cast<DL_FUNC>(&tally_r_result), 1},
    {"tally_r_reset", reinterpret_cast<DL_FUNC>(&tally_r_reset), 1},
    {"tally_r_merge", reinterpret_cast<DL_FUNC>(&tally_r_merge), 2},
    {"tally_r_to_vector", reinterpret_cast<DL_FUNC>(&tally_r_to_vector), 1},
    {"tally_r_from_vector", reinterpret_cast<DL_FUNC>(&tally_r_from_vector), 2},
    {"tally_r_config", reinterpret_cast<DL_FUNC>(&tally_r_config), 1},
    {"tally_r_serialize", reinterpret_cast<DL_FUNC>(&tally_r_serialize), 1},
    {"tally_r_info", reinterpret_cast<DL_FUNC>(&tally_r_info), 1},
    {"tally_r_variables", reinterpret_cast<DL_FUNC>(&tally_r_variables), 1},
    {"tally_r_clone", reinterpret_cast<DL_FUNC>(&tally_r_clone), 1},
    {"tally_r_stateless_reset", reinterpret_cast<DL_FUNC>(&tally_r_stateless_reset), 1},
    {"tally_r_stateless_update", reinterpret_cast<DL_FUNC>(&tally_r_stateless_update), 5},
    {"tally_r_stateless_result", reinterpret_cast<DL_FUNC>(&tally_r_stateless_result), 2},
    {"tally_r_state_from_vector", reinterpret_cast<DL_FUNC>(&tally_r_state_from_vector), 2},
    {"tally_r_state_variables", reinterpret_cast<DL_FUNC>(&tally_r_state_variables), 1},
    {"tally_r_rmetric_new", reinterpret_cast<DL_FUNC>(&tally_r_rmetric_new), 7},
    {"tally_r_var_get", reinterpret_cast<DL_FUNC>(&tally_r_var_get), 3},
    {"tally_r_var_set", reinterpret_cast<DL_FUNC>(&tally_r_var_set), 4},
    {"tally_r_collection_new", reinterpret_cast<DL_FUNC>(&tally_r_collection_new), 1},
    {"tally_r_collection_update", reinterpret_cast<DL_FUNC>(&tally_r_collection_update), 6},
    {"tally_r_fused_updates", reinterpret_cast<DL_FUNC>(&tally_r_fused_updates), 0},
    {"tally_r_collection_names", reinterpret_cast<DL_FUNC>(&tally_r_collection_names), 1},
    {"tally_r_collection_metric", reinterpret_cast<DL_FUNC>(&tally_r_collection_metric), 2},
    {"tally_r_collection_reset", reinterpret_cast<DL_FUNC>(&tally_r_collection_reset), 1},
    {"tally_r_collection_merge", reinterpret_cast<DL_FUNC>(&tally_r_collection_merge), 2},
    {"tally_r_collection_to_vector", reinterpret_cast<DL_FUNC>(&tally_r_collection_to_vector), 1},
    {"tally_r_collection_from_vector", reinterpret_cast<DL_FUNC>(&tally_r_collection_from_vector), 2},
    {"tally_r_all_reduce_local", reinterpret_cast<DL_FUNC>(&tally_r_all_reduce_local), 1},
    {"tally_r_set_num_threads", reinterpret_cast<DL_FUNC>(&tally_r_set_num_threads), 1},
    {"tally_r_num_threads", reinterpret_cast<DL_FUNC>(&tally_r_num_threads), 0},
    {"tally_r_mpi_available", reinterpret_cast<DL_FUNC>(&tally_r_mpi_available), 0},
    {"tally_r_mpi_new", reinterpret_cast<DL_FUNC>(&tally_r_mpi_new), 1},
    {"tally_r_mpi_info", reinterpret_cast<DL_FUNC>(&tally_r_mpi_info), 1},
    {"tally_r_mpi_close", reinterpret_cast<DL_FUNC>(&tally_r_mpi_close), 1},
    {"tally_r_all_reduce_mpi", reinterpret_cast<DL_FUNC>(&tally_r_all_reduce_mpi), 2},
    {"tally_r_mpi_all_reduce_metric", reinterpret_cast<DL_FUNC>(&tally_r_mpi_all_reduce_metric), 2},
    {"tally_r_save_metric", reinterpret_cast<DL_FUNC>(&tally_r_save_metric), 3},
    {"tally_r_save_collection", reinterpret_cast<DL_FUNC>(&tally_r_save_collection), 3},
    {"tally_r_load", reinterpret_cast<DL_FUNC>(&tally_r_load), 2},
    {"tally_r_selector_new", reinterpret_cast<DL_FUNC>(&tally_r_selector_new), 3},
    {"tally_r_selector_direction_op", reinterpret_cast<DL_FUNC>(&tally_r_selector_direction_op), 1},
    {"tally_r_selector_update", reinterpret_cast<DL_FUNC>(&tally_r_selector_update), 4},
    {"tally_r_selector_info", reinterpret_cast<DL_FUNC>(&tally_r_selector_info), 1},
    {"tally_r_known_names", reinterpret_cast<DL_FUNC>(&tally_r_known_names), 0},
    {"tally_r_version", reinterpret_cast<DL_FUNC>(&tally_r_version), 0},
    {"tally_r_call_function", reinterpret_cast<DL_FUNC>(&tally_r_call_function), 4},
    {"tally_r_time_update", reinterpret_cast<DL_FUNC>(&tally_r_time_update), 4},
    {"tally_r_register_class", reinterpret_cast<DL_FUNC>(&tally_r_register_class), 1},
    {"tally_r_check_na", reinterpret_cast<DL_FUNC>(&tally_r_check_na), 1},
    {"tally_r_sliced_new", reinterpret_cast<DL_FUNC>(&tally_r_sliced_new), 4},
    {"tally_r_sliced_update", reinterpret_cast<DL_FUNC>(&tally_r_sliced_update), 5},
    {"tally_r_sliced_result", reinterpret_cast<DL_FUNC>(&tally_r_sliced_result), 2},
    {"tally_r_sliced_merge", reinterpret_cast<DL_FUNC>(&tally_r_sliced_merge), 2},
    {"tally_r_sliced_reset", reinterpret_cast<DL_FUNC>(&tally_r_sliced_reset), 1},
    {"tally_r_sliced_info", reinterpret_cast<DL_FUNC>(&tally_r_sliced_info), 1},
    {nullptr, nullptr, 0}};

void R_init_tally(DllInfo* dll) {
  R_registerRoutines(dll, nullptr, kCallMethods, nullptr, nullptr);
  R_useDynamicSymbols(dll, FALSE);
}
}
