#pragma once
// Where ioam-query reads: a SQLite store opened read-only (the collector's own reader code, so
// nothing is decoded twice) or a running collector's HTTP API. Both give the same rows; errors
// are std::runtime_error with a one-line message.
//
// Threading: one thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/analysis/delay.hpp"
#include "collector/store/trace_reader.hpp"

namespace ioam::tools::query {

namespace store = collector::store;
namespace analysis = collector::analysis;

// A record as the tables show it.
struct RecordRow {
    std::int64_t id = 0;
    std::uint64_t time_ns = 0;
    store::RecordKind kind = store::RecordKind::trace;
    std::string exporter;
    std::uint32_t domain = 0;
    std::uint16_t namespace_id = 0;
    std::string path;  // a trace's node ids oldest first, "1,2,3"; a DEX report's node
    std::optional<std::int64_t> end_to_end_ns;
    std::optional<std::uint32_t> flow_id;
    std::optional<std::uint32_t> sequence;
};

class Source {
  public:
    virtual ~Source() = default;
    // One page: records matching `q` after q.after_id, at most q.limit.
    virtual std::vector<RecordRow> records(const store::TraceQuery& q) = 0;
    virtual std::vector<store::PathSummary> paths(store::Window w, std::size_t limit) = 0;
    virtual std::vector<store::NodeSummary> nodes(store::Window w, std::size_t limit) = 0;
    virtual std::vector<store::SegmentSummary> segments(store::Window w, std::size_t limit) = 0;
    // The most summary rows one call may ask for.
    virtual std::size_t max_limit() const = 0;
};

std::unique_ptr<Source> open_sqlite(const std::string& path, analysis::FractionUnit unit);
// "http://HOST:PORT" (an IPv6 host in brackets); every request must answer within `timeout_s`.
std::unique_ptr<Source> open_api(const std::string& url, unsigned timeout_s);

}  // namespace ioam::tools::query
