#pragma once
// Prometheus metrics: counters, gauges and histograms in labelled families, rendered in the
// text exposition format 0.0.4. Every family caps its number of label sets; samples for a
// label set beyond the cap go to no series and are counted in
// ioam_metrics_series_dropped_total{family="..."}.
//
// Threading: families and series may be created and updated from any thread; updates are
// lock-free atomics, creation and render() take a mutex.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ioam::metrics {

class Counter;
class Gauge;
class Histogram;
template <typename Metric>
class Family;

}  // namespace ioam::metrics
