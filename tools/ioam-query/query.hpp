#pragma once
// What ioam-query computes: records matching the filters, or statistics per path, node or
// segment from the store's per-minute rollups (optionally per interval), sorted and cut to the
// top N, as a Table.
//
// Threading: one thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/ioam-query/source.hpp"
#include "tools/ioam-query/table.hpp"

namespace ioam::tools::query {

enum class Stat { none, path, node, segment };

struct Filters {
    std::optional<std::uint64_t> from_ns;  // inclusive
    std::optional<std::uint64_t> to_ns;    // exclusive
    std::optional<std::uint16_t> namespace_id;
    std::optional<std::uint64_t> node;
    std::optional<std::vector<std::uint64_t>> path;  // node ids, oldest first
    std::optional<std::uint32_t> flow;
    std::optional<std::string> exporter;  // address, as the collector shows it
    std::optional<store::RecordKind> kind;
};

struct Options {
    Filters filters;
    Stat stat = Stat::none;
    std::size_t top = 20;
    std::string order;  // empty: the stat's default
    std::optional<std::uint64_t> interval_ns;
    std::size_t limit = 100;  // records listed
};

// Buckets an --interval may make at most.
constexpr std::size_t kMaxIntervals = 10'000;

// Throws std::invalid_argument for options that do not fit together (a filter the statistic
// has no dimension for, an unknown order), std::runtime_error when reading fails.
Table run_query(Source& source, const Options& o);

}  // namespace ioam::tools::query
