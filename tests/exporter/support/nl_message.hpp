#pragma once
// Builds real generic netlink message bytes (nlmsghdr + genlmsghdr + NLA attributes, 4-octet
// aligned, host-order headers) as the kernel's IOAM6 event group delivers them. Test and
// benchmark support only.

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace ioam::exporter::test {

class NlMessage {
  public:
    explicit NlMessage(std::uint8_t cmd, std::uint16_t family_id = 0x1e) {
        put_host<std::uint32_t>(0);  // nlmsg_len, set by bytes()
        put_host<std::uint16_t>(family_id);
        put_host<std::uint16_t>(0);  // flags
        put_host<std::uint32_t>(0);  // seq: multicast events carry 0
        put_host<std::uint32_t>(0);  // portid
        buf_.push_back(cmd);
        buf_.push_back(1);  // IOAM6_GENL_VERSION
        put_host<std::uint16_t>(0);
    }

    NlMessage& attr(std::uint16_t type, std::span<const std::uint8_t> payload) {
        put_host<std::uint16_t>(static_cast<std::uint16_t>(4 + payload.size()));
        put_host<std::uint16_t>(type);
        buf_.insert(buf_.end(), payload.begin(), payload.end());
        buf_.resize((buf_.size() + 3) & ~std::size_t{3}, 0);
        return *this;
    }
    template <typename T>
    NlMessage& host(std::uint16_t type, T v) {
        std::uint8_t b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));
        return attr(type, b);
    }
    template <typename T>
    NlMessage& be(std::uint16_t type, T v) {
        std::uint8_t b[sizeof(T)];
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            b[i] = static_cast<std::uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
        }
        return attr(type, b);
    }

    std::vector<std::uint8_t> bytes() const {
        auto out = buf_;
        const auto len = static_cast<std::uint32_t>(out.size());
        std::memcpy(out.data(), &len, sizeof len);
        return out;
    }

  private:
    template <typename T>
    void put_host(T v) {
        std::uint8_t b[sizeof(T)];
        std::memcpy(b, &v, sizeof(T));
        buf_.insert(buf_.end(), b, b + sizeof(T));
    }
    std::vector<std::uint8_t> buf_;
};

// The event captured on a project machine (docs: reference/ioam-kernel-interface.md): kernel
// 6.18, node id 42, ingress if id 7, namespace 123 with data 0xdeadbeef, trace type bits 0-7,
// one node filled.
inline constexpr std::uint8_t kCapturedTraceData[] = {
    0x3f, 0x00, 0x00, 0x2a, 0x00, 0x07, 0xff, 0xff, 0x6b, 0x06, 0x12, 0xc7, 0x00, 0x06, 0x89, 0x16,
    0xff, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

inline NlMessage captured_trace_event() {
    NlMessage m(1);
    m.host<std::uint16_t>(1, 123).host<std::uint8_t>(2, 8).host<std::uint32_t>(3, 0xff000000u);
    m.attr(4, kCapturedTraceData);
    return m;
}

}  // namespace ioam::exporter::test
