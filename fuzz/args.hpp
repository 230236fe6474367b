#pragma once
// Fuzz input -> a command line for parse_config(argc, argv). Lines are arguments (argv[0] is
// the program name); a line "%%" ends them, and what follows it becomes a config file, written
// to a temporary file and passed as "--config FILE". Standard output and error are muted: the
// parsers print --help and their error messages there.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/check.hpp"

namespace ioam::fuzz {

class CommandLine {
  public:
    CommandLine(const char* program, const std::uint8_t* data, std::size_t size) {
        std::string_view in(reinterpret_cast<const char*>(data), size);
        args_.emplace_back(program);
        while (!in.empty()) {
            const auto nl = in.find('\n');
            const auto line = in.substr(0, nl);
            in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
            if (line == "%%") {
                std::ofstream(config_path(), std::ios::binary | std::ios::trunc) << in;
                args_.emplace_back("--config");
                args_.emplace_back(config_path());
                break;
            }
            // argv strings end at a NUL, as the kernel would cut them.
            args_.emplace_back(line.substr(0, line.find('\0')));
        }
        for (const auto& a : args_) {
            argv_.push_back(a.c_str());
        }
        argv_.push_back(nullptr);
    }

    int argc() const { return static_cast<int>(args_.size()); }
    const char* const* argv() const { return argv_.data(); }

    static void mute_output() {
        std::cout.rdbuf(nullptr);
        std::cerr.rdbuf(nullptr);
    }

  private:
    // One file per process, so that parallel fuzzing jobs do not share it.
    static const std::string& config_path() {
        static const std::string path = [] {
            std::string p = "/tmp/ioam-fuzz-config-XXXXXX";
            const int fd = mkstemp(p.data());
            FUZZ_CHECK(fd >= 0);
            close(fd);
            std::atexit([] { std::remove(config_path().c_str()); });
            return p;
        }();
        return path;
    }

    std::vector<std::string> args_;
    std::vector<const char*> argv_;
};

// The whole target for one binary's parse_config. Checks: nothing escapes (main calls
// parse_config outside its try block, so an exception would terminate the program with no usable
// message) and an exit code is a process exit status.
template <typename Config>
int fuzz_parse_config(const char* program,
                      std::optional<int> (*parse)(int, const char* const*, Config&),
                      const std::uint8_t* data, std::size_t size) {
    const CommandLine cmd(program, data, size);
    Config config;
    const auto code = parse(cmd.argc(), cmd.argv(), config);
    FUZZ_CHECK(!code || (*code >= 0 && *code <= 255));
    return 0;
}

}  // namespace ioam::fuzz
