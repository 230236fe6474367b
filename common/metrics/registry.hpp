#pragma once
// Prometheus metrics on prometheus-cpp core: this adapter adds what the library lacks and the
// project needs, and leaves counting, storage and the text format to the library.
//
//   ioam::metrics::Registry reg({.program = "ioam-collector"});  // process_*, ioam_build_info
//   auto& rx = reg.counter("ioam_records_total", "IPFIX records received", {"exporter"});
//   auto& series = rx.with({"10.0.0.1"});  // keep the reference on hot paths
//   series.Increment();
//   reg.gauge_function("ioam_queue_depth", "Queue depth").add({}, [&] { return q.size(); });
//   std::string body = reg.render();  // serve with kContentType
//
// What the adapter adds to prometheus::Family:
// - Fixed label names per family; a with() with the wrong number of values is refused.
// - Label values bounded to kMaxLabelValueBytes (exporters choose them: paths, node ids) and
//   made valid UTF-8 (invalid bytes become U+FFFD, which Prometheus requires).
// - A cap on label sets per family (RegistryOptions::max_series_per_family, or per family).
//   A refused with() returns the family's sink series, which is never rendered, and counts one
//   in ioam_metrics_series_dropped_total{family="<name>"}; it never throws.
// - remove(): the owner of a series drops it (eviction of stale series, see collector_metrics).
// - Values read at scrape time (FunctionFamily), rendered through the library's Collectable.
// - Families that have no series yet are rendered with HELP and TYPE, so that they exist from
//   start-up.
//
// Errors: family creation validates names and throws std::invalid_argument (start-up time).
//
// Histograms: prometheus-cpp 1.0 counts a NaN observation in the lowest bucket; callers observe
// values computed from integers (nanoseconds), never NaN.
//
// Threading: everything may be called from any thread. Updates are the library's (atomics; a
// histogram's Observe takes its own mutex); with() and remove() take the family's mutex, so look
// a series up once and keep the reference until you remove() it. Functions of a FunctionFamily
// run inside render() under that family's mutex: they must be quick, must not throw and must
// not call back into the registry.

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ioam::metrics {

using Counter = prometheus::Counter;
using Gauge = prometheus::Gauge;
using Histogram = prometheus::Histogram;

// HTTP Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Name of the family that counts refused with() calls, one series per family.
inline constexpr std::string_view kDroppedFamilyName = "ioam_metrics_series_dropped_total";
// A 64-hop path of 8-digit node ids is 575 octets; IOAM carries at most 255 hops, and a label
// that long helps no dashboard.
inline constexpr std::size_t kMaxLabelValueBytes = 1024;

// Bucket helpers (throw std::invalid_argument on count == 0, start <= 0 for exponential,
// factor <= 1, width <= 0).
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
std::vector<double> linear_buckets(double start, double width, std::size_t count);

namespace detail {

// Label values as given, bounded and made valid UTF-8; nullopt if refused (count, length).
std::optional<prometheus::Labels> make_labels(const std::vector<std::string>& names,
                                              std::span<const std::string_view> values);

template <typename Metric>
std::unique_ptr<Metric> make_metric(const std::vector<double>& bounds) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
        return std::make_unique<Metric>(bounds);
    } else {
        return std::make_unique<Metric>();
    }
}

}  // namespace detail

// One metric name with fixed label names; a series per distinct label-value tuple.
template <typename Metric>
class Family {
  public:
    Family(const Family&) = delete;
    Family& operator=(const Family&) = delete;

    // The series for these label values (one per label name, same order), created on first
    // use; beyond the cap, with the wrong number of values or an overlong value, the sink.
    Metric& with(std::initializer_list<std::string_view> values) {
        return with(std::span<const std::string_view>(values.begin(), values.size()));
    }
    Metric& with(std::span<const std::string> values) {
        std::vector<std::string_view> views(values.begin(), values.end());
        return with(std::span<const std::string_view>(views));
    }
    Metric& with(std::span<const std::string_view> values) {
        const auto labels = detail::make_labels(label_names_, values);
        std::lock_guard lock(mutex_);
        if (labels && (series_.size() < max_series_ || family_.Has(*labels))) {
            Metric& m = add(*labels);
            series_.insert(&m);
            return m;
        }
        dropped_.Increment();
        return *sink_;
    }
    // The only series of a family without labels: same as with({}).
    Metric& get() { return with(std::span<const std::string_view>{}); }
    // The sink, counted as refused, without a lookup: for callers that keep their own bounded
    // map of series and know this label set is past the cap.
    Metric& refuse() {
        dropped_.Increment();
        return *sink_;
    }

    // Drops a series returned by with() from the exposition; references to it dangle from now
    // on. The sink and series removed already are ignored.
    void remove(Metric& m) {
        std::lock_guard lock(mutex_);
        if (series_.erase(&m) != 0) {
            family_.Remove(&m);
        }
    }

    // Number of rendered series (the sink excluded).
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return series_.size();
    }

  private:
    friend class Registry;
    Family(prometheus::Family<Metric>& family, std::vector<std::string> label_names,
           std::size_t max_series, Counter& dropped, std::vector<double> bounds)
        : family_(family),
          label_names_(std::move(label_names)),
          max_series_(max_series),
          dropped_(dropped),
          bounds_(std::move(bounds)),
          sink_(detail::make_metric<Metric>(bounds_)) {}

    Metric& add(const prometheus::Labels& labels) {
        if constexpr (std::is_same_v<Metric, Histogram>) {
            return family_.Add(labels, bounds_);
        } else {
            return family_.Add(labels);
        }
    }

    prometheus::Family<Metric>& family_;
    const std::vector<std::string> label_names_;
    const std::size_t max_series_;
    Counter& dropped_;                  // this family's series of kDroppedFamilyName
    const std::vector<double> bounds_;  // histograms only
    const std::unique_ptr<Metric> sink_;
    mutable std::mutex mutex_;
    std::unordered_set<const Metric*> series_;
};

// A counter or gauge family whose values are read at scrape time (queue depth, file size,
// counters that another object keeps). Series are added once, never removed.
class FunctionFamily final : public prometheus::Collectable {
  public:
    FunctionFamily(const FunctionFamily&) = delete;
    FunctionFamily& operator=(const FunctionFamily&) = delete;

    // Adds the series for these label values, read by fn at each scrape; the same values again
    // replace the function. Throws std::invalid_argument on a wrong number of values or an
    // overlong one (start-up time: these label sets come from configuration, not the network).
    void add(std::initializer_list<std::string_view> values, std::function<double()> fn);

    // One family, HELP and TYPE even while it has no series; runs the functions.
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    friend class Registry;
    FunctionFamily(prometheus::MetricType type, std::string name, std::string help,
                   std::vector<std::string> label_names)
        : type_(type),
          name_(std::move(name)),
          help_(std::move(help)),
          label_names_(std::move(label_names)) {}

    const prometheus::MetricType type_;
    const std::string name_;
    const std::string help_;
    const std::vector<std::string> label_names_;
    mutable std::mutex mutex_;
    std::map<prometheus::Labels, std::function<double()>> series_;
};

struct RegistryOptions {
    // Default cap on label sets per family (each family may override it).
    std::size_t max_series_per_family = 10000;
    // When set, the registry also renders process_* (CPU, memory, file descriptors, start time)
    // and ioam_build_info{program,version,compiler} = 1.
    std::string program = {};
};

class Registry {
  public:
    explicit Registry(RegistryOptions options = {});
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;
    ~Registry();

    // Creates a family, or returns the existing one if name, type, help and label names (and
    // buckets) all match. Throws std::invalid_argument on an invalid metric or label name
    // (Prometheus rules; "__"-prefixed labels reserved; "le" reserved for histograms),
    // duplicate label names, an empty help or one with a backslash or newline, a counter name
    // without "_total", a name that clashes with another family (including histogram
    // _bucket/_sum/_count samples), invalid buckets, or max_series == 0.
    Family<Counter>& counter(std::string_view name, std::string_view help,
                             const std::vector<std::string>& label_names = {},
                             std::optional<std::size_t> max_series = std::nullopt);
    Family<Gauge>& gauge(std::string_view name, std::string_view help,
                         const std::vector<std::string>& label_names = {},
                         std::optional<std::size_t> max_series = std::nullopt);
    // buckets: strictly increasing and finite; a trailing +Inf is accepted and dropped (the
    // library always adds it).
    Family<Histogram>& histogram(std::string_view name, std::string_view help,
                                 const std::vector<std::string>& label_names,
                                 std::vector<double> buckets,
                                 std::optional<std::size_t> max_series = std::nullopt);
    FunctionFamily& counter_function(std::string_view name, std::string_view help,
                                     const std::vector<std::string>& label_names = {});
    FunctionFamily& gauge_function(std::string_view name, std::string_view help,
                                   const std::vector<std::string>& label_names = {});

    // Text format 0.0.4 (prometheus::TextSerializer), families sorted by name.
    std::string render() const;
    // fn runs at the start of every render(), before any value is read: an owner that sums
    // hot-path updates locally adds them to its series there. Returns the id for
    // remove_before_render(), which the owner calls before it goes away.
    std::size_t before_render(std::function<void()> fn);
    void remove_before_render(std::size_t id);

  private:
    struct Entry;
    template <typename Metric>
    Family<Metric>& add(prometheus::MetricType type, std::string_view name, std::string_view help,
                        const std::vector<std::string>& label_names, std::vector<double> buckets,
                        std::optional<std::size_t> max_series);
    FunctionFamily& add_function(prometheus::MetricType type, std::string_view name,
                                 std::string_view help,
                                 const std::vector<std::string>& label_names);
    // Validates a new family, or returns the existing entry of that name if it matches.
    Entry* check_locked(prometheus::MetricType type, bool function, std::string_view name,
                        std::string_view help, const std::vector<std::string>& label_names,
                        const std::vector<double>& buckets);

    RegistryOptions options_;
    std::shared_ptr<prometheus::Registry> registry_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> families_;
    std::map<std::size_t, std::function<void()>> before_render_;  // under mutex_
    std::size_t next_hook_ = 0;
    prometheus::Family<Counter>* dropped_ = nullptr;
};

}  // namespace ioam::metrics
