#pragma once
// IPFIX data records of the project's layouts (common/ipfix/record_layouts.hpp) -> IoamTrace /
// DexReport, recognised by their fields rather than their template ids (ids are scoped to the
// exporter's session). Trace hops come from ioamTraceData when it decodes (lossless: undefined
// bits and opaque snapshots included), else from the RFC 6313 subTemplateList of hop records.
// The reference Go exporter's records (source::is_reference_exporter()) are decoded with its
// quirks undone: one DEX report per record, one trace per data set of per-node records.
//
// Records reach the sinks in batches (TraceSink's span overloads), at the end of each IPFIX
// message (or every kMaxBatch records, or before a sampling options record changes the rate):
// one lock and clock reading per sink for all the data sets of a message. In a batch the
// traces come before the DEX reports, each kind in the order received; the last sink may take
// the traces (TraceSink::take()).
//
// Threading: one instance per ingest thread (it reuses its scratch objects).

#include <atomic>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "collector/decode/trace_sink.hpp"
#include "collector/source/ipfix_processor.hpp"

namespace ioam::collector::decode {

// The element -> role map for templates (source::RoleOf); built from the IE registry by name.
std::uint8_t role_of(std::uint32_t pen, std::uint16_t id) noexcept;

// Written by the ingest thread, readable from any (metrics scrapes).
struct DecoderStats {
    std::atomic<std::uint64_t> traces{0};
    std::atomic<std::uint64_t> dex_reports{0};
    std::atomic<std::uint64_t> ignored{0};            // options or other records that are neither
    std::atomic<std::uint64_t> raw_fallbacks{0};      // ioamTraceData undecodable, list used
    std::atomic<std::uint64_t> sampling_records{0};   // exporters' sampling options records
    std::atomic<std::uint64_t> reference_records{0};  // of the reference exporter's template
};

class RecordDecoder final : public source::RecordHandler {
  public:
    explicit RecordDecoder(std::vector<TraceSink*> sinks) : sinks_(std::move(sinks)) {}

    Status on_record(const source::RecordContext& ctx, const source::Template& t,
                     std::span<const source::Bytes> values) override;
    Status on_set_end(const source::RecordContext& ctx, const source::Template& t) override;
    void on_message_end(const source::RecordContext& ctx) override;

    const DecoderStats& stats() const noexcept { return stats_; }

  private:
    // Records of the data set being read, handed to the sinks at its end (or when full).
    template <typename Record>
    struct Pending {
        std::vector<Record> records;  // scratch, reused: [0, size) are pending
        std::size_t size = 0;
        Record& next() { return size < records.size() ? records[size] : records.emplace_back(); }
    };
    // Records held before a data set's end: their buffers stay (64 traces of up to 46 KB).
    static constexpr std::size_t kMaxBatch = 64;

    Status decode_trace(const source::RecordContext& ctx, const source::Template& t,
                        std::span<const source::Bytes> values);
    Status decode_dex(const source::RecordContext& ctx, const source::Template& t,
                      std::span<const source::Bytes> values);
    Status parse_dex(const source::RecordContext& ctx, const source::Template& t,
                     std::span<const source::Bytes> values);
    Status decode_reference(const source::RecordContext& ctx, const source::Template& t,
                            std::span<const source::Bytes> values);
    std::span<const source::Bytes> undo_reference_byte_order(const source::Template& t,
                                                             std::span<const source::Bytes> values);
    Origin origin(const source::RecordContext& ctx) const noexcept;
    // The record last returned by `pending.next()` is complete.
    template <typename Record>
    void commit(const source::RecordContext& ctx, Pending<Record>& pending);
    void flush(const source::RecordContext& ctx);
    Status decode_options(const source::RecordContext& ctx, const source::Template& t,
                          std::span<const source::Bytes> values);
    std::uint32_t sample_one_in(source::SessionId session, std::uint32_t domain) const noexcept;
    Status decode_hop_list(const source::RecordContext& ctx, source::Bytes list, IoamTrace& tr);

    std::vector<TraceSink*> sinks_;
    DecoderStats stats_;
    Pending<IoamTrace> traces_;
    std::size_t traces_from_raw_ = 0;  // of the pending traces, those decoded from raw data
    Pending<DexReport> dex_;
    std::vector<source::Bytes> hop_values_;
    // The reference exporter's trace message: its per-node records, joined at the set's end.
    IoamTrace reference_trace_;
    std::vector<source::Bytes> reference_values_;
    std::vector<std::uint8_t> reference_octets_;  // its byte-reversed fields
    // --sample 1/N of each (session, domain) that announced it.
    static constexpr std::size_t kMaxSamplingEntries = 65536;
    static constexpr std::uint64_t kMaxSampleOneIn = 1u << 30;
    std::map<std::pair<source::SessionId, std::uint32_t>, std::uint32_t> sampling_;
};

}  // namespace ioam::collector::decode
