#pragma once
// A TraceSink that keeps copies of everything it is given.

#include <cstdint>
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
    }
    void consume(const Origin& o, const DexReport& d) override {
        dex.push_back(d);
        exporters.emplace_back(o.exporter);
        sample_one_in.push_back(o.sample_one_in);
    }
    std::vector<IoamTrace> traces;
    std::vector<DexReport> dex;
    std::vector<std::string> exporters;
    std::vector<std::uint32_t> sample_one_in;  // Origin::sample_one_in of each record
};

}  // namespace ioam::collector::test
