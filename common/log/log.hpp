#pragma once
// Where and how both daemons log: text (spdlog's default lines) or one JSON object per line,
// to stderr or to a file that SIGHUP reopens (logrotate moves the file, then signals).
//
// Threading: setup() once at start-up, before other threads log; reopen() from any thread.

#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace ioam::log {

struct Output {
    std::string format = "text";  // text or json
    std::string file;             // empty: stderr
};

// Adds --log-format and --log-file to `app`.
void add_options(CLI::App& app, Output& out);

// Makes the default logger, named `program`, write to `out` at `level` (spdlog level names).
// Throws std::runtime_error naming the file and the reason when it cannot be opened.
void setup(const std::string& program, const std::string& level, const Output& out);

// Reopens the log file (after a rotation): logs one line in the new file, or an error in the
// old one when it cannot be opened. Nothing to do when logging to stderr.
void reopen();

// `text` as the inside of a JSON string (quotes, backslashes, control characters escaped).
std::string json_escape(std::string_view text);

}  // namespace ioam::log
