# Eigen 3.4: a system Eigen when there is one, else the one the cmeel-eigen wheel carries
# (pip's build environment installs it as a build requirement, so that pip alone suffices).
find_package(Eigen3 3.4 CONFIG QUIET)
if(NOT Eigen3_FOUND)
  find_package(Python 3.9 COMPONENTS Interpreter)
  if(Python_Interpreter_FOUND)
    execute_process(
      COMMAND ${Python_EXECUTABLE} -c
        "import cmeel, os; print(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(cmeel.__file__))), 'cmeel.prefix'))"
      OUTPUT_VARIABLE _cmeel_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(_cmeel_prefix)
      find_package(Eigen3 3.4 CONFIG QUIET PATHS ${_cmeel_prefix} NO_DEFAULT_PATH)
    endif()
  endif()
endif()
if(NOT Eigen3_FOUND)
  message(FATAL_ERROR "safetwin needs Eigen 3.4: install Debian's libeigen3-dev, or pip install cmeel-eigen")
endif()
message(STATUS "safetwin: Eigen ${Eigen3_VERSION} from ${Eigen3_DIR}")
