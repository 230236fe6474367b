#pragma once
// The lines an operator follows in the collector's log: an exporter that appears, goes silent,
// comes back, or whose session ends (TCP closed, UDP expired or evicted); its templates defined,
// redefined (same id, other fields) or withdrawn (TCP) / expired (UDP); the store dropping
// records because it fell behind. Each is one line per change, so a flapping source cannot
// flood the log faster than the polling period; an exporter's template changes and the store's
// drops are summed over at least `every` per line.
//
// Pure: observe() takes snapshots (IpfixProcessor::exporters(), TraceStore::stats()) and
// returns the lines; collector/main.cpp polls and logs them. Threading: one caller.

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "collector/source/ipfix_processor.hpp"
#include "collector/store/trace_store.hpp"

namespace ioam::collector::oplog {

struct Line {
    bool warning = false;
    std::string text;
};

class OperatorLog {
  public:
    OperatorLog(std::uint64_t silent_ns, std::uint64_t every_ns)
        : silent_ns_(silent_ns), every_ns_(every_ns) {}

    std::vector<Line> observe(const std::vector<source::ExporterStats>& exporters,
                              const store::StoreStats& store, std::uint64_t now_ns);

  private:
    enum class State { active, silent, ended };
    struct Known {
        State state = State::active;
        // The template figures of the last line about them.
        std::size_t templates = 0;
        std::uint64_t redefined = 0;
        std::uint64_t withdrawn = 0;
        std::uint64_t templates_line_ns = 0;  // 0: none yet
        bool seen = false;                    // in the latest snapshot
    };
    // Session id and observation domain: one exporter process as the collector sees it.
    using Key = std::tuple<std::uint64_t, std::uint32_t>;

    static Line templates_line(const std::string& name, const source::ExporterStats& e,
                               const Known& k);

    std::uint64_t silent_ns_;
    std::uint64_t every_ns_;
    std::map<Key, Known> known_;
    std::uint64_t dropped_reported_ = 0;
    std::uint64_t last_store_line_ns_ = 0;
};

}  // namespace ioam::collector::oplog
