#pragma once
// What the batching stage needs from a back end (SQLite today; others implement the same and
// pass tests/collector/store/conformance*). Ids are the collector's, assigned before write().
//
// Threading: high_water(), write(), retain() and size_bytes() are called from the one writer
// thread; the TraceReader calls from any thread, concurrently with the writer.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "collector/store/rollup.hpp"
#include "collector/store/trace_reader.hpp"
#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam::collector::store {

struct RecordEntry {
    std::int64_t id = 0;
    std::string exporter;
    std::uint32_t domain = 0;
    std::variant<IoamTrace, DexReport> record;
    // Origin::nodes_from_raw (a trace's; DEX reports ignore it). A taken trace is then queued
    // without its nodes, which its raw data rebuilds: nodes_of(record, true, scratch).
    bool nodes_from_raw = false;
};

struct Batch {
    std::vector<RecordEntry> records;  // ascending ids
    rollup::Delta rollups;             // added to the stored per-minute rows
};

class StoreBackend : public TraceReader {
  public:
    // The highest id ever written (kept even when retention deleted that record), 0 when new.
    virtual std::int64_t high_water() = 0;
    // All or nothing; on failure `why` says why and nothing of the batch is stored.
    virtual Status write(const Batch& batch, std::string& why) = 0;
    // Deletes records (and rollup minutes) observed before cutoff_ns, then the oldest records
    // while the size exceeds max_bytes (0: unlimited). Returns the records deleted.
    virtual Result<std::uint64_t> retain(std::uint64_t cutoff_ns, std::uint64_t max_bytes,
                                         std::string& why) = 0;
    virtual std::uint64_t size_bytes() = 0;
};

}  // namespace ioam::collector::store
