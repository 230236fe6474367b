#include "common/ipfix/ioam_elements.hpp"

#include <array>

namespace ioam::ipfix {
namespace {

using enum DataType;

// Semantics and units use the IANA registry spellings (RFC 7012 section 3.2, "IPFIX Information
// Element Units"), which ipfixcol2/libfds accepts as they are.
constexpr std::array kElements = {
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
    ElementSpec{"ioamHopLimit", kPen, 1, 1, unsigned8, "quantity", "hops",
                "Hop_Lim a node recorded (trace type bit 0): the IPv6 Hop Limit of the packet "
                "when that node processed it (RFC 9197 section 4.4.2.1)."},
    ElementSpec{"ioamNodeId", kPen, 2, 3, unsigned32, "identifier", "",
                "24-bit node_id a node recorded (trace type bit 0), unique within the IOAM "
                "namespace (RFC 9197 section 4.4.2.1)."},
    ElementSpec{"ioamIngressIfId", kPen, 3, 2, unsigned16, "identifier", "",
                "16-bit ingress_if_id (trace type bit 1): the interface on which the node "
                "received the packet (RFC 9197 section 4.4.2.2)."},
    ElementSpec{"ioamEgressIfId", kPen, 4, 2, unsigned16, "identifier", "",
                "16-bit egress_if_id (trace type bit 1): the interface through which the node "
                "forwarded the packet (RFC 9197 section 4.4.2.2)."},
    ElementSpec{"ioamTimestampSeconds", kPen, 5, 4, unsigned32, "default", "seconds",
                "Seconds part of the time the node received the packet (trace type bit 2); the "
                "epoch and format are those of the namespace (RFC 9197 sections 4.4.2.3, 5)."},
    ElementSpec{"ioamTimestampFraction", kPen, 6, 4, unsigned32, "default", "",
                "Sub-second part of the reception time (trace type bit 3): nanoseconds for PTP, "
                "microseconds for POSIX, a binary fraction for NTP timestamps, as the namespace "
                "defines (RFC 9197 sections 4.4.2.4, 5); Linux writes microseconds."},
    ElementSpec{"ioamNamespaceData", kPen, 7, 4, unsigned32, "default", "",
                "4-octet namespace-specific data (trace type bit 5), opaque outside the "
                "namespace (RFC 9197 section 4.4.2.6)."},
    ElementSpec{"ioamQueueDepth", kPen, 8, 4, unsigned32, "quantity", "",
                "Current length of the egress interface queue (trace type bit 6, RFC 9197 "
                "section 4.4.2.7); Linux writes the egress qdisc backlog in octets."},
    ElementSpec{"ioamNodeIdWide", kPen, 9, 7, unsigned64, "identifier", "",
                "56-bit wide node_id (trace type bit 8, RFC 9197 section 4.4.2.9)."},
    ElementSpec{"ioamIngressIfIdWide", kPen, 10, 4, unsigned32, "identifier", "",
                "32-bit wide ingress_if_id (trace type bit 9, RFC 9197 section 4.4.2.10)."},
    ElementSpec{"ioamEgressIfIdWide", kPen, 11, 4, unsigned32, "identifier", "",
                "32-bit wide egress_if_id (trace type bit 9, RFC 9197 section 4.4.2.10)."},
    ElementSpec{"ioamNamespaceDataWide", kPen, 12, 8, unsigned64, "default", "",
                "8-octet namespace-specific data (trace type bit 10, RFC 9197 section "
                "4.4.2.11)."},
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
    ElementSpec{"ioamTransitDelay", kPen, 17, 4, unsigned32, "quantity", "nanoseconds",
                "Time the packet spent in the node, from reception to transmission (trace type "
                "bit 4, RFC 9197 section 4.4.2.5); the most significant bit flags an overflow."},
    ElementSpec{"ioamChecksumComplement", kPen, 18, 4, unsigned32, "default", "",
                "Checksum Complement (trace type bit 7, RFC 9197 section 4.4.2.8): a value the "
                "node wrote to keep an upper-layer checksum valid, meaningless on its own."},
    ElementSpec{"ioamBufferOccupancy", kPen, 19, 4, unsigned32, "quantity", "",
                "Occupancy of the buffer pool shared by the node's queues (trace type bit 11, "
                "RFC 9197 section 4.4.2.13); units are implementation specific."},
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
    ElementSpec{"ioamHopLimitWide", kPen, 28, 1, unsigned8, "quantity", "hops",
                "Hop_Lim a node recorded with its wide node id (trace type bit 8, RFC 9197 "
                "section 4.4.2.9)."},
};

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
