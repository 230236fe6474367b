#pragma once
// Packet correlation: every IOAM node on a path reports the same packet (a trace as far as it
// went, or a DEX report of its own data). The correlator forwards each report unchanged to the
// report sinks (the store keeps every report) and joins the reports of one packet into one
// Packet (packet.hpp) for the packet sinks (metrics, store rollups), so that a packet is
// counted once, on its full path, and a packet that stopped short is localized as loss.
//
// Identity of a packet:
// - traces with timestamps (trace type bits 2 and 3): a 64-bit hash of namespace, trace type,
//   node length and every field of the oldest hop (node ids, timestamp, hop limit, interfaces,
//   ...). The oldest hop is written once by the first node and carried unchanged in every
//   report of the packet.
// - DEX reports: (namespace, flow id, sequence number).
// - traces without timestamps cannot be told apart: a report is held for the window and
//   counted only if no report seen (then or before) continued its path; a packet is never
//   counted twice, a packet that stopped short is not counted at all.
//
// A packet is complete when the node ending its path reported it and that path is known to
// end there (learned from traffic: it ended there before and no packet ever continued it), or
// when the window has passed since its first report (monotonic clock). A packet whose path
// other packets continued is lost on the segment to the next node, unless that node's
// exporter lost IPFIX records or went silent: then it is incomplete data, not network loss.
//
// Threading: consume() and the IngestObserver methods on the ingest thread; tick() from any
// thread (start() runs it on an own thread); stats() from any thread. One internal mutex,
// taken once per batch of reports (with one clock reading for the batch). Packet sinks are
// called with that mutex held (never concurrently), from the ingest thread or the ticker, with
// the packets closed by one batch or one tick together. Report sinks get each batch after it
// was joined, outside the mutex.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collector/analysis/delay.hpp"
#include "collector/correlate/packet.hpp"
#include "collector/decode/trace_sink.hpp"
#include "collector/source/ipfix_processor.hpp"

namespace ioam::collector::correlate {

struct CorrelatorConfig {
    std::uint64_t window_ns = 2'000'000'000;
    // Packets and timeless reports awaiting a decision; the oldest is closed early beyond it.
    std::size_t max_pending = 65536;
    // All correlator state (pending packets, keys of closed packets kept for late reports,
    // timeless reports, learned paths, nodes and exporters).
    std::size_t max_bytes = 64u << 20;
    std::size_t max_paths = 65536;  // learned path prefixes, and learned node -> exporter
    std::size_t max_exporters = 1024;
    analysis::FractionUnit fraction_unit = analysis::FractionUnit::microseconds;
};

// Written under the correlator's lock, readable from any thread.
struct CorrelatorStats {
    std::atomic<std::uint64_t> reports{0};          // reports joined into a packet
    std::atomic<std::uint64_t> duplicates{0};       // same node's report of a packet again
    std::atomic<std::uint64_t> late{0};             // report of a packet already closed
    std::atomic<std::uint64_t> conflicts{0};        // same key, different path: not joined
    std::atomic<std::uint64_t> timeless_prefix{0};  // timeless reports another one continued
    std::atomic<std::uint64_t> unjoinable{0};       // DEX without flow id or sequence number
    std::atomic<std::uint64_t> packets{0};          // packets emitted
    std::atomic<std::uint64_t> forgotten{0};        // closed keys dropped early (state bytes bound)
    std::atomic<std::uint64_t> pending{0};          // gauge: packets and timeless reports pending
    std::atomic<std::uint64_t> bytes{0};            // gauge: state bytes (estimate)
    std::atomic<std::uint64_t> paths{0};            // gauge: learned path prefixes
};

// Label value of an incomplete reason ("ipfix_loss", ...).
std::string_view to_string(IncompleteReason r) noexcept;

// Monotonic nanoseconds.
using Clock = std::function<std::uint64_t()>;
std::uint64_t steady_now_ns() noexcept;

class Correlator final : public TraceSink, public source::IngestObserver {
  public:
    Correlator(const CorrelatorConfig& config, std::vector<TraceSink*> report_sinks,
               std::vector<PacketSink*> packet_sinks, Clock clock = steady_now_ns);
    Correlator(const Correlator&) = delete;
    Correlator& operator=(const Correlator&) = delete;
    ~Correlator() override;

    void consume(const Origin& origin, const IoamTrace& trace) override;
    void consume(const Origin& origin, const DexReport& report) override;
    void consume(const Origin& origin, std::span<const IoamTrace> traces) override;
    void consume(const Origin& origin, std::span<const DexReport> reports) override;
    // The last report sink may take the traces (the others see them first).
    void take(const Origin& origin, std::span<IoamTrace> traces) override;

    // Exporter liveness and IPFIX loss, to tell network loss from collector-side loss.
    void on_message(std::string_view exporter, std::uint32_t domain, std::size_t bytes) override;
    void on_records(std::string_view, std::uint32_t, std::size_t) override {}
    void on_error(std::string_view, source::IngestError) override {}
    void on_sequence(std::string_view exporter, std::uint32_t domain, std::uint64_t lost,
                     std::uint64_t reordered, std::uint64_t restarts) override;
    void on_unknown_fields(std::string_view, std::size_t) override {}

    // Closes the windows that have passed.
    void tick();
    // Runs tick() every tenth of the window on an own thread until stop() (or destruction).
    void start();
    void stop();

    const CorrelatorStats& stats() const noexcept { return stats_; }

  private:
    struct State;
    template <typename Record>
    void join(const Origin& origin, std::span<const Record> records);
    template <typename Record>
    void correlate(const Origin& origin, std::span<const Record> records);

    std::unique_ptr<State> state_;
    std::vector<TraceSink*> report_sinks_;
    CorrelatorStats stats_;
    std::mutex mu_;

    std::mutex ticker_mu_;
    std::condition_variable ticker_cv_;
    bool ticker_stop_ = false;
    std::thread ticker_;
};

// Hands every ingest event to several observers (the metrics and the correlator).
// Threading: as the observers'.
class IngestFanout final : public source::IngestObserver {
  public:
    explicit IngestFanout(std::vector<source::IngestObserver*> observers)
        : observers_(std::move(observers)) {}
    void on_message(std::string_view e, std::uint32_t d, std::size_t bytes) override {
        for (auto* o : observers_) {
            o->on_message(e, d, bytes);
        }
    }
    void on_records(std::string_view e, std::uint32_t d, std::size_t n) override {
        for (auto* o : observers_) {
            o->on_records(e, d, n);
        }
    }
    void on_error(std::string_view e, source::IngestError err) override {
        for (auto* o : observers_) {
            o->on_error(e, err);
        }
    }
    void on_sequence(std::string_view e, std::uint32_t d, std::uint64_t lost,
                     std::uint64_t reordered, std::uint64_t restarts) override {
        for (auto* o : observers_) {
            o->on_sequence(e, d, lost, reordered, restarts);
        }
    }
    void on_unknown_fields(std::string_view e, std::size_t fields) override {
        for (auto* o : observers_) {
            o->on_unknown_fields(e, fields);
        }
    }

  private:
    std::vector<source::IngestObserver*> observers_;
};

}  // namespace ioam::collector::correlate
