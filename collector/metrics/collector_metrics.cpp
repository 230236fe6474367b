#include "collector/metrics/collector_metrics.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>
#include <optional>
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

// The series of one label set, kept for the hot path so that it never looks labels up, and
// dropped from the exposition once not updated for `ttl` (a DEX flow that ended, a path no
// longer taken): past `cap` entries new keys would otherwise never be reported. Sweeps run on
// the thread that owns the cache, at most every ttl/4, so they never race with its updates;
// the scrape thread reads the series under the library's family lock.
template <typename Key, typename Value, typename Hash = std::hash<Key>>
class SeriesCache {
  public:
    // evict(value) removes the entry's series from their families; refuse() returns the
    // families' sink series (counted as refused), for keys beyond the cap.
    SeriesCache(std::size_t cap, Clock::duration ttl, std::function<void(Value&)> evict,
                std::function<Value()> refuse)
        : cap_(cap), ttl_(ttl), evict_(std::move(evict)), refuse_(std::move(refuse)) {}

    template <typename K, typename Make>
    Value& get(const K& key, Clock::time_point now, Make&& make) {
        if (ttl_ > Clock::duration::zero() && now - last_sweep_ >= ttl_ / 4) {
            sweep(now);
        }
        if (auto it = map_.find(key); it != map_.end()) {
            it->second.used = now;
            return it->second.value;
        }
        if (map_.size() >= cap_) {
            // No label lookups for keys past the cap either: a flood of them stays cheap.
            overflow_ = refuse_();
            return overflow_;
        }
        return map_.emplace(Key(key), Slot{make(), now}).first->second.value;
    }

    template <typename F>
    void each(F&& f) {
        for (auto& [key, slot] : map_) {
            f(slot.value);
        }
    }

  private:
    struct Slot {
        Value value;
        Clock::time_point used;
    };
    void sweep(Clock::time_point now) {
        last_sweep_ = now;
        for (auto it = map_.begin(); it != map_.end();) {
            if (now - it->second.used < ttl_) {
                ++it;
                continue;
            }
            evict_(it->second.value);
            it = map_.erase(it);
        }
    }

    std::size_t cap_;
    Clock::duration ttl_;
    std::function<void(Value&)> evict_;
    std::function<Value()> refuse_;
    std::unordered_map<Key, Slot, Hash, std::equal_to<>> map_;
    Clock::time_point last_sweep_{};
    Value overflow_{};
};

std::string u64(std::uint64_t v) {
    return std::to_string(v);
}

// A series of the per-packet families and the updates not yet added to it. The library's
// counter is a compare-and-swap loop and its histogram takes a mutex per observation: summed
// here, they reach the library once per scrape (Impl::flush(), run by Registry::render()).
struct CounterSlot {
    CounterSlot() = default;
    CounterSlot(Counter* s) : series(s) {}  // NOLINT(google-explicit-constructor)
    Counter* series = nullptr;
    double pending = 0;
    void add(double v) { pending += v; }
    void flush() {
        if (pending != 0) {
            series->Increment(pending);
            pending = 0;
        }
    }
};

struct GaugeSlot {
    GaugeSlot() = default;
    GaugeSlot(Gauge* s) : series(s) {}  // NOLINT(google-explicit-constructor)
    Gauge* series = nullptr;
    std::optional<double> last;
    void set(double v) { last = v; }
    void flush() {
        if (last) {
            series->Set(*last);
            last.reset();
        }
    }
};

struct HistogramSlot {
    HistogramSlot() = default;
    HistogramSlot(Histogram* s) : series(s) {}  // NOLINT(google-explicit-constructor)
    Histogram* series = nullptr;
    std::vector<double> counts;  // per bucket, +Inf last; empty while nothing is pending
    double sum = 0;
    // As Histogram::Observe: a value equal to a bound falls in that bound's bucket.
    void observe(double v, const std::vector<double>& bounds) {
        if (counts.empty()) {
            counts.assign(bounds.size() + 1, 0.0);
        }
        counts[static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                        bounds.begin())] += 1;
        sum += v;
    }
    void flush() {
        if (!counts.empty()) {
            series->ObserveMultiple(counts, sum);
            counts.clear();
            sum = 0;
        }
    }
};

// The series of a visited member: a plain pointer, or a slot's.
template <typename Metric>
Metric*& series_of(Metric*& s) {
    return s;
}
template <typename Slot>
auto& series_of(Slot& s) {
    return s.series;
}

}  // namespace

struct CollectorMetrics::Impl {
    Impl(ioam::metrics::Registry& r, const MetricsConfig& c)
        : reg(r),
          now(c.now),
          messages(r.counter("ioam_collector_ipfix_messages_total",
                             "IPFIX messages accepted, per exporter (address/observation domain)",
                             {"exporter"}, c.max_exporters)),
          records(r.counter("ioam_collector_ipfix_records_total",
                            "IPFIX data records received, per exporter (address/observation "
                            "domain)",
                            {"exporter"}, c.max_exporters)),
          bytes(r.counter("ioam_collector_ipfix_bytes_total",
                          "Bytes of accepted IPFIX messages, per exporter (address/observation "
                          "domain)",
                          {"exporter"}, c.max_exporters)),
          errors(r.counter("ioam_collector_ingest_errors_total",
                           "IPFIX messages, sets or records the collector dropped as malformed or "
                           "over a limit, by exporter address and reason; zero on a healthy "
                           "system",
                           {"exporter", "reason"}, c.max_exporters * source::kIngestErrorCount)),
          unknown_fields(r.counter("ioam_collector_unknown_fields_total",
                                   "Template fields the collector does not understand (ignored)",
                                   {"exporter"}, c.max_exporters)),
          seq_lost(r.counter("ioam_collector_sequence_lost_records_total",
                             "Data records an exporter sent that never arrived (IPFIX sequence "
                             "gaps): telemetry lost between exporter and collector",
                             {"exporter", "domain"}, c.max_exporters)),
          seq_reordered(r.counter("ioam_collector_sequence_reordered_total",
                                  "IPFIX messages that arrived after a later one",
                                  {"exporter", "domain"}, c.max_exporters)),
          seq_restarts(r.counter("ioam_collector_sequence_restarts_total",
                                 "Times an exporter's IPFIX sequence went back too far to be "
                                 "reordering: the exporter restarted",
                                 {"exporter", "domain"}, c.max_exporters)),
          decoded(r.counter("ioam_collector_decoded_records_total",
                            "IOAM records decoded, by kind (trace or dex)", {"kind"})),
          transit(r.histogram("ioam_hop_transit_delay_seconds",
                              "Transit delay a node wrote into the trace (trace type bit 4), once "
                              "per packet; Linux does not fill it",
                              {"namespace", "node"}, delay_buckets(), c.max_series_per_family)),
          queue_depth(r.gauge("ioam_node_queue_depth",
                              "Last queue depth a node wrote into the trace (trace type bit 6)",
                              {"namespace", "node"}, c.max_series_per_family)),
          node_packets(r.counter("ioam_node_packets_total",
                                 "Packets that crossed a node, each counted once",
                                 {"namespace", "node"}, c.max_series_per_family)),
          segment(r.histogram("ioam_segment_delay_seconds",
                              "Delay between two consecutive nodes of a path, from the "
                              "timestamps they wrote, one sample per packet",
                              {"namespace", "from", "to"}, delay_buckets(),
                              c.max_series_per_family)),
          path_delay(r.histogram("ioam_path_delay_seconds",
                                 "End-to-end delay of delivered packets (last minus first node's "
                                 "timestamp), one sample per packet",
                                 {"namespace", "path"}, delay_buckets(), c.max_series_per_family)),
          path_packets(r.counter(
              "ioam_path_packets_total",
              "Packets delivered, each counted once on its full path of node ids. A packet "
              "whose traces carry no timestamps is counted only when no other report continued "
              "its path",
              {"namespace", "path"}, c.max_series_per_family)),
          path_lost(r.counter("ioam_path_lost_packets_total",
                              "Packets that stopped on this path where other packets went on: "
                              "network loss",
                              {"namespace", "path"}, c.max_series_per_family)),
          segment_lost(r.counter("ioam_segment_lost_packets_total",
                                 "Packets lost between the last node that saw them and the node "
                                 "other packets of their path went on to",
                                 {"namespace", "from", "to"}, c.max_series_per_family)),
          incomplete(r.counter("ioam_packets_incomplete_total",
                               "Packets whose reports are missing for a reason that is not the "
                               "network: ipfix_loss (the next node's exporter lost IPFIX "
                               "records), exporter_silent (it sent nothing since), evicted (the "
                               "correlator's pending table was full), unknown",
                               {"reason"})),
          dex_reports(r.counter("ioam_dex_flow_reports_total",
                                "DEX reports per flow and reporting node", {"flow", "node"},
                                c.max_dex_flows)),
          dex_lost(r.counter("ioam_dex_flow_lost_packets_total",
                             "Packets of a DEX flow a node did not report (sequence number gaps)",
                             {"flow", "node"}, c.max_dex_flows)),
          decoded_traces(decoded.with({"trace"})),
          decoded_dex(decoded.with({"dex"})),
          exporter_cache(c.max_exporters, c.series_ttl, evictor<ExporterSeries>(),
                         refuser<ExporterSeries>()),
          address_cache(c.max_exporters, c.series_ttl, evictor<AddressSeries>(),
                        refuser<AddressSeries>()),
          node_cache(c.max_series_per_family, c.series_ttl, evictor<NodeSeries>(),
                     refuser<NodeSeries>()),
          segment_cache(c.max_series_per_family, c.series_ttl, evictor<SegmentSeries>(),
                        refuser<SegmentSeries>()),
          path_cache(c.max_series_per_family, c.series_ttl, evictor<PathSeries>(),
                     refuser<PathSeries>()),
          dex_cache(c.max_dex_flows, c.series_ttl, evictor<DexFlow>(), refuser<DexFlow>()) {
        // The reasons are known from start-up: their series exist at zero.
        for (const auto reason : {IncompleteReason::ipfix_loss, IncompleteReason::exporter_silent,
                                  IncompleteReason::evicted, IncompleteReason::unknown}) {
            incomplete_by_reason[static_cast<std::size_t>(reason)].series =
                &incomplete.with({correlate::to_string(reason)});
        }
    }

    // Keyed by "address/domain".
    struct ExporterSeries {
        Counter* messages = nullptr;
        Counter* records = nullptr;
        Counter* bytes = nullptr;
        Counter* seq_lost = nullptr;
        Counter* seq_reordered = nullptr;
        Counter* seq_restarts = nullptr;
        template <typename F>
        void visit(Impl& m, F&& f) {
            f(m.messages, messages);
            f(m.records, records);
            f(m.bytes, bytes);
            f(m.seq_lost, seq_lost);
            f(m.seq_reordered, seq_reordered);
            f(m.seq_restarts, seq_restarts);
        }
    };
    // Keyed by address: errors may come before a message header names the domain.
    struct AddressSeries {
        std::array<Counter*, source::kIngestErrorCount> errors{};
        Counter* unknown_fields = nullptr;
        template <typename F>
        void visit(Impl& m, F&& f) {
            for (Counter*& e : errors) {
                f(m.errors, e);
            }
            f(m.unknown_fields, unknown_fields);
        }
    };
    // The per-packet series: their updates are pending until flush().
    struct NodeSeries {
        HistogramSlot transit;
        GaugeSlot queue;
        CounterSlot packets;
        template <typename F>
        void visit(Impl& m, F&& f) {
            f(m.transit, transit);
            f(m.queue_depth, queue);
            f(m.node_packets, packets);
        }
    };
    struct SegmentSeries {
        HistogramSlot delay;
        CounterSlot lost;
        template <typename F>
        void visit(Impl& m, F&& f) {
            f(m.segment, delay);
            f(m.segment_lost, lost);
        }
    };
    struct PathSeries {
        HistogramSlot delay;
        CounterSlot packets;
        CounterSlot lost;
        template <typename F>
        void visit(Impl& m, F&& f) {
            f(m.path_delay, delay);
            f(m.path_packets, packets);
            f(m.path_lost, lost);
        }
    };
    struct DexFlow {
        std::optional<std::uint32_t> last_seq;
        CounterSlot reports;
        CounterSlot lost;
        template <typename F>
        void visit(Impl& m, F&& f) {
            f(m.dex_reports, reports);
            f(m.dex_lost, lost);
        }
    };

    // Adds every pending update to the library's series.
    void flush() {
        std::lock_guard lock(pending_mu);
        const auto flush_all = [this](auto& entry) {
            entry.visit(*this, [](auto&, auto& slot) { slot.flush(); });
        };
        node_cache.each(flush_all);
        segment_cache.each(flush_all);
        path_cache.each(flush_all);
        dex_cache.each(flush_all);
        for (CounterSlot& c : incomplete_by_reason) {
            if (c.series != nullptr) {
                c.flush();
            }
        }
    }

    // Cache callbacks over every (family, series) pair of an entry.
    template <typename Value>
    std::function<void(Value&)> evictor() {
        return [this](Value& v) {
            v.visit(*this, [](auto& family, auto& s) { family.remove(*series_of(s)); });
        };
    }
    template <typename Value>
    std::function<Value()> refuser() {
        return [this] {
            Value v;
            v.visit(*this, [](auto& family, auto& s) { series_of(s) = &family.refuse(); });
            return v;
        };
    }

    AddressSeries& address(std::string_view a, Clock::time_point t) {
        return address_cache.get(a, t, [&] {
            AddressSeries s;
            for (std::size_t i = 0; i < source::kIngestErrorCount; ++i) {
                s.errors[i] =
                    &errors.with({a, source::to_string(static_cast<source::IngestError>(i))});
            }
            s.unknown_fields = &unknown_fields.with({a});
            return s;
        });
    }

    ExporterSeries& exporter(std::string_view address, std::uint32_t domain) {
        const Clock::time_point t = now();
        exporter_name.assign(address);
        exporter_name += '/';
        exporter_name += u64(domain);
        return exporter_cache.get(std::string_view(exporter_name), t, [&] {
            // Every series of a new exporter appears at zero with its first message.
            (void)this->address(address, t);
            const std::string d = u64(domain);
            return ExporterSeries{
                &messages.with({exporter_name}),   &records.with({exporter_name}),
                &bytes.with({exporter_name}),      &seq_lost.with({address, d}),
                &seq_reordered.with({address, d}), &seq_restarts.with({address, d})};
        });
    }

    void observe_hops(const std::string& ns_label, std::uint16_t ns,
                      std::span<const PacketHop> hops, double weight, Clock::time_point t) {
        for (std::size_t i = 0; i < hops.size(); ++i) {
            const PacketHop& h = hops[i];
            if (h.node == kUnknownNode) {
                continue;
            }
            NodeSeries& s = node_cache.get(std::pair(ns, h.node), t, [&] {
                const std::string node = u64(h.node);
                return NodeSeries{&transit.with({ns_label, node}),
                                  &queue_depth.with({ns_label, node}),
                                  &node_packets.with({ns_label, node})};
            });
            s.packets.add(weight);
            // RFC 9197 4.4.2.5: the most significant bit flags an overflow.
            if (h.transit_delay_ns && (*h.transit_delay_ns & 0x80000000u) == 0) {
                s.transit.observe(*h.transit_delay_ns / kNsPerSecond, bounds);
            }
            if (h.queue_depth) {
                s.queue.set(*h.queue_depth);
            }
            if (i > 0 && h.segment_ns && hops[i - 1].node != kUnknownNode) {
                segment_series(ns_label, ns, hops[i - 1].node, h.node, t)
                    .delay.observe(static_cast<double>(*h.segment_ns) / kNsPerSecond, bounds);
            }
        }
    }

    SegmentSeries& segment_series(const std::string& ns_label, std::uint16_t ns, std::uint64_t from,
                                  std::uint64_t to, Clock::time_point t) {
        return segment_cache.get(TripleKey{ns, from, to}, t, [&] {
            const std::string f = u64(from);
            const std::string to_label = u64(to);
            return SegmentSeries{&segment.with({ns_label, f, to_label}),
                                 &segment_lost.with({ns_label, f, to_label})};
        });
    }

    PathSeries& path_series(const std::string& ns_label, const Packet& p, Clock::time_point t) {
        path_key = ns_label;
        path_key += '|';
        path_key += p.path;
        return path_cache.get(std::string_view(path_key), t, [&] {
            return PathSeries{&path_delay.with({ns_label, p.path}),
                              &path_packets.with({ns_label, p.path}),
                              &path_lost.with({ns_label, p.path})};
        });
    }

    ioam::metrics::Registry& reg;
    Clock::time_point (*now)();
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
    std::array<CounterSlot, 8> incomplete_by_reason{};
    const std::vector<double> bounds = delay_buckets();  // of every delay histogram
    // Held by the packet and DEX paths and by flush() (the scrape): the caches of the
    // per-packet series and their pending updates.
    std::mutex pending_mu;
    std::size_t flush_hook = 0;

    SeriesCache<std::string, ExporterSeries, StringHash> exporter_cache;
    SeriesCache<std::string, AddressSeries, StringHash> address_cache;
    SeriesCache<std::pair<std::uint16_t, std::uint64_t>, NodeSeries, PairHash> node_cache;
    SeriesCache<TripleKey, SegmentSeries, TripleHash> segment_cache;
    SeriesCache<std::string, PathSeries, StringHash> path_cache;
    SeriesCache<std::pair<std::uint32_t, std::uint64_t>, DexFlow, PairHash> dex_cache;
    std::string path_key;       // scratch of the packet path
    std::string exporter_name;  // scratch of the ingest path

    void add_packet(const Packet& p, Clock::time_point t);
    void add_dex(const DexReport& d, Clock::time_point t);
};

Clock::time_point coarse_now() noexcept {
    // CLOCK_MONOTONIC_COARSE: a few ns per read (read per packet), tick-accurate, same epoch as
    // steady_clock.
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return Clock::time_point(std::chrono::seconds(ts.tv_sec) +
                             std::chrono::nanoseconds(ts.tv_nsec));
}

CollectorMetrics::CollectorMetrics(ioam::metrics::Registry& registry, const MetricsConfig& config)
    : impl_(std::make_unique<Impl>(registry, config)) {
    impl_->flush_hook = registry.before_render([impl = impl_.get()] { impl->flush(); });
}

CollectorMetrics::~CollectorMetrics() {
    impl_->reg.remove_before_render(impl_->flush_hook);
}

void CollectorMetrics::watch_store(store::TraceStore& s) {
    auto& r = impl_->reg;
    const auto stat = [&s](std::uint64_t store::StoreStats::*field) {
        return [&s, field] { return static_cast<double>(s.stats().*field); };
    };
    r.gauge_function("ioam_collector_store_queue_depth", "Records waiting for the store's writer")
        .add({}, stat(&store::StoreStats::queued));
    r.gauge_function("ioam_collector_store_queue_bytes",
                     "Estimated memory of the records waiting for the store's writer")
        .add({}, stat(&store::StoreStats::queued_bytes));
    r.counter_function("ioam_collector_store_dropped_total",
                       "UDP records dropped because the store queue was full")
        .add({}, stat(&store::StoreStats::dropped));
    r.counter_function("ioam_collector_store_blocked_total",
                       "TCP records that waited for room in the store queue (back-pressure: the "
                       "collector stopped reading their connection meanwhile)")
        .add({}, stat(&store::StoreStats::blocked));
    r.counter_function("ioam_collector_store_written_total", "Records committed to the store")
        .add({}, stat(&store::StoreStats::written));
    r.counter_function("ioam_collector_store_errors_total",
                       "Failed write attempts (each batch is retried until it is written)")
        .add({}, stat(&store::StoreStats::errors));
    r.counter_function("ioam_collector_store_lost_total",
                       "Records given up at shutdown because the store could not write them before "
                       "--store-stop-timeout")
        .add({}, stat(&store::StoreStats::lost));
    r.counter_function("ioam_collector_store_packets_total",
                       "Packets aggregated into the summaries")
        .add({}, stat(&store::StoreStats::packets));
    r.counter_function(
         "ioam_collector_store_packets_dropped_total",
         "Packets left out of the summaries: too many distinct keys pending for the writer")
        .add({}, stat(&store::StoreStats::packets_dropped));
    r.counter_function("ioam_collector_store_retention_deleted_total",
                       "Records removed by retention")
        .add({}, stat(&store::StoreStats::retained_deleted));
    r.gauge_function("ioam_collector_store_size_bytes",
                     "Size of the SQLite database (pages in use times page size)")
        .add({}, stat(&store::StoreStats::db_bytes));
    Histogram& latency =
        r.histogram("ioam_collector_store_batch_seconds", "Duration of one SQLite write batch", {},
                    ioam::metrics::exponential_buckets(1e-4, 2, 16))
            .get();
    s.set_batch_observer([&latency](double secs, std::size_t) { latency.Observe(secs); });
}

void CollectorMetrics::watch_listener(const source::IpfixListener& l) {
    auto& r = impl_->reg;
    const auto stat = [&l](std::uint64_t source::ListenerStats::*field) {
        return [&l, field] { return static_cast<double>(l.stats().*field); };
    };
    r.counter_function("ioam_collector_udp_datagrams_total", "UDP datagrams received")
        .add({}, stat(&source::ListenerStats::udp_datagrams));
    r.counter_function(
         "ioam_collector_udp_kernel_drops_total",
         "UDP datagrams the kernel dropped because the receive buffer was full (raise "
         "--udp-receive-buffer)")
        .add({}, stat(&source::ListenerStats::udp_kernel_drops));
    r.counter_function("ioam_collector_udp_queue_full_total",
                       "UDP datagrams that waited for room in the queue to the I/O thread (the "
                       "collector is behind; the socket buffer fills meanwhile)")
        .add({}, stat(&source::ListenerStats::udp_queue_full));
    r.counter_function("ioam_collector_udp_queue_drops_total",
                       "UDP datagrams read but not queued: the shutdown timed out waiting for room")
        .add({}, stat(&source::ListenerStats::udp_queue_drops));
    r.gauge_function("ioam_collector_udp_queue_bytes",
                     "octets of UDP datagrams read and not yet processed")
        .add({}, stat(&source::ListenerStats::udp_queue_bytes));
    r.gauge_function("ioam_collector_udp_queue_capacity_bytes",
                     "octets the UDP datagram queue holds (--udp-queue-bytes)")
        .add({}, stat(&source::ListenerStats::udp_queue_capacity));
    r.counter_function("ioam_collector_tcp_connections_total", "TCP exporter connections accepted")
        .add({}, stat(&source::ListenerStats::tcp_connections));
    r.counter_function("ioam_collector_tcp_rejected_total",
                       "TCP connections refused (connection or session limit)")
        .add({}, stat(&source::ListenerStats::tcp_rejected));
    r.counter_function("ioam_collector_tcp_bad_framing_total",
                       "TCP connections closed on a bad message header")
        .add({}, stat(&source::ListenerStats::tcp_bad_framing));
    r.counter_function("ioam_collector_tcp_evicted_total",
                       "Silent TCP connections closed to admit a new one at the connection limit")
        .add({}, stat(&source::ListenerStats::tcp_evicted));
    r.counter_function("ioam_collector_tcp_idle_closed_total",
                       "TCP connections closed by the idle timeout")
        .add({}, stat(&source::ListenerStats::tcp_idle_closed));
    r.gauge_function("ioam_collector_tcp_connections_open", "TCP exporter connections open now")
        .add({}, stat(&source::ListenerStats::tcp_open));
    r.gauge_function("ioam_collector_udp_sessions",
                     "UDP exporter sessions (address, listener) held now")
        .add({}, stat(&source::ListenerStats::udp_sessions));
    r.counter_function("ioam_collector_udp_sessions_evicted_total",
                       "UDP sessions evicted (least recently used) to admit a new exporter")
        .add({}, stat(&source::ListenerStats::udp_sessions_evicted));
}

void CollectorMetrics::watch_decoder(const decode::RecordDecoder& d) {
    auto& r = impl_->reg;
    const auto stat = [&d](const std::atomic<std::uint64_t> decode::DecoderStats::*field) {
        return [&d, field] { return static_cast<double>((d.stats().*field).load()); };
    };
    r.counter_function("ioam_collector_ignored_records_total",
                       "Data records that are neither IOAM traces nor DEX reports")
        .add({}, stat(&decode::DecoderStats::ignored));
    r.counter_function("ioam_collector_trace_data_fallbacks_total",
                       "Traces whose ioamTraceData did not decode and whose hop list was used")
        .add({}, stat(&decode::DecoderStats::raw_fallbacks));
    r.counter_function(
         "ioam_collector_sampling_records_total",
         "Sampling options records received: an exporter that samples 1/N says so, and "
         "the packets it reports count N times in the packet and loss counters (not in "
         "the delay histograms, which take one sample per packet seen)")
        .add({}, stat(&decode::DecoderStats::sampling_records));
}

void CollectorMetrics::watch_correlator(const correlate::Correlator& c) {
    auto& r = impl_->reg;
    const auto stat = [&c](const std::atomic<std::uint64_t> correlate::CorrelatorStats::*field) {
        return [&c, field] { return static_cast<double>((c.stats().*field).load()); };
    };
    using S = correlate::CorrelatorStats;
    const auto counter = [&](const char* name, const char* help, auto field) {
        r.counter_function(name, help).add({}, stat(field));
    };
    const auto gauge = [&](const char* name, const char* help, auto field) {
        r.gauge_function(name, help).add({}, stat(field));
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
            "Closed packets forgotten before their correlation window ended, to stay under "
            "--correlation-max-bytes: a late report of one is no longer recognised as late",
            &S::forgotten);
    gauge("ioam_correlator_pending", "Packets and timeless reports awaiting a decision",
          &S::pending);
    gauge("ioam_correlator_state_bytes", "Memory of the correlator's tables (estimate)", &S::bytes);
    gauge("ioam_correlator_learned_paths", "Path prefixes learned from traffic", &S::paths);
}

void CollectorMetrics::on_message(std::string_view exporter, std::uint32_t domain,
                                  std::size_t bytes) {
    auto& s = impl_->exporter(exporter, domain);
    s.messages->Increment();
    s.bytes->Increment(static_cast<double>(bytes));
}

void CollectorMetrics::on_records(std::string_view exporter, std::uint32_t domain, std::size_t n) {
    impl_->exporter(exporter, domain).records->Increment(static_cast<double>(n));
}

void CollectorMetrics::on_error(std::string_view exporter, source::IngestError e) {
    const auto i = static_cast<std::size_t>(e);
    if (i < source::kIngestErrorCount) {
        impl_->address(exporter, impl_->now()).errors[i]->Increment();
    }
}

void CollectorMetrics::on_sequence(std::string_view exporter, std::uint32_t domain,
                                   std::uint64_t lost, std::uint64_t reordered,
                                   std::uint64_t restarts) {
    auto& s = impl_->exporter(exporter, domain);
    s.seq_lost->Increment(static_cast<double>(lost));
    s.seq_reordered->Increment(static_cast<double>(reordered));
    s.seq_restarts->Increment(static_cast<double>(restarts));
}

void CollectorMetrics::on_unknown_fields(std::string_view exporter, std::size_t fields) {
    impl_->address(exporter, impl_->now()).unknown_fields->Increment(static_cast<double>(fields));
}

void CollectorMetrics::consume(const Origin&, const IoamTrace&) {
    impl_->decoded_traces.Increment();
}

void CollectorMetrics::consume(const Origin&, std::span<const IoamTrace> traces) {
    impl_->decoded_traces.Increment(static_cast<double>(traces.size()));
}

void CollectorMetrics::consume(const Packet& p) {
    std::lock_guard lock(impl_->pending_mu);
    impl_->add_packet(p, impl_->now());
}

void CollectorMetrics::consume(std::span<const Packet> packets) {
    std::lock_guard lock(impl_->pending_mu);
    const Clock::time_point t = impl_->now();
    for (const Packet& p : packets) {
        impl_->add_packet(p, t);
    }
}

void CollectorMetrics::consume(const Origin&, const DexReport& d) {
    impl_->decoded_dex.Increment();
    std::lock_guard lock(impl_->pending_mu);
    impl_->add_dex(d, impl_->now());
}

void CollectorMetrics::consume(const Origin&, std::span<const DexReport> reports) {
    impl_->decoded_dex.Increment(static_cast<double>(reports.size()));
    std::lock_guard lock(impl_->pending_mu);
    const Clock::time_point t = impl_->now();
    for (const DexReport& d : reports) {
        impl_->add_dex(d, t);
    }
}

void CollectorMetrics::Impl::add_packet(const Packet& p, Clock::time_point t) {
    const std::string ns = u64(p.namespace_id);
    observe_hops(ns, p.namespace_id, p.hops, p.weight, t);
    if (p.hops.empty()) {
        return;
    }
    switch (p.outcome) {
        case PacketOutcome::delivered: {
            PathSeries& s = path_series(ns, p, t);
            s.packets.add(p.weight);
            if (p.end_to_end_ns) {
                s.delay.observe(static_cast<double>(*p.end_to_end_ns) / kNsPerSecond, bounds);
            }
            break;
        }
        case PacketOutcome::lost:
            path_series(ns, p, t).lost.add(p.weight);
            if (p.lost_before && p.hops.back().node != kUnknownNode) {
                segment_series(ns, p.namespace_id, p.hops.back().node, *p.lost_before, t)
                    .lost.add(p.weight);
            }
            break;
        case PacketOutcome::incomplete: {
            CounterSlot& c = incomplete_by_reason[static_cast<std::size_t>(p.incomplete) %
                                                  incomplete_by_reason.size()];
            if (c.series != nullptr) {
                c.add(p.weight);
            }
            break;
        }
    }
}

void CollectorMetrics::Impl::add_dex(const DexReport& d, Clock::time_point t) {
    const auto node = analysis::node_identity(d.node);
    if (!d.flow_id || !node) {
        return;
    }
    DexFlow& f = dex_cache.get(std::pair(*d.flow_id, *node), t, [&] {
        const std::string flow = u64(*d.flow_id);
        const std::string n = u64(*node);
        return DexFlow{std::nullopt, &dex_reports.with({flow, n}), &dex_lost.with({flow, n})};
    });
    f.reports.add(1);
    if (d.sequence_number) {
        // Forward gaps only; a sequence number going back is reordering or a wrap, not loss.
        if (f.last_seq) {
            const auto gap = static_cast<std::int32_t>(*d.sequence_number - *f.last_seq);
            if (gap > 1) {
                f.lost.add(gap - 1);
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
