#pragma once
// Where decoded records go: the store and the metrics implement it.

#include <cstdint>
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
};

// Threading: called on the ingest thread, must not block (hand slow work to a queue).
class TraceSink {
  public:
    virtual ~TraceSink() = default;
    virtual void consume(const Origin& origin, const IoamTrace& trace) = 0;
    virtual void consume(const Origin& origin, const DexReport& report) = 0;
};

}  // namespace ioam::collector
