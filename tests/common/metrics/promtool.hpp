#pragma once
// Runs Prometheus' own parser and linter (promtool check metrics) on an exposition.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace ioam::metrics::test {

// What promtool printed (empty when the text is clean, lint included), or nullopt when
// promtool is not installed (Debian package prometheus): the caller skips loudly.
inline std::optional<std::string> promtool_problems(const std::string& text) {
    const auto run = [](const std::string& command, std::string& output) {
        FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
        if (pipe == nullptr) {
            return -1;
        }
        char buf[4096];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) {
            output.append(buf, n);
        }
        const int status = ::pclose(pipe);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    std::string ignored;
    if (run("command -v promtool", ignored) != 0) {
        return std::nullopt;
    }
    static int counter = 0;
    const auto path =
        std::filesystem::temp_directory_path() /
        ("ioam-metrics-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".prom");
    { std::ofstream(path, std::ios::binary) << text; }
    std::string output;
    const int code = run("promtool check metrics < '" + path.string() + "'", output);
    std::filesystem::remove(path);
    if (code != 0 && output.empty()) {
        output = "promtool exited with " + std::to_string(code);
    }
    return output;
}

}  // namespace ioam::metrics::test
