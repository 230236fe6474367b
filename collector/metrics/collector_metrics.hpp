#pragma once
// Prometheus metrics of the collector: ingest counters (an IngestObserver, and a TraceSink for
// per-report counts), IOAM telemetry aggregated from correlated packets (a PacketSink: each
// packet once, on its full path), and store/listener/correlator gauges read at scrape time. Every
// labelled family is capped (common/metrics); the per-key caches here are capped to the same size,
// so memory stays bounded whatever the exporters send, and their series leave the exposition
// once not updated for MetricsConfig::series_ttl. A new exporter's series (errors included)
// appear at zero with its first message.
//
// Threading: the IngestObserver and TraceSink methods are called from the one ingest thread
// (under the processor's lock); the PacketSink method by the correlator (never concurrently
// with itself; it touches no state the other methods use); render() from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/correlate/packet.hpp"
#include "collector/decode/trace_sink.hpp"
#include "collector/source/ipfix_processor.hpp"

namespace ioam::metrics {
class Registry;
}

namespace ioam::collector::store {
class TraceStore;
}
namespace ioam::collector::source {
class IpfixListener;
}
namespace ioam::collector::decode {
class RecordDecoder;
}
namespace ioam::collector::correlate {
class Correlator;
}

namespace ioam::collector::metrics {

using Clock = std::chrono::steady_clock;
// CLOCK_MONOTONIC_COARSE, cheap enough to read once per packet.
Clock::time_point coarse_now() noexcept;

struct MetricsConfig {
    std::size_t max_series_per_family = 2000;  // label sets per family
    std::size_t max_exporters = 256;           // exporter label values
    std::size_t max_dex_flows = 1000;          // (flow, node) pairs tracked for DEX loss
    // A label set not updated for this long leaves the exposition, which makes room for new
    // ones under the caps (zero: never).
    std::chrono::seconds series_ttl{600};
    Clock::time_point (*now)() = coarse_now;  // tests step time with their own
};

class CollectorMetrics final : public TraceSink, public PacketSink, public source::IngestObserver {
  public:
    CollectorMetrics(ioam::metrics::Registry& registry, const MetricsConfig& config);
    CollectorMetrics(const CollectorMetrics&) = delete;
    CollectorMetrics& operator=(const CollectorMetrics&) = delete;
    ~CollectorMetrics() override;

    // Store gauges and the batch latency histogram (call once, before the store starts).
    void watch_store(store::TraceStore& store);
    // Socket and decoder counters, read at scrape time (the objects must outlive rendering).
    void watch_listener(const source::IpfixListener& listener);
    void watch_decoder(const decode::RecordDecoder& decoder);
    void watch_correlator(const correlate::Correlator& correlator);

    void on_message(std::string_view exporter, std::uint32_t domain, std::size_t bytes) override;
    void on_records(std::string_view exporter, std::uint32_t domain, std::size_t records) override;
    void on_error(std::string_view exporter, source::IngestError e) override;
    void on_sequence(std::string_view exporter, std::uint32_t domain, std::uint64_t lost,
                     std::uint64_t reordered, std::uint64_t restarts) override;
    void on_unknown_fields(std::string_view exporter, std::size_t fields) override;

    void consume(const Origin& origin, const IoamTrace& trace) override;
    void consume(const Origin& origin, const DexReport& report) override;
    // A batch reads the clock once (and counts its records with one increment).
    void consume(const Origin& origin, std::span<const IoamTrace> traces) override;
    void consume(const Origin& origin, std::span<const DexReport> reports) override;
    void consume(const Packet& packet) override;
    void consume(std::span<const Packet> packets) override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::collector::metrics
