// The collector's HTTP API as the server calls it: Routes::handle(method, target), over an
// in-memory TraceReader holding the records of the start of tests/data/ipfix/ioam-4hop.ipfix
// (traces and DEX reports, decoded by the real ingest path).
//
// Input: "METHOD target" when a space comes within the first 8 octets, else the whole input is
// a GET target. Checks: no exception escapes, the status is one the API documents, and a JSON
// body parses (valid UTF-8 included) whatever octets the request held.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "collector/analysis/delay.hpp"
#include "collector/api/routes.hpp"
#include "collector/store/trace_reader.hpp"
#include "fuzz/check.hpp"
#include "fuzz/ingest.hpp"

namespace {

using namespace ioam;
using namespace ioam::collector;

const IoamNode* node_of(const store::StoredRecord& r, std::size_t i) {
    if (const auto* t = std::get_if<IoamTrace>(&r.record)) {
        return i < t->nodes.size() ? &t->nodes[i] : nullptr;
    }
    return i == 0 ? &std::get<DexReport>(r.record).node : nullptr;
}

std::uint64_t node_key(const IoamNode& n) {
    return n.node_id_wide ? *n.node_id_wide : n.node_id.value_or(0);
}

// Answers every query from a vector, applying the filters as the SQLite store does.
class MemoryReader final : public store::TraceReader, public TraceSink {
  public:
    void consume(const Origin& o, const IoamTrace& t) override { add(o, t); }
    void consume(const Origin& o, const DexReport& r) override { add(o, r); }

    Result<std::vector<store::StoredRecord>> query(const store::TraceQuery& q) override {
        std::vector<store::StoredRecord> out;
        for (const auto& r : records_) {
            if (out.size() >= q.limit) {
                break;
            }
            if (matches(r, q)) {
                out.push_back(r);
            }
        }
        return out;
    }
    Result<std::optional<store::StoredRecord>> get(std::int64_t id) override {
        if (id < 1 || static_cast<std::uint64_t>(id) > records_.size()) {
            return std::optional<store::StoredRecord>{};
        }
        return std::optional(records_[static_cast<std::size_t>(id - 1)]);
    }
    // Summaries count the records observed within the window (the store counts correlated
    // packets; for the API's checks only the shapes and the bounds matter).
    Result<std::vector<store::NodeSummary>> nodes(store::Window w, std::size_t limit) override {
        std::vector<store::NodeSummary> out;
        for (const auto& r : records_) {
            for (std::size_t i = 0; in_window(r, w) && node_of(r, i) != nullptr; ++i) {
                const auto key = node_key(*node_of(r, i));
                count(
                    out, limit, [&](const auto& s) { return s.node_id == key; },
                    store::NodeSummary{.node_id = key}, &store::NodeSummary::records);
            }
        }
        return out;
    }
    Result<std::vector<store::PathSummary>> paths(store::Window w, std::size_t limit) override {
        std::vector<store::PathSummary> out;
        for (const auto& r : records_) {
            const auto* t = std::get_if<IoamTrace>(&r.record);
            if (t == nullptr || !in_window(r, w)) {
                continue;
            }
            const auto key = analysis::path_key(t->nodes);
            count(
                out, limit, [&](const auto& s) { return s.path == key; },
                store::PathSummary{.path = key, .percentiles = {.p50_ns = 1000}},
                &store::PathSummary::packets);
        }
        return out;
    }
    Result<std::vector<store::SegmentSummary>> segments(store::Window w,
                                                        std::size_t limit) override {
        std::vector<store::SegmentSummary> out;
        for (const auto& r : records_) {
            const auto* t = std::get_if<IoamTrace>(&r.record);
            // Nodes are newest first: node i + 1 is node i's upstream neighbour.
            for (std::size_t i = 0; t != nullptr && in_window(r, w) && i + 1 < t->nodes.size();
                 ++i) {
                const auto from = node_key(t->nodes[i + 1]);
                const auto to = node_key(t->nodes[i]);
                count(
                    out, limit, [&](const auto& s) { return s.from == from && s.to == to; },
                    store::SegmentSummary{.from = from, .to = to}, &store::SegmentSummary::packets);
            }
        }
        return out;
    }

  private:
    template <typename Rec>
    void add(const Origin& o, const Rec& rec) {
        std::string path;
        if constexpr (std::is_same_v<Rec, IoamTrace>) {
            path = analysis::path_key(rec.nodes);  // what the store keeps with a trace
        }
        records_.push_back({static_cast<std::int64_t>(records_.size() + 1), std::string(o.exporter),
                            o.domain, rec, std::move(path)});
    }

    template <typename Summary, typename Same>
    static void count(std::vector<Summary>& out, std::size_t limit, Same same, Summary fresh,
                      std::uint64_t Summary::*counter) {
        auto it = std::find_if(out.begin(), out.end(), same);
        if (it == out.end() && out.size() < limit) {
            it = out.insert(out.end(), std::move(fresh));
        }
        if (it != out.end()) {
            ++((*it).*counter);
        }
    }

    static std::uint64_t time_of(const store::StoredRecord& r) {
        return std::visit([](const auto& x) { return x.observation_time_ns; }, r.record);
    }

    static bool in_window(const store::StoredRecord& r, store::Window w) {
        return time_of(r) >= w.from_ns && time_of(r) < w.to_ns;
    }

    static bool matches(const store::StoredRecord& r, const store::TraceQuery& q) {
        const auto time = time_of(r);
        const auto ns = std::visit([](const auto& x) { return x.namespace_id; }, r.record);
        const auto* dex = std::get_if<DexReport>(&r.record);
        bool node_ok = !q.node_id;
        for (std::size_t i = 0; !node_ok && node_of(r, i) != nullptr; ++i) {
            node_ok = node_key(*node_of(r, i)) == *q.node_id;
        }
        return r.id > q.after_id && (!q.kind || *q.kind == r.kind()) &&
               (!q.namespace_id || *q.namespace_id == ns) && node_ok &&
               (!q.flow_id || (dex != nullptr && dex->flow_id == q.flow_id)) &&
               (!q.from_ns || time >= *q.from_ns) && (!q.to_ns || time < *q.to_ns);
    }

    std::vector<store::StoredRecord> records_;
};

MemoryReader& reader() {
    static MemoryReader* r = [] {
        auto* m = new MemoryReader;
        fuzz::Ingest ingest({}, {m});
        const auto messages = fuzz::recorded_messages();
        const auto session = ingest.processor.open_tcp("192.0.2.1", 4739);
        FUZZ_CHECK(session.has_value() && messages.size() > 20);
        // Enough messages for traces of each trace type and a few DEX flows of every node.
        for (std::size_t i = 0; i < 20; ++i) {
            ingest.processor.process(*session, messages[i], 1);
        }
        return m;
    }();
    return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const api::Routes routes(reader(),
                                    {[] { return std::string("# HELP up 1\nup 1\n"); },
                                     [] {
                                         source::ExporterStats e;
                                         e.session.address = "192.0.2.1";
                                         e.messages = 20;
                                         return std::vector<source::ExporterStats>{e};
                                     },
                                     [] { return true; },
                                     [] {
                                         return api::Dropped{3, 5};
                                     }},
                                    api::RoutesConfig{.max_response_bytes = 64u << 10});

    const std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view method = "GET";
    std::string_view target = in;
    if (const auto sp = in.substr(0, 8).find(' '); sp != std::string_view::npos) {
        method = in.substr(0, sp);
        target = in.substr(sp + 1);
    }
    const auto r = routes.handle(method, target);

    static constexpr int kStatuses[] = {200, 400, 404, 405, 422, 500, 503};
    FUZZ_CHECK(std::find(std::begin(kStatuses), std::end(kStatuses), r.status) !=
               std::end(kStatuses));
    if (r.content_type == "application/json") {
        FUZZ_CHECK(!nlohmann::json::parse(r.body, nullptr, false).is_discarded());
    }
    return 0;
}
