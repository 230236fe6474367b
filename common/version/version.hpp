#pragma once
// The project's version, one place for every binary: project(VERSION) of the top CMakeLists.txt
// and, when built from a git checkout, `git describe` of the commit (refreshed at each build).
//
// A CLI11 binary hooks up --version and the man page generator with add_standard_flags(app,
// "program-name") and by linking ioam_version.

#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace ioam::version {

// "0.1.0", from project(VERSION).
std::string_view project();

// `git describe --always --dirty` of the source tree at build time, empty when the sources are
// not a git checkout (a release tarball, a container build context without .git).
std::string_view git();

// "<program> 0.1.0" or "<program> 0.1.0 (git v0.1.0-3-gabc1234)": what --version prints.
std::string line(std::string_view program);

// Adds --version, and the hidden --help-man that prints the options as a roff OPTIONS section
// (the build's man pages are generated from it, so they cannot drift from the flags).
void add_standard_flags(CLI::App& app, std::string_view program);

// The OPTIONS section of a man page for `app`: one .TP entry per option, in definition order.
std::string man_options(const CLI::App& app);

}  // namespace ioam::version
