// ioam-replay-record: writes a recorded IPFIX stream (bench/replay/recording.hpp) built by the
// exporter's libfixbuf RecordBuilder: packets crossing a 4-hop path (trace records of a few
// trace types, reported by the last node with every hop) and IOAM DEX reports of the same
// packets from every node. Deterministic: the same options give the same file.

#include <CLI/CLI.hpp>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/replay/recording.hpp"
#include "common/ioam/node_data.hpp"
#include "common/ioam/trace_type.hpp"
#include "exporter/record/record_builder.hpp"

namespace ioam::bench::replay {
namespace {

namespace tt = ioam::trace_type;

// Hop limit + id, interfaces, timestamp seconds and fraction; then with transit delay; then
// also namespace data and queue depth.
constexpr std::array<std::uint32_t, 3> kTraceTypes = {0xf00000, 0xf80000, 0xfe0000};
constexpr std::uint32_t kDexTraceType = 0xf80000;
constexpr std::size_t kHops = 4;
constexpr std::uint16_t kNamespace = 123;
constexpr std::uint32_t kDomain = 1;
constexpr std::uint64_t kStartNs = 1'795'478'400'000'000'000;  // 2026-11-24T00:00:00Z
constexpr std::uint32_t kFlows = 8;

// Deterministic jitter (numerical recipes LCG): the file must not change between runs.
class Lcg {
  public:
    std::uint32_t next(std::uint32_t bound) {
        state_ = state_ * 1664525u + 1013904223u;
        return (state_ >> 8) % bound;
    }

  private:
    std::uint32_t state_ = 12345;
};

// What node `hop` (0 = first on the path) writes for `type` at `at_ns` after `delay_ns` in it.
IoamNode node_data(std::uint32_t type, std::size_t hop, std::uint64_t at_ns, std::uint32_t delay_ns,
                   std::uint32_t queue) {
    IoamNode n;
    if (type & tt::bit(0)) {
        n.hop_limit = static_cast<std::uint8_t>(64 - hop);
        n.node_id = static_cast<std::uint32_t>(hop + 1);
    }
    if (type & tt::bit(1)) {
        n.ingress_if_id = static_cast<std::uint16_t>(10 * (hop + 1) + 1);
        n.egress_if_id = static_cast<std::uint16_t>(10 * (hop + 1) + 2);
    }
    if (type & tt::bit(2)) {
        n.timestamp_secs = static_cast<std::uint32_t>(at_ns / 1'000'000'000);
    }
    if (type & tt::bit(3)) {
        n.timestamp_frac = static_cast<std::uint32_t>(at_ns % 1'000'000'000 / 1000);  // us
    }
    if (type & tt::bit(4)) {
        n.transit_delay = delay_ns;
    }
    if (type & tt::bit(5)) {
        n.namespace_data = 0xabcd0000u + static_cast<std::uint32_t>(hop);
    }
    if (type & tt::bit(6)) {
        n.queue_depth = queue;
    }
    return n;
}

struct Hop {
    std::uint64_t at_ns;
    std::uint32_t delay_ns;
    std::uint32_t queue;
};

// One packet's timing: link delays of 20-220 us, node transit delays of 1-50 us.
std::array<Hop, kHops> walk(std::uint64_t start_ns, Lcg& rng) {
    std::array<Hop, kHops> hops{};
    std::uint64_t t = start_ns;
    for (Hop& h : hops) {
        h.at_ns = t;
        h.delay_ns = 1000 + rng.next(49'000);
        h.queue = rng.next(64);
        t += h.delay_ns + 20'000 + rng.next(200'000);
    }
    return hops;
}

IoamTrace trace_of(std::uint32_t type, const std::array<Hop, kHops>& hops) {
    IoamTrace t;
    t.observation_time_ns = hops.back().at_ns;
    t.observation_domain = kDomain;
    t.namespace_id = kNamespace;
    t.trace_type = type;
    t.node_len = tt::node_len(type);
    for (std::size_t i = kHops; i-- > 0;) {  // newest node first
        t.nodes.push_back(node_data(type, i, hops[i].at_ns, hops[i].delay_ns, hops[i].queue));
        if (!encode_node(type, t.nodes.back(), t.raw_data)) {
            throw std::runtime_error("encode_node failed");
        }
    }
    return t;
}

DexReport dex_of(std::size_t hop, const Hop& h, std::uint32_t flow, std::uint32_t sequence) {
    DexReport d;
    d.observation_time_ns = h.at_ns;
    d.observation_domain = kDomain;
    d.namespace_id = kNamespace;
    d.ext_flags = 0xc0;  // flow id and sequence number present
    d.trace_type = kDexTraceType;
    d.flow_id = flow;
    d.sequence_number = sequence;
    d.node = node_data(kDexTraceType, hop, h.at_ns, h.delay_ns, h.queue);
    return d;
}

void check(Status s, const char* what) {
    if (!s) {
        throw std::runtime_error(std::string(what) + ": " + std::string(to_string(s.error())));
    }
}

int run(const std::string& out_path, std::uint32_t packets, std::uint32_t dex_every) {
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw std::runtime_error("cannot write " + out_path);
    }
    exporter::record::RecordOptions options;
    options.observation_domain = kDomain;
    std::uint64_t now_ns = kStartNs;
    std::vector<std::uint8_t> message;
    // libfixbuf stamps the wall clock; the recording's clock keeps the file reproducible.
    exporter::record::RecordBuilder builder(options, [&](std::span<const std::uint8_t> m) {
        message.assign(m.begin(), m.end());
        write_u32(message, kExportTimeOffset, static_cast<std::uint32_t>(now_ns / 1'000'000'000));
        out.write(reinterpret_cast<const char*>(message.data()),
                  static_cast<std::streamsize>(message.size()));
    });
    Lcg rng;
    std::array<std::uint32_t, kFlows> flow_sequence{};
    for (std::uint32_t p = 0; p < packets; ++p) {
        now_ns = kStartNs + std::uint64_t{p} * 100'000;  // 10 k packets/s
        const auto hops = walk(now_ns, rng);
        check(builder.add(trace_of(kTraceTypes[p % kTraceTypes.size()], hops)), "trace");
        if (dex_every != 0 && p % dex_every == 0) {
            const std::uint32_t flow = p / dex_every % kFlows;
            const std::uint32_t sequence = flow_sequence[flow]++;
            for (std::size_t i = 0; i < kHops; ++i) {
                check(builder.add(dex_of(i, hops[i], 1000 + flow, sequence)), "dex");
            }
        }
    }
    // The closing template refresh: its sequence number is the file's record count.
    check(builder.flush(), "flush");
    check(builder.export_templates(), "templates");
    check(builder.flush(), "flush");
    out.close();
    if (!out) {
        throw std::runtime_error("write failed: " + out_path);
    }
    const auto& s = builder.stats();
    std::cout << "records=" << s.records << " messages=" << s.messages << " octets=" << s.octets
              << '\n';
    const auto check_back = load_recording(out_path);
    if (!check_back || check_back->records != s.records) {
        throw std::runtime_error("the written recording does not parse back");
    }
    return 0;
}

}  // namespace
}  // namespace ioam::bench::replay

int main(int argc, char** argv) {
    CLI::App app{"ioam-replay-record: write a recorded IOAM IPFIX stream for ioam-replay"};
    std::string out;
    std::uint32_t packets = 2000;
    std::uint32_t dex_every = 4;
    app.add_option("-o,--out", out, "output file")->required();
    app.add_option("--packets", packets, "packets crossing the 4-hop path (one trace each)");
    app.add_option("--dex-every", dex_every, "every Nth packet is also DEX-reported by each node")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        return ioam::bench::replay::run(out, packets, dex_every);
    } catch (const std::exception& e) {
        std::cerr << "ioam-replay-record: " << e.what() << '\n';
        return 1;
    }
}
