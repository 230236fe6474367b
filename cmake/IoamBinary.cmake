# ioam_binary(<target> COMPONENT <exporter|collector> [HAND_PARSED])
# Makes <target> one of the suite's commands: links ioam_version (the binary calls
# ioam::version::add_standard_flags(app, "<target>") for --version and --help-man), installs it
# in the package COMPONENT, and registers it for its man page (man/<target>.1.in, required;
# HAND_PARSED: a binary without CLI11, whose page is all template) and for the tests that run
# every command (build/binaries.txt: one "<name> <path>" line each).
function(ioam_binary target)
  cmake_parse_arguments(B "HAND_PARSED" "COMPONENT" "" ${ARGN})
  if(NOT B_COMPONENT)
    message(FATAL_ERROR "ioam_binary(${target}): COMPONENT exporter or collector")
  endif()
  target_link_libraries(${target} PRIVATE ioam_version)
  install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT ${B_COMPONENT})
  set_property(GLOBAL APPEND PROPERTY IOAM_BINARIES ${target})
  set_target_properties(${target} PROPERTIES IOAM_COMPONENT ${B_COMPONENT}
                                             IOAM_HAND_PARSED "${B_HAND_PARSED}")
endfunction()
