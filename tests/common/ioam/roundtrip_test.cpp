// Property: random valid traces -> PTO in a Hop-by-Hop header -> parse -> decode -> equal.
// Seeded, so every run checks the same few thousand cases.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "common/ioam/node_data.hpp"
#include "common/ioam/options.hpp"
#include "common/ioam/trace_type.hpp"
#include "tests/common/ioam/test_util.hpp"

namespace ioam {
namespace {

using test::outcome;
using trace_type::bit;

constexpr std::uint64_t kSeed = 0x10a3'2026;
constexpr int kIterations = 3000;

class Generator {
  public:
    explicit Generator(std::uint64_t seed) : rng_(seed) {}

    std::uint64_t below(std::uint64_t n) { return rng_() % n; }
    bool chance(unsigned one_in) { return below(one_in) == 0; }

    // Mostly defined bits; now and then an undefined bit or the reserved bit, which
    // transit nodes fill (all ones) or ignore.
    std::uint32_t trace_type() {
        auto type = static_cast<std::uint32_t>(rng_()) & trace_type::kDefinedMask;
        if (chance(8)) {
            type |= bit(12 + static_cast<unsigned>(below(10)));
        }
        if (chance(8)) {
            type |= trace_type::kReservedMask;
        }
        return type;
    }

    // A value of `bits` bits that is not all ones (that would read back as absent), or absent.
    template <typename T>
    std::optional<T> field(unsigned bits, std::uint32_t type, unsigned b) {
        if ((type & bit(b)) == 0 || chance(4)) {
            return std::nullopt;
        }
        const std::uint64_t all = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
        return static_cast<T>(rng_() % all);
    }

    template <typename T>
    std::optional<T> always(std::uint32_t type, unsigned b) {
        return (type & bit(b)) == 0 ? std::nullopt : std::optional<T>(static_cast<T>(rng_()));
    }

    IoamNode node(std::uint32_t type) {
        IoamNode n;
        n.hop_limit = always<std::uint8_t>(type, 0);
        n.node_id = field<std::uint32_t>(24, type, 0);
        n.ingress_if_id = field<std::uint16_t>(16, type, 1);
        n.egress_if_id = field<std::uint16_t>(16, type, 1);
        n.timestamp_secs = field<std::uint32_t>(32, type, 2);
        n.timestamp_frac = field<std::uint32_t>(32, type, 3);
        n.transit_delay = field<std::uint32_t>(32, type, 4);
        n.namespace_data = field<std::uint32_t>(32, type, 5);
        n.queue_depth = field<std::uint32_t>(32, type, 6);
        n.checksum_complement = field<std::uint32_t>(32, type, 7);
        n.hop_limit_wide = always<std::uint8_t>(type, 8);
        n.node_id_wide = field<std::uint64_t>(56, type, 8);
        n.ingress_if_id_wide = field<std::uint32_t>(32, type, 9);
        n.egress_if_id_wide = field<std::uint32_t>(32, type, 9);
        n.namespace_data_wide = field<std::uint64_t>(64, type, 10);
        n.buffer_occupancy = field<std::uint32_t>(32, type, 11);
        if (auto schema = field<std::uint32_t>(24, type, 22)) {
            std::vector<std::uint8_t> data(4 * below(4));
            for (auto& octet : data) {
                octet = static_cast<std::uint8_t>(rng_());
            }
            n.opaque_state = OpaqueState{*schema, std::move(data)};
        }
        return n;
    }

    DexOption dex() {
        DexOption d;
        d.namespace_id = static_cast<std::uint16_t>(rng_());
        d.flags = static_cast<std::uint8_t>(rng_());
        d.trace_type = trace_type();
        if (chance(2)) {
            d.flow_id = static_cast<std::uint32_t>(rng_());
            d.ext_flags |= kDexExtFlowId;
        }
        if (chance(2)) {
            d.sequence_number = static_cast<std::uint32_t>(rng_());
            d.ext_flags |= kDexExtSequence;
        }
        return d;
    }

  private:
    std::mt19937_64 rng_;
};

struct Case {
    PtoOption pto;
    std::vector<IoamNode> nodes;  // newest first
    std::vector<IoamOption> options;
};

// Nodes filled from the end of the pre-allocated space, newest first, with free space left
// at the front as RemainingLen says.
Case make_case(Generator& g) {
    Case c;
    c.pto.namespace_id = static_cast<std::uint16_t>(g.below(0x10000));
    c.pto.flags = static_cast<std::uint8_t>(g.below(16));
    c.pto.trace_type = g.trace_type();
    c.pto.node_len = trace_type::node_len(c.pto.trace_type);
    std::vector<std::uint8_t> filled;
    const auto wanted = g.below(6);
    for (std::uint64_t i = 0; i < wanted; ++i) {
        IoamNode n = g.node(c.pto.trace_type);
        std::vector<std::uint8_t> wire;
        EXPECT_EQ(outcome(encode_node(c.pto.trace_type, n, wire)), "ok");
        if (filled.size() + wire.size() > kMaxTraceDataOctets) {
            break;
        }
        filled.insert(filled.end(), wire.begin(), wire.end());
        c.nodes.push_back(std::move(n));
    }
    c.pto.remaining_len =
        static_cast<std::uint8_t>(g.below((kMaxTraceDataOctets - filled.size()) / 4 + 1));
    c.pto.data.assign(std::size_t{c.pto.remaining_len} * 4, 0);
    c.pto.data.insert(c.pto.data.end(), filled.begin(), filled.end());
    if (g.chance(3)) {
        c.options.emplace_back(g.dex());
    }
    c.options.emplace_back(c.pto);
    if (g.chance(3)) {
        c.options.emplace_back(g.dex());
    }
    return c;
}

void check_round_trip(const Case& c, std::uint8_t next_header) {
    auto hbh = build_hop_by_hop(next_header, c.options);
    ASSERT_EQ(outcome(hbh), "ok");
    auto parsed = parse_hop_by_hop(*hbh);
    ASSERT_EQ(outcome(parsed), "ok");
    EXPECT_EQ(parsed->next_header, next_header);
    ASSERT_EQ(parsed->options, c.options);

    const PtoOption* pto = nullptr;
    for (const auto& option : parsed->options) {
        if (const auto* p = std::get_if<PtoOption>(&option)) {
            pto = p;
        }
    }
    ASSERT_NE(pto, nullptr);
    auto nodes = decode_trace_data(pto->trace_type, pto->node_len, filled_data(*pto));
    ASSERT_EQ(outcome(nodes), "ok");
    EXPECT_EQ(*nodes, c.nodes);
}

TEST(RoundTrip, RandomTracesThroughHopByHop) {
    Generator g(kSeed);
    std::size_t nodes_seen = 0;
    for (int i = 0; i < kIterations; ++i) {
        SCOPED_TRACE("iteration " + std::to_string(i));
        const Case c = make_case(g);
        check_round_trip(c, static_cast<std::uint8_t>(g.below(256)));
        if (HasFailure()) {
            return;  // one failing case is enough to read
        }
        nodes_seen += c.nodes.size();
    }
    // The generator must actually exercise multi-node traces.
    EXPECT_GT(nodes_seen, static_cast<std::size_t>(kIterations));
}

}  // namespace
}  // namespace ioam
