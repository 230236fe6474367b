#pragma once
// The back-end-neutral half of every TraceStore: a queue bounded in records and in bytes that
// gives records their ids in order of arrival, one writer thread that hands batches of them to
// a StoreBackend, retries a failed batch with backoff (logged at most every 10 s, counted,
// ready() false meanwhile), and runs retention. Packets are aggregated into per-minute rollups
// as they arrive, so that the queue holds one delta per (minute, key), not the packets.
//
// When the queue is full, a record from a reliable transport (TCP) waits for room: the ingest
// thread stops reading sockets and the exporter's buffer holds the data. Other records are
// dropped and counted per exporter, as are those of an exporter that would hold more than
// its fair share of the queue (see over_share()).
//
// Threading: as TraceStore.

#include <memory>

#include "collector/store/backend.hpp"
#include "collector/store/trace_store.hpp"

namespace ioam::collector::store {

class BatchingStore : public TraceStore {
  public:
    BatchingStore(const StoreConfig& config, std::unique_ptr<StoreBackend> backend);
    BatchingStore(const BatchingStore&) = delete;
    BatchingStore& operator=(const BatchingStore&) = delete;
    ~BatchingStore() override;  // stop()

    void start() override;
    void begin_stop() override;
    void stop() override;
    void flush() override;
    StoreStats stats() const override;
    bool ready() const override;
    std::vector<std::pair<std::string, std::uint64_t>> dropped_by_exporter() const override;
    void set_batch_observer(std::function<void(double, std::size_t)> fn) override;

    void consume(const Origin& origin, const IoamTrace& trace) override;
    void consume(const Origin& origin, const DexReport& report) override;
    void consume(const Origin& origin, std::span<const IoamTrace> traces) override;
    void consume(const Origin& origin, std::span<const DexReport> reports) override;
    void take(const Origin& origin, std::span<IoamTrace> traces) override;
    void consume(const Packet& packet) override;
    void consume(std::span<const Packet> packets) override;

    Result<std::vector<StoredRecord>> query(const TraceQuery& q) override;
    Result<std::optional<StoredRecord>> get(std::int64_t id) override;
    Result<std::vector<NodeSummary>> nodes(Window w, std::size_t limit) override;
    Result<std::vector<PathSummary>> paths(Window w, std::size_t limit) override;
    Result<std::vector<SegmentSummary>> segments(Window w, std::size_t limit) override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::collector::store
