# cmake -DTEMPLATE=man/x.1.in -DOUT=x.1 -DVERSION=0.1.0 -DDOCDIR=... [-DBINARY=path] -P man-page.cmake
# Fills a man page template: @OPTIONS@ with the OPTIONS section the binary prints for
# --help-man (generated from its CLI11 option definitions), @VERSION@ and @DOCDIR@.
set(OPTIONS "")
if(BINARY)
  execute_process(COMMAND ${BINARY} --help-man OUTPUT_VARIABLE OPTIONS RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0 OR NOT OPTIONS MATCHES "^\\.SH OPTIONS")
    message(FATAL_ERROR "${BINARY} --help-man failed (${_rc})")
  endif()
  string(STRIP "${OPTIONS}" OPTIONS)
endif()
configure_file(${TEMPLATE} ${OUT} @ONLY)
