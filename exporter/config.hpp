#pragma once
// ioam-exporter settings: command-line flags and a config file (`key = value` lines, or a
// JSON object) with the same keys; flags win over the file.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/log/log.hpp"
#include "exporter/sink/collector_uri.hpp"

namespace ioam::exporter {

struct ExporterConfig {
    std::vector<sink::CollectorUri> collectors;
    std::uint32_t domain_id = 1;
    std::size_t mtu = 1400;
    std::chrono::milliseconds flush_interval{100};
    std::chrono::seconds template_refresh{30};
    std::uint32_t sample_one_in = 1;            // --sample 1/N
    bool hop_list = true;                       // subTemplateList of decoded hops in trace records
    bool print_json = false;                    // JSON lines on stdout
    std::optional<std::string> metrics_listen;  // ADDR:PORT
    std::string log_level = "info";
    log::Output log_output;
    int rcvbuf = 32 * 1024 * 1024;
    std::string netns;  // listen in this network namespace (name or path); empty: our own
    std::size_t tcp_buffer = 4 * 1024 * 1024;
};

// Parses argv (and --config FILE). Returns the exit code when the program should stop now
// (--help: 0, a bad flag or value: non-zero, after printing why), nothing to go on.
std::optional<int> parse_config(int argc, const char* const* argv, ExporterConfig& out);

// "1/N" -> N (N >= 1); nothing when malformed.
std::optional<std::uint32_t> parse_sample(const std::string& text);

}  // namespace ioam::exporter
