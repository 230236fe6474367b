// SQLite's packed record blocks (collector/store/sqlite/record_block.hpp), as a damaged database
// file would hand them to a reader (either format: 1 plain, 2 zstd): whatever reads back must
// pack again and read back the same from both formats, and a block never reads past its end
// nor decompresses beyond kMaxBlockOctets (the sanitizers, the fuzzer's -rss_limit_mb).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "collector/store/sqlite/record_block.hpp"
#include "fuzz/check.hpp"

namespace {

using namespace ioam::collector::store;
using namespace ioam::collector::store::sqlite;

bool same(const PackedRecord& a, const PackedRecord& b) {
    const RecordHeader& x = a.header;
    const RecordHeader& y = b.header;
    return a.id == b.id && a.exporter == b.exporter && a.path == b.path && x.dex == y.dex &&
           x.time_ns == y.time_ns && x.obs_domain == y.obs_domain && x.trace_type == y.trace_type &&
           x.node_len == y.node_len && x.flags == y.flags && x.ext_flags == y.ext_flags &&
           x.flow_id == y.flow_id && x.seq == y.seq &&
           std::equal(a.raw.begin(), a.raw.end(), b.raw.begin(), b.raw.end()) &&
           std::equal(a.nodes.begin(), a.nodes.end(), b.nodes.begin(), b.nodes.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::int64_t kFirst = 1000;
    BlockReader reader(kFirst, {data, size});
    std::vector<PackedRecord> read;
    PackedRecord r;
    while (reader.next(r)) {
        FUZZ_CHECK(r.id >= (read.empty() ? kFirst : read.back().id));
        read.push_back(r);
    }
    BlockWriter writer;
    writer.start(kFirst);
    for (const PackedRecord& p : read) {
        writer.add(p);
    }
    FUZZ_CHECK(writer.count() == static_cast<std::int64_t>(read.size()));
    for (const auto block : {writer.data(), writer.compressed()}) {
        BlockReader again(kFirst, block);
        for (const PackedRecord& p : read) {
            FUZZ_CHECK(again.next(r));
            FUZZ_CHECK(same(r, p));
        }
        FUZZ_CHECK(!again.next(r));
        FUZZ_CHECK(!again.corrupt());
    }
    return 0;
}
