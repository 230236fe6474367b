#include "common/version/version.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace ioam::version {
namespace {

// roff text: a backslash is the escape character, a line starting with '.' or '\'' would be
// a request, and '-' must be \- to stay a minus sign (copy-pasteable flags).
std::string roff(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else {
            if ((c == '.' || c == '\'') && (out.empty() || out.back() == '\n')) {
                out += "\\&";
            }
            out += c;
        }
    }
    return out;
}

constexpr std::string_view kHelpMan = "--help-man";

}  // namespace

std::string_view project() {
    return IOAM_PROJECT_VERSION;
}

std::string line(std::string_view program) {
    std::string out{program};
    out += ' ';
    out += project();
    if (!git().empty()) {
        out += " (git ";
        out += git();
        out += ')';
    }
    return out;
}

void add_standard_flags(CLI::App& app, std::string_view program) {
    app.set_version_flag("--version", line(program));
    // CLI11 runs flag callbacks before it checks required options, so the page of a binary
    // with a required argument can be generated too.
    app.add_flag_callback(
           std::string{kHelpMan},
           [&app] {
               std::cout << man_options(app);
               throw CLI::Success();
           },
           "Print the OPTIONS section of the man page (roff) and exit")
        ->group("")
        ->configurable(false);
}

std::string man_options(const CLI::App& app) {
    std::string out = ".SH OPTIONS\n";
    for (const CLI::Option* opt : app.get_options()) {
        if (opt->get_group().empty()) {  // hidden, as --help-man itself
            continue;
        }
        std::string names = opt->get_name(false, true);  // "-I,--interface"
        for (auto at = names.find(','); at != std::string::npos; at = names.find(',', at + 2)) {
            names.insert(at + 1, " ");
        }
        out += ".TP\n\\fB" + roff(names) + "\\fR";
        if (!opt->get_type_name().empty() && opt->get_items_expected_max() > 0) {
            out += " \\fI" + roff(opt->get_type_name()) + "\\fR";
        }
        out += '\n' + roff(opt->get_description());
        if (opt->get_required()) {
            out += " (required)";
        }
        if (!opt->get_default_str().empty()) {
            out += " (default: " + roff(opt->get_default_str()) + ')';
        }
        out += '\n';
    }
    return out;
}

}  // namespace ioam::version
