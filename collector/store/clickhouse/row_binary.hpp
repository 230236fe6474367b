#pragma once
// ClickHouse's RowBinary format: little-endian fixed-width numbers, strings and arrays
// prefixed by their LEB128 length, Nullable as a null flag byte then the value when not null.
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
    const std::string& data() const noexcept { return out_; }
    void clear() noexcept { out_.clear(); }

  private:
    void length(std::uint64_t n) {
        do {
            out_ += static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
            n >>= 7;
        } while (n != 0);
    }
    std::string out_;
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
