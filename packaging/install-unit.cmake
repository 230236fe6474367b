# Runs at install time (install(CODE) sets UNIT, OUT, BINDIR, DOCDIR): deploy/systemd's units
# name /usr/local/bin and /usr/share/doc/ioam-ipfix; the installed copy names where this
# install puts the binaries and the documents (/usr for the .deb packages).
file(READ ${UNIT} _text)
string(REPLACE "/usr/local/bin/" "${CMAKE_INSTALL_PREFIX}/${BINDIR}/" _text "${_text}")
string(REPLACE "/usr/share/doc/ioam-ipfix/" "${CMAKE_INSTALL_PREFIX}/${DOCDIR}/" _text "${_text}")
file(WRITE ${OUT} "${_text}")
