#include "common/metrics/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace ioam::metrics {
namespace {

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                std::optional<double> value) {
    prometheus::MetricFamily f{name, help, type, {}};
    if (value) {
        prometheus::ClientMetric m;
        (type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value) = *value;
        f.metric.push_back(std::move(m));
    }
    return f;
}

struct ProcStat {
    double cpu_seconds = 0;
    double start_after_boot_seconds = 0;
    double virtual_bytes = 0;
    double resident_bytes = 0;
};

// proc(5): the fields after the command name, which is in parentheses and may hold spaces.
std::optional<ProcStat> read_proc_stat() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) {
        return std::nullopt;
    }
    const auto close = line.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> f;
    for (std::string s; fields >> s;) {
        f.push_back(s);
    }
    // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
    if (f.size() < 22) {
        return std::nullopt;
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    try {
        return ProcStat{(std::stod(f[11]) + std::stod(f[12])) / ticks, std::stod(f[19]) / ticks,
                        std::stod(f[20]), std::stod(f[21]) * page};
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<double> boot_time_seconds() {
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
        if (key == "btime") {
            double v = 0;
            return in >> v ? std::optional(v) : std::nullopt;
        }
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

std::optional<double> open_fds() {
    std::error_code ec;
    double n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        ++n;
    }
    // The iterator's own descriptor was counted.
    return ec ? std::nullopt : std::optional(n - 1);
}

std::optional<double> max_fds() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) {
        return std::nullopt;
    }
    return static_cast<double>(r.rlim_cur);
}

}  // namespace

std::string_view build_version() {
    return IOAM_VERSION;
}

std::vector<prometheus::MetricFamily> process_metrics(std::string_view program) {
    using prometheus::MetricType;
    const auto stat = read_proc_stat();
    const auto boot = boot_time_seconds();
    std::optional<double> start;
    if (stat && boot) {
        start = *boot + stat->start_after_boot_seconds;
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(family("process_cpu_seconds_total", "User and system CPU time of the process",
                         MetricType::Counter,
                         stat ? std::optional(stat->cpu_seconds) : std::nullopt));
    out.push_back(family("process_resident_memory_bytes", "Resident memory of the process",
                         MetricType::Gauge,
                         stat ? std::optional(stat->resident_bytes) : std::nullopt));
    out.push_back(family("process_virtual_memory_bytes", "Virtual memory of the process",
                         MetricType::Gauge,
                         stat ? std::optional(stat->virtual_bytes) : std::nullopt));
    out.push_back(family("process_start_time_seconds",
                         "When the process started, in seconds since the Unix epoch",
                         MetricType::Gauge, start));
    out.push_back(family("process_open_fds", "File descriptors the process has open",
                         MetricType::Gauge, open_fds()));
    out.push_back(family("process_max_fds", "Limit on open file descriptors (RLIMIT_NOFILE)",
                         MetricType::Gauge, max_fds()));
    prometheus::MetricFamily info{"ioam_build_info",
                                  "Always 1; the labels say which build is running",
                                  MetricType::Gauge,
                                  {}};
    prometheus::ClientMetric m;
    m.label = {{"compiler", __VERSION__},
               {"program", std::string(program)},
               {"version", std::string(build_version())}};
    m.gauge.value = 1;
    info.metric.push_back(std::move(m));
    out.push_back(std::move(info));
    return out;
}

}  // namespace ioam::metrics
