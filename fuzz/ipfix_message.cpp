// IPFIX messages through the collector's ingest path: IpfixParser + IpfixProcessor +
// RecordDecoder, with a sink that checks what it is given and discards it.
//
// Input: chunks of [op: u8][length: u16 big-endian][message: length octets]; a short last
// chunk takes what is left. Several messages per input build and use template state. `op`:
//   bits 0-1  the session: 0, 1 two UDP ports of one address, 2 a TCP connection, 3 another
//             address over UDP (with small session limits, a new peer can hit too_many_sessions)
//   bit 2     close the TCP connection and open a new one first (its templates go)
//   bits 3-7  n: the clock moves on n*n*10 s first (up to 2.7 h: UDP template lifetime and
//             session idle time expire), then expire() runs

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "collector/source/ipfix_processor.hpp"
#include "fuzz/check.hpp"
#include "fuzz/ingest.hpp"

namespace {

using namespace ioam;
using collector::source::SessionId;
using collector::source::UdpPeer;

constexpr std::uint64_t kSecond = 1'000'000'000;

void check_node(const IoamNode& n) {
    FUZZ_CHECK(!n.node_id || *n.node_id <= 0xffffffu);
    FUZZ_CHECK(!n.node_id_wide || *n.node_id_wide <= 0xffffffffffffffull);
    if (n.opaque_state) {
        FUZZ_CHECK(n.opaque_state->schema_id <= 0xffffffu);
        FUZZ_CHECK(n.opaque_state->data.size() % 4 == 0);
    }
}

// What the store and metrics would get must be within the IOAM field widths.
class CheckingSink final : public collector::TraceSink {
  public:
    void consume(const collector::Origin&, const IoamTrace& t) override {
        FUZZ_CHECK(t.trace_type <= 0xffffffu);
        for (const auto& n : t.nodes) {
            check_node(n);
        }
    }
    void consume(const collector::Origin&, const DexReport& r) override {
        FUZZ_CHECK(r.trace_type <= 0xffffffu);
        check_node(r.node);
    }
};

collector::source::ProcessorConfig small_limits() {
    collector::source::ProcessorConfig c;
    c.max_sessions = 3;
    c.max_domains_per_session = 4;
    c.max_templates_per_domain = 16;
    c.max_template_fields = 64;
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static CheckingSink sink;
    const auto config = small_limits();
    fuzz::Ingest ingest(config, {&sink});
    auto& proc = ingest.processor;

    UdpPeer a{};
    a.address = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    a.port = 4000;
    UdpPeer b = a;
    b.port = 4001;
    UdpPeer c = a;
    c.address[15] = 2;
    std::optional<SessionId> tcp = proc.open_tcp("192.0.2.1", 5000);
    std::uint64_t now = 1'700'000'000 * kSecond;

    std::span<const std::uint8_t> in(data, size);
    while (in.size() >= 3) {
        const std::uint8_t op = in[0];
        const std::size_t len = std::min<std::size_t>((in[1] << 8) | in[2], in.size() - 3);
        const auto message = in.subspan(3, len);
        in = in.subspan(3 + len);

        const std::uint64_t n = op >> 3;
        if (n > 0) {
            now += n * n * 10 * kSecond;
            proc.expire(now);
        }
        if ((op & 4) != 0 && tcp) {
            proc.close_session(*tcp, now);
            tcp = proc.open_tcp("192.0.2.1", 5000);
        }
        switch (op & 3) {
            case 0:
                proc.process_udp(a, "192.0.2.1", message, now);
                break;
            case 1:
                proc.process_udp(b, "192.0.2.1", message, now);
                break;
            case 2:
                if (tcp) {
                    proc.process(*tcp, message, now);
                }
                break;
            default:
                proc.process_udp(c, "192.0.2.2", message, now);
                break;
        }
    }

    std::size_t live = 0;
    for (const auto& e : proc.exporters()) {
        FUZZ_CHECK(e.templates <= config.max_templates_per_domain);
        live += e.ended_ns == 0 ? 1 : 0;
    }
    FUZZ_CHECK(live <= config.max_sessions * config.max_domains_per_session);
    const auto counts = proc.session_counts();
    FUZZ_CHECK(counts.udp + counts.tcp <= config.max_sessions);
    return 0;
}
