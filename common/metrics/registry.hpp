#pragma once
// Prometheus metrics: counters, gauges and histograms in labelled families, rendered in the
// text exposition format 0.0.4.
//
//   ioam::metrics::Registry reg;  // or reg({.max_series_per_family = 500})
//   auto& rx = reg.counter("ioam_records_total", "IPFIX records received", {"exporter"});
//   auto& series = rx.with({"10.0.0.1"});  // keep the reference on hot paths
//   series.inc();
//   auto& lat = reg.histogram("ioam_delay_seconds", "One-way delay", {},
//                             ioam::metrics::exponential_buckets(1e-6, 10, 7));
//   lat.get().observe(0.003);
//   reg.gauge("ioam_queue_depth", "Queue depth", {}).get().set_function([&] { return q.size(); });
//   std::string body = reg.render();  // serve with kContentType
//
// Bounds: every family caps its number of label sets (RegistryOptions::max_series_per_family,
// or per family). Beyond the cap, with() returns a shared sink series that is never rendered,
// and each such call increments ioam_metrics_series_dropped_total{family="<name>"}. A call
// with the wrong number of label values, or with a value longer than kMaxLabelValueBytes, is
// counted and sunk the same way (it never throws): exporters choose label values (paths, node
// ids), and one absurd value must not make every scrape megabytes long.
//
// Errors: family creation validates names against Prometheus' rules and throws
// std::invalid_argument (start-up time). Updates and with() never throw (with() may throw
// std::bad_alloc only).
//
// Threading: everything may be called from any thread. Counter/Gauge/Histogram updates are
// lock-free atomics; with() and render() take the registry mutex, so look a series up once
// and keep the reference (references stay valid for the registry's lifetime). Callbacks set
// with set_function() run inside render() under that mutex: they must be quick, must not
// throw and must not call back into the registry.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ioam::metrics {

// HTTP Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Name of the family that counts with() calls sent to a sink series, one series per family.
inline constexpr std::string_view kDroppedFamilyName = "ioam_metrics_series_dropped_total";
// A 64-hop path of 8-digit node ids is 575 octets; IOAM carries at most 255 hops, and a label
// that long helps no dashboard.
inline constexpr std::size_t kMaxLabelValueBytes = 1024;

namespace detail {

// Value read at render time instead of the stored one (queue depth, file size, ...).
using ValueFunction = std::function<double()>;

// Shared by Counter and Gauge: a double updated with atomics, or a callback.
class Scalar {
  public:
    Scalar() = default;
    Scalar(const Scalar&) = delete;
    Scalar& operator=(const Scalar&) = delete;

    // The callback's result if one is set, else the stored value.
    double value() const;
    // Replaces the stored value by fn() from now on; an empty fn reverts to the stored value.
    void set_function(ValueFunction fn);

  protected:
    void add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
    void store(double v) noexcept { value_.store(v, std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0.0};
    std::atomic<std::shared_ptr<const ValueFunction>> function_;
};

}  // namespace detail

// Monotonic counter. The family name must end in "_total".
class Counter : public detail::Scalar {
  public:
    // Negative and NaN increments are ignored: a counter never goes down.
    void inc(double delta = 1.0) noexcept {
        if (delta >= 0) {
            add(delta);
        }
    }
};

class Gauge : public detail::Scalar {
  public:
    void set(double v) noexcept { store(v); }
    void inc(double delta = 1.0) noexcept { add(delta); }
    void dec(double delta = 1.0) noexcept { add(-delta); }
};

// Histogram with fixed upper bounds (le, inclusive) plus the implicit +Inf bucket.
class Histogram {
  public:
    // bounds: strictly increasing finite values; must outlive the histogram (the family's).
    explicit Histogram(std::span<const double> bounds);
    Histogram(const Histogram&) = delete;
    Histogram& operator=(const Histogram&) = delete;

    // NaN goes to the +Inf bucket only (and makes the sum NaN), as Prometheus clients do.
    void observe(double v) noexcept;

    // Cumulative count per bound, the last element being the +Inf bucket (== count()).
    std::vector<std::uint64_t> cumulative_counts() const;
    std::uint64_t count() const;
    double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
    std::span<const double> bounds() const noexcept { return bounds_; }

  private:
    std::span<const double> bounds_;
    // Non-cumulative counts, one per bound plus +Inf; cumulated at read time so that updates
    // touch one bucket only.
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<double> sum_{0.0};
};

// Bucket helpers (throw std::invalid_argument on count == 0, start <= 0 for exponential,
// factor <= 1, width <= 0).
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
std::vector<double> linear_buckets(double start, double width, std::size_t count);

enum class MetricType { counter, gauge, histogram };

namespace detail {

// Orders label-value tuples; transparent so lookups with string_views do not allocate.
struct LabelValuesLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
        return std::lexicographical_compare(
            a.begin(), a.end(), b.begin(), b.end(),
            [](std::string_view x, std::string_view y) { return x < y; });
    }
};

// Type-erased part of a family, what the registry stores and renders.
class FamilyBase {
  public:
    FamilyBase(const FamilyBase&) = delete;
    FamilyBase& operator=(const FamilyBase&) = delete;
    virtual ~FamilyBase() = default;

    const std::string& name() const noexcept { return name_; }
    const std::string& help() const noexcept { return help_; }
    const std::vector<std::string>& label_names() const noexcept { return label_names_; }
    std::size_t max_series() const noexcept { return max_series_; }
    virtual MetricType type() const noexcept = 0;
    // Appends HELP, TYPE and all samples; caller holds the registry mutex.
    virtual void render(std::string& out) const = 0;

  protected:
    FamilyBase(std::string name, std::string help, std::vector<std::string> label_names,
               std::size_t max_series, std::mutex& mutex, Counter* dropped);

    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::size_t max_series_;
    std::mutex& mutex_;  // the registry's
    Counter* dropped_;   // this family's series of kDroppedFamilyName
};

}  // namespace detail

// One metric name with a fixed list of label names; a series per distinct label-value tuple.
template <typename Metric>
class Family final : public detail::FamilyBase {
  public:
    // The series for these label values (one per label name, same order), created on first
    // use; beyond the cap or with the wrong number of values, the unrendered sink series.
    Metric& with(std::initializer_list<std::string_view> values);
    Metric& with(std::span<const std::string_view> values);
    Metric& with(std::span<const std::string> values);
    // The only series of a family without labels: same as with({}).
    Metric& get() { return with(std::span<const std::string_view>{}); }

    // Number of rendered series (the sink excluded).
    std::size_t size() const;
    MetricType type() const noexcept override;
    void render(std::string& out) const override;

  private:
    friend class Registry;
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           std::size_t max_series, std::mutex& mutex, Counter* dropped, std::vector<double> bounds);
    std::unique_ptr<Metric> make_metric() const;
    // with() once the registry mutex is held.
    template <typename Values>
    Metric& lookup_locked(const Values& values);

    std::vector<double> bounds_;  // histograms only
    std::map<std::vector<std::string>, std::unique_ptr<Metric>, detail::LabelValuesLess> series_;
    std::unique_ptr<Metric> sink_;
};

struct RegistryOptions {
    // Default cap on label sets per family (each family may override it).
    std::size_t max_series_per_family = 10000;
};

class Registry {
  public:
    explicit Registry(RegistryOptions options = {});
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;
    ~Registry();

    // Creates a family, or returns the existing one if name, type, help, label names (and
    // buckets) all match. Throws std::invalid_argument on an invalid metric or label name
    // (Prometheus rules; "__"-prefixed labels reserved; "le" reserved for histograms),
    // duplicate label names, empty help, a counter name without "_total", a name that clashes with
    // another family (including histogram _bucket/_sum/_count samples), invalid buckets, or
    // max_series == 0. max_series defaults to RegistryOptions::max_series_per_family.
    Family<Counter>& counter(std::string_view name, std::string_view help,
                             const std::vector<std::string>& label_names = {},
                             std::optional<std::size_t> max_series = std::nullopt);
    Family<Gauge>& gauge(std::string_view name, std::string_view help,
                         const std::vector<std::string>& label_names = {},
                         std::optional<std::size_t> max_series = std::nullopt);
    // buckets: strictly increasing; a trailing +Inf is accepted and dropped (always present).
    Family<Histogram>& histogram(std::string_view name, std::string_view help,
                                 const std::vector<std::string>& label_names,
                                 std::vector<double> buckets,
                                 std::optional<std::size_t> max_series = std::nullopt);

    // Text format 0.0.4, families sorted by name, series by label values.
    std::string render() const;

  private:
    template <typename Metric>
    Family<Metric>& add(MetricType type, std::string_view name, std::string_view help,
                        const std::vector<std::string>& label_names, std::vector<double> buckets,
                        std::optional<std::size_t> max_series);

    RegistryOptions options_;
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
    Family<Counter>* dropped_ = nullptr;
};

}  // namespace ioam::metrics
