#include "common/ipfix/ioam_elements.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "common/ioam/node_fields.hpp"

namespace ioam::ipfix {
namespace {

using enum DataType;

// Semantics and units use the IANA registry spellings (RFC 7012 section 3.2, "IPFIX Information
// Element Units"), which ipfixcol2/libfds accepts as they are. The per-node field elements are
// in the node field table (common/ioam/node_fields.hpp), merged in below.
constexpr std::array kRecordElements = {
    // IANA elements.
    ElementSpec{"observationDomainId", 0, 149, 4, unsigned32, "identifier", "",
                "Identifier of the Observation Domain that observed the IOAM data: one per "
                "exporter instance, so that a collector can tell exporting nodes apart."},
    ElementSpec{"subTemplateList", 0, 292, kVarLen, DataType::subTemplateList, "list", "",
                "RFC 6313 list of the per-node records (one per IOAM node, newest node first) "
                "decoded from the trace data, all of one template."},
    ElementSpec{"samplingPacketInterval", 0, 305, 4, unsigned32, "quantity", "packets",
                "With samplingPacketSpace, the exporter's --sample ratio (RFC 5477 section "
                "8.2.2): this many packets kept out of every interval plus space. Selection "
                "is consistent (a hash of the packet identity), so every node keeps the same "
                "packets; sent in an options record scoped to the observation domain."},
    ElementSpec{"samplingPacketSpace", 0, 306, 4, unsigned32, "quantity", "packets",
                "Packets left out after each samplingPacketInterval kept ones (RFC 5477 "
                "section 8.2.3): --sample 1/N sends interval 1, space N - 1."},
    ElementSpec{"observationTimeNanoseconds", 0, 325, 8, dateTimeNanoseconds, "default",
                "nanoseconds",
                "Time at which the reporting node observed the IOAM packet (kernel event time), "
                "NTP-format timestamp as RFC 7011 section 6.1.10 encodes it."},

    // Enterprise elements, PEN 10383. Ids 0-16 are the reference exporter's.
    ElementSpec{"ioamNamespaceId", kPen, 0, 2, unsigned16, "identifier", "",
                "IOAM-Namespace-ID of the option (RFC 9197 section 4.3): the administrative "
                "scope that gives the namespace-specific fields their meaning."},
    ElementSpec{"ioamOpaqueSchemaId", kPen, 13, 3, unsigned32, "identifier", "",
                "24-bit Schema ID of the Opaque State Snapshot (trace type bit 22): how to "
                "interpret ioamOpaqueData (RFC 9197 section 4.4.2.12)."},
    ElementSpec{"ioamOpaqueData", kPen, 14, kVarLen, octetArray, "default", "",
                "Opaque State Snapshot data (trace type bit 22), a multiple of 4 octets, empty "
                "when the node wrote none (RFC 9197 section 4.4.2.12)."},
    ElementSpec{"ioamDexFlowId", kPen, 15, 4, unsigned32, "identifier", "",
                "IOAM Direct Exporting Flow ID (RFC 9326 section 3.2), present when extension "
                "flag bit 0 is set; correlates the reports of one packet across nodes."},
    ElementSpec{"ioamDexSequenceNumber", kPen, 16, 4, unsigned32, "default", "",
                "IOAM Direct Exporting Sequence Number (RFC 9326 section 3.2), present when "
                "extension flag bit 1 is set: per-flow packet counter, starts at 0, wraps."},
    ElementSpec{"ioamTraceType", kPen, 20, 3, unsigned32, "flags", "",
                "24-bit IOAM-Trace-Type (RFC 9197 section 4.4.1), RFC bit 0 being the most "
                "significant (0x800000): which data fields each node wrote."},
    ElementSpec{"ioamTraceData", kPen, 21, kVarLen, octetArray, "default", "",
                "The filled node data list of the Pre-allocated Trace exactly as on the wire "
                "(newest node first, unavailable fields all ones, opaque snapshots included): "
                "the lossless copy the per-node records are decoded from."},
    ElementSpec{"ioamNodeLength", kPen, 22, 1, unsigned8, "quantity", "4-octet words",
                "NodeLen of the trace option (RFC 9197 section 4.4): length of one node's data "
                "without the Opaque State Snapshot."},
    ElementSpec{"ioamTraceFlags", kPen, 23, 1, unsigned8, "flags", "",
                "Flags of the trace option (RFC 9197 section 4.4; 0x8 = Overflow, the RFC's bit "
                "0), 0 when the reporting node did not supply them."},
    ElementSpec{"ioamOptionType", kPen, 24, 1, unsigned8, "identifier", "",
                "IOAM Option-Type (IANA IOAM Option-Type registry: 0 Pre-allocated Trace, "
                "1 Incremental Trace, 2 Proof of Transit, 3 Edge-to-Edge, 4 Direct Exporting)."},
    ElementSpec{"ioamHopCount", kPen, 25, 1, unsigned8, "quantity", "hops",
                "Number of nodes whose data the trace data holds (filled node data entries)."},
    ElementSpec{"ioamDexFlags", kPen, 26, 1, unsigned8, "flags", "",
                "Flags of the Direct Exporting option (RFC 9326 section 3.2)."},
    ElementSpec{"ioamDexExtFlags", kPen, 27, 1, unsigned8, "flags", "",
                "Extension-Flags of the Direct Exporting option (RFC 9326 section 3.2): 0x80 = "
                "Flow ID present, 0x40 = Sequence Number present."},
};

// IANA elements first, then enterprise ones in id order: the order of the generated docs.
constexpr auto kElements = [] {
    std::array<ElementSpec, kRecordElements.size() + node_fields::kCount> out{};
    auto end = std::copy(kRecordElements.begin(), kRecordElements.end(), out.begin());
    for (const auto& f : node_fields::kInfo) {
        *end++ = f.element;
    }
    std::sort(out.begin(), out.end(), [](const ElementSpec& a, const ElementSpec& b) {
        return std::pair(a.pen != 0, a.id) < std::pair(b.pen != 0, b.id);
    });
    return out;
}();

}  // namespace

std::span<const ElementSpec> elements() noexcept {
    return kElements;
}

const ElementSpec* find(std::string_view name) noexcept {
    for (const auto& e : kElements) {
        if (e.name == name) {
            return &e;
        }
    }
    return nullptr;
}

const ElementSpec* find(std::uint32_t pen, std::uint16_t id) noexcept {
    for (const auto& e : kElements) {
        if (e.pen == pen && e.id == id) {
            return &e;
        }
    }
    return nullptr;
}

std::string_view to_string(DataType t) noexcept {
    switch (t) {
        case unsigned8:
            return "unsigned8";
        case unsigned16:
            return "unsigned16";
        case unsigned32:
            return "unsigned32";
        case unsigned64:
            return "unsigned64";
        case octetArray:
            return "octetArray";
        case dateTimeNanoseconds:
            return "dateTimeNanoseconds";
        case DataType::subTemplateList:
            return "subTemplateList";
    }
    return "unknown";
}

}  // namespace ioam::ipfix
