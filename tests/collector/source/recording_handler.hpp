#pragma once
// A RecordHandler and IngestObserver that remember what the processor told them.

#include <map>
#include <string>
#include <vector>

#include "collector/source/ipfix_processor.hpp"

namespace ioam::collector::test {

struct Recorded {
    std::string exporter;
    std::uint32_t domain;
    std::uint16_t template_id;
    std::vector<std::uint64_t> values;  // each field as an unsigned integer
};

class RecordingHandler final : public source::RecordHandler, public source::IngestObserver {
  public:
    Status on_record(const source::RecordContext& ctx, const source::Template& t,
                     std::span<const source::Bytes> values) override {
        Recorded r{ctx.session.address, ctx.domain, t.id, {}};
        for (const auto& v : values) {
            r.values.push_back(source::load_uint(v));
        }
        records.push_back(std::move(r));
        return Ok{};
    }
    Status on_set_end(const source::RecordContext&, const source::Template&) override {
        ++sets;
        return Ok{};
    }
    void on_message(std::string_view, std::uint32_t, std::size_t) override { ++messages; }
    void on_records(std::string_view, std::uint32_t, std::size_t n) override {
        records_counted.push_back(n);
    }
    void on_error(std::string_view exporter, source::IngestError e) override {
        errors[std::string(exporter) + "/" + std::string(source::to_string(e))]++;
    }
    void on_sequence(std::string_view, std::uint32_t, std::uint64_t l, std::uint64_t r,
                     std::uint64_t s) override {
        lost += l;
        reordered += r;
        restarts += s;
    }
    void on_unknown_fields(std::string_view, std::size_t n) override { unknown_fields += n; }

    std::vector<Recorded> records;
    std::vector<std::size_t> records_counted;  // per on_records() call
    std::map<std::string, int> errors;
    int messages = 0;
    int sets = 0;
    std::uint64_t lost = 0, reordered = 0, restarts = 0, unknown_fields = 0;
};

}  // namespace ioam::collector::test
