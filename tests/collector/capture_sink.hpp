#pragma once
// A TraceSink that keeps copies of everything it is given.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "collector/decode/trace_sink.hpp"

namespace ioam::collector::test {

class CaptureSink final : public TraceSink {
  public:
    void consume(const Origin& o, const IoamTrace& t) override {
        traces.push_back(t);
        exporters.emplace_back(o.exporter);
        sample_one_in.push_back(o.sample_one_in);
        nodes_from_raw.push_back(o.nodes_from_raw);
    }
    void consume(const Origin& o, const DexReport& d) override {
        dex.push_back(d);
        exporters.emplace_back(o.exporter);
        sample_one_in.push_back(o.sample_one_in);
    }
    void consume(const Origin& o, std::span<const IoamTrace> batch) override {
        batches.push_back(batch.size());
        for (const IoamTrace& t : batch) {
            consume(o, t);
        }
    }
    void consume(const Origin& o, std::span<const DexReport> batch) override {
        batches.push_back(batch.size());
        for (const DexReport& d : batch) {
            consume(o, d);
        }
    }
    std::vector<IoamTrace> traces;
    std::vector<DexReport> dex;
    std::vector<std::string> exporters;
    std::vector<std::uint32_t> sample_one_in;  // Origin::sample_one_in of each record
    std::vector<bool> nodes_from_raw;          // Origin::nodes_from_raw of each trace
    std::vector<std::size_t> batches;          // records of each batch call, in order
};

}  // namespace ioam::collector::test
