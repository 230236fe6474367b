#pragma once
// ClickHouse's RowBinary format: little-endian fixed-width numbers, strings and arrays
// prefixed by their LEB128 length, Nullable as a null flag byte then the value when not null.
// And its Native format for inserts (NativeBlock).
//
// Threading: plain values.

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ioam::collector::store::clickhouse {

static_assert(std::endian::native == std::endian::little, "RowBinary is little-endian");

class RowWriter {
  public:
    template <typename T>
    requires std::is_arithmetic_v<T> RowWriter& num(T v) {
        out_.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    // A null is the flag byte alone.
    template <typename T>
    RowWriter& nullable(const std::optional<T>& v) {
        num<std::uint8_t>(v ? 0 : 1);
        return v ? num<T>(*v) : *this;
    }
    RowWriter& str(std::string_view s) {
        length(s.size());
        out_.append(s);
        return *this;
    }
    RowWriter& bytes(std::span<const std::uint8_t> b) {
        return str({reinterpret_cast<const char*>(b.data()), b.size()});
    }
    template <typename T>
    RowWriter& array(std::span<const T> v) {
        length(v.size());
        for (const T& x : v) {
            num(x);
        }
        return *this;
    }
    // Bytes as they are, without a length.
    RowWriter& raw(std::string_view b) {
        out_.append(b);
        return *this;
    }
    RowWriter& length(std::uint64_t n) {
        do {
            out_ += static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
            n >>= 7;
        } while (n != 0);
        return *this;
    }
    const std::string& data() const noexcept { return out_; }
    void clear() noexcept { out_.clear(); }

  private:
    std::string out_;
};

// One block in Native format: column by column, so that the server reads each column in bulk
// (RowBinary costs it a call per value). Each column has a head stream (Nullable: the null
// map; Array: each row's end offset in the elements, UInt64) and a body (the values; any
// value for a null).
class NativeBlock {
  public:
    // (name, type) of each column, in the order of the column numbers used below.
    explicit NativeBlock(std::vector<std::pair<std::string, std::string>> columns)
        : names_(std::move(columns)), columns_(names_.size()) {}

    template <typename T>
    void num(std::size_t c, T v) {
        columns_[c].body.num(v);
    }
    template <typename T>
    void nullable(std::size_t c, const std::optional<T>& v) {
        columns_[c].head.num<std::uint8_t>(v ? 0 : 1);
        columns_[c].body.num<T>(v.value_or(T{}));
    }
    void str(std::size_t c, std::string_view s) { columns_[c].body.str(s); }
    void bytes(std::size_t c, std::span<const std::uint8_t> b) { columns_[c].body.bytes(b); }
    template <typename T>
    void array(std::size_t c, std::span<const T> v) {
        columns_[c].elements += v.size();
        columns_[c].head.num<std::uint64_t>(columns_[c].elements);
        for (const T& x : v) {
            columns_[c].body.num(x);
        }
    }
    // After the last column of a row.
    void end_row() noexcept { rows_++; }
    std::size_t rows() const noexcept { return rows_; }

    // The block: column and row counts, then each column's name, type, head and body.
    const std::string& data() {
        out_.clear();
        out_.length(names_.size()).length(rows_);
        for (std::size_t c = 0; c < names_.size(); ++c) {
            out_.str(names_[c].first)
                .str(names_[c].second)
                .raw(columns_[c].head.data())
                .raw(columns_[c].body.data());
        }
        return out_.data();
    }
    void clear() noexcept {
        for (auto& c : columns_) {
            c.head.clear();
            c.body.clear();
            c.elements = 0;
        }
        rows_ = 0;
    }

  private:
    struct Column {
        RowWriter head, body;
        std::uint64_t elements = 0;  // an Array's elements so far: its head holds end offsets
    };
    std::vector<std::pair<std::string, std::string>> names_;
    std::vector<Column> columns_;
    std::size_t rows_ = 0;
    RowWriter out_;
};

// Reads what a query returned; throws std::runtime_error on a truncated or malformed reply.
class RowReader {
  public:
    explicit RowReader(std::string_view in) : in_(in) {}
    bool done() const noexcept { return in_.empty(); }

    template <typename T>
    requires std::is_arithmetic_v<T> T num() {
        T v;
        std::memcpy(&v, take(sizeof v).data(), sizeof v);
        return v;
    }
    template <typename T>
    std::optional<T> nullable() {
        if (num<std::uint8_t>() != 0) {
            return std::nullopt;
        }
        return num<T>();
    }
    std::string_view str() { return take(length()); }
    std::span<const std::uint8_t> bytes() {
        const auto s = str();
        return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
    }
    std::uint64_t length() {
        std::uint64_t n = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const auto b = num<std::uint8_t>();
            n |= std::uint64_t{b & 0x7fu} << shift;
            if ((b & 0x80) == 0) {
                return n;
            }
        }
        throw std::runtime_error("clickhouse: malformed length in reply");
    }

  private:
    std::string_view take(std::uint64_t n) {
        if (n > in_.size()) {
            throw std::runtime_error("clickhouse: truncated reply");
        }
        const auto out = in_.substr(0, n);
        in_.remove_prefix(n);
        return out;
    }
    std::string_view in_;
};

}  // namespace ioam::collector::store::clickhouse
