#pragma once
// A TraceSink that keeps copies of everything it is given.

#include <string>
#include <vector>

#include "collector/decode/trace_sink.hpp"

namespace ioam::collector::test {

class CaptureSink final : public TraceSink {
  public:
    void consume(const Origin& o, const IoamTrace& t) override {
        traces.push_back(t);
        exporters.emplace_back(o.exporter);
    }
    void consume(const Origin& o, const DexReport& d) override {
        dex.push_back(d);
        exporters.emplace_back(o.exporter);
    }
    std::vector<IoamTrace> traces;
    std::vector<DexReport> dex;
    std::vector<std::string> exporters;
};

}  // namespace ioam::collector::test
