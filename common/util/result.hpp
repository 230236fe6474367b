#pragma once
// Error codes and a small Result type for per-packet paths, which never throw
// (exceptions are for start-up and configuration only).

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

namespace ioam {

enum class Errc : std::uint8_t {
    truncated = 1,                     // input ends before a header or field it announces
    node_length_mismatch,              // node length disagrees with the trace type
    data_not_multiple_of_node_length,  // trace data is not a whole number of nodes
    remaining_length_overflow,         // RemainingLen points past the option data
    reserved_bits_set,                 // a bit the RFC or kernel reserves is set
    bad_option_length,                 // option data length wrong for its type
    bad_padding,                       // Pad1/PadN malformed or non-zero PadN payload
    bad_alignment,                     // option not at the alignment RFC 8200 requires
    bad_header_length,                 // extension header length field inconsistent
    too_large,                         // result would exceed a protocol limit
    opaque_state_overflow,             // opaque state snapshot longer than the node data
    unknown_option,                    // option type not handled
    missing_attribute,                 // a required netlink attribute is absent
    bad_attribute_size,                // a netlink attribute has the wrong size
    unknown_command,                   // netlink command not understood
    bad_ipfix,                         // IPFIX message malformed
    unknown_template,                  // IPFIX data set for a template not (yet) known
    invalid_argument,                  // caller passed a value outside the domain
};

// A short, stable, human readable name (used in logs and metric labels).
std::string_view to_string(Errc e) noexcept;

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
    Result(Errc err) : v_(err) {}              // NOLINT: implicit by design

    bool ok() const noexcept { return std::holds_alternative<T>(v_); }
    explicit operator bool() const noexcept { return ok(); }
    Errc error() const noexcept { return std::get<Errc>(v_); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T* operator->() { return &std::get<T>(v_); }
    const T* operator->() const { return &std::get<T>(v_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

  private:
    std::variant<T, Errc> v_;
};

// Result for operations that yield nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace ioam
