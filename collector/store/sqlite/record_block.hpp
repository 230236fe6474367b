#pragma once
// SQLite's record blocks (schema 5): the records of one written batch packed into one blob in id
// order, so that the writer inserts one row per batch, not one per record (a row cost SQLite
// ~0.6 us per record; packing costs a few tens of ns). Readers decode a block and filter it in
// memory; the block's row keeps its id and time ranges and its record count, and block_paths and
// block_flows say which paths and DEX flows are inside.
//
// A block is stored compressed with zstd (level 1: ~4x smaller for the replayed stream at
// ~0.11 us per record, and 4x fewer octets through the WAL and the checkpoints, which bounded
// the writer at high rates): format octet 2, then one zstd frame of the records. Format 1 is
// the same records uncompressed. The records: per record, id (varint, the first as its distance
// from the block's first id, the others from the previous id), observation time (zigzag varint
// delta from the previous record's, the first from 0), a flags octet (DEX, flow id present,
// sequence present), exporter and path dictionary ids, observation domain and trace type (varints),
// node length, flags and extended flags (octets), flow id and sequence number when present
// (varints), raw trace data and compact nodes (varint length, then the octets).
//
// Threading: values; no shared state.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "collector/store/record_codec.hpp"

namespace ioam::collector::store::sqlite {

// One record as a block holds it: its header as record_codec gives it (namespace_id is the
// path's, not stored here), dictionary ids instead of text, and views of its octets.
struct PackedRecord {
    std::int64_t id = 0;
    std::int64_t exporter = 0;  // exporters.id
    std::int64_t path = 0;      // paths.id
    RecordHeader header;
    std::span<const std::uint8_t> raw;
    std::span<const std::uint8_t> nodes;  // compact_of(); empty when raw rebuilds them
};

// A block's records, once decompressed, at most (a record packs to under 2 KiB, and writers
// close a block at 1 MiB): a damaged or hostile file cannot make a reader allocate more.
constexpr std::size_t kMaxBlockOctets = 16u << 20;

class BlockWriter {
  public:
    BlockWriter();
    ~BlockWriter();
    BlockWriter(const BlockWriter&) = delete;
    BlockWriter& operator=(const BlockWriter&) = delete;

    // Starts a block whose records all have ids >= first_id.
    void start(std::int64_t first_id);
    // Records in ascending id order.
    void add(const PackedRecord& r);

    std::int64_t first_id() const noexcept { return first_id_; }
    std::int64_t last_id() const noexcept { return last_id_; }
    std::int64_t min_time() const noexcept { return min_time_; }
    std::int64_t max_time() const noexcept { return max_time_; }
    std::int64_t count() const noexcept { return count_; }
    std::size_t size() const noexcept { return used_; }  // uncompressed octets
    // The records uncompressed (format 1).
    std::span<const std::uint8_t> data() const noexcept { return {data_.data(), used_}; }
    // The block as stored (format 2); valid until the next call on this writer.
    std::span<const std::uint8_t> compressed();

  private:
    struct Compressor;
    std::unique_ptr<Compressor> zstd_;
    std::vector<std::uint8_t> data_;  // [0, used_) written; the rest room for the next records
    std::size_t used_ = 0;
    std::vector<std::uint8_t> compressed_;
    std::int64_t first_id_ = 0;
    std::int64_t last_id_ = 0;
    std::int64_t min_time_ = 0;
    std::int64_t max_time_ = 0;
    std::int64_t count_ = 0;
    std::uint64_t prev_time_ = 0;
};

// Reads the records of a block (either format) in order; the spans of what next() returns point
// into `data` or into the reader: valid while both live.
class BlockReader {
  public:
    BlockReader(std::int64_t first_id, std::span<const std::uint8_t> data);
    BlockReader(const BlockReader&) = delete;
    BlockReader& operator=(const BlockReader&) = delete;
    // False at the end, and on malformed data (then corrupt() is true).
    bool next(PackedRecord& out);
    bool corrupt() const noexcept { return corrupt_; }

  private:
    bool fail();
    std::vector<std::uint8_t> plain_;  // a compressed block's records
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    std::int64_t prev_id_;
    std::uint64_t prev_time_ = 0;
    bool corrupt_ = false;
};

}  // namespace ioam::collector::store::sqlite
