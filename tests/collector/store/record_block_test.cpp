// SQLite's packed record blocks: what is written reads back the same, and damaged data is
// reported as damaged, never read past its end.

#include "collector/store/sqlite/record_block.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace ioam::collector::store::sqlite {
namespace {

struct Owned {
    PackedRecord r;
    std::vector<std::uint8_t> raw, nodes;
};

std::vector<Owned> sample() {
    std::vector<Owned> v(4);
    v[0].r.id = 1000;
    v[0].r.exporter = 3;
    v[0].r.path = 1;
    RecordHeader& h0 = v[0].r.header;
    h0.time_ns = 1'700'000'000'000'000'000;
    h0.obs_domain = 7;
    h0.trace_type = 0xf00000;
    h0.node_len = 4;
    h0.flags = 1;
    v[0].raw = {1, 2, 3, 4, 5, 6, 7, 8};
    // Earlier than the record before it (exporters' clocks differ), a gap in ids, a DEX report.
    v[1].r.id = 1005;
    v[1].r.exporter = 300000;
    v[1].r.path = 1ll << 40;
    RecordHeader& h1 = v[1].r.header;
    h1.dex = true;
    h1.time_ns = 1'699'999'999'000'000'000;
    h1.obs_domain = UINT32_MAX;
    h1.trace_type = 0x800000;
    h1.ext_flags = 0xc0;
    h1.flow_id = 77;
    h1.seq = UINT32_MAX;
    v[1].nodes = {9, 9, 9};
    v[2].r.id = 1006;  // no flow id
    v[2].r.header.dex = true;
    v[2].r.header.time_ns = UINT64_MAX;
    v[2].r.header.seq = 0;
    v[3].r.id = INT64_MAX;
    for (auto& o : v) {
        o.r.raw = o.raw;
        o.r.nodes = o.nodes;
    }
    return v;
}

void expect_same(const PackedRecord& a, const PackedRecord& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.exporter, b.exporter);
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.header.dex, b.header.dex);
    EXPECT_EQ(a.header.time_ns, b.header.time_ns);
    EXPECT_EQ(a.header.obs_domain, b.header.obs_domain);
    EXPECT_EQ(a.header.trace_type, b.header.trace_type);
    EXPECT_EQ(a.header.node_len, b.header.node_len);
    EXPECT_EQ(a.header.flags, b.header.flags);
    EXPECT_EQ(a.header.ext_flags, b.header.ext_flags);
    EXPECT_EQ(a.header.flow_id, b.header.flow_id);
    EXPECT_EQ(a.header.seq, b.header.seq);
    EXPECT_EQ(std::vector(a.raw.begin(), a.raw.end()), std::vector(b.raw.begin(), b.raw.end()));
    EXPECT_EQ(std::vector(a.nodes.begin(), a.nodes.end()),
              std::vector(b.nodes.begin(), b.nodes.end()));
}

TEST(RecordBlock, ReadsBackWhatWasWritten) {
    const auto records = sample();
    BlockWriter w;
    w.start(990);
    for (const auto& o : records) {
        w.add(o.r);
    }
    EXPECT_EQ(w.first_id(), 990);
    EXPECT_EQ(w.last_id(), INT64_MAX);
    EXPECT_EQ(w.count(), 4);
    EXPECT_EQ(w.min_time(), 0);
    EXPECT_EQ(w.max_time(), INT64_MAX);  // clamped: the blocks table holds signed times

    EXPECT_EQ(w.data()[0], 1);
    const std::vector<std::uint8_t> plain(w.data().begin(), w.data().end());
    const std::vector<std::uint8_t> stored(w.compressed().begin(), w.compressed().end());
    EXPECT_EQ(stored[0], 2);
    EXPECT_LT(stored.size(), plain.size());
    for (const auto& block : {plain, stored}) {
        BlockReader r(w.first_id(), block);
        PackedRecord got;
        for (const auto& o : records) {
            ASSERT_TRUE(r.next(got));
            expect_same(got, o.r);
        }
        EXPECT_FALSE(r.next(got));
        EXPECT_FALSE(r.corrupt());
    }
}

TEST(RecordBlock, DamagedOrOversizedCompressedBlocksAreRefused) {
    const auto records = sample();
    BlockWriter w;
    w.start(1000);
    for (const auto& o : records) {
        w.add(o.r);
    }
    const auto stored = w.compressed();
    PackedRecord got;
    std::vector<std::uint8_t> damaged(stored.begin(), stored.end());
    damaged[damaged.size() / 2] ^= 0xff;
    damaged.resize(damaged.size() - 1);
    BlockReader d(1000, damaged);
    EXPECT_FALSE(d.next(got));
    EXPECT_TRUE(d.corrupt());
    BlockWriter big;
    big.start(1);
    std::vector<std::uint8_t> zeros(64 << 10);
    PackedRecord z;
    z.raw = zeros;
    for (std::size_t n = 0; n <= kMaxBlockOctets / zeros.size(); ++n) {
        z.id = static_cast<std::int64_t>(n + 1);
        big.add(z);
    }
    ASSERT_GT(big.size(), kMaxBlockOctets);
    BlockReader b(1, big.compressed());
    EXPECT_FALSE(b.next(got));
    EXPECT_TRUE(b.corrupt());
}

TEST(RecordBlock, StartingAgainForgetsTheLastBlock) {
    const auto records = sample();
    BlockWriter w;
    w.start(1);
    w.add(records[0].r);
    w.start(1005);
    w.add(records[1].r);
    EXPECT_EQ(w.count(), 1);
    EXPECT_EQ(w.min_time(), w.max_time());
    BlockReader r(w.first_id(), w.data());
    PackedRecord got;
    ASSERT_TRUE(r.next(got));
    expect_same(got, records[1].r);
    EXPECT_FALSE(r.next(got));
}

TEST(RecordBlock, DamagedDataIsReportedNeverOverread) {
    const auto records = sample();
    BlockWriter w;
    w.start(1000);
    for (const auto& o : records) {
        w.add(o.r);
    }
    const std::vector<std::uint8_t> whole(w.data().begin(), w.data().end());
    // Every truncation: the records before the cut read back, then corrupt (or a clean end
    // exactly at a record boundary).
    std::size_t clean_ends = 0;
    for (std::size_t n = 0; n < whole.size(); ++n) {
        const std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + n);
        BlockReader r(1000, cut);
        PackedRecord got;
        std::size_t read = 0;
        while (r.next(got)) {
            ++read;
        }
        EXPECT_LT(read, records.size());
        clean_ends += r.corrupt() ? 0 : 1;
    }
    EXPECT_EQ(clean_ends, records.size());  // the format octet alone, and after records 1 to 3
    std::vector<std::uint8_t> wrong_format = whole;
    wrong_format[0] = 2;
    BlockReader r(1000, wrong_format);
    PackedRecord got;
    EXPECT_FALSE(r.next(got));
    EXPECT_TRUE(r.corrupt());
    // A length beyond the end.
    const std::vector<std::uint8_t> overlong = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x7f};
    BlockReader o(1, overlong);
    EXPECT_FALSE(o.next(got));
    EXPECT_TRUE(o.corrupt());
}

}  // namespace
}  // namespace ioam::collector::store::sqlite
