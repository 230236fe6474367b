#include "tools/ioam-query/text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace ioam::tools::query {

namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;

std::optional<std::uint64_t> unit_ns(std::string_view u) {
    if (u == "ns")
        return 1;
    if (u == "us")
        return 1'000;
    if (u == "ms")
        return 1'000'000;
    if (u == "s")
        return kSecond;
    if (u == "m")
        return 60 * kSecond;
    if (u == "h")
        return 3600 * kSecond;
    if (u == "d")
        return 86400 * kSecond;
    if (u == "w")
        return 7 * 86400 * kSecond;
    return std::nullopt;
}

// Reads `width` digits (or fewer when `width` is 0: any count) at `at`.
std::optional<unsigned> digits(std::string_view s, std::size_t& at, std::size_t width) {
    std::size_t end = at;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9' && (width == 0 || end - at < width)) {
        ++end;
    }
    if (end == at || (width != 0 && end - at != width) || end - at > 9) {
        return std::nullopt;
    }
    unsigned v = 0;
    std::from_chars(s.data() + at, s.data() + end, v);
    at = end;
    return v;
}

std::optional<std::uint64_t> parse_calendar(std::string_view s) {
    std::size_t at = 0;
    const auto year = digits(s, at, 4);
    if (!year || at >= s.size() || (s[at] != '-' && s[at] != '/')) {
        return std::nullopt;
    }
    const char sep = s[at++];
    const auto month = digits(s, at, 2);
    if (!month || at >= s.size() || s[at++] != sep) {
        return std::nullopt;
    }
    const auto day = digits(s, at, 2);
    unsigned hour = 0, minute = 0, second = 0;
    std::uint64_t fraction_ns = 0;
    if (!day) {
        return std::nullopt;
    }
    if (at < s.size() && (s[at] == ' ' || s[at] == 'T' || s[at] == '.')) {
        ++at;
        const auto h = digits(s, at, 2);
        if (!h || at >= s.size() || s[at++] != ':') {
            return std::nullopt;
        }
        const auto m = digits(s, at, 2);
        if (!m) {
            return std::nullopt;
        }
        hour = *h;
        minute = *m;
        if (at < s.size() && s[at] == ':') {
            ++at;
            const auto sec = digits(s, at, 2);
            if (!sec) {
                return std::nullopt;
            }
            second = *sec;
            if (at < s.size() && s[at] == '.') {
                ++at;
                const std::size_t start = at;
                const auto f = digits(s, at, 0);
                if (!f) {
                    return std::nullopt;
                }
                fraction_ns = *f;
                for (std::size_t n = at - start; n < 9; ++n) {
                    fraction_ns *= 10;
                }
            }
        }
    }
    if (at < s.size() && s[at] == 'Z') {
        ++at;
    }
    if (at != s.size() || *month < 1 || *month > 12 || *day < 1 || *day > 31 || hour > 23 ||
        minute > 59 || second > 60 || *year < 1970) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = static_cast<int>(*year) - 1900;
    tm.tm_mon = static_cast<int>(*month) - 1;
    tm.tm_mday = static_cast<int>(*day);
    tm.tm_hour = static_cast<int>(hour);
    tm.tm_min = static_cast<int>(minute);
    tm.tm_sec = static_cast<int>(second);
    const std::time_t t = timegm(&tm);
    if (t < 0) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(t) * kSecond + fraction_ns;
}

}  // namespace

std::optional<std::uint64_t> parse_duration(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::uint64_t total = 0;
    while (!text.empty()) {
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{}) {
            return std::nullopt;
        }
        text.remove_prefix(static_cast<std::size_t>(end - text.data()));
        std::size_t u = 0;
        while (u < text.size() && text[u] >= 'a' && text[u] <= 'z') {
            ++u;
        }
        const auto unit = unit_ns(text.substr(0, u));
        if (!unit || n > (UINT64_MAX - total) / *unit) {
            return std::nullopt;
        }
        total += n * *unit;
        text.remove_prefix(u);
    }
    return total;
}

std::optional<std::uint64_t> parse_time(std::string_view text, std::uint64_t now_ns) {
    if (text == "now") {
        return now_ns;
    }
    if (text.starts_with('-')) {
        const auto d = parse_duration(text.substr(1));
        return d && *d <= now_ns ? std::optional(now_ns - *d) : std::nullopt;
    }
    if (text.starts_with('@')) {
        std::uint64_t s = 0;
        const auto body = text.substr(1);
        auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), s);
        if (body.empty() || ec != std::errc{} || end != body.data() + body.size() ||
            s > UINT64_MAX / kSecond) {
            return std::nullopt;
        }
        return s * kSecond;
    }
    return parse_calendar(text);
}

std::string format_time(std::uint64_t ns) {
    const auto secs = static_cast<std::time_t>(ns / kSecond);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char out[48];
    const std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
    std::string s(out, n);
    if (const auto us = (ns % kSecond) / 1000; us != 0) {
        std::snprintf(out, sizeof out, ".%06llu", static_cast<unsigned long long>(us));
        s += out;
    }
    return s;
}

std::string format_duration(double ns) {
    const double a = std::fabs(ns);
    const char* unit = "ns";
    double v = ns;
    if (a >= 1e9) {
        unit = "s";
        v = ns / 1e9;
    } else if (a >= 1e6) {
        unit = "ms";
        v = ns / 1e6;
    } else if (a >= 1e3) {
        unit = "us";
        v = ns / 1e3;
    }
    char out[32];
    std::snprintf(out, sizeof out, "%.3g%s", v, unit);
    return out;
}

std::string format_fraction(double f) {
    char out[32];
    std::snprintf(out, sizeof out, f == 0 ? "0%%" : "%.3g%%", 100 * f);
    return out;
}

}  // namespace ioam::tools::query
