#pragma once
// IoamTrace / DexReport -> IPFIX (RFC 7011) messages through libfixbuf, one builder per
// transport session (collector): its own templates, template ids and sequence numbers.
// Record layouts and template ids are those of common/ipfix/record_layouts.hpp; a template is
// announced the first time its layout is used. The only libfixbuf user of the exporter.
//
// Threading: not thread safe; use one builder from one thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/model/ioam_trace.hpp"
#include "common/util/result.hpp"

namespace ioam::exporter::record {

struct RecordOptions {
    std::uint32_t observation_domain = 0;
    std::size_t mtu = 1400;  // largest IPFIX message, octets (64 .. 65535)
    bool hop_list = true;    // trace records carry their decoded hops (RFC 6313 subTemplateList)
    std::uint32_t sample_one_in = 1;  // > 1: announce --sample 1/N in a sampling options record
};

// Receives each finished message; the bytes are valid during the call only.
using MessageHandler = std::function<void(std::span<const std::uint8_t>)>;

struct BuilderStats {
    std::uint64_t records = 0;         // data records appended
    std::uint64_t messages = 0;        // messages handed on
    std::uint64_t octets = 0;          // their total size
    std::uint64_t template_sends = 0;  // template records written (first use and refreshes)
};

class RecordBuilder {
  public:
    // Throws std::invalid_argument on an MTU out of range (start-up time).
    RecordBuilder(const RecordOptions& options, MessageHandler handler);
    ~RecordBuilder();
    RecordBuilder(const RecordBuilder&) = delete;
    RecordBuilder& operator=(const RecordBuilder&) = delete;

    // Appends one record; a full message is handed on first. Errc::too_large when the record
    // cannot fit a message of the MTU, Errc::bad_ipfix on any other libfixbuf failure.
    Status add(const IoamTrace& trace);
    Status add(const DexReport& report);

    // Hands on the message in progress, if it holds anything.
    Status flush();
    // Writes every template announced so far into the message in progress (UDP refresh).
    Status export_templates();
    // Flushes, then returns messages holding only the templates announced so far (a new
    // connection of a connection-oriented transport must see them first); empty if none.
    Result<std::vector<std::vector<std::uint8_t>>> template_messages();

    // Data records counted into the sequence number so far (the next message's sequence).
    std::uint32_t sequence_number() const noexcept;
    std::size_t pending_records() const noexcept;
    const BuilderStats& stats() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ioam::exporter::record
