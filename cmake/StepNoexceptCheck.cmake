# SAFETWIN_STEP_NOEXCEPT_CHECK: compile the core's step-path translation units with
# -fno-exceptions -fno-rtti into an object library (a compile-only check, nothing links it), and
# register it as the ctest entry step_noexcept_check. It proves that no step-path unit throws,
# catches or uses RTTI itself: construction and validation raise only through
# safetwin::throw_invalid (validate.cpp), which stays outside the check.
#
# Every unit under cpp/src is checked unless it is listed here with its reason, so a new unit is
# checked by default. A unit that cannot be built this way fails the build with
# "exception handling disabled".
option(SAFETWIN_STEP_NOEXCEPT_CHECK "Compile the step-path units with -fno-exceptions -fno-rtti (check only)" OFF)
if(NOT SAFETWIN_STEP_NOEXCEPT_CHECK)
  return()
endif()

set(_noexcept_excluded
  # The one place construction errors are thrown (throw_invalid and the require_* helpers' target).
  cpp/src/validate.cpp
  # The C ABI: its create functions catch every construction exception at the boundary.
  cpp/src/c_api/cell.cpp
  cpp/src/c_api/cycle.cpp
  cpp/src/c_api/estimator.cpp
  cpp/src/c_api/status.cpp
  # Two construction-time throws written inline (refuse(), window_samples()); moving them to
  # throw_invalid would put InvariantMonitor::check under this check too.
  cpp/src/safety/monitor.cpp
  # The cell-file reader (start-up only, never a step path): toml++ and its refusals throw.
  cpp/src/battery/cell_file.cpp
)
file(GLOB_RECURSE _noexcept_sources RELATIVE ${PROJECT_SOURCE_DIR} CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/cpp/src/*.cpp)
list(REMOVE_ITEM _noexcept_sources ${_noexcept_excluded})
list(TRANSFORM _noexcept_sources PREPEND ${PROJECT_SOURCE_DIR}/)

# Not in "all": the ctest entry (or tools/check_step_noexcept.sh) builds it, so a normal build
# does not compile the core twice.
add_library(safetwin_step_noexcept_check OBJECT EXCLUDE_FROM_ALL ${_noexcept_sources})
target_include_directories(safetwin_step_noexcept_check PRIVATE ${PROJECT_SOURCE_DIR}/cpp/include)
target_link_libraries(safetwin_step_noexcept_check PRIVATE Eigen3::Eigen)
target_compile_options(safetwin_step_noexcept_check PRIVATE ${SAFETWIN_WARNINGS} -fno-exceptions -fno-rtti)

if(SAFETWIN_TESTS)
  add_test(NAME step_noexcept_check
    COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target safetwin_step_noexcept_check)
endif()
