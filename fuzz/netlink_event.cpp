// Kernel IOAM6 generic netlink events (nlmsghdr, genlmsghdr, attributes) through the exporter's
// event decoder. The input is one netlink message as the socket delivers it.
//
// Checks: decoded values fit their IOAM fields, and decoding into an Event that holds the
// previous input's result (as the exporter reuses one) gives what a fresh Event gets, so no
// stale node or opaque data leaks from one event into the next.

#include <cstddef>
#include <cstdint>
#include <span>

#include "exporter/decode/event_decoder.hpp"
#include "fuzz/check.hpp"

namespace {

using namespace ioam;

void check_node(const IoamNode& n) {
    FUZZ_CHECK(!n.node_id || *n.node_id <= 0xffffffu);
    FUZZ_CHECK(!n.node_id_wide || *n.node_id_wide <= 0xffffffffffffffull);
    if (n.opaque_state) {
        FUZZ_CHECK(n.opaque_state->schema_id <= 0xffffffu);
        FUZZ_CHECK(n.opaque_state->data.size() % 4 == 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static exporter::decode::Event reused;
    const std::span<const std::uint8_t> msg(data, size);
    const exporter::decode::Context ctx{1'700'000'000'000'000'000ull, 7};

    const auto reused_status = exporter::decode::decode_event(msg, ctx, reused);
    exporter::decode::Event fresh;
    const auto fresh_status = exporter::decode::decode_event(msg, ctx, fresh);
    FUZZ_CHECK(reused_status.ok() == fresh_status.ok());
    if (!fresh_status.ok()) {
        FUZZ_CHECK(reused_status.error() == fresh_status.error());
        return 0;
    }
    FUZZ_CHECK(reused == fresh);
    if (const auto* t = std::get_if<IoamTrace>(&fresh)) {
        FUZZ_CHECK(t->trace_type <= 0xffffffu);
        FUZZ_CHECK(t->observation_domain == ctx.observation_domain);
        for (const auto& n : t->nodes) {
            check_node(n);
        }
    } else {
        const auto& r = std::get<DexReport>(fresh);
        FUZZ_CHECK(r.trace_type <= 0xffffffu);
        check_node(r.node);
    }
    return 0;
}
