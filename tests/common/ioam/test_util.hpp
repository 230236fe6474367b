#pragma once
// Helpers shared by the IOAM codec tests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.hpp"

namespace ioam::test {

// Hex string to octets; spaces are ignored ("0a0b 0c" -> {10, 11, 12}).
inline std::vector<std::uint8_t> unhex(std::string_view s) {
    std::vector<std::uint8_t> out;
    std::string digits;
    for (char c : s) {
        if (c != ' ') {
            digits.push_back(c);
        }
    }
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

// "ok" or the error name, so that expectations on failures read well and never throw.
template <typename T>
std::string outcome(const Result<T>& r) {
    return r.ok() ? "ok" : std::string(to_string(r.error()));
}

}  // namespace ioam::test
