#include "tools/dex-route/dex_route.hpp"

#include <arpa/inet.h>
#include <linux/lwtunnel.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <charconv>
#include <cstring>

namespace ioam::tools::dexroute {
namespace {

// uapi ioam6_iptunnel.h and ioam6.h of the DEX series (the system headers predate it).
constexpr std::uint16_t kIptunnelMode = 1;
constexpr std::uint16_t kIptunnelDst = 2;
constexpr std::uint16_t kIptunnelFreqK = 4;
constexpr std::uint16_t kIptunnelFreqN = 5;
constexpr std::uint16_t kIptunnelSrc = 6;
constexpr std::uint16_t kOptionType = 7;
constexpr std::uint16_t kIptunnelDex = 8;
constexpr std::uint8_t kOptionTypeDex = 2;
constexpr std::uint32_t kFreqMax = 1000000;  // IOAM6_IPTUNNEL_FREQ_MAX
constexpr std::uint16_t kEncapIoam6 = LWTUNNEL_ENCAP_IOAM6;
static_assert(kEncapIoam6 == 9);

constexpr std::size_t align4(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v > max) {
        return std::nullopt;
    }
    return v;
}

std::optional<Ipv6Address> parse_address(std::string_view text) {
    Ipv6Address a{};
    if (inet_pton(AF_INET6, std::string(text).c_str(), a.data()) != 1) {
        return std::nullopt;
    }
    return a;
}

// Walks the words; each `take_*` consumes the value that follows a keyword.
class Parser {
  public:
    explicit Parser(std::span<const std::string_view> args) : args_(args) {}

    bool done() const { return pos_ >= args_.size(); }
    std::string_view next() { return args_[pos_++]; }
    const std::string& error() const { return error_; }

    std::optional<std::string_view> take(std::string_view keyword) {
        if (done()) {
            return fail(std::string(keyword) + ": value missing");
        }
        return next();
    }

    template <typename T>
    std::optional<T> take_uint(std::string_view keyword, std::uint64_t max) {
        auto word = take(keyword);
        if (!word) {
            return std::nullopt;
        }
        auto v = parse_uint(*word, max);
        if (!v) {
            return fail(std::string(keyword) + ": '" + std::string(*word) +
                        "' is not a number in 0.." + std::to_string(max));
        }
        return static_cast<T>(*v);
    }

    std::optional<Ipv6Address> take_address(std::string_view keyword) {
        auto word = take(keyword);
        if (!word) {
            return std::nullopt;
        }
        auto a = parse_address(*word);
        if (!a) {
            return fail(std::string(keyword) + ": '" + std::string(*word) +
                        "' is not an IPv6 address");
        }
        return a;
    }

    std::nullopt_t fail(std::string message) {
        if (error_.empty()) {
            error_ = std::move(message);
        }
        return std::nullopt;
    }

  private:
    std::span<const std::string_view> args_;
    std::size_t pos_ = 0;
    std::string error_;
};

bool parse_prefix(std::string_view text, DexRoute& r) {
    const auto slash = text.find('/');
    auto addr = parse_address(text.substr(0, slash));
    if (!addr) {
        return false;
    }
    r.prefix = *addr;
    r.prefix_len = 128;
    if (slash != std::string_view::npos) {
        auto len = parse_uint(text.substr(slash + 1), 128);
        if (!len) {
            return false;
        }
        r.prefix_len = static_cast<std::uint8_t>(*len);
    }
    return true;
}

bool parse_freq(std::string_view text, DexRoute& r) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return false;
    }
    auto k = parse_uint(text.substr(0, slash), kFreqMax);
    auto n = parse_uint(text.substr(slash + 1), kFreqMax);
    if (!k || !n || *k == 0 || *n == 0 || *k > *n) {
        return false;
    }
    r.freq = {static_cast<std::uint32_t>(*k), static_cast<std::uint32_t>(*n)};
    return true;
}

std::optional<Mode> parse_mode(std::string_view text) {
    if (text == "inline") {
        return Mode::kInline;
    }
    if (text == "encap") {
        return Mode::kEncap;
    }
    if (text == "auto") {
        return Mode::kAuto;
    }
    return std::nullopt;
}

std::optional<std::string> check(const DexRoute& r) {
    if (r.dev.empty()) {
        return "dev is required";
    }
    const Mode mode = r.mode.value_or(Mode::kInline);
    if (mode == Mode::kInline && (r.tunsrc || r.tundst)) {
        return "tunsrc and tundst are for the encap and auto modes";
    }
    if (mode != Mode::kInline && !r.tundst) {
        return "the encap and auto modes need tundst";
    }
    return std::nullopt;
}

// Appends netlink attributes (host order, 4-octet aligned) to a message being built.
class Writer {
  public:
    std::vector<std::uint8_t>& bytes() { return buf_; }

    void raw(const void* data, std::size_t len) {
        const auto* p = static_cast<const std::uint8_t*>(data);
        buf_.insert(buf_.end(), p, p + len);
        buf_.resize(align4(buf_.size()), 0);
    }

    void attr(std::uint16_t type, const void* data, std::size_t len) {
        const nlattr h{static_cast<std::uint16_t>(NLA_HDRLEN + len), type};
        raw(&h, sizeof h);
        raw(data, len);
    }

    template <typename T>
    void attr_int(std::uint16_t type, T v) {
        attr(type, &v, sizeof v);
    }

    std::size_t begin_nested(std::uint16_t type) {
        const std::size_t start = buf_.size();
        const nlattr h{0, static_cast<std::uint16_t>(type | NLA_F_NESTED)};
        raw(&h, sizeof h);
        return start;
    }

    void end_nested(std::size_t start) {
        const auto len = static_cast<std::uint16_t>(buf_.size() - start);
        std::memcpy(&buf_[start], &len, sizeof len);
    }

  private:
    std::vector<std::uint8_t> buf_;
};

// struct ioam6_dex_hdr: namespace (be16), flags, extension flags, trace type << 8 (be32).
std::array<std::uint8_t, 8> dex_header(const DexRoute& r) {
    const std::uint32_t type = r.trace_type << 8;
    return {static_cast<std::uint8_t>(r.namespace_id >> 8),
            static_cast<std::uint8_t>(r.namespace_id),
            0,
            r.ext_flags,
            static_cast<std::uint8_t>(type >> 24),
            static_cast<std::uint8_t>(type >> 16),
            static_cast<std::uint8_t>(type >> 8),
            static_cast<std::uint8_t>(type)};
}

}  // namespace

std::variant<DexRoute, std::string> parse_args(std::span<const std::string_view> args) {
    if (args.empty() || args[0] != "add") {
        return std::string("expected 'add'");
    }
    if (args.size() < 2) {
        return std::string("PREFIX missing");
    }
    DexRoute r;
    if (!parse_prefix(args[1], r)) {
        return "'" + std::string(args[1]) + "' is not an IPv6 prefix";
    }
    Parser p(args.subspan(2));
    bool in_dex = false;  // trace-type, ns and ext-flags belong to "dex"
    bool has_type = false;
    bool has_ns = false;
    while (!p.done() && p.error().empty()) {
        const auto word = p.next();
        if (word == "freq") {
            auto v = p.take(word);
            if (v && !parse_freq(*v, r)) {
                p.fail("freq: expected K/N with 1 <= K <= N <= " + std::to_string(kFreqMax));
            }
        } else if (word == "mode") {
            auto v = p.take(word);
            r.mode = v ? parse_mode(*v) : std::nullopt;
            if (v && !r.mode) {
                p.fail("mode: expected inline, encap or auto");
            }
        } else if (word == "tunsrc") {
            r.tunsrc = p.take_address(word);
        } else if (word == "tundst") {
            r.tundst = p.take_address(word);
        } else if (word == "via") {
            r.via = p.take_address(word);
        } else if (word == "dev") {
            r.dev = std::string(p.take(word).value_or(""));
        } else if (word == "dex") {
            in_dex = true;
        } else if (in_dex && word == "trace-type") {
            auto v = p.take_uint<std::uint32_t>(word, 0xffffff);
            r.trace_type = v.value_or(0);
            has_type = v.has_value();
        } else if (in_dex && word == "ns") {
            auto v = p.take_uint<std::uint16_t>(word, 0xffff);
            r.namespace_id = v.value_or(0);
            has_ns = v.has_value();
        } else if (in_dex && word == "ext-flags") {
            r.ext_flags = p.take_uint<std::uint8_t>(word, 0xff).value_or(0);
        } else {
            p.fail("unexpected '" + std::string(word) + "'");
        }
    }
    if (!p.error().empty()) {
        return p.error();
    }
    if (!has_type || !has_ns) {
        return std::string("dex trace-type T ns N is required");
    }
    if (auto err = check(r)) {
        return *err;
    }
    return r;
}

std::vector<std::uint8_t> build_request(const DexRoute& route, std::uint32_t ifindex,
                                        std::uint32_t seq) {
    Writer w;
    const nlmsghdr nlh{
        0, RTM_NEWROUTE,
        static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), seq, 0};
    w.raw(&nlh, sizeof nlh);
    rtmsg rtm{};
    rtm.rtm_family = AF_INET6;
    rtm.rtm_dst_len = route.prefix_len;
    rtm.rtm_table = RT_TABLE_MAIN;
    rtm.rtm_protocol = RTPROT_BOOT;
    rtm.rtm_scope = RT_SCOPE_UNIVERSE;
    rtm.rtm_type = RTN_UNICAST;
    w.raw(&rtm, sizeof rtm);

    w.attr(RTA_DST, route.prefix.data(), route.prefix.size());
    w.attr_int<std::uint32_t>(RTA_OIF, ifindex);
    if (route.via) {
        w.attr(RTA_GATEWAY, route.via->data(), route.via->size());
    }
    w.attr_int<std::uint16_t>(RTA_ENCAP_TYPE, kEncapIoam6);
    const auto encap = w.begin_nested(RTA_ENCAP);
    if (route.freq) {
        w.attr_int<std::uint32_t>(kIptunnelFreqK, route.freq->first);
        w.attr_int<std::uint32_t>(kIptunnelFreqN, route.freq->second);
    }
    if (route.mode) {
        w.attr_int<std::uint8_t>(kIptunnelMode, static_cast<std::uint8_t>(*route.mode));
    }
    if (route.tunsrc) {
        w.attr(kIptunnelSrc, route.tunsrc->data(), route.tunsrc->size());
    }
    if (route.tundst) {
        w.attr(kIptunnelDst, route.tundst->data(), route.tundst->size());
    }
    w.attr_int<std::uint8_t>(kOptionType, kOptionTypeDex);
    const auto dex = dex_header(route);
    w.attr(kIptunnelDex, dex.data(), dex.size());
    w.end_nested(encap);

    auto& bytes = w.bytes();
    const auto len = static_cast<std::uint32_t>(bytes.size());
    std::memcpy(bytes.data(), &len, sizeof len);
    return std::move(bytes);
}

std::optional<Ack> parse_ack(std::span<const std::uint8_t> reply, std::uint32_t seq) {
    nlmsghdr h;
    nlmsgerr err;
    if (reply.size() < NLMSG_HDRLEN + sizeof err) {
        return std::nullopt;
    }
    std::memcpy(&h, reply.data(), sizeof h);
    if (h.nlmsg_type != NLMSG_ERROR || h.nlmsg_seq != seq || h.nlmsg_len > reply.size() ||
        h.nlmsg_len < NLMSG_HDRLEN + sizeof err) {
        return std::nullopt;
    }
    std::memcpy(&err, reply.data() + NLMSG_HDRLEN, sizeof err);
    Ack ack{err.error, {}};
    if (!(h.nlmsg_flags & NLM_F_ACK_TLVS)) {
        return ack;
    }
    // The request's payload is echoed before the TLVs unless the kernel capped it.
    std::size_t off = NLMSG_HDRLEN + sizeof err;
    if (!(h.nlmsg_flags & NLM_F_CAPPED) && err.msg.nlmsg_len > NLMSG_HDRLEN) {
        off += align4(err.msg.nlmsg_len - NLMSG_HDRLEN);
    }
    while (off + NLA_HDRLEN <= h.nlmsg_len) {
        nlattr a;
        std::memcpy(&a, reply.data() + off, sizeof a);
        if (a.nla_len < NLA_HDRLEN || off + a.nla_len > h.nlmsg_len) {
            break;
        }
        if ((a.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            const auto* s = reinterpret_cast<const char*>(reply.data() + off + NLA_HDRLEN);
            ack.message.assign(s, strnlen(s, a.nla_len - NLA_HDRLEN));
        }
        off += align4(a.nla_len);
    }
    return ack;
}

}  // namespace ioam::tools::dexroute
