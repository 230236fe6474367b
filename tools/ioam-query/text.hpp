#pragma once
// Times and durations as people write and read them: parsing the command line's window and
// formatting the tables. Times are UTC.
//
// Threading: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ioam::tools::query {

// "15m", "90s", "250ms", "1h30m", "2d" (units ns, us, ms, s, m, h, d, w); nullopt otherwise.
std::optional<std::uint64_t> parse_duration(std::string_view text);

// Nanoseconds since 1970 from "2026-11-24", "2026-11-24 10:00", "2026-11-24T10:00:05.25Z"
// ('/' also separates the date), "now", "-DURATION" (before now) or "@SECONDS" (Unix time).
std::optional<std::uint64_t> parse_time(std::string_view text, std::uint64_t now_ns);

// "2026-11-24 10:00:05.250000" (microseconds shown only when not zero).
std::string format_time(std::uint64_t ns);
// "139us", "1.25ms", "2.5s", "-3us": three significant digits, ASCII units.
std::string format_duration(double ns);
// "1.23%" of a fraction.
std::string format_fraction(double f);

}  // namespace ioam::tools::query
