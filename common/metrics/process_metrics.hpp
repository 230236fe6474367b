#pragma once
// process_* families as Prometheus' own clients name them (CPU, memory, file descriptors, start
// time), read from /proc/self at each call, and ioam_build_info. Linux only; a value that cannot
// be read is left out (the family stays, with no sample).

#include <prometheus/metric_family.h>

#include <string_view>
#include <vector>

namespace ioam::metrics {

// Version of the build, as the binaries' --version prints it.
std::string_view build_version();

std::vector<prometheus::MetricFamily> process_metrics(std::string_view program);

}  // namespace ioam::metrics
