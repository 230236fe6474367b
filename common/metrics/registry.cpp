#include "common/metrics/registry.hpp"

#include <prometheus/check_names.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <stdexcept>

#include "common/metrics/process_metrics.hpp"

namespace ioam::metrics {
namespace {

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

// Label values come from the network; invalid UTF-8, which Prometheus rejects, becomes U+FFFD.
std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_length(s, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        out.append(s.substr(i, len));
        i += len;
    }
    return out;
}

// Every sample name a family renders, to detect clashes between families.
std::vector<std::string> sample_names(std::string_view name, prometheus::MetricType type) {
    std::vector<std::string> names{std::string(name)};
    if (type == prometheus::MetricType::Histogram) {
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

template <typename Metric>
auto builder() {
    if constexpr (std::is_same_v<Metric, Counter>) {
        return prometheus::BuildCounter();
    } else if constexpr (std::is_same_v<Metric, Gauge>) {
        return prometheus::BuildGauge();
    } else {
        return prometheus::BuildHistogram();
    }
}

// Bounds computed as start * factor^i carry binary noise (9.999999999999999e-06); 15
// significant digits give the bounds a person would write (1e-05) and render.
double round15(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return std::strtod(buf, nullptr);
}

}  // namespace

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

std::optional<prometheus::Labels> detail::make_labels(const std::vector<std::string>& names,
                                                      std::span<const std::string_view> values) {
    if (values.size() != names.size() ||
        std::any_of(values.begin(), values.end(),
                    [](std::string_view v) { return v.size() > kMaxLabelValueBytes; })) {
        return std::nullopt;
    }
    prometheus::Labels labels;
    for (std::size_t i = 0; i < names.size(); ++i) {
        labels.emplace(names[i], valid_utf8(values[i]));
    }
    return labels;
}

// --- function families ----------------------------------------------------------------------

void FunctionFamily::add(std::initializer_list<std::string_view> values,
                         std::function<double()> fn) {
    auto labels = detail::make_labels(
        label_names_, std::span<const std::string_view>(values.begin(), values.size()));
    if (!labels) {
        invalid(name_, "wrong number of label values, or one longer than kMaxLabelValueBytes");
    }
    std::lock_guard lock(mutex_);
    series_.insert_or_assign(std::move(*labels), std::move(fn));
}

std::vector<prometheus::MetricFamily> FunctionFamily::Collect() const {
    prometheus::MetricFamily family{name_, help_, type_, {}};
    std::lock_guard lock(mutex_);
    for (const auto& [labels, fn] : series_) {
        prometheus::ClientMetric m;
        for (const auto& [k, v] : labels) {
            m.label.push_back({k, v});
        }
        if (type_ == prometheus::MetricType::Counter) {
            m.counter.value = fn();
        } else {
            m.gauge.value = fn();
        }
        family.metric.push_back(std::move(m));
    }
    return {std::move(family)};
}

// --- registry -------------------------------------------------------------------------------

struct Registry::Entry {
    prometheus::MetricType type;
    bool function;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<double> buckets;
    std::shared_ptr<void> object;  // Family<Metric> or FunctionFamily
};

Registry::Registry(RegistryOptions options)
    : options_(std::move(options)), registry_(std::make_shared<prometheus::Registry>()) {
    if (options_.max_series_per_family == 0) {
        throw std::invalid_argument("RegistryOptions::max_series_per_family must be > 0");
    }
    dropped_ = &prometheus::BuildCounter()
                    .Name(std::string(kDroppedFamilyName))
                    .Help(
                        "Label sets not recorded because the family was at its cap on label "
                        "sets, or a label value was too long: raise the cap if this grows")
                    .Register(*registry_);
    std::lock_guard lock(mutex_);
    families_.emplace(std::string(kDroppedFamilyName),
                      Entry{prometheus::MetricType::Counter, false, "", {"family"}, {}, nullptr});
}

Registry::~Registry() = default;

Family<Counter>& Registry::counter(std::string_view name, std::string_view help,
                                   const std::vector<std::string>& label_names,
                                   std::optional<std::size_t> max_series) {
    return add<Counter>(prometheus::MetricType::Counter, name, help, label_names, {}, max_series);
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help,
                               const std::vector<std::string>& label_names,
                               std::optional<std::size_t> max_series) {
    return add<Gauge>(prometheus::MetricType::Gauge, name, help, label_names, {}, max_series);
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help,
                                       const std::vector<std::string>& label_names,
                                       std::vector<double> buckets,
                                       std::optional<std::size_t> max_series) {
    return add<Histogram>(prometheus::MetricType::Histogram, name, help, label_names,
                          checked_buckets(name, std::move(buckets)), max_series);
}

FunctionFamily& Registry::counter_function(std::string_view name, std::string_view help,
                                           const std::vector<std::string>& label_names) {
    return add_function(prometheus::MetricType::Counter, name, help, label_names);
}

FunctionFamily& Registry::gauge_function(std::string_view name, std::string_view help,
                                         const std::vector<std::string>& label_names) {
    return add_function(prometheus::MetricType::Gauge, name, help, label_names);
}

Registry::Entry* Registry::check_locked(prometheus::MetricType type, bool function,
                                        std::string_view name, std::string_view help,
                                        const std::vector<std::string>& label_names,
                                        const std::vector<double>& buckets) {
    if (!prometheus::CheckMetricName(std::string(name))) {
        invalid(name, "invalid metric name");
    }
    if (type == prometheus::MetricType::Counter && !name.ends_with("_total")) {
        invalid(name, "counter names must end in _total");
    }
    // prometheus-cpp 1.0 writes HELP unescaped: a newline would end the line early.
    if (help.empty() || help.find_first_of("\\\n") != std::string_view::npos) {
        invalid(name, "help text must be one line without backslashes");
    }
    for (std::size_t i = 0; i < label_names.size(); ++i) {
        if (!prometheus::CheckLabelName(label_names[i])) {
            invalid(name, "invalid label name '" + label_names[i] + "'");
        }
        if (type == prometheus::MetricType::Histogram && label_names[i] == "le") {
            invalid(name, "label 'le' is reserved for histogram buckets");
        }
        if (std::find(label_names.begin(), label_names.begin() + static_cast<std::ptrdiff_t>(i),
                      label_names[i]) != label_names.begin() + static_cast<std::ptrdiff_t>(i)) {
            invalid(name, "duplicate label name '" + label_names[i] + "'");
        }
    }
    if (const auto it = families_.find(name); it != families_.end()) {
        const Entry& e = it->second;
        if (e.type != type || e.function != function || e.help != help ||
            e.label_names != label_names || e.buckets != buckets || e.object == nullptr) {
            invalid(name, "already registered with a different type, help, labels or buckets");
        }
        return &it->second;
    }
    const auto new_names = sample_names(name, type);
    for (const auto& [other_name, other] : families_) {
        for (const auto& taken : sample_names(other_name, other.type)) {
            if (std::find(new_names.begin(), new_names.end(), taken) != new_names.end()) {
                invalid(name, "sample name '" + taken + "' clashes with family " + other_name);
            }
        }
    }
    return nullptr;
}

template <typename Metric>
Family<Metric>& Registry::add(prometheus::MetricType type, std::string_view name,
                              std::string_view help, const std::vector<std::string>& label_names,
                              std::vector<double> buckets, std::optional<std::size_t> max_series) {
    const std::size_t cap = max_series.value_or(options_.max_series_per_family);
    if (cap == 0) {
        invalid(name, "max_series must be > 0");
    }
    std::lock_guard lock(mutex_);
    if (Entry* e = check_locked(type, false, name, help, label_names, buckets)) {
        return *static_cast<Family<Metric>*>(e->object.get());
    }
    auto& lib =
        builder<Metric>().Name(std::string(name)).Help(std::string(help)).Register(*registry_);
    auto& dropped = dropped_->Add({{"family", std::string(name)}});
    std::shared_ptr<Family<Metric>> family(
        new Family<Metric>(lib, label_names, cap, dropped, buckets));
    Family<Metric>& ref = *family;
    families_.emplace(std::string(name), Entry{type, false, std::string(help), label_names,
                                               std::move(buckets), std::move(family)});
    return ref;
}

FunctionFamily& Registry::add_function(prometheus::MetricType type, std::string_view name,
                                       std::string_view help,
                                       const std::vector<std::string>& label_names) {
    std::lock_guard lock(mutex_);
    if (Entry* e = check_locked(type, true, name, help, label_names, {})) {
        return *static_cast<FunctionFamily*>(e->object.get());
    }
    std::shared_ptr<FunctionFamily> family(
        new FunctionFamily(type, std::string(name), std::string(help), label_names));
    FunctionFamily& ref = *family;
    families_.emplace(std::string(name),
                      Entry{type, true, std::string(help), label_names, {}, std::move(family)});
    return ref;
}

std::size_t Registry::before_render(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    before_render_.emplace(next_hook_, std::move(fn));
    return next_hook_++;
}

void Registry::remove_before_render(std::size_t id) {
    std::lock_guard lock(mutex_);
    before_render_.erase(id);
}

std::string Registry::render() const {
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, fn] : before_render_) {
            fn();
        }
    }
    std::vector<prometheus::MetricFamily> all = registry_->Collect();
    {
        std::lock_guard lock(mutex_);
        std::set<std::string_view> present;
        for (const auto& f : all) {
            present.insert(f.name);
        }
        // The library leaves out families without series; they exist from start-up here.
        for (const auto& [name, e] : families_) {
            if (e.function) {
                for (auto& f : static_cast<const FunctionFamily*>(e.object.get())->Collect()) {
                    all.push_back(std::move(f));
                }
            } else if (!present.contains(name)) {
                all.push_back({name, e.help, e.type, {}});
            }
        }
    }
    if (!options_.program.empty()) {
        for (auto& f : process_metrics(options_.program)) {
            all.push_back(std::move(f));
        }
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return prometheus::TextSerializer().Serialize(all);
}

}  // namespace ioam::metrics
