#pragma once
// Big-endian octet cursors shared by the IOAM codecs (internal to ioam_codec).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/util/big_endian.hpp"

namespace ioam::wire {

// Reads big-endian integers from a span; callers check has() before each take.
class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

    bool has(std::size_t n) const noexcept { return data_.size() - offset_ >= n; }
    std::size_t offset() const noexcept { return offset_; }
    std::size_t remaining() const noexcept { return data_.size() - offset_; }

    // Precondition: has(n) and n <= 8.
    std::uint64_t take(std::size_t n) noexcept {
        const std::uint8_t* p = data_.data() + offset_;
        offset_ += n;
        // The widths of IOAM fields in one load each, not a chain of dependent octet steps.
        if (n == 4) {
            return load_u32(p);
        }
        if (n == 8) {
            return (std::uint64_t{load_u32(p)} << 32) | load_u32(p + 4);
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            v = (v << 8) | p[i];
        }
        return v;
    }

    // Precondition: has(n).
    std::span<const std::uint8_t> take_bytes(std::size_t n) noexcept {
        auto s = data_.subspan(offset_, n);
        offset_ += n;
        return s;
    }

  private:
    std::span<const std::uint8_t> data_;
    std::size_t offset_ = 0;
};

// Appends the low n octets of v (n <= 8), most significant first.
inline void put(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t n) {
    for (std::size_t i = n; i > 0; --i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * (i - 1))));
    }
}

// All ones over the low `bits` bits (bits <= 64).
constexpr std::uint64_t ones(unsigned bits) noexcept {
    return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

}  // namespace ioam::wire
