#pragma once
// Contract 1: the value types every stage of both binaries exchanges.
// Plain data, no behaviour; an absent optional is an "unavailable" (all-ones) field of
// RFC 9197, never a number.

#include <cstdint>
#include <optional>
#include <vector>

namespace ioam {

// RFC 9197 section 4.4.2.12: Opaque State Snapshot.
struct OpaqueState {
    std::uint32_t schema_id = 0;     // 24 bits
    std::vector<std::uint8_t> data;  // length is a multiple of 4 octets
    bool operator==(const OpaqueState&) const = default;
};

// The data one IOAM node wrote: one element of the node data list (RFC 9197 section 4.4).
struct IoamNode {
    std::optional<std::uint8_t> hop_limit;             // bit 0
    std::optional<std::uint32_t> node_id;              // bit 0, 24 bits
    std::optional<std::uint16_t> ingress_if_id;        // bit 1
    std::optional<std::uint16_t> egress_if_id;         // bit 1
    std::optional<std::uint32_t> timestamp_secs;       // bit 2
    std::optional<std::uint32_t> timestamp_frac;       // bit 3
    std::optional<std::uint32_t> transit_delay;        // bit 4
    std::optional<std::uint32_t> namespace_data;       // bit 5
    std::optional<std::uint32_t> queue_depth;          // bit 6
    std::optional<std::uint32_t> checksum_complement;  // bit 7
    std::optional<std::uint8_t> hop_limit_wide;        // bit 8
    std::optional<std::uint64_t> node_id_wide;         // bit 8, 56 bits
    std::optional<std::uint32_t> ingress_if_id_wide;   // bit 9
    std::optional<std::uint32_t> egress_if_id_wide;    // bit 9
    std::optional<std::uint64_t> namespace_data_wide;  // bit 10
    std::optional<std::uint32_t> buffer_occupancy;     // bit 11
    std::optional<OpaqueState> opaque_state;           // bit 22
    bool operator==(const IoamNode&) const = default;
};

// One Pre-allocated Trace as a node reported it (kernel IOAM6_EVENT_TRACE, or an IPFIX
// trace record on the collector).
struct IoamTrace {
    std::uint64_t observation_time_ns = 0;  // when the reporting node saw it (UNIX epoch)
    std::uint32_t observation_domain = 0;   // IPFIX observation domain of the exporter
    std::uint16_t namespace_id = 0;
    std::uint32_t trace_type = 0;        // 24 bits, RFC 9197 bit 0 = MSB (0x800000)
    std::uint8_t node_len = 0;           // in 4-octet units, opaque state excluded
    std::uint8_t flags = 0;              // PTO flags (bit 0 = overflow), 0 when unknown
    std::vector<std::uint8_t> raw_data;  // filled node data as on the wire, newest first
    std::vector<IoamNode> nodes;         // decoded raw_data, newest node first
    bool operator==(const IoamTrace&) const = default;
};

// One IOAM Direct Exporting report (RFC 9326): the data of the reporting node alone.
struct DexReport {
    std::uint64_t observation_time_ns = 0;
    std::uint32_t observation_domain = 0;
    std::uint16_t namespace_id = 0;
    std::uint8_t flags = 0;
    std::uint8_t ext_flags = 0;    // bit 0 (MSB) flow id, bit 1 sequence number
    std::uint32_t trace_type = 0;  // 24 bits
    std::optional<std::uint32_t> flow_id;
    std::optional<std::uint32_t> sequence_number;
    IoamNode node;
    bool operator==(const DexReport&) const = default;
};

}  // namespace ioam
