# cmake -DSOURCE_DIR=... -DOUT=.../git_describe.cpp -P git-describe.cmake
# Writes the git_describe.cpp of common/version: `git describe` of SOURCE_DIR when it is the top
# of a git checkout, empty otherwise. configure_file() leaves OUT untouched when its text is
# the same, so an unchanged checkout rebuilds nothing.
set(GIT_DESCRIBE "")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse --show-toplevel
                  OUTPUT_VARIABLE _top OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                  RESULT_VARIABLE _rc)
  # A tarball unpacked inside some other checkout must not take that checkout's describe.
  if(_rc EQUAL 0 AND _top)
    file(REAL_PATH ${_top} _top)
    file(REAL_PATH ${SOURCE_DIR} _src)
    if(_top STREQUAL _src)
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} describe --tags --always --dirty
                      OUTPUT_VARIABLE GIT_DESCRIBE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    endif()
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/git_describe.cpp.in ${OUT} @ONLY)
