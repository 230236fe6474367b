#pragma once
// The store boundary: everything above it (main, api/, metrics/) sees a TraceStore and never a
// back end. A TraceStore takes every report (TraceSink), the correlated packets for its
// per-minute rollups (PacketSink), and answers reads (TraceReader).
//
// Threading: consume() from the ingest and correlator threads; reads, stats() and ready() from
// any thread; start(), stop(), flush() and set_batch_observer() from the owner.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collector/analysis/delay.hpp"
#include "collector/correlate/packet.hpp"
#include "collector/decode/trace_sink.hpp"
#include "collector/store/trace_reader.hpp"

namespace ioam::collector::store {

struct StoreConfig {
    // Back end and its location: "sqlite:PATH", or a bare PATH for SQLite (--db), or
    // "clickhouse://HOST:PORT/DATABASE[?cluster=NAME&collector=N&secure=1&ca=FILE&compress=1]".
    std::string path = "./ioam.db";
    // A back end on a server: the file holding its password (the first line), else the
    // environment's IOAM_CLICKHOUSE_PASSWORD; the user is IOAM_CLICKHOUSE_USER, else "default".
    std::string password_file;
    std::size_t queue_capacity = 65536;    // records waiting for the writer
    std::size_t queue_bytes = 256u << 20;  // and their estimated memory
    std::size_t batch_size = 4096;         // records per write at most
    // A batch waits this long to fill (fewer, larger transactions at low rates); SIGKILL
    // loses at most this plus the batch being written.
    std::uint64_t batch_delay_ms = 10;
    std::size_t rollup_keys = 100000;                // distinct (minute, path|node|segment) pending
    std::uint64_t retention_age_s = 7 * 24 * 3600;   // 0 keeps records forever
    std::uint64_t retention_max_bytes = 1ull << 30;  // 0: no size limit
    std::uint64_t retention_interval_s = 60;
    // stop(): how long a failing back end is retried before the records left are counted as
    // lost (and logged): SIGTERM must end even when the disk never comes back.
    std::uint64_t stop_timeout_s = 30;
    analysis::FractionUnit fraction_unit = analysis::FractionUnit::microseconds;
};

struct StoreStats {
    std::uint64_t queued = 0;            // current queue depth, records
    std::uint64_t queued_bytes = 0;      // and its estimated memory
    std::uint64_t dropped = 0;           // unreliable records refused because the queue was full
    std::uint64_t blocked = 0;           // reliable records that had to wait for room
    std::uint64_t written = 0;           // records committed
    std::uint64_t batches = 0;           // batches committed
    std::uint64_t errors = 0;            // failed write attempts (each retried)
    std::uint64_t lost = 0;              // records given up at stop() after stop_timeout_s
    std::uint64_t packets = 0;           // packets aggregated into rollups
    std::uint64_t packets_dropped = 0;   // packets refused: rollup_keys pending keys reached
    std::uint64_t retained_deleted = 0;  // records removed by retention
    std::uint64_t db_bytes = 0;          // back end's size at the last check
};

class TraceStore : public TraceSink, public PacketSink, public TraceReader {
  public:
    using PacketSink::consume;
    using TraceSink::consume;

    virtual void start() = 0;
    // Shutdown has begun: a reliable record waiting for room waits at most stop_timeout_s
    // more, then is counted as dropped, so draining the sockets ends even when the back end
    // never recovers. Writing goes on until stop(). Non-blocking; idempotent.
    virtual void begin_stop() = 0;
    // Writes everything still queued (retrying for at most stop_timeout_s), then joins the
    // writer; idempotent.
    virtual void stop() = 0;
    // Blocks until everything queued before the call is committed.
    virtual void flush() = 0;
    virtual StoreStats stats() const = 0;
    // False before start() and while the last write attempt failed.
    virtual bool ready() const = 0;
    // Records dropped per exporter address (unreliable transports only).
    virtual std::vector<std::pair<std::string, std::uint64_t>> dropped_by_exporter() const = 0;
    // Called by the writer after each committed batch: duration in seconds, records.
    virtual void set_batch_observer(std::function<void(double, std::size_t)> fn) = 0;
};

// Opens the back end named by config.path; throws std::runtime_error with a one-line message
// (unknown scheme, unopenable or unmigratable database, unreachable server).
std::unique_ptr<TraceStore> make_store(const StoreConfig& config);

}  // namespace ioam::collector::store
