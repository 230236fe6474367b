#include "common/metrics/registry.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace ioam::metrics {
namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view s) {
    if (s.empty() || is_digit(s[0])) {
        return false;
    }
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_alpha(c) || is_digit(c) || c == ':'; });
}

// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus' internal use).
bool valid_label_name(std::string_view s) {
    if (s.empty() || is_digit(s[0]) || s.starts_with("__")) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) { return is_alpha(c) || is_digit(c); });
}

[[noreturn]] void invalid(std::string_view family, std::string_view why) {
    throw std::invalid_argument("metric family '" + std::string(family) + "': " + std::string(why));
}

// Length of the valid UTF-8 sequence starting at s[i], 0 if it is not valid (overlong forms,
// surrogates and code points above U+10FFFF included), following RFC 3629's table.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b = byte(i);
    if (b < 0x80) {
        return 1;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        lo = b == 0xE0 ? 0xA0 : 0x80;
        hi = b == 0xED ? 0x9F : 0xBF;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        lo = b == 0xF0 ? 0x90 : 0x80;
        hi = b == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + len > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
        return 0;
    }
    for (std::size_t k = i + 2; k < i + len; ++k) {
        if (byte(k) < 0x80 || byte(k) > 0xBF) {
            return 0;
        }
    }
    return len;
}

// Escapes for HELP text (quotes == false) or a label value (quotes == true). Label values come
// from the network, so invalid UTF-8, which Prometheus rejects, becomes U+FFFD.
void append_escaped(std::string& out, std::string_view s, bool quotes) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_length(s, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        const char c = s[i];
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quotes) {
            out += "\\\"";
        } else {
            out.append(s.substr(i, len));
        }
        i += len;
    }
}

template <typename T>
void append_chars(std::string& out, T v) {
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

// Go's strconv.ParseFloat reads all of these; integral values print without an exponent.
void append_number(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else if (v == std::trunc(v) && v >= -0x1p63 && v < 0x1p63) {
        append_chars(out, static_cast<std::int64_t>(v));
    } else {
        append_chars(out, v);  // shortest representation that round-trips
    }
}

// name{l1="v1",l2="v2",le="..."} value
template <typename Values>
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<std::string>& label_names, const Values& values,
                   const double* le, double value) {
    out += name;
    out += suffix;
    if (!label_names.empty() || le != nullptr) {
        char sep = '{';
        for (std::size_t i = 0; i < label_names.size(); ++i) {
            out += sep;
            out += label_names[i];
            out += "=\"";
            append_escaped(out, values[i], true);
            out += '"';
            sep = ',';
        }
        if (le != nullptr) {
            out += sep;
            out += "le=\"";
            append_number(out, *le);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    append_number(out, value);
    out += '\n';
}

std::string_view type_name(MetricType type) {
    switch (type) {
        case MetricType::counter:
            return "counter";
        case MetricType::gauge:
            return "gauge";
        case MetricType::histogram:
            return "histogram";
    }
    return "untyped";
}

// Every sample name a family renders, to detect clashes between families.
std::vector<std::string> sample_names(std::string_view name, MetricType type) {
    std::vector<std::string> names{std::string(name)};
    if (type == MetricType::histogram) {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            names.push_back(std::string(name) + suffix);
        }
    }
    return names;
}

// Drops a trailing +Inf (always rendered) and checks the rest is finite and strictly increasing.
std::vector<double> checked_buckets(std::string_view family, std::vector<double> buckets) {
    if (!buckets.empty() && buckets.back() == std::numeric_limits<double>::infinity()) {
        buckets.pop_back();
    }
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        if (!std::isfinite(buckets[i])) {
            invalid(family, "bucket bounds must be finite");
        }
        if (i > 0 && !(buckets[i - 1] < buckets[i])) {
            invalid(family, "bucket bounds must be strictly increasing");
        }
    }
    return buckets;
}

// Bounds computed as start * factor^i carry binary noise (9.999999999999999e-06); 15
// significant digits give the bounds a person would write (1e-05) and render.
double round15(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return std::strtod(buf, nullptr);
}

}  // namespace

// --- series ---------------------------------------------------------------------------------

double detail::Scalar::value() const {
    const auto fn = function_.load();
    return fn ? (*fn)() : value_.load(std::memory_order_relaxed);
}

void detail::Scalar::set_function(ValueFunction fn) {
    function_.store(fn ? std::make_shared<const ValueFunction>(std::move(fn)) : nullptr);
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::observe(double v) noexcept {
    // lower_bound finds the first bound >= v: "le" is inclusive.
    const std::size_t i =
        std::isnan(v) ? bounds_.size()
                      : static_cast<std::size_t>(
                            std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
    std::vector<std::uint64_t> counts(bounds_.size() + 1);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        total += buckets_[i].load(std::memory_order_relaxed);
        counts[i] = total;
    }
    return counts;
}

std::uint64_t Histogram::count() const {
    return cumulative_counts().back();
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
    if (count == 0 || !(start > 0) || !(factor > 1)) {
        throw std::invalid_argument("exponential_buckets: need count > 0, start > 0, factor > 1");
    }
    std::vector<double> bounds(count);
    for (std::size_t i = 0; i < count; ++i) {
        bounds[i] = round15(start * std::pow(factor, static_cast<double>(i)));
    }
    return bounds;
}

std::vector<double> linear_buckets(double start, double width, std::size_t count) {
    if (count == 0 || !(width > 0)) {
        throw std::invalid_argument("linear_buckets: need count > 0, width > 0");
    }
    std::vector<double> bounds(count);
    for (std::size_t i = 0; i < count; ++i) {
        bounds[i] = round15(start + width * static_cast<double>(i));
    }
    return bounds;
}

// --- families -------------------------------------------------------------------------------

detail::FamilyBase::FamilyBase(std::string name, std::string help,
                               std::vector<std::string> label_names, std::size_t max_series,
                               std::mutex& mutex, Counter* dropped)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(max_series),
      mutex_(mutex),
      dropped_(dropped) {}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::size_t max_series, std::mutex& mutex, Counter* dropped,
                       std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names), max_series, mutex,
                 dropped),
      bounds_(std::move(bounds)),
      sink_(make_metric()) {
    // A family without labels has exactly one series: render it from the start.
    if (label_names_.empty()) {
        series_.emplace(std::vector<std::string>{}, make_metric());
    }
}

template <typename Metric>
std::unique_ptr<Metric> Family<Metric>::make_metric() const {
    if constexpr (std::is_same_v<Metric, Histogram>) {
        return std::make_unique<Histogram>(bounds_);
    } else {
        return std::make_unique<Metric>();
    }
}

template <typename Metric>
template <typename Values>
Metric& Family<Metric>::lookup_locked(const Values& values) {
    if (values.size() != label_names_.size() ||
        std::any_of(values.begin(), values.end(),
                    [](const auto& v) { return v.size() > kMaxLabelValueBytes; })) {
        dropped_->inc();
        return *sink_;
    }
    if (const auto it = series_.find(values); it != series_.end()) {
        return *it->second;
    }
    if (series_.size() >= max_series_) {
        dropped_->inc();
        return *sink_;
    }
    auto& slot = series_[std::vector<std::string>(values.begin(), values.end())];
    slot = make_metric();
    return *slot;
}

template <typename Metric>
Metric& Family<Metric>::with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
}

template <typename Metric>
Metric& Family<Metric>::with(std::span<const std::string_view> values) {
    const std::lock_guard lock(mutex_);
    return lookup_locked(values);
}

template <typename Metric>
Metric& Family<Metric>::with(std::span<const std::string> values) {
    const std::lock_guard lock(mutex_);
    return lookup_locked(values);
}

template <typename Metric>
std::size_t Family<Metric>::size() const {
    const std::lock_guard lock(mutex_);
    return series_.size();
}

template <typename Metric>
MetricType Family<Metric>::type() const noexcept {
    if constexpr (std::is_same_v<Metric, Counter>) {
        return MetricType::counter;
    } else if constexpr (std::is_same_v<Metric, Gauge>) {
        return MetricType::gauge;
    } else {
        return MetricType::histogram;
    }
}

template <typename Metric>
void Family<Metric>::render(std::string& out) const {
    if (series_.empty()) {
        return;  // nothing to say yet; a bare HELP/TYPE would only confuse readers
    }
    out += "# HELP ";
    out += name_;
    out += ' ';
    append_escaped(out, help_, false);
    out += "\n# TYPE ";
    out += name_;
    out += ' ';
    out += type_name(type());
    out += '\n';
    for (const auto& [values, metric] : series_) {
        if constexpr (std::is_same_v<Metric, Histogram>) {
            const auto counts = metric->cumulative_counts();
            for (std::size_t i = 0; i < bounds_.size(); ++i) {
                append_sample(out, name_, "_bucket", label_names_, values, &bounds_[i],
                              static_cast<double>(counts[i]));
            }
            const double inf = std::numeric_limits<double>::infinity();
            append_sample(out, name_, "_bucket", label_names_, values, &inf,
                          static_cast<double>(counts.back()));
            append_sample(out, name_, "_sum", label_names_, values, nullptr, metric->sum());
            append_sample(out, name_, "_count", label_names_, values, nullptr,
                          static_cast<double>(counts.back()));
        } else {
            append_sample(out, name_, "", label_names_, values, nullptr, metric->value());
        }
    }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- registry -------------------------------------------------------------------------------

Registry::Registry(RegistryOptions options) : options_(options) {
    if (options_.max_series_per_family == 0) {
        throw std::invalid_argument("RegistryOptions::max_series_per_family must be > 0");
    }
    // One series per family and families are created by code, so this family needs no cap.
    dropped_ = &add<Counter>(MetricType::counter, kDroppedFamilyName,
                             "Calls to with() answered by the unrendered sink series because "
                             "the family was at its label-set cap or got the wrong label count",
                             {"family"}, {}, std::numeric_limits<std::size_t>::max());
    const std::lock_guard lock(mutex_);
    dropped_->dropped_ = &dropped_->lookup_locked(std::array{kDroppedFamilyName});
}

Registry::~Registry() = default;

Family<Counter>& Registry::counter(std::string_view name, std::string_view help,
                                   const std::vector<std::string>& label_names,
                                   std::optional<std::size_t> max_series) {
    return add<Counter>(MetricType::counter, name, help, label_names, {}, max_series);
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help,
                               const std::vector<std::string>& label_names,
                               std::optional<std::size_t> max_series) {
    return add<Gauge>(MetricType::gauge, name, help, label_names, {}, max_series);
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help,
                                       const std::vector<std::string>& label_names,
                                       std::vector<double> buckets,
                                       std::optional<std::size_t> max_series) {
    return add<Histogram>(MetricType::histogram, name, help, label_names,
                          checked_buckets(name, std::move(buckets)), max_series);
}

template <typename Metric>
Family<Metric>& Registry::add(MetricType type, std::string_view name, std::string_view help,
                              const std::vector<std::string>& label_names,
                              std::vector<double> buckets, std::optional<std::size_t> max_series) {
    if (!valid_metric_name(name)) {
        invalid(name, "invalid metric name");
    }
    if (type == MetricType::counter && !name.ends_with("_total")) {
        invalid(name, "counter names must end in _total");
    }
    if (help.empty()) {
        invalid(name, "help text must not be empty");
    }
    for (std::size_t i = 0; i < label_names.size(); ++i) {
        if (!valid_label_name(label_names[i])) {
            invalid(name, "invalid label name '" + label_names[i] + "'");
        }
        if (type == MetricType::histogram && label_names[i] == "le") {
            invalid(name, "label 'le' is reserved for histogram buckets");
        }
        if (std::find(label_names.begin(), label_names.begin() + static_cast<std::ptrdiff_t>(i),
                      label_names[i]) != label_names.begin() + static_cast<std::ptrdiff_t>(i)) {
            invalid(name, "duplicate label name '" + label_names[i] + "'");
        }
    }
    const std::size_t cap = max_series.value_or(options_.max_series_per_family);
    if (cap == 0) {
        invalid(name, "max_series must be > 0");
    }

    const std::lock_guard lock(mutex_);
    if (const auto it = families_.find(name); it != families_.end()) {
        auto* same = dynamic_cast<Family<Metric>*>(it->second.get());
        if (same == nullptr || same->help() != help || same->label_names() != label_names ||
            same->bounds_ != buckets) {
            invalid(name, "already registered with a different type, help, labels or buckets");
        }
        return *same;
    }
    const auto new_names = sample_names(name, type);
    for (const auto& [other_name, other] : families_) {
        for (const auto& taken : sample_names(other_name, other->type())) {
            if (std::find(new_names.begin(), new_names.end(), taken) != new_names.end()) {
                invalid(name, "sample name '" + taken + "' clashes with family " + other_name);
            }
        }
    }
    // The drop counter's own family does not exist yet while it is being created.
    Counter* dropped = dropped_ != nullptr ? &dropped_->lookup_locked(std::array{name}) : nullptr;
    std::unique_ptr<Family<Metric>> family(new Family<Metric>(std::string(name), std::string(help),
                                                              label_names, cap, mutex_, dropped,
                                                              std::move(buckets)));
    auto& ref = *family;
    families_.emplace(std::string(name), std::move(family));
    return ref;
}

std::string Registry::render() const {
    const std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, family] : families_) {
        family->render(out);
    }
    return out;
}

}  // namespace ioam::metrics
