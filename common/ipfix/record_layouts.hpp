#pragma once
// Record layouts ("templates") of the project's IPFIX messages and the mapping between the
// model types and element values. Pure: no libfixbuf here (common/ipfix/fixbuf/ binds these to
// fbTemplate_t), so exporter, collector and tests share one definition.
//
// Layouts
//   trace record  observationTimeNanoseconds, observationDomainId, ioamNamespaceId,
//                 ioamTraceType, ioamNodeLength, ioamTraceFlags, ioamHopCount, ioamTraceData
//                 [, subTemplateList of hop records]
//   hop record    the per-node fields of the trace type, in trace-type bit order (hop_fields)
//   DEX record    observationTimeNanoseconds, observationDomainId, ioamNamespaceId,
//                 ioamDexFlowId, ioamDexSequenceNumber, ioamDexFlags, ioamDexExtFlags,
//                 ioamTraceType, then hop_fields(trace type) of the reporting node
//   sampling      options record, scope observationDomainId: samplingPacketInterval,
//                 samplingPacketSpace (sent only under --sample 1/N with N > 1)
// Only trace-type bits 0-11 and 22 change a layout: undefined bits 12-21 carry no per-node
// element (their octets stay in ioamTraceData), bit 23 is reserved.
//
// Template ids (deterministic, so exporter restarts and several exporters agree; all >= 256):
//   256                        trace record without hops
//   257                        trace record with a subTemplateList of hops
//   258                        sampling options record
//   0x1000 + layout_key(type)  hop record            (4096 .. 12287)
//   0x4000 + layout_key(type)  DEX record            (16384 .. 24575)
// layout_key() packs bits 0-11 and 22 of the trace type into 13 bits. Collectors must not rely
// on these ids (RFC 7011 scopes ids to the session): they describe records by their fields.
//
// Values: integer elements travel in their encoded (possibly reduced) length. An absent model
// field (RFC 9197 "unavailable") travels as all ones of that length, and all ones maps back to
// absent. The DEX Flow ID and Sequence Number travel as all ones when absent, but their
// presence on decode follows ioamDexExtFlags, so a real all-ones value survives.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/ipfix/ioam_elements.hpp"
#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam::ipfix {

using Layout = std::vector<const ElementSpec*>;

inline constexpr std::uint16_t kTraceTemplateId = 256;
inline constexpr std::uint16_t kTraceWithHopsTemplateId = 257;
inline constexpr std::uint16_t kSamplingTemplateId = 258;
inline constexpr std::uint16_t kSamplingScopeCount = 1;  // observationDomainId
inline constexpr std::uint16_t kHopTemplateBase = 0x1000;
inline constexpr std::uint16_t kDexTemplateBase = 0x4000;

// Trace-type bits that change a layout: 0-11 and 22.
inline constexpr std::uint32_t kLayoutBitsMask = 0xfff002u;

// 13-bit key of the layout of `trace_type`: RFC bits 0-11 -> key bits 12..1, bit 22 -> bit 0.
std::uint16_t layout_key(std::uint32_t trace_type) noexcept;
std::uint16_t hop_template_id(std::uint32_t trace_type) noexcept;
std::uint16_t dex_template_id(std::uint32_t trace_type) noexcept;

// Per-node fields present for `trace_type`, in bit order: bit 0 ioamHopLimit, ioamNodeId;
// 1 ioamIngressIfId, ioamEgressIfId; 2 ioamTimestampSeconds; 3 ioamTimestampFraction;
// 4 ioamTransitDelay; 5 ioamNamespaceData; 6 ioamQueueDepth; 7 ioamChecksumComplement;
// 8 ioamHopLimitWide, ioamNodeIdWide; 9 ioamIngressIfIdWide, ioamEgressIfIdWide;
// 10 ioamNamespaceDataWide; 11 ioamBufferOccupancy; 22 ioamOpaqueSchemaId, ioamOpaqueData.
Layout hop_fields(std::uint32_t trace_type);
Layout trace_record_fields(bool with_hops);
Layout dex_record_fields(std::uint32_t trace_type);
Layout sampling_options_fields();

// All ones in `length` octets (1..8): the value of an unavailable field.
constexpr std::uint64_t all_ones(std::uint16_t length) noexcept {
    return length >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * length)) - 1;
}

// dateTimeNanoseconds values (RFC 7011 section 6.1.10) are NTP timestamps: seconds since 1900
// in the high 32 bits, a binary fraction of a second in the low 32; libfixbuf transcodes them
// as plain 64-bit integers, so records hold this form. Every nanosecond count from 1970 to 2104
// round-trips exactly; the era is taken as RFC 4330 section 3 does (MSB clear: after 2036).
std::uint64_t unix_ns_to_ntp(std::uint64_t unix_ns) noexcept;
std::uint64_t ntp_to_unix_ns(std::uint64_t ntp) noexcept;

// A reader of one integer element of `Record` (IoamNode, IoamTrace or DexReport), resolved
// once per layout so that encoders reading every field of every record do not search the
// element table each time. Reads give what node_value / trace_value / dex_value give; an
// empty accessor (not an integer element of that record kind) reads Errc::invalid_argument.
template <typename Record>
class Accessor {
  public:
    using Read = std::optional<std::uint64_t> (*)(const Record&) noexcept;  // nullopt: absent
    Accessor() = default;
    Accessor(const ElementSpec& e, Read read) noexcept : ones_(all_ones(e.length)), read_(read) {}

    explicit operator bool() const noexcept { return read_ != nullptr; }
    Result<std::uint64_t> operator()(const Record& r) const noexcept {
        std::uint64_t v = 0;
        if (!read(r, v)) {
            return read_ == nullptr ? Errc::invalid_argument : Errc::too_large;
        }
        return v;
    }
    // The same without building a Result, for encoders' inner loops: false on an error,
    // which operator() then tells.
    bool read(const Record& r, std::uint64_t& out) const noexcept {
        if (read_ == nullptr) {
            return false;
        }
        const auto v = read_(r);
        out = v ? *v : ones_;
        return out <= ones_;
    }

  private:
    std::uint64_t ones_ = 0;
    Read read_ = nullptr;
};

Accessor<IoamNode> node_accessor(const ElementSpec& e) noexcept;
Accessor<IoamTrace> trace_accessor(const ElementSpec& e) noexcept;
Accessor<DexReport> dex_accessor(const ElementSpec& e) noexcept;

// Integer element values (observationTimeNanoseconds in NTP form, see above). Getters return all
// ones for an absent field, and Errc::too_large when a present value does not fit the element's
// encoded length; setters store all ones as absent. Errc::invalid_argument when `e` is not an
// integer element of that record kind. ioamOpaqueSchemaId all ones means "no snapshot": setting it
// removes opaque_state, any other value creates it (set it before ioamOpaqueData, as the layout
// orders them).
Result<std::uint64_t> node_value(const IoamNode& node, const ElementSpec& e) noexcept;
Status set_node_value(IoamNode& node, const ElementSpec& e, std::uint64_t value) noexcept;

// ioamOpaqueData: empty when there is no snapshot. Setting non-empty data without a snapshot
// (schema id all ones) is Errc::invalid_argument.
std::span<const std::uint8_t> node_opaque_data(const IoamNode& node) noexcept;
Status set_node_opaque_data(IoamNode& node, std::span<const std::uint8_t> data);

// Trace record integers. ioamHopCount reads nodes.size() (or, with no decoded nodes, the
// number of whole nodes in raw_data when there is no opaque state); setting it is accepted and
// ignored, since the nodes themselves carry the count. ioamTraceData is IoamTrace::raw_data.
Result<std::uint64_t> trace_value(const IoamTrace& trace, const ElementSpec& e) noexcept;
Status set_trace_value(IoamTrace& trace, const ElementSpec& e, std::uint64_t value) noexcept;

// DEX record integers, including the node's own fields (delegated to node_value). Setting
// ioamDexExtFlags clears flow_id / sequence_number whose flag is clear, so set fields in
// layout order.
Result<std::uint64_t> dex_value(const DexReport& dex, const ElementSpec& e) noexcept;
Status set_dex_value(DexReport& dex, const ElementSpec& e, std::uint64_t value) noexcept;

}  // namespace ioam::ipfix
