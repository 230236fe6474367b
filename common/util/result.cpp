#include "common/util/result.hpp"

namespace ioam {

std::string_view to_string(Errc e) noexcept {
    switch (e) {
        case Errc::truncated:
            return "truncated";
        case Errc::node_length_mismatch:
            return "node_length_mismatch";
        case Errc::data_not_multiple_of_node_length:
            return "data_not_multiple_of_node_length";
        case Errc::remaining_length_overflow:
            return "remaining_length_overflow";
        case Errc::reserved_bits_set:
            return "reserved_bits_set";
        case Errc::bad_option_length:
            return "bad_option_length";
        case Errc::bad_padding:
            return "bad_padding";
        case Errc::bad_alignment:
            return "bad_alignment";
        case Errc::bad_header_length:
            return "bad_header_length";
        case Errc::too_large:
            return "too_large";
        case Errc::opaque_state_overflow:
            return "opaque_state_overflow";
        case Errc::unknown_option:
            return "unknown_option";
        case Errc::missing_attribute:
            return "missing_attribute";
        case Errc::bad_attribute_size:
            return "bad_attribute_size";
        case Errc::unknown_command:
            return "unknown_command";
        case Errc::bad_ipfix:
            return "bad_ipfix";
        case Errc::unknown_template:
            return "unknown_template";
        case Errc::invalid_argument:
            return "invalid_argument";
    }
    return "unknown_error";
}

}  // namespace ioam
