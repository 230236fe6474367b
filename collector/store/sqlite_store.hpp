#pragma once
// The SQLite store: the only sqlite3 user. Records are queued by consume() (never blocks:
// when the bounded queue is full the record is dropped and counted) and written by one writer
// thread in batched transactions with prepared statements; a second connection serves reads.
// WAL journal: a committed batch survives the process being killed.
//
// Schema versions live in PRAGMA user_version and are applied by ordered migrations.
//
// Threading: consume() from the ingest thread; reads from any thread (serialised); start()
// and stop() from the owner.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "collector/analysis/delay.hpp"
#include "collector/decode/trace_sink.hpp"
#include "collector/store/trace_reader.hpp"

namespace ioam::collector::store {

struct StoreConfig {
    std::string path = "./ioam.db";
    std::size_t queue_capacity = 65536;              // records waiting for the writer
    std::size_t batch_size = 4096;                   // records per transaction at most
    std::uint64_t retention_age_s = 7 * 24 * 3600;   // 0 keeps records forever
    std::uint64_t retention_max_bytes = 1ull << 30;  // 0: no size limit
    std::uint64_t retention_interval_s = 60;
    analysis::FractionUnit fraction_unit = analysis::FractionUnit::microseconds;
};

struct StoreStats {
    std::uint64_t queued = 0;   // current queue depth
    std::uint64_t dropped = 0;  // records refused because the queue was full
    std::uint64_t written = 0;  // records committed
    std::uint64_t batches = 0;
    std::uint64_t errors = 0;            // failed transactions (their records are lost and counted)
    std::uint64_t retained_deleted = 0;  // records removed by retention
    std::uint64_t db_bytes = 0;          // pages in use times page size, at the last check
};

class SqliteStore final : public TraceSink, public TraceReader {
  public:
    static constexpr int kSchemaVersion = 2;

    // Opens (creating if needed) and migrates the database; throws std::runtime_error.
    explicit SqliteStore(const StoreConfig& config);
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;
    ~SqliteStore() override;  // stop()

    void start();
    // Writes everything still queued, then joins the writer; idempotent.
    void stop();
    // Blocks until every record queued before the call is committed (tests, shutdown).
    void flush();

    // Called by the writer after each committed batch: duration in seconds, records.
    void set_batch_observer(std::function<void(double, std::size_t)> fn);

    void consume(const Origin& origin, const IoamTrace& trace) override;
    void consume(const Origin& origin, const DexReport& report) override;

    Result<std::vector<StoredRecord>> query(const TraceQuery& q) override;
    Result<std::optional<StoredRecord>> get(std::int64_t id) override;
    Result<std::vector<NodeSummary>> nodes(std::size_t limit) override;
    Result<std::vector<PathSummary>> paths(std::size_t limit, std::size_t sample) override;

    StoreStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::collector::store
