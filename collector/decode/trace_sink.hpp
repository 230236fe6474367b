#pragma once
// Where decoded records go: the store and the metrics implement it.

#include <cstdint>
#include <span>
#include <string_view>

#include "common/model/ioam_trace.hpp"

namespace ioam::collector {

// The exporter a record came from (IP address, observation domain), and whether its
// transport is reliable: a record over TCP may be back-pressured, never dropped.
struct Origin {
    std::string_view exporter;
    std::uint32_t domain = 0;
    bool reliable = false;  // TCP (or another transport that retransmits)
    // The exporter keeps one packet in this many (its sampling options record, RFC 5477
    // samplingPacketInterval/Space); 1 when it did not say.
    std::uint32_t sample_one_in = 1;
    // Every trace handed over with it has the nodes decode_trace_data() gives for its raw data,
    // trace type and node length: a store need not check that the raw data rebuilds them.
    bool nodes_from_raw = false;
};

// Threading: called on the ingest thread, must not block (hand slow work to a queue).
class TraceSink {
  public:
    virtual ~TraceSink() = default;
    virtual void consume(const Origin& origin, const IoamTrace& trace) = 0;
    virtual void consume(const Origin& origin, const DexReport& report) = 0;
    // Records of one IPFIX message, in order, all of one origin: the same as one
    // consume() each. A sink overrides it to take its locks and read its clocks once per
    // batch rather than per record. Threading: as consume().
    virtual void consume(const Origin& origin, std::span<const IoamTrace> traces) {
        each(origin, traces);
    }
    virtual void consume(const Origin& origin, std::span<const DexReport> reports) {
        each(origin, reports);
    }
    // As consume(origin, traces), but the sink may take the traces' contents, leaving traces
    // of unspecified value in their place (their buffers, for the caller to reuse): the caller
    // hands them to no other sink after. Threading: as consume().
    virtual void take(const Origin& origin, std::span<IoamTrace> traces) {
        consume(origin, std::span<const IoamTrace>(traces));
    }

  private:
    template <typename Record>
    void each(const Origin& origin, std::span<const Record> records) {
        for (const Record& r : records) {
            consume(origin, r);
        }
    }
};

}  // namespace ioam::collector
