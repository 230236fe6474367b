#pragma once
// Renders the element registry and record layouts as the committed documents, so that
// docs/ipfix-elements.md and docs/ioam-elements.xml are generated (tool ioam-ie-gen), never
// edited by hand; tests/common/ipfix checks the committed copies byte for byte.

#include <string>

namespace ioam::ipfix {

// docs/ipfix-elements.md: element table, record layouts and template ids.
std::string render_markdown();

// docs/ioam-elements.xml: the enterprise elements (PEN 10383) in the ipfixcol2/libfds element
// file format (<ipfix-elements><scope>..</scope><element>..</element>..), for ipfixcol2's
// elements directory. IANA elements are omitted: libfds ships them.
std::string render_libfds_xml();

}  // namespace ioam::ipfix
