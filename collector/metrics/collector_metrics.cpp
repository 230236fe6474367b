#include "collector/metrics/collector_metrics.hpp"

#include <string_view>
#include <unordered_map>

#include "collector/analysis/delay.hpp"
#include "collector/correlate/correlator.hpp"
#include "collector/decode/record_decoder.hpp"
#include "collector/source/ipfix_listener.hpp"
#include "collector/store/trace_store.hpp"
#include "common/metrics/registry.hpp"

namespace ioam::collector::metrics {

namespace {

using ioam::metrics::Counter;
using ioam::metrics::Family;
using ioam::metrics::Gauge;
using ioam::metrics::Histogram;

constexpr double kNsPerSecond = 1e9;

// 1 us .. ~8 s, doubling: IOAM delays span LAN microseconds to congested WAN seconds.
std::vector<double> delay_buckets() {
    return ioam::metrics::exponential_buckets(1e-6, 2, 24);
}

struct PairHash {
    template <typename A, typename B>
    std::size_t operator()(const std::pair<A, B>& p) const noexcept {
        return std::hash<A>{}(p.first) * 1000003u ^ std::hash<B>{}(p.second);
    }
};

struct TripleKey {
    std::uint16_t ns;
    std::uint64_t from;
    std::uint64_t to;
    bool operator==(const TripleKey&) const = default;
};
struct TripleHash {
    std::size_t operator()(const TripleKey& k) const noexcept {
        return (std::hash<std::uint64_t>{}(k.from) * 1000003u ^ std::hash<std::uint64_t>{}(k.to)) *
                   31u +
               k.ns;
    }
};

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

// A map that stops growing at `cap`; past it, lookups miss and the caller asks the registry
// each time (which sends over-cap label sets to its counted sink series).
template <typename Key, typename Value, typename Hash = std::hash<Key>>
class BoundedMap {
  public:
    explicit BoundedMap(std::size_t cap) : cap_(cap) {}
    template <typename K, typename Make>
    Value* get(const K& key, Make&& make) {
        if (auto it = map_.find(key); it != map_.end()) {
            return &it->second;
        }
        if (map_.size() >= cap_) {
            overflow_ = make();
            return &overflow_;
        }
        return &map_.emplace(Key(key), make()).first->second;
    }

  private:
    std::size_t cap_;
    std::unordered_map<Key, Value, Hash, std::equal_to<>> map_;
    Value overflow_{};
};

std::string u64(std::uint64_t v) {
    return std::to_string(v);
}

}  // namespace

struct CollectorMetrics::Impl {
    Impl(ioam::metrics::Registry& r, const MetricsConfig& c)
        : reg(r),
          messages(r.counter("ioam_collector_ipfix_messages_total",
                             "IPFIX messages accepted, per exporter (address/observation domain)",
                             {"exporter"}, c.max_exporters)),
          records(r.counter("ioam_collector_ipfix_records_total",
                            "IPFIX data records received, per exporter (address/observation "
                            "domain)",
                            {"exporter"}, c.max_exporters)),
          bytes(r.counter("ioam_collector_ipfix_bytes_total",
                          "Octets of accepted IPFIX messages, per exporter (address/observation "
                          "domain)",
                          {"exporter"}, c.max_exporters)),
          errors(r.counter("ioam_collector_ingest_errors_total",
                           "Messages, sets or records dropped, by exporter and reason",
                           {"exporter", "reason"}, c.max_series_per_family)),
          unknown_fields(r.counter("ioam_collector_unknown_fields_total",
                                   "Template fields the collector does not understand",
                                   {"exporter"}, c.max_exporters)),
          seq_lost(r.counter("ioam_collector_sequence_lost_records_total",
                             "Data records missing from forward IPFIX sequence gaps",
                             {"exporter", "domain"}, c.max_series_per_family)),
          seq_reordered(r.counter("ioam_collector_sequence_reordered_total",
                                  "Messages that arrived after a later one (backward jump)",
                                  {"exporter", "domain"}, c.max_series_per_family)),
          seq_restarts(r.counter("ioam_collector_sequence_restarts_total",
                                 "Backward sequence jumps beyond the reorder window",
                                 {"exporter", "domain"}, c.max_series_per_family)),
          decoded(r.counter("ioam_collector_decoded_records_total", "IOAM records decoded, by kind",
                            {"kind"})),
          transit(r.histogram("ioam_hop_transit_delay_seconds",
                              "Transit delay a node wrote (trace type bit 4), once per packet",
                              {"namespace", "node"}, delay_buckets(), c.max_series_per_family)),
          queue_depth(r.gauge("ioam_node_queue_depth",
                              "Last queue depth a node wrote (trace type bit 6)",
                              {"namespace", "node"}, c.max_series_per_family)),
          node_packets(r.counter("ioam_node_packets_total",
                                 "Packets that crossed a node (its hop counted once per packet)",
                                 {"namespace", "node"}, c.max_series_per_family)),
          segment(r.histogram("ioam_segment_delay_seconds",
                              "Delay between consecutive hops, from their timestamps, one sample "
                              "per packet",
                              {"namespace", "from", "to"}, delay_buckets(),
                              c.max_series_per_family)),
          path_delay(r.histogram("ioam_path_delay_seconds",
                                 "End-to-end delay of delivered packets, last minus first hop "
                                 "timestamp, one sample per packet",
                                 {"namespace", "path"}, delay_buckets(), c.max_series_per_family)),
          path_packets(r.counter(
              "ioam_path_packets_total",
              "Packets delivered, each counted once on its full node-id path (the reports of a "
              "packet joined). Traces without timestamps cannot be joined: a report is counted "
              "only when no report continued its path, so a packet is never counted twice and "
              "one that stopped short is not counted",
              {"namespace", "path"}, c.max_series_per_family)),
          path_lost(r.counter("ioam_path_lost_packets_total",
                              "Packets that ended on this path (the nodes they were seen at) "
                              "where other packets went on: network loss",
                              {"namespace", "path"}, c.max_series_per_family)),
          segment_lost(r.counter("ioam_segment_lost_packets_total",
                                 "Packets lost between the last node that saw them and the node "
                                 "other packets of their path went on to",
                                 {"namespace", "from", "to"}, c.max_series_per_family)),
          incomplete(r.counter("ioam_packets_incomplete_total",
                               "Packets whose reports are missing for a reason that is not the "
                               "network: ipfix_loss (the next node's exporter lost IPFIX "
                               "records), exporter_silent (it sent nothing since), evicted (the "
                               "correlator's pending table was full)",
                               {"reason"})),
          dex_reports(r.counter("ioam_dex_flow_reports_total",
                                "DEX reports per flow and reporting node", {"flow", "node"},
                                c.max_dex_flows)),
          dex_lost(r.counter("ioam_dex_flow_lost_packets_total",
                             "Sequence numbers a node skipped within a DEX flow", {"flow", "node"},
                             c.max_dex_flows)),
          decoded_traces(decoded.with({"trace"})),
          decoded_dex(decoded.with({"dex"})),
          exporter_cache(c.max_exporters),
          node_cache(c.max_series_per_family),
          segment_cache(c.max_series_per_family),
          path_cache(c.max_series_per_family),
          dex_cache(c.max_dex_flows) {}

    struct ExporterSeries {
        Counter* messages = nullptr;
        Counter* records = nullptr;
        Counter* bytes = nullptr;
    };
    struct NodeSeries {
        Histogram* transit = nullptr;
        Gauge* queue = nullptr;
        Counter* packets = nullptr;
    };
    struct PathSeries {
        Histogram* delay = nullptr;
        Counter* packets = nullptr;
        Counter* lost = nullptr;
    };
    struct DexFlow {
        std::optional<std::uint32_t> last_seq;
        Counter* reports = nullptr;
        Counter* lost = nullptr;
    };

    ExporterSeries& exporter(std::string_view e) {
        return *exporter_cache.get(e, [&] {
            return ExporterSeries{&messages.with({e}), &records.with({e}), &bytes.with({e})};
        });
    }

    ExporterSeries& exporter(std::string_view address, std::uint32_t domain) {
        exporter_name.assign(address);
        exporter_name += '/';
        exporter_name += u64(domain);
        return exporter(exporter_name);
    }

    void observe_hops(const std::string& ns_label, std::uint16_t ns,
                      std::span<const PacketHop> hops, double weight) {
        for (std::size_t i = 0; i < hops.size(); ++i) {
            const PacketHop& h = hops[i];
            if (h.node == kUnknownNode) {
                continue;
            }
            NodeSeries& s = *node_cache.get(std::pair(ns, h.node), [&] {
                const std::string node = u64(h.node);
                return NodeSeries{&transit.with({ns_label, node}),
                                  &queue_depth.with({ns_label, node}),
                                  &node_packets.with({ns_label, node})};
            });
            s.packets->inc(weight);
            // RFC 9197 4.4.2.5: the most significant bit flags an overflow.
            if (h.transit_delay_ns && (*h.transit_delay_ns & 0x80000000u) == 0) {
                s.transit->observe(*h.transit_delay_ns / kNsPerSecond);
            }
            if (h.queue_depth) {
                s.queue->set(*h.queue_depth);
            }
            if (i > 0 && h.segment_ns && hops[i - 1].node != kUnknownNode) {
                segment_series(ns_label, ns, hops[i - 1].node, h.node)
                    .delay->observe(static_cast<double>(*h.segment_ns) / kNsPerSecond);
            }
        }
    }

    struct SegmentSeries {
        Histogram* delay = nullptr;
        Counter* lost = nullptr;
    };
    SegmentSeries& segment_series(const std::string& ns_label, std::uint16_t ns, std::uint64_t from,
                                  std::uint64_t to) {
        return *segment_cache.get(TripleKey{ns, from, to}, [&] {
            const std::string f = u64(from);
            const std::string t = u64(to);
            return SegmentSeries{&segment.with({ns_label, f, t}),
                                 &segment_lost.with({ns_label, f, t})};
        });
    }

    PathSeries& path_series(const std::string& ns_label, const Packet& p) {
        path_key = ns_label;
        path_key += '|';
        path_key += p.path;
        return *path_cache.get(std::string_view(path_key), [&] {
            return PathSeries{&path_delay.with({ns_label, p.path}),
                              &path_packets.with({ns_label, p.path}),
                              &path_lost.with({ns_label, p.path})};
        });
    }

    ioam::metrics::Registry& reg;
    Family<Counter>& messages;
    Family<Counter>& records;
    Family<Counter>& bytes;
    Family<Counter>& errors;
    Family<Counter>& unknown_fields;
    Family<Counter>& seq_lost;
    Family<Counter>& seq_reordered;
    Family<Counter>& seq_restarts;
    Family<Counter>& decoded;
    Family<Histogram>& transit;
    Family<Gauge>& queue_depth;
    Family<Counter>& node_packets;
    Family<Histogram>& segment;
    Family<Histogram>& path_delay;
    Family<Counter>& path_packets;
    Family<Counter>& path_lost;
    Family<Counter>& segment_lost;
    Family<Counter>& incomplete;
    Family<Counter>& dex_reports;
    Family<Counter>& dex_lost;
    Counter& decoded_traces;
    Counter& decoded_dex;

    BoundedMap<std::string, ExporterSeries, StringHash> exporter_cache;
    BoundedMap<std::pair<std::uint16_t, std::uint64_t>, NodeSeries, PairHash> node_cache;
    BoundedMap<TripleKey, SegmentSeries, TripleHash> segment_cache;
    BoundedMap<std::string, PathSeries, StringHash> path_cache;
    BoundedMap<std::pair<std::uint32_t, std::uint64_t>, DexFlow, PairHash> dex_cache;
    std::string path_key;       // scratch of the packet path
    std::string exporter_name;  // scratch of the ingest path
};

CollectorMetrics::CollectorMetrics(ioam::metrics::Registry& registry, const MetricsConfig& config)
    : impl_(std::make_unique<Impl>(registry, config)) {}

CollectorMetrics::~CollectorMetrics() = default;

void CollectorMetrics::watch_store(store::TraceStore& s) {
    auto& r = impl_->reg;
    const auto stat = [&s](std::uint64_t store::StoreStats::*field) {
        return [&s, field] { return static_cast<double>(s.stats().*field); };
    };
    r.gauge("ioam_collector_store_queue_depth", "Records waiting for the store's writer")
        .get()
        .set_function(stat(&store::StoreStats::queued));
    r.gauge("ioam_collector_store_queue_bytes", "Estimated memory of the records waiting")
        .get()
        .set_function(stat(&store::StoreStats::queued_bytes));
    r.counter("ioam_collector_store_dropped_total",
              "UDP records dropped because the store queue was full")
        .get()
        .set_function(stat(&store::StoreStats::dropped));
    r.counter("ioam_collector_store_blocked_total",
              "TCP records that waited for room in the store queue (back-pressure: the "
              "collector stopped reading their connection meanwhile)")
        .get()
        .set_function(stat(&store::StoreStats::blocked));
    r.counter("ioam_collector_store_written_total", "Records committed to the store")
        .get()
        .set_function(stat(&store::StoreStats::written));
    r.counter("ioam_collector_store_errors_total",
              "Failed write attempts (each batch is retried until it is written)")
        .get()
        .set_function(stat(&store::StoreStats::errors));
    r.counter("ioam_collector_store_lost_total",
              "Records given up at shutdown because the store could not write them before "
              "--store-stop-timeout")
        .get()
        .set_function(stat(&store::StoreStats::lost));
    r.counter("ioam_collector_store_packets_total", "Packets aggregated into the summaries")
        .get()
        .set_function(stat(&store::StoreStats::packets));
    r.counter("ioam_collector_store_packets_dropped_total",
              "Packets left out of the summaries: too many distinct keys pending for the writer")
        .get()
        .set_function(stat(&store::StoreStats::packets_dropped));
    r.counter("ioam_collector_store_retention_deleted_total", "Records removed by retention")
        .get()
        .set_function(stat(&store::StoreStats::retained_deleted));
    r.gauge("ioam_collector_store_size_bytes", "SQLite pages in use times page size")
        .get()
        .set_function(stat(&store::StoreStats::db_bytes));
    Histogram& latency =
        r.histogram("ioam_collector_store_batch_seconds", "Duration of one SQLite write batch", {},
                    ioam::metrics::exponential_buckets(1e-4, 2, 16))
            .get();
    s.set_batch_observer([&latency](double secs, std::size_t) { latency.observe(secs); });
}

void CollectorMetrics::watch_listener(const source::IpfixListener& l) {
    auto& r = impl_->reg;
    const auto stat = [&l](std::uint64_t source::ListenerStats::*field) {
        return [&l, field] { return static_cast<double>(l.stats().*field); };
    };
    r.counter("ioam_collector_udp_datagrams_total", "UDP datagrams received")
        .get()
        .set_function(stat(&source::ListenerStats::udp_datagrams));
    r.counter("ioam_collector_udp_kernel_drops_total",
              "UDP datagrams the kernel dropped before the collector read them (SO_MEMINFO)")
        .get()
        .set_function(stat(&source::ListenerStats::udp_kernel_drops));
    r.counter("ioam_collector_tcp_connections_total", "TCP exporter connections accepted")
        .get()
        .set_function(stat(&source::ListenerStats::tcp_connections));
    r.counter("ioam_collector_tcp_rejected_total",
              "TCP connections refused (connection or session limit)")
        .get()
        .set_function(stat(&source::ListenerStats::tcp_rejected));
    r.counter("ioam_collector_tcp_bad_framing_total",
              "TCP connections closed on a bad message header")
        .get()
        .set_function(stat(&source::ListenerStats::tcp_bad_framing));
    r.counter("ioam_collector_tcp_evicted_total",
              "Silent TCP connections closed to admit a new one at the connection limit")
        .get()
        .set_function(stat(&source::ListenerStats::tcp_evicted));
    r.counter("ioam_collector_tcp_idle_closed_total", "TCP connections closed by the idle timeout")
        .get()
        .set_function(stat(&source::ListenerStats::tcp_idle_closed));
    r.gauge("ioam_collector_tcp_connections_open", "TCP exporter connections open now")
        .get()
        .set_function(stat(&source::ListenerStats::tcp_open));
    r.gauge("ioam_collector_udp_sessions", "UDP exporter sessions (address, listener) held now")
        .get()
        .set_function(stat(&source::ListenerStats::udp_sessions));
    r.counter("ioam_collector_udp_sessions_evicted_total",
              "UDP sessions evicted (least recently used) to admit a new exporter")
        .get()
        .set_function(stat(&source::ListenerStats::udp_sessions_evicted));
}

void CollectorMetrics::watch_decoder(const decode::RecordDecoder& d) {
    auto& r = impl_->reg;
    const auto stat = [&d](const std::atomic<std::uint64_t> decode::DecoderStats::*field) {
        return [&d, field] { return static_cast<double>((d.stats().*field).load()); };
    };
    r.counter("ioam_collector_ignored_records_total",
              "Data records that are neither IOAM traces nor DEX reports")
        .get()
        .set_function(stat(&decode::DecoderStats::ignored));
    r.counter("ioam_collector_trace_data_fallbacks_total",
              "Traces whose ioamTraceData did not decode and whose hop list was used")
        .get()
        .set_function(stat(&decode::DecoderStats::raw_fallbacks));
    r.counter("ioam_collector_sampling_records_total",
              "Sampling options records received: an exporter that samples 1/N says so, and "
              "the packets it reports count N times in the packet and loss counters (not in "
              "the delay histograms, which take one sample per packet seen)")
        .get()
        .set_function(stat(&decode::DecoderStats::sampling_records));
}

void CollectorMetrics::watch_correlator(const correlate::Correlator& c) {
    auto& r = impl_->reg;
    const auto stat = [&c](const std::atomic<std::uint64_t> correlate::CorrelatorStats::*field) {
        return [&c, field] { return static_cast<double>((c.stats().*field).load()); };
    };
    using S = correlate::CorrelatorStats;
    const auto counter = [&](const char* name, const char* help, auto field) {
        r.counter(name, help).get().set_function(stat(field));
    };
    const auto gauge = [&](const char* name, const char* help, auto field) {
        r.gauge(name, help).get().set_function(stat(field));
    };
    counter("ioam_correlator_reports_total", "Reports joined into packets", &S::reports);
    counter("ioam_correlator_packets_total", "Packets the correlator closed", &S::packets);
    counter("ioam_correlator_duplicate_reports_total",
            "Reports of a packet by a node that had reported it already (not counted again)",
            &S::duplicates);
    counter("ioam_correlator_late_reports_total",
            "Reports of a packet that was already closed (not counted again)", &S::late);
    counter("ioam_correlator_key_conflicts_total",
            "Reports whose key matched a pending packet of another path (not joined)",
            &S::conflicts);
    counter("ioam_correlator_timeless_prefix_reports_total",
            "Reports without timestamps not counted because another report continued their path",
            &S::timeless_prefix);
    counter("ioam_correlator_unjoinable_reports_total",
            "DEX reports without flow id or sequence number (not counted as packets)",
            &S::unjoinable);
    counter("ioam_correlator_forgotten_keys_total",
            "Keys of closed packets dropped before their window to keep the byte bound",
            &S::forgotten);
    gauge("ioam_correlator_pending", "Packets and timeless reports awaiting a decision",
          &S::pending);
    gauge("ioam_correlator_state_bytes", "Memory of the correlator's tables (estimate)", &S::bytes);
    gauge("ioam_correlator_learned_paths", "Path prefixes learned from traffic", &S::paths);
}

void CollectorMetrics::on_message(std::string_view exporter, std::uint32_t domain,
                                  std::size_t bytes) {
    auto& s = impl_->exporter(exporter, domain);
    s.messages->inc();
    s.bytes->inc(static_cast<double>(bytes));
}

void CollectorMetrics::on_records(std::string_view exporter, std::uint32_t domain, std::size_t n) {
    impl_->exporter(exporter, domain).records->inc(static_cast<double>(n));
}

void CollectorMetrics::on_error(std::string_view exporter, source::IngestError e) {
    impl_->errors.with({exporter, source::to_string(e)}).inc();
}

void CollectorMetrics::on_sequence(std::string_view exporter, std::uint32_t domain,
                                   std::uint64_t lost, std::uint64_t reordered,
                                   std::uint64_t restarts) {
    const std::string d = u64(domain);
    if (lost > 0) {
        impl_->seq_lost.with({exporter, std::string_view(d)}).inc(static_cast<double>(lost));
    }
    if (reordered > 0) {
        impl_->seq_reordered.with({exporter, std::string_view(d)})
            .inc(static_cast<double>(reordered));
    }
    if (restarts > 0) {
        impl_->seq_restarts.with({exporter, std::string_view(d)})
            .inc(static_cast<double>(restarts));
    }
}

void CollectorMetrics::on_unknown_fields(std::string_view exporter, std::size_t fields) {
    impl_->unknown_fields.with({exporter}).inc(static_cast<double>(fields));
}

void CollectorMetrics::consume(const Origin&, const IoamTrace&) {
    impl_->decoded_traces.inc();
}

void CollectorMetrics::consume(const Packet& p) {
    Impl& m = *impl_;
    const std::string ns = u64(p.namespace_id);
    m.observe_hops(ns, p.namespace_id, p.hops, p.weight);
    if (p.hops.empty()) {
        return;
    }
    switch (p.outcome) {
        case PacketOutcome::delivered: {
            Impl::PathSeries& s = m.path_series(ns, p);
            s.packets->inc(p.weight);
            if (p.end_to_end_ns) {
                s.delay->observe(static_cast<double>(*p.end_to_end_ns) / kNsPerSecond);
            }
            break;
        }
        case PacketOutcome::lost:
            m.path_series(ns, p).lost->inc(p.weight);
            if (p.lost_before && p.hops.back().node != kUnknownNode) {
                m.segment_series(ns, p.namespace_id, p.hops.back().node, *p.lost_before)
                    .lost->inc(p.weight);
            }
            break;
        case PacketOutcome::incomplete:
            m.incomplete.with({correlate::to_string(p.incomplete)}).inc(p.weight);
            break;
    }
}

void CollectorMetrics::consume(const Origin&, const DexReport& d) {
    Impl& m = *impl_;
    m.decoded_dex.inc();
    const auto node = analysis::node_identity(d.node);
    if (!d.flow_id || !node) {
        return;
    }
    Impl::DexFlow& f = *m.dex_cache.get(std::pair(*d.flow_id, *node), [&] {
        const std::string flow = u64(*d.flow_id);
        const std::string n = u64(*node);
        return Impl::DexFlow{std::nullopt, &m.dex_reports.with({flow, n}),
                             &m.dex_lost.with({flow, n})};
    });
    f.reports->inc();
    if (d.sequence_number) {
        // Forward gaps only; a sequence number going back is reordering or a wrap, not loss.
        if (f.last_seq) {
            const auto gap = static_cast<std::int32_t>(*d.sequence_number - *f.last_seq);
            if (gap > 1) {
                f.lost->inc(gap - 1);
            }
            if (gap > 0) {
                f.last_seq = d.sequence_number;
            }
        } else {
            f.last_seq = d.sequence_number;
        }
    }
}

}  // namespace ioam::collector::metrics
