#include "tools/realloc-calc/realloc_model.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <bit>
#include <utility>

namespace ioam::realloc {
namespace {

constexpr unsigned kHhDataMod = 16;           // HH_DATA_MOD
constexpr unsigned kIpv6HeaderLen = 40;       // sizeof(struct ipv6hdr)
constexpr unsigned kIoamEncapHeaderLen = 16;  // sizeof(struct ioam6_lwt_encap): HbH + trace
constexpr unsigned kIoamTraceMax = 244;       // IOAM6_TRACE_DATA_SIZE_MAX
constexpr unsigned kSrhFixedLen = 8;          // struct ipv6_sr_hdr without segments
constexpr unsigned kSrhHmacTlvLen = 40;       // struct sr6_tlv_hmac
constexpr unsigned kRplFixedLen = 8;          // struct ipv6_rpl_sr_hdr without segments
constexpr unsigned kAddrLen = 16;
constexpr unsigned kExtHeaderMax = 2048;  // (hdrlen + 1) << 3 with an 8-bit hdrlen
constexpr unsigned kRplBestCompression = 15;

constexpr unsigned align_up(unsigned v, unsigned a) {
    return (v + a - 1) / a * a;
}

bool is_l2(Mode m) {
    return m == Mode::l2encap || m == Mode::l2encap_red;
}
bool is_reduced(Mode m) {
    return m == Mode::encap_red || m == Mode::l2encap_red;
}

// The SRH as iproute2 builds it: inline mode reserves segments[0] for the packet's own
// destination, so it carries one address more than listed.
unsigned srh_len(const Encap& e) {
    const unsigned slots = e.mode == Mode::inline_mode ? e.size + 1 : e.size;
    return kSrhFixedLen + kAddrLen * slots + (e.hmac ? kSrhHmacTlvLen : 0);
}

// seg6_do_srh_encap_red(): the first segment travels only as the outer destination, and a
// one-segment SRH without HMAC is left out entirely.
unsigned srh_reduced_len(const Encap& e) {
    if (e.size > 1) {
        return srh_len(e) - kAddrLen;
    }
    return e.hmac ? srh_len(e) : 0;
}

unsigned srv6_overhead(const Encap& e) {
    if (e.mode == Mode::inline_mode) {
        return srh_len(e);
    }
    return kIpv6HeaderLen + (is_reduced(e.mode) ? srh_reduced_len(e) : srh_len(e));
}

// ipv6_rpl_srh_compress(): n = segments - 1 addresses with cmpri, the last with cmpre.
unsigned rpl_overhead(const Encap& e) {
    const unsigned seglen = (e.size - 1) * (kAddrLen - e.cmpri) + (kAddrLen - e.cmpre);
    return kRplFixedLen + align_up(seglen, 8);
}

// The headroom walk of one packet: every skb_cow_head() and pskb_expand_head() the kernel
// calls, in order.
class Skb {
  public:
    explicit Skb(const Host& h) : headroom_(h.headroom), cloned_(h.header_cloned), host_(h) {}

    // __skb_cow(skb, needed, skb_header_cloned(skb))
    void cow(Site site, unsigned needed) {
        const unsigned delta = needed > headroom_ ? needed - headroom_ : 0;
        if (delta != 0 || cloned_) {
            expand(site, needed, align_up(delta, net_skb_pad(host_.cache_line)));
        }
    }
    void expand(Site site, unsigned needed, unsigned nhead) {
        out_.expansions.push_back({site, headroom_, needed, nhead});
        headroom_ += nhead;
        cloned_ = false;  // pskb_expand_head() gives the skb its own copy of the head
    }
    void push(unsigned len) { headroom_ -= len; }
    void pull(unsigned len) { headroom_ += len; }
    // ip6_finish_output2(): skb_expand_head() by SKB_DATA_ALIGN() of the shortfall.
    void xmit(const Device& dev) {
        const unsigned hh_len = ll_reserved_space(dev);
        if (hh_len > headroom_) {
            expand(Site::xmit, hh_len, align_up(hh_len - headroom_, host_.cache_line));
        }
    }
    Outcome finish() {
        out_.headroom_after = headroom_;
        return std::move(out_);
    }

  private:
    unsigned headroom_;
    bool cloned_;
    const Host& host_;
    Outcome out_;
};

// ioam6_output() (output path; the destination changes only in encap mode).
//  unpatched: cow(len + mac_len); push; cow(LL_RESERVED_SPACE(orig dst dev))
//  patched:   inline cow(len + LL_RESERVED_SPACE(orig dst dev)); push
//             encap  cow(len + dst_dev_overhead(cache)); push; on a cache miss, look the
//                    route up and cow(LL_RESERVED_SPACE(new dst dev))
Outcome simulate_ioam(const Encap& e, const Host& h, Kernel k, Packet p) {
    const bool encap = e.mode == Mode::encap;
    const Device& egress = encap ? h.tunnel_dev : h.route_dev;
    const unsigned len = overhead(e);
    Skb skb(h);
    if (k == Kernel::unpatched) {
        skb.cow(Site::encap, len + h.mac_len);
        skb.push(len);
        skb.cow(Site::post_encap, ll_reserved_space(h.route_dev));
    } else if (!encap) {
        skb.cow(Site::encap, len + ll_reserved_space(h.route_dev));
        skb.push(len);
    } else if (p == Packet::cached) {
        skb.cow(Site::encap, len + ll_reserved_space(h.tunnel_dev));
        skb.push(len);
    } else {
        skb.cow(Site::encap, len + h.mac_len);
        skb.push(len);
        skb.cow(Site::post_encap, ll_reserved_space(h.tunnel_dev));
    }
    skb.xmit(egress);
    return skb.finish();
}

// seg6_input_core()/seg6_output_core() and rpl_input()/rpl_output(): the destination always
// changes, so the second skb_cow_head() is for the new route's device.
//  unpatched: cow(len + mac_len); push; cow(LL_RESERVED_SPACE(new dst dev))
//  patched:   cow(len + dst_dev_overhead(cache)); push; cow(...) only on a cache miss
Outcome simulate_routing_header(const Encap& e, const Host& h, Kernel k, Packet p) {
    const unsigned len = overhead(e);
    const bool cached = k == Kernel::patched && p == Packet::cached;
    Skb skb(h);
    if (is_l2(e.mode)) {
        // seg6_do_srh(): room to push the Ethernet header back in front of the packet.
        skb.expand(Site::l2_push, h.mac_len, h.mac_len);
        skb.push(h.mac_len);
    }
    skb.cow(Site::encap, len + (cached ? ll_reserved_space(h.tunnel_dev) : h.mac_len));
    skb.push(len);
    if (!cached) {
        skb.cow(Site::post_encap, ll_reserved_space(h.tunnel_dev));
    }
    skb.xmit(h.tunnel_dev);
    return skb.finish();
}

std::optional<std::string> invalid_ioam(const Encap& e) {
    if (e.mode != Mode::inline_mode && e.mode != Mode::encap) {
        return "IOAM has the modes inline and encap";
    }
    if (e.size < 4 || e.size > kIoamTraceMax || e.size % 4 != 0) {
        return "IOAM pre-allocated trace size " + std::to_string(e.size) +
               " is not a multiple of 4 in 4..244";
    }
    return std::nullopt;
}

std::optional<std::string> invalid_srv6(const Encap& e) {
    if (e.size < 1 || srh_len(e) > kExtHeaderMax) {
        return "an SRH " + std::string(e.mode == Mode::inline_mode ? "(inline) " : "") + "of " +
               std::to_string(e.size) + " segments" + (e.hmac ? " with HMAC" : "") +
               " does not fit the 2048 octets of a routing header";
    }
    return std::nullopt;
}

std::optional<std::string> invalid_rpl(const Encap& e) {
    if (e.mode != Mode::inline_mode) {
        return "RPL has only the inline mode";
    }
    if (e.size < 1 || kAddrLen * e.size > kExtHeaderMax - kRplFixedLen) {
        return "RPL takes 1..127 segments, not " + std::to_string(e.size);
    }
    if (e.cmpri > kRplBestCompression || e.cmpre > kRplBestCompression) {
        return "RPL CmprI and CmprE are 0..15";
    }
    return std::nullopt;
}

unsigned common_prefix(const in6_addr& a, const in6_addr& b) {
    unsigned n = 0;
    while (n < kAddrLen && a.s6_addr[n] == b.s6_addr[n]) {
        ++n;
    }
    return n;
}

}  // namespace

bool Outcome::reallocated_twice() const {
    const auto at = [this](auto pred) { return std::ranges::any_of(expansions, pred); };
    return at([](const Expansion& x) { return x.site == Site::encap; }) &&
           at([](const Expansion& x) {
               return x.site == Site::post_encap || x.site == Site::xmit;
           });
}

unsigned ll_reserved_space(const Device& d) {
    return ((d.hard_header_len + d.needed_headroom) & ~(kHhDataMod - 1)) + kHhDataMod;
}

unsigned net_skb_pad(unsigned cache_line) {
    return cache_line > 32 ? cache_line : 32;
}

std::optional<std::string> invalid(const Encap& e) {
    switch (e.proto) {
        case Proto::ioam:
            return invalid_ioam(e);
        case Proto::srv6:
            return invalid_srv6(e);
        case Proto::rpl:
            return invalid_rpl(e);
    }
    return "unknown protocol";
}

std::optional<std::string> invalid(const Host& h) {
    if (h.cache_line < 16 || h.cache_line > 256 || !std::has_single_bit(h.cache_line)) {
        return "the cache line is a power of two in 16..256, not " + std::to_string(h.cache_line);
    }
    constexpr unsigned kMax = 65535;
    if (h.headroom > kMax || h.mac_len > kMax || h.route_dev.hard_header_len > kMax ||
        h.route_dev.needed_headroom > kMax || h.tunnel_dev.hard_header_len > kMax ||
        h.tunnel_dev.needed_headroom > kMax) {
        return "headroom, MAC and device lengths are at most 65535";
    }
    return std::nullopt;
}

unsigned overhead(const Encap& e) {
    switch (e.proto) {
        case Proto::ioam: {
            const unsigned hdrlen = kIoamEncapHeaderLen + align_up(e.size, 8);
            return e.mode == Mode::encap ? kIpv6HeaderLen + hdrlen : hdrlen;
        }
        case Proto::srv6:
            return srv6_overhead(e);
        case Proto::rpl:
            return rpl_overhead(e);
    }
    return 0;
}

Outcome simulate(const Encap& e, const Host& h, Kernel k, Packet p) {
    return e.proto == Proto::ioam ? simulate_ioam(e, h, k, p) : simulate_routing_header(e, h, k, p);
}

std::optional<RplCompression> rpl_compression(const std::vector<std::string>& segments,
                                              const std::string& daddr) {
    if (segments.empty()) {
        return std::nullopt;
    }
    std::vector<in6_addr> addr(segments.size() + 1);
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (inet_pton(AF_INET6, segments[i].c_str(), &addr[i]) != 1) {
            return std::nullopt;
        }
    }
    if (inet_pton(AF_INET6, daddr.c_str(), &addr.back()) != 1) {
        return std::nullopt;
    }
    // The inserted list is segments[1..n-1] + daddr, compared with segments[0], which becomes
    // the packet's destination; ipv6_rpl_srh_calc_cmpri() gives 15 when there is none.
    const in6_addr& dst = addr.front();
    unsigned cmpri = kRplBestCompression;
    for (std::size_t i = 1; i + 1 < addr.size(); ++i) {
        cmpri = std::min(cmpri, common_prefix(dst, addr[i]));
    }
    const unsigned cmpre = std::min(kRplBestCompression, common_prefix(dst, addr.back()));
    return RplCompression{cmpri, cmpre};
}

std::vector<unsigned> sweep_sizes(const Encap& e) {
    // Valid sizes are contiguous: PTO 4, 8 ... 244; segments 1 ... the SRH or RPL limit.
    const unsigned step = e.proto == Proto::ioam ? 4 : 1;
    std::vector<unsigned> sizes;
    Encap c = e;
    for (c.size = step; !invalid(c); c.size += step) {
        sizes.push_back(c.size);
    }
    return sizes;
}

std::vector<Mode> modes_of(Proto p) {
    switch (p) {
        case Proto::ioam:
            return {Mode::inline_mode, Mode::encap};
        case Proto::srv6:
            return {Mode::encap, Mode::inline_mode, Mode::l2encap, Mode::encap_red,
                    Mode::l2encap_red};
        case Proto::rpl:
            return {Mode::inline_mode};
    }
    return {};
}

namespace {
constexpr std::array<std::string_view, 3> kProtoNames{"ioam", "srv6", "rpl"};
constexpr std::array<std::string_view, 5> kModeNames{"inline", "encap", "l2encap", "encap.red",
                                                     "l2encap.red"};
}  // namespace

std::string_view to_string(Proto p) {
    return kProtoNames.at(static_cast<std::size_t>(p));
}
std::string_view to_string(Mode m) {
    return kModeNames.at(static_cast<std::size_t>(m));
}

std::string_view to_string(Kernel k) {
    return k == Kernel::patched ? "patched" : "unpatched";
}

std::string_view to_string(Site s) {
    switch (s) {
        case Site::l2_push:
            return "l2_push";
        case Site::encap:
            return "encap";
        case Site::post_encap:
            return "post_encap";
        case Site::xmit:
            return "xmit";
    }
    return "?";
}

std::optional<Proto> parse_proto(std::string_view s) {
    for (std::size_t i = 0; i < kProtoNames.size(); ++i) {
        if (kProtoNames[i] == s) {
            return static_cast<Proto>(i);
        }
    }
    return std::nullopt;
}

std::optional<Mode> parse_mode(std::string_view s) {
    for (std::size_t i = 0; i < kModeNames.size(); ++i) {
        if (kModeNames[i] == s) {
            return static_cast<Mode>(i);
        }
    }
    return std::nullopt;
}

}  // namespace ioam::realloc
