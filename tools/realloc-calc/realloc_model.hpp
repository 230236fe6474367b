#pragma once
// A model of how the Linux IPv6 lightweight tunnels (IOAM, SRv6, RPL) grow a socket buffer's
// headroom: which skb_cow_head() / pskb_expand_head() calls reallocate, with what nhead, and
// whether a packet is reallocated twice (the "double reallocation" of the paper behind
// kernel-patches/linux-6.1-double-realloc).
//
// The arithmetic follows the kernel source, Linux 6.1:
//   __skb_cow():        delta = max(0, needed - headroom);
//                       expand by ALIGN(delta, NET_SKB_PAD) when delta > 0 or header cloned
//   pskb_expand_head(): the new headroom is the old one plus nhead, exactly
//   LL_RESERVED_SPACE(): ((hard_header_len + needed_headroom) & ~15) + 16
//   NET_SKB_PAD:        max(32, L1_CACHE_BYTES)
//   skb_expand_head():  (ip6_finish_output2) expands by SKB_DATA_ALIGN(hh_len - headroom)
// "unpatched" is the code before the 2-realloc fixes (ioam6 on Debian 6.1.192, seg6/rpl before
// their stable backports); "patched" sizes the first skb_cow_head() with dst_dev_overhead().

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ioam::realloc {

struct Device {
    unsigned hard_header_len = 14;  // ETH_HLEN for Ethernet and veth
    unsigned needed_headroom = 0;
};

// What the kernel has in hand when the lightweight tunnel starts on a packet.
struct Host {
    unsigned headroom = 0;     // skb_headroom(): NIC driver and path dependent
    unsigned mac_len = 14;     // skb->mac_len: 14 when forwarded from Ethernet, 0 when local
    unsigned cache_line = 64;  // L1_CACHE_BYTES (SMP_CACHE_BYTES)
    bool header_cloned = false;
    Device route_dev;   // the device of the route that carries the tunnel state
    Device tunnel_dev;  // the device of the route to the new destination
};

enum class Proto : std::uint8_t { ioam, srv6, rpl };
enum class Mode : std::uint8_t { inline_mode, encap, l2encap, encap_red, l2encap_red };

struct Encap {
    Proto proto = Proto::ioam;
    Mode mode = Mode::inline_mode;
    unsigned size = 0;   // IOAM: pre-allocated trace bytes (PTO); SRv6/RPL: segments listed
    bool hmac = false;   // SRv6: the SRH carries an HMAC TLV
    unsigned cmpri = 0;  // RPL: prefix octets elided from all but the last address
    unsigned cmpre = 0;  // RPL: prefix octets elided from the last address
};

enum class Kernel : std::uint8_t { unpatched, patched };
// A patched kernel sizes the first reallocation from the route's cached dst; the first packet
// on a CPU finds that cache empty.
enum class Packet : std::uint8_t { cached, first };

enum class Site : std::uint8_t {
    l2_push,     // seg6 L2 modes: pskb_expand_head(skb, mac_len) before the encapsulation
    encap,       // skb_cow_head() before the header is pushed
    post_encap,  // skb_cow_head(LL_RESERVED_SPACE(dev)) after it
    xmit,        // ip6_finish_output2(): skb_expand_head(skb, LL_RESERVED_SPACE(dev))
};

struct Expansion {
    Site site;
    unsigned headroom;  // before the call
    unsigned needed;    // headroom the call asks for
    unsigned nhead;     // bytes pskb_expand_head() adds in front
    bool operator==(const Expansion&) const = default;
};

struct Outcome {
    std::vector<Expansion> expansions;  // one per pskb_expand_head() call, in order
    unsigned headroom_after = 0;        // headroom when the packet reaches the driver
    // The packet was reallocated again after its header was pushed: the double reallocation.
    bool reallocated_twice() const;
};

// Why the encapsulation or the host cannot exist in the kernel (out-of-range PTO, too many
// segments for an SRH, cache line not a power of two...), or nothing when it can.
std::optional<std::string> invalid(const Encap& e);
std::optional<std::string> invalid(const Host& h);

// Bytes the tunnel inserts and asks skb_cow_head() for (hdrlen, or tot_len with the outer
// IPv6 header). Precondition: !invalid(e).
unsigned overhead(const Encap& e);

// Precondition: !invalid(e) && !invalid(h).
Outcome simulate(const Encap& e, const Host& h, Kernel k, Packet p);

unsigned ll_reserved_space(const Device& d);
unsigned net_skb_pad(unsigned cache_line);

// RPL compression as ipv6_rpl_srh_compress() computes it for the header rpl_do_srh_inline()
// inserts: segments[1..n-1] then the packet's destination, against segments[0]. Nothing when
// an address does not parse or the list is empty.
struct RplCompression {
    unsigned cmpri;
    unsigned cmpre;
};
std::optional<RplCompression> rpl_compression(const std::vector<std::string>& segments,
                                              const std::string& daddr);

// Valid sizes for a sweep: PTO 4..244 by 4; segments 1..max.
std::vector<unsigned> sweep_sizes(const Encap& e);
std::vector<Mode> modes_of(Proto p);

std::string_view to_string(Proto p);
std::string_view to_string(Mode m);
std::string_view to_string(Kernel k);
std::string_view to_string(Site s);
std::optional<Proto> parse_proto(std::string_view s);
std::optional<Mode> parse_mode(std::string_view s);

}  // namespace ioam::realloc
