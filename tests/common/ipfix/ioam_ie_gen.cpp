// ioam-ie-gen: prints the generated element documents.
//   ioam-ie-gen markdown > docs/ipfix-elements.md
//   ioam-ie-gen xml      > docs/ioam-elements.xml
#include <cstdio>
#include <string>
#include <string_view>

#include "common/ipfix/element_docs.hpp"

int main(int argc, char** argv) {
    const std::string_view what = argc == 2 ? argv[1] : "";
    std::string out;
    if (what == "markdown") {
        out = ioam::ipfix::render_markdown();
    } else if (what == "xml") {
        out = ioam::ipfix::render_libfds_xml();
    } else {
        std::fputs("usage: ioam-ie-gen markdown|xml\n", stderr);
        return 2;
    }
    return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}
