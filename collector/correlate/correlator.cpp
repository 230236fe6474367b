#include "collector/correlate/correlator.hpp"
#include "common/util/counter.hpp"
#include "common/util/thread_name.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

namespace ioam::collector::correlate {

namespace {

constexpr std::uint32_t kTimestampBits = 0x300000;  // trace type bits 2 (seconds), 3 (fraction)
constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};
constexpr std::uint32_t kClosed = kNoSlot - 1;  // index value of a closed packet's key
constexpr std::uint32_t kNoExporter = ~std::uint32_t{0};
// One unordered_map node with its bucket pointer, for the bytes estimate.
constexpr std::size_t kMapEntryBytes = 48;

// Domain tags, so that a trace key and a DEX key (or a path hash) never share a preimage.
enum Tag : std::uint64_t { kTraceKey = 1, kDexKey = 2, kPath = 3, kNode = 4 };

// MurmurHash3's 64-bit finalizer: a bijection with full avalanche.
std::uint64_t fmix(std::uint64_t k) noexcept {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

// One multiply-rotate per word (cheap on the per-report path), finished with fmix: a change
// in any word reaches every bit of the result.
struct Hasher {
    std::uint64_t h;
    explicit Hasher(Tag tag) noexcept : h(tag * 0x9e3779b97f4a7c15ull) {}
    Hasher& add(std::uint64_t v) noexcept {
        h = std::rotl((h ^ v) * 0x9fb21c651e98df25ull, 29);
        return *this;
    }
    std::uint64_t done() const noexcept { return fmix(h); }
    // Absent and present-with-value hash apart (values are at most 56 bits wide).
    template <typename T>
    Hasher& add(const std::optional<T>& v) noexcept {
        return add(v ? std::uint64_t{*v} + 1 : 0);
    }
};

// Every field of the node data: whatever the first node wrote is carried unchanged.
void add_node(Hasher& h, const IoamNode& n) noexcept {
    h.add(n.hop_limit).add(n.node_id).add(n.ingress_if_id).add(n.egress_if_id);
    h.add(n.timestamp_secs).add(n.timestamp_frac).add(n.transit_delay).add(n.namespace_data);
    h.add(n.queue_depth).add(n.checksum_complement).add(n.hop_limit_wide).add(n.node_id_wide);
    h.add(n.ingress_if_id_wide).add(n.egress_if_id_wide).add(n.namespace_data_wide);
    h.add(n.buffer_occupancy);
    if (n.opaque_state) {
        h.add(std::uint64_t{n.opaque_state->schema_id} + 1);
        for (std::uint8_t b : n.opaque_state->data) {
            h.add(b);
        }
    }
}

std::uint64_t trace_key(const IoamTrace& t) noexcept {
    Hasher h(kTraceKey);
    h.add(t.namespace_id).add(t.trace_type).add(t.node_len);
    add_node(h, t.nodes.back());
    return h.done();
}

std::uint64_t dex_key(const DexReport& d) noexcept {
    return Hasher(kDexKey).add(d.namespace_id).add(*d.flow_id).add(*d.sequence_number).done();
}

std::uint64_t path_start(std::uint16_t ns, std::uint64_t node) noexcept {
    return Hasher(kPath).add(ns).add(node).done();
}

std::uint64_t path_next(std::uint64_t chain, std::uint64_t node) noexcept {
    return Hasher(kPath).add(chain).add(node).done();
}

std::uint64_t node_key(std::uint16_t ns, std::uint64_t node) noexcept {
    return Hasher(kNode).add(ns).add(node).done();
}

std::uint64_t identity(const IoamNode& n) noexcept {
    return analysis::node_identity(n).value_or(kUnknownNode);
}

// Hash -> value, open addressing with linear probing and backward-shift deletion: one cache
// line per lookup where a node-based map costs two misses and an allocation per entry. Keys
// are hashes already; key 0 marks a free cell, so it is stored as 1. A pointer to a value
// lasts until the next insertion.
template <typename Value>
class FlatTable {
  public:
    FlatTable() : table_(kInitial) {}

    Value* find(std::uint64_t key) noexcept {
        key = key == 0 ? 1 : key;
        for (std::size_t i = key & mask();; i = (i + 1) & mask()) {
            if (table_[i].key == key) {
                return &table_[i].value;
            }
            if (table_[i].key == 0) {
                return nullptr;
            }
        }
    }

    // The value of `key`, inserted as `value` when absent.
    Value& try_emplace(std::uint64_t key, const Value& value) {
        if (Value* v = find(key)) {
            return *v;
        }
        if ((size_ + 1) * 2 > table_.size()) {
            grow();
        }
        ++size_;
        return place(key == 0 ? 1 : key, value);
    }

    void insert_or_assign(std::uint64_t key, const Value& value) {
        try_emplace(key, value) = value;
    }

    void erase(std::uint64_t key) noexcept {
        key = key == 0 ? 1 : key;
        std::size_t i = key & mask();
        while (table_[i].key != key) {
            if (table_[i].key == 0) {
                return;
            }
            i = (i + 1) & mask();
        }
        // Knuth's algorithm R: move back every later entry of the run that may sit at `i`.
        for (std::size_t j = (i + 1) & mask(); table_[j].key != 0; j = (j + 1) & mask()) {
            const std::size_t home = table_[j].key & mask();
            const bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
            if (movable) {
                table_[i] = table_[j];
                i = j;
            }
        }
        table_[i].key = 0;
        --size_;
    }

    std::size_t size() const noexcept { return size_; }
    std::size_t bytes() const noexcept { return table_.size() * sizeof(Entry); }

    // The table outgrows the caches: a batch fetches its keys' cells before it looks them up,
    // so that their misses overlap.
    void prefetch(std::uint64_t key) const noexcept {
        __builtin_prefetch(&table_[(key == 0 ? 1 : key) & mask()]);
    }
    // What the next new key would add (the table doubles at half load).
    std::size_t growth_bytes() const noexcept {
        return (size_ + 1) * 2 > table_.size() ? bytes() : 0;
    }

  private:
    static constexpr std::size_t kInitial = 1024;
    struct Entry {
        std::uint64_t key = 0;
        Value value{};
    };
    std::size_t mask() const noexcept { return table_.size() - 1; }
    Value& place(std::uint64_t key, const Value& value) noexcept {
        std::size_t i = key & mask();
        while (table_[i].key != 0) {
            i = (i + 1) & mask();
        }
        table_[i] = Entry{key, value};
        return table_[i].value;
    }
    void grow() {
        std::vector<Entry> old(table_.size() * 2);
        old.swap(table_);
        for (const Entry& e : old) {
            if (e.key != 0) {
                place(e.key, e.value);
            }
        }
    }

    std::vector<Entry> table_;
    std::size_t size_ = 0;
};

struct Hop {
    PacketHop hop;
    std::uint64_t chain = 0;  // hash of namespace and node ids from the oldest up to this hop
};

struct Slot {
    std::uint64_t key = 0;
    std::uint64_t first_mono = 0;
    std::uint64_t first_obs = 0;
    std::uint64_t last_obs = 0;
    std::uint32_t prev = kNoSlot;
    std::uint32_t next = kNoSlot;
    std::uint32_t trace_type = 0;
    std::uint32_t reports = 0;
    std::uint16_t ns = 0;
    PacketKind kind = PacketKind::trace;
    std::optional<std::uint32_t> flow;
    std::optional<std::uint32_t> seq;
    double weight = 1.0;
    std::vector<Hop> hops;  // oldest first; capacity kept when the slot is reused
};

struct Timeless {
    std::uint64_t mono = 0;
    std::uint64_t obs = 0;
    std::uint32_t trace_type = 0;
    std::uint16_t ns = 0;
    std::vector<Hop> hops;
};

// Kept free before a report is added: its slot, index entry and up to 16 hops.
constexpr std::size_t kReportBytes = sizeof(Slot) + 16 * sizeof(Hop) + 2 * kMapEntryBytes;

struct PathInfo {
    std::uint64_t next = kUnknownNode;  // the node the latest packet went on to
    bool continued = false;             // some packet went on past this prefix
    bool terminal = false;              // some packet was delivered ending here
};

struct Exporter {
    std::uint64_t last_message = 0;
    std::optional<std::uint64_t> last_loss;
};

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

}  // namespace

std::string_view to_string(IncompleteReason r) noexcept {
    switch (r) {
        case IncompleteReason::none:
            return "none";
        case IncompleteReason::ipfix_loss:
            return "ipfix_loss";
        case IncompleteReason::evicted:
            return "evicted";
        case IncompleteReason::unknown:
            return "unknown";
        case IncompleteReason::exporter_silent:
            return "exporter_silent";
    }
    return "unknown";
}

std::uint64_t steady_now_ns() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

struct Correlator::State {
    State(const CorrelatorConfig& c, std::vector<PacketSink*> s, Clock clk, CorrelatorStats& st)
        : config(c), sinks(std::move(s)), clock(std::move(clk)), stats(st) {}

    const CorrelatorConfig config;
    const std::vector<PacketSink*> sinks;
    const Clock clock;
    CorrelatorStats& stats;

    std::deque<Slot> slots;  // a deque: growing it moves no slot
    std::vector<std::uint32_t> free;
    FlatTable<std::uint32_t> index;  // packet key -> slot, or kClosed
    std::uint32_t head = kNoSlot;    // oldest first report
    std::uint32_t tail = kNoSlot;
    std::size_t open = 0;
    std::size_t hop_bytes = 0;  // capacity of every slot's hop vector
    // Keys of closed packets until a window after their close: late reports are not a new
    // packet.
    std::deque<std::pair<std::uint64_t, std::uint64_t>> closed;
    std::deque<Timeless> timeless;
    std::size_t timeless_bytes = 0;
    FlatTable<PathInfo> paths;               // path_start()/path_next() chain -> what was learned
    FlatTable<std::uint32_t> node_exporter;  // node_key() -> exporter
    std::vector<Exporter> exporters;
    std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> exporter_index;
    std::string name;  // scratch
    std::string last_address;
    std::uint32_t last_domain = 0;
    std::uint32_t last_exporter = kNoExporter;
    // Packets closed and not yet handed to the sinks: [0, closed_packets) of a scratch reused
    // from batch to batch; packet() is the one being built.
    std::vector<Packet> outgoing;
    std::size_t closed_packets = 0;
    static constexpr std::size_t kMaxOutgoing = 256;

    std::vector<std::optional<std::uint64_t>> keys;  // scratch: key_of() of a batch's reports

    Packet& packet() {
        if (closed_packets == outgoing.size()) {
            outgoing.emplace_back();
        }
        return outgoing[closed_packets];
    }

    void flush_packets() {
        if (closed_packets == 0) {
            return;
        }
        const std::span<const Packet> batch(outgoing.data(), closed_packets);
        for (PacketSink* sink : sinks) {
            sink->consume(batch);
        }
        // Counted once the sinks have them: a reader that sees the count sees the packets.
        add_single_writer(stats.packets, closed_packets);
        closed_packets = 0;
    }

    std::size_t bytes() const noexcept {
        return slots.size() * sizeof(Slot) + hop_bytes + index.bytes() +
               closed.size() * sizeof(closed.front()) + timeless_bytes + paths.bytes() +
               node_exporter.bytes() + exporters.size() * (sizeof(Exporter) + 2 * kMapEntryBytes);
    }

    void publish() noexcept {
        stats.pending.store(open + timeless.size(), std::memory_order_relaxed);
        stats.bytes.store(bytes(), std::memory_order_relaxed);
        stats.paths.store(paths.size(), std::memory_order_relaxed);
    }

    std::uint32_t exporter(std::string_view address, std::uint32_t domain) {
        if (last_exporter != kNoExporter && domain == last_domain && address == last_address) {
            return last_exporter;
        }
        name.assign(address);
        name += '/';
        name += std::to_string(domain);
        std::uint32_t idx = kNoExporter;
        if (auto it = exporter_index.find(std::string_view(name)); it != exporter_index.end()) {
            idx = it->second;
        } else if (exporters.size() < config.max_exporters) {
            idx = static_cast<std::uint32_t>(exporters.size());
            exporters.emplace_back();
            exporter_index.emplace(name, idx);
        } else {
            return kNoExporter;
        }
        last_address.assign(address);
        last_domain = domain;
        last_exporter = idx;
        return idx;
    }

    void heard(std::uint32_t exp, std::uint64_t now) {
        if (exp != kNoExporter) {
            exporters[exp].last_message = now;
        }
    }

    // The exporter of a node: the last one that reported a hop list ending at that node.
    void learn_node(std::uint16_t ns, std::uint64_t node, std::uint32_t exp) {
        if (exp == kNoExporter || node == kUnknownNode) {
            return;
        }
        const std::uint64_t k = node_key(ns, node);
        if (std::uint32_t* e = node_exporter.find(k)) {
            *e = exp;
        } else if (node_exporter.size() < config.max_paths) {
            node_exporter.try_emplace(k, exp);
        }
    }

    PathInfo* path(std::uint64_t chain, bool create) {
        if (PathInfo* p = paths.find(chain)) {
            return p;
        }
        if (!create || paths.size() >= config.max_paths) {
            return nullptr;
        }
        return &paths.try_emplace(chain, PathInfo{});
    }

    void learn_continued(std::uint64_t chain, std::uint64_t next) {
        if (PathInfo* p = path(chain, true)) {
            p->continued = true;
            p->next = next;
        }
    }

    // A late report still shows where its path goes: a packet closed before its later
    // reports arrived (evicted, or ended on a path wrongly believed to end there) must not
    // keep the path's end wrong.
    void learn_continuations(const IoamTrace& t) {
        std::uint64_t chain = 0;
        for (std::size_t i = t.nodes.size(); i-- > 0;) {
            const std::uint64_t node = identity(t.nodes[i]);
            if (i + 1 == t.nodes.size()) {
                chain = path_start(t.namespace_id, node);
                continue;
            }
            learn_continued(chain, node);
            chain = path_next(chain, node);
        }
    }

    // Hops `from`..`to` (oldest first) of a trace whose hops 0..from-1 are in `hops` already.
    // Each node's time is computed once: a hop's segment delay takes its upstream's.
    void append_hops(std::vector<Hop>& hops, std::uint16_t ns, std::span<const IoamNode> nodes,
                     std::size_t from, std::size_t to) {
        const auto at = [&](std::size_t j) -> const IoamNode& {
            return nodes[nodes.size() - 1 - j];  // nodes are newest first
        };
        std::optional<std::int64_t> upstream;
        if (from > 0) {
            upstream = analysis::node_time_ns(at(from - 1), config.fraction_unit);
        }
        for (std::size_t j = from; j <= to; ++j) {
            const IoamNode& n = at(j);
            Hop h;
            h.hop.node = identity(n);
            h.hop.time_ns = analysis::node_time_ns(n, config.fraction_unit);
            if (h.hop.time_ns && upstream) {
                h.hop.segment_ns = *h.hop.time_ns - *upstream;
            }
            upstream = h.hop.time_ns;
            h.hop.transit_delay_ns = n.transit_delay;
            h.hop.queue_depth = n.queue_depth;
            if (j == 0) {
                h.chain = path_start(ns, h.hop.node);
            } else {
                h.chain = path_next(hops[j - 1].chain, h.hop.node);
                learn_continued(hops[j - 1].chain, h.hop.node);
            }
            hops.push_back(h);
        }
    }

    void link(std::uint32_t si) {
        Slot& s = slots[si];
        s.prev = tail;
        s.next = kNoSlot;
        if (tail != kNoSlot) {
            slots[tail].next = si;
        } else {
            head = si;
        }
        tail = si;
    }

    void unlink(std::uint32_t si) {
        Slot& s = slots[si];
        (s.prev != kNoSlot ? slots[s.prev].next : head) = s.next;
        (s.next != kNoSlot ? slots[s.next].prev : tail) = s.prev;
    }

    std::uint32_t open_slot(std::uint64_t key, PacketKind kind, std::uint64_t now) {
        make_room(now);
        std::uint32_t si = 0;
        if (!free.empty()) {
            si = free.back();
            free.pop_back();
        } else {
            si = static_cast<std::uint32_t>(slots.size());
            slots.emplace_back();
        }
        Slot& s = slots[si];
        s.key = key;
        s.kind = kind;
        s.first_mono = now;
        s.first_obs = ~std::uint64_t{0};
        s.last_obs = 0;
        s.reports = 0;
        s.weight = 1.0;
        s.flow.reset();
        s.seq.reset();
        s.hops.clear();
        link(si);
        index.insert_or_assign(key, si);
        ++open;
        return si;
    }

    // Keeps the entry and byte bounds: forgets closed keys first (they cost only the
    // detection of late reports), then closes the oldest pending packet or timeless report.
    void make_room(std::uint64_t now) {
        while (open + timeless.size() >= config.max_pending ||
               bytes() + kReportBytes + index.growth_bytes() > config.max_bytes) {
            if (open + timeless.size() < config.max_pending && !closed.empty()) {
                forget_closed();
                add_single_writer(stats.forgotten);
            } else if (head != kNoSlot &&
                       (timeless.empty() || slots[head].first_mono <= timeless.front().mono)) {
                const std::uint32_t victim = head;
                const bool for_bytes = open + timeless.size() < config.max_pending;
                close(victim, now, true);
                if (for_bytes) {  // a reused slot keeps its hops' memory: give it back
                    hop_bytes -= slots[victim].hops.capacity() * sizeof(Hop);
                    std::vector<Hop>().swap(slots[victim].hops);
                }
            } else if (!timeless.empty()) {
                decide_timeless(true);
            } else {
                return;  // only learned state is left, and it is capped by count
            }
        }
    }

    void forget_closed() {
        const std::uint64_t key = closed.front().first;
        closed.pop_front();
        if (const std::uint32_t* v = index.find(key); v != nullptr && *v == kClosed) {
            index.erase(key);
        }
    }

    void expire(std::uint64_t now) {
        const std::uint64_t w = config.window_ns;
        while (head != kNoSlot && slots[head].first_mono + w <= now) {
            close(head, now, false);
        }
        while (!timeless.empty() && timeless.front().mono + w <= now) {
            decide_timeless(false);
        }
        while (!closed.empty() && closed.front().second <= now) {
            forget_closed();
        }
    }

    void emit(PacketKind kind, std::uint16_t ns, std::uint32_t trace_type,
              std::span<const Hop> hops, std::uint64_t first_obs, std::uint64_t last_obs,
              std::uint32_t reports, double weight) {
        Packet& p = packet();
        p.kind = kind;
        p.namespace_id = ns;
        p.trace_type = trace_type;
        p.first_seen_ns = first_obs;
        p.last_seen_ns = last_obs;
        p.hops.clear();
        p.path.clear();
        for (const Hop& h : hops) {
            p.hops.push_back(h.hop);
            if (!p.path.empty()) {
                p.path += ',';
            }
            if (h.hop.node == kUnknownNode) {
                p.path += '?';
            } else {
                char buf[24];
                const auto r = std::to_chars(buf, buf + sizeof buf, h.hop.node);
                p.path.append(buf, r.ptr);
            }
        }
        p.end_to_end_ns.reset();
        if (hops.size() >= 2 && hops.front().hop.time_ns && hops.back().hop.time_ns) {
            p.end_to_end_ns = *hops.back().hop.time_ns - *hops.front().hop.time_ns;
        }
        p.reports = reports;
        p.weight = weight;
        if (++closed_packets == kMaxOutgoing) {
            flush_packets();
        }
    }

    // Where a packet ending at `last` stands: delivered, or lost before the node other packets
    // went on to, or incomplete when that node's exporter lost IPFIX records or went quiet.
    void classify(std::uint16_t ns, std::uint64_t last_chain, std::uint64_t since) {
        Packet& p = packet();
        p.outcome = PacketOutcome::delivered;
        p.incomplete = IncompleteReason::none;
        p.lost_before.reset();
        const PathInfo* info = path(last_chain, false);
        if (info == nullptr || !info->continued) {
            return;
        }
        if (const std::uint32_t* exp = node_exporter.find(node_key(ns, info->next))) {
            const Exporter& e = exporters[*exp];
            // A gap is noticed when the message after the missing one arrives, possibly
            // before this packet's first report: a window of slack on that side.
            if (e.last_loss && *e.last_loss + config.window_ns >= since) {
                p.outcome = PacketOutcome::incomplete;
                p.incomplete = IncompleteReason::ipfix_loss;
                return;
            }
            if (e.last_message < since) {
                p.outcome = PacketOutcome::incomplete;
                p.incomplete = IncompleteReason::exporter_silent;
                return;
            }
        }
        p.outcome = PacketOutcome::lost;
        p.lost_before = info->next;
    }

    void set_evicted() {
        Packet& p = packet();
        p.outcome = PacketOutcome::incomplete;
        p.incomplete = IncompleteReason::evicted;
        p.lost_before.reset();
    }

    // DEX reports carry no path: hops are ordered by node time (arrival order without one).
    // The hops before the last one added are in order already: it moves in front of those it
    // precedes, which is a stable sort without std::stable_sort's buffer allocation.
    void order_dex(Slot& s) {
        const auto precedes = [](const Hop& a, const Hop& b) {
            if (a.hop.time_ns && b.hop.time_ns) {
                return *a.hop.time_ns < *b.hop.time_ns;
            }
            return a.hop.time_ns.has_value() && !b.hop.time_ns.has_value();
        };
        for (std::size_t j = s.hops.size() - 1; j > 0 && precedes(s.hops[j], s.hops[j - 1]); --j) {
            std::swap(s.hops[j], s.hops[j - 1]);
        }
        for (std::size_t j = 0; j < s.hops.size(); ++j) {
            Hop& h = s.hops[j];
            h.hop.segment_ns.reset();
            if (j == 0) {
                h.chain = path_start(s.ns, h.hop.node);
                continue;
            }
            const Hop& up = s.hops[j - 1];
            h.chain = path_next(up.chain, h.hop.node);
            if (h.hop.time_ns && up.hop.time_ns) {
                h.hop.segment_ns = *h.hop.time_ns - *up.hop.time_ns;
            }
        }
    }

    bool ends_on_terminal(const Slot& s) {
        const PathInfo* p = path(s.hops.back().chain, false);
        return p != nullptr && p->terminal && !p->continued;
    }

    void close(std::uint32_t si, std::uint64_t now, bool evicted) {
        Slot& s = slots[si];
        if (evicted) {
            set_evicted();
        } else {
            classify(s.ns, s.hops.back().chain, s.first_mono);
        }
        if (s.kind == PacketKind::dex) {
            for (std::size_t j = 1; j < s.hops.size(); ++j) {
                learn_continued(s.hops[j - 1].chain, s.hops[j].hop.node);
            }
        }
        // An evicted packet teaches it too: without that, a rate that fills the pending table
        // before the first window closes would never learn where its paths end.
        if (PathInfo* p = path(s.hops.back().chain, true); p != nullptr && !p->continued) {
            p->terminal = true;
        }
        packet().flow_id = s.flow;
        packet().sequence = s.seq;
        emit(s.kind, s.ns, s.trace_type, s.hops, s.first_obs, s.last_obs, s.reports, s.weight);
        unlink(si);
        index.insert_or_assign(s.key, kClosed);
        closed.emplace_back(s.key, now + config.window_ns);
        free.push_back(si);
        --open;
    }

    void decide_timeless(bool evicted) {
        Timeless& r = timeless.front();
        Packet& out = packet();
        out.flow_id.reset();
        out.sequence.reset();
        if (evicted) {
            set_evicted();
            emit(PacketKind::trace, r.ns, r.trace_type, r.hops, r.obs, r.obs, 1, 1.0);
        } else if (const PathInfo* p = path(r.hops.back().chain, false);
                   p != nullptr && p->continued) {
            add_single_writer(stats.timeless_prefix);
        } else {
            out.outcome = PacketOutcome::delivered;
            out.incomplete = IncompleteReason::none;
            out.lost_before.reset();
            emit(PacketKind::trace, r.ns, r.trace_type, r.hops, r.obs, r.obs, 1, 1.0);
        }
        timeless_bytes -= sizeof(Timeless) + r.hops.capacity() * sizeof(Hop);
        timeless.pop_front();
    }

    void add_timeless(const IoamTrace& t, std::uint64_t now) {
        make_room(now);
        Timeless r;
        r.mono = now;
        r.obs = t.observation_time_ns;
        r.ns = t.namespace_id;
        r.trace_type = t.trace_type;
        r.hops.reserve(t.nodes.size());
        append_hops(r.hops, r.ns, t.nodes, 0, t.nodes.size() - 1);
        r.hops.back().hop.reported = true;
        timeless_bytes += sizeof(Timeless) + r.hops.capacity() * sizeof(Hop);
        timeless.push_back(std::move(r));
        add_single_writer(stats.reports);
    }

    // The slot of `key`, opened when new; nullopt (counted) when the packet was closed.
    std::optional<std::uint32_t> slot_for(std::uint64_t key, PacketKind kind, std::uint64_t now) {
        if (const std::uint32_t* v = index.find(key)) {
            if (*v == kClosed) {
                add_single_writer(stats.late);
                return std::nullopt;
            }
            return *v;
        }
        return open_slot(key, kind, now);
    }

    // `sample_one_in`: the reporting exporter keeps one packet in N (consistent sampling), so
    // the packet stands for N; with different N on different nodes the largest wins.
    void observe(Slot& s, std::uint64_t obs, std::uint32_t sample_one_in) {
        s.weight = std::max(s.weight, static_cast<double>(sample_one_in));
        s.first_obs = std::min(s.first_obs, obs);
        s.last_obs = std::max(s.last_obs, obs);
        ++s.reports;
        add_single_writer(stats.reports);
    }

    // Traces without timestamps are never looked up by key.
    bool timed(const IoamTrace& t) const {
        return (t.trace_type & kTimestampBits) == kTimestampBits &&
               analysis::node_time_ns(t.nodes.back(), config.fraction_unit);
    }

    // The packet key a report is looked up by, if any.
    std::optional<std::uint64_t> key_of(const IoamTrace& t) const {
        return !t.nodes.empty() && timed(t) ? std::optional(trace_key(t)) : std::nullopt;
    }
    std::optional<std::uint64_t> key_of(const DexReport& d) const {
        return d.flow_id && d.sequence_number ? std::optional(dex_key(d)) : std::nullopt;
    }

    // `key`: key_of(t).
    void on_report(const Origin& o, const IoamTrace& t, std::optional<std::uint64_t> key,
                   std::uint64_t now) {
        if (!t.nodes.empty()) {
            on_trace(o, t, key, now);
        }
    }

    void on_report(const Origin& o, const DexReport& d, std::optional<std::uint64_t> key,
                   std::uint64_t now) {
        on_dex(o, d, key, now);
    }

    void on_trace(const Origin& o, const IoamTrace& t, std::optional<std::uint64_t> key,
                  std::uint64_t now) {
        const std::uint32_t exp = exporter(o.exporter, o.domain);
        heard(exp, now);
        const std::uint64_t reporter = identity(t.nodes.front());
        learn_node(t.namespace_id, reporter, exp);
        if (!key) {
            add_timeless(t, now);
            return;
        }
        const auto found = slot_for(*key, PacketKind::trace, now);
        if (!found) {
            learn_continuations(t);
            return;
        }
        const std::uint32_t si = *found;
        Slot& s = slots[si];
        const std::size_t r = t.nodes.size() - 1;  // the reporter's position, oldest first
        if (s.hops.empty()) {
            s.ns = t.namespace_id;
            s.trace_type = t.trace_type;
        }
        if (s.hops.size() > r) {
            if (s.hops[r].hop.node != reporter) {
                add_single_writer(stats.conflicts);
                return;
            }
            if (s.hops[r].hop.reported) {
                add_single_writer(stats.duplicates);
                return;
            }
        } else {
            if (!s.hops.empty() &&
                identity(t.nodes[r + 1 - s.hops.size()]) != s.hops.back().hop.node) {
                add_single_writer(stats.conflicts);
                return;
            }
            const std::size_t cap = s.hops.capacity();
            append_hops(s.hops, s.ns, t.nodes, s.hops.size(), r);
            hop_bytes += (s.hops.capacity() - cap) * sizeof(Hop);
        }
        s.hops[r].hop.reported = true;
        observe(s, t.observation_time_ns, o.sample_one_in);
        if (r + 1 == s.hops.size() && ends_on_terminal(s)) {
            close(si, now, false);
        }
    }

    void on_dex(const Origin& o, const DexReport& d, std::optional<std::uint64_t> key,
                std::uint64_t now) {
        const std::uint32_t exp = exporter(o.exporter, o.domain);
        heard(exp, now);
        const std::uint64_t node = identity(d.node);
        learn_node(d.namespace_id, node, exp);
        if (!key) {
            add_single_writer(stats.unjoinable);
            return;
        }
        const auto found = slot_for(*key, PacketKind::dex, now);
        if (!found) {
            return;
        }
        const std::uint32_t si = *found;
        Slot& s = slots[si];
        if (s.hops.empty()) {
            s.ns = d.namespace_id;
            s.trace_type = d.trace_type;
            s.flow = d.flow_id;
            s.seq = d.sequence_number;
        }
        for (const Hop& h : s.hops) {
            if (h.hop.node == node) {
                add_single_writer(stats.duplicates);
                return;
            }
        }
        Hop h;
        h.hop.node = node;
        h.hop.time_ns = analysis::node_time_ns(d.node, config.fraction_unit);
        h.hop.transit_delay_ns = d.node.transit_delay;
        h.hop.queue_depth = d.node.queue_depth;
        h.hop.reported = true;
        const std::size_t cap = s.hops.capacity();
        s.hops.push_back(h);
        hop_bytes += (s.hops.capacity() - cap) * sizeof(Hop);
        order_dex(s);
        observe(s, d.observation_time_ns, o.sample_one_in);
        if (ends_on_terminal(s)) {
            close(si, now, false);
        }
    }
};

Correlator::Correlator(const CorrelatorConfig& config, std::vector<TraceSink*> report_sinks,
                       std::vector<PacketSink*> packet_sinks, Clock clock)
    : state_(std::make_unique<State>(config, std::move(packet_sinks), std::move(clock), stats_)),
      report_sinks_(std::move(report_sinks)) {}

Correlator::~Correlator() {
    stop();
}

void Correlator::consume(const Origin& origin, const IoamTrace& trace) {
    join(origin, std::span(&trace, 1));
}

void Correlator::consume(const Origin& origin, const DexReport& report) {
    join(origin, std::span(&report, 1));
}

void Correlator::consume(const Origin& origin, std::span<const IoamTrace> traces) {
    join(origin, traces);
}

void Correlator::consume(const Origin& origin, std::span<const DexReport> reports) {
    join(origin, reports);
}

void Correlator::take(const Origin& origin, std::span<IoamTrace> traces) {
    const std::span<const IoamTrace> reports(traces);
    correlate(origin, reports);
    for (std::size_t i = 0; i + 1 < report_sinks_.size(); ++i) {
        report_sinks_[i]->consume(origin, reports);
    }
    if (!report_sinks_.empty()) {
        report_sinks_.back()->take(origin, traces);
    }
}

template <typename Record>
void Correlator::join(const Origin& origin, std::span<const Record> records) {
    correlate(origin, records);
    for (TraceSink* s : report_sinks_) {
        s->consume(origin, records);
    }
}

template <typename Record>
void Correlator::correlate(const Origin& origin, std::span<const Record> records) {
    std::lock_guard lock(mu_);
    const std::uint64_t now = state_->clock();
    state_->expire(now);
    auto& keys = state_->keys;
    keys.clear();
    for (const Record& r : records) {
        keys.push_back(state_->key_of(r));
        if (keys.back()) {
            state_->index.prefetch(*keys.back());
        }
    }
    for (std::size_t i = 0; i < records.size(); ++i) {
        state_->on_report(origin, records[i], keys[i], now);
    }
    state_->flush_packets();
    state_->publish();
}

void Correlator::on_message(std::string_view exporter, std::uint32_t domain, std::size_t) {
    std::lock_guard lock(mu_);
    state_->heard(state_->exporter(exporter, domain), state_->clock());
}

void Correlator::on_sequence(std::string_view exporter, std::uint32_t domain, std::uint64_t lost,
                             std::uint64_t, std::uint64_t) {
    if (lost == 0) {
        return;
    }
    std::lock_guard lock(mu_);
    if (const std::uint32_t e = state_->exporter(exporter, domain); e != kNoExporter) {
        state_->exporters[e].last_loss = state_->clock();
    }
}

void Correlator::tick() {
    std::lock_guard lock(mu_);
    state_->expire(state_->clock());
    state_->flush_packets();
    state_->publish();
}

void Correlator::start() {
    const auto period = std::chrono::nanoseconds(
        std::max<std::uint64_t>(state_->config.window_ns / 10, std::uint64_t{10'000'000}));
    std::lock_guard lock(ticker_mu_);
    ticker_stop_ = false;
    ticker_ = std::thread([this, period] {
        name_this_thread("ioam-correlate");
        std::unique_lock lk(ticker_mu_);
        while (!ticker_cv_.wait_for(lk, period, [this] { return ticker_stop_; })) {
            lk.unlock();
            tick();
            lk.lock();
        }
    });
}

void Correlator::stop() {
    {
        std::lock_guard lock(ticker_mu_);
        ticker_stop_ = true;
    }
    ticker_cv_.notify_all();
    if (ticker_.joinable()) {
        ticker_.join();
    }
}

}  // namespace ioam::collector::correlate
