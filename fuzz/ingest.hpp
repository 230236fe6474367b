#pragma once
// The collector's ingest path without sockets: IpfixProcessor -> RecordDecoder -> sinks, with an
// observer that only counts. Shared by the IPFIX target (which feeds it fuzz input) and the HTTP
// target (which fills its in-memory store from the recorded stream).

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "collector/decode/record_decoder.hpp"
#include "collector/source/ipfix_processor.hpp"

namespace ioam::fuzz {

class CountingObserver final : public collector::source::IngestObserver {
  public:
    void on_message(std::string_view, std::uint32_t, std::size_t) override { ++messages; }
    void on_records(std::string_view, std::uint32_t, std::size_t n) override { records += n; }
    void on_error(std::string_view, collector::source::IngestError) override { ++errors; }
    void on_sequence(std::string_view, std::uint32_t, std::uint64_t, std::uint64_t,
                     std::uint64_t) override {}
    void on_unknown_fields(std::string_view, std::size_t) override {}

    std::uint64_t messages = 0;
    std::uint64_t records = 0;
    std::uint64_t errors = 0;
};

struct Ingest {
    Ingest(const collector::source::ProcessorConfig& config,
           std::vector<collector::TraceSink*> sinks)
        : decoder(std::move(sinks)),
          processor(config, collector::decode::role_of, decoder, observer) {}

    CountingObserver observer;
    collector::decode::RecordDecoder decoder;
    collector::source::IpfixProcessor processor;
};

// The messages of tests/data/ipfix/ioam-4hop.ipfix, split by their length fields.
inline std::vector<std::vector<std::uint8_t>> recorded_messages() {
    std::ifstream in(IOAM_TEST_DATA_DIR "/ipfix/ioam-4hop.ipfix", std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
    std::vector<std::vector<std::uint8_t>> out;
    for (std::size_t pos = 0; bytes.size() - pos >= collector::source::kMessageHeaderLen;) {
        const std::size_t len = collector::source::load_u16(&bytes[pos + 2]);
        if (len < collector::source::kMessageHeaderLen || len > bytes.size() - pos) {
            break;
        }
        out.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                         bytes.begin() + static_cast<std::ptrdiff_t>(pos + len));
        pos += len;
    }
    return out;
}

}  // namespace ioam::fuzz
