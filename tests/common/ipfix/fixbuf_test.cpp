#include "common/ipfix/fixbuf/ioam_fixbuf.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/ipfix/record_layouts.hpp"

namespace ioam::ipfix::fixbuf {
namespace {

constexpr std::uint32_t bit(unsigned n) {
    return 0x800000u >> n;
}

struct ModelFree {
    void operator()(fbInfoModel_t* m) const { fbInfoModelFree(m); }
};
using ModelPtr = std::unique_ptr<fbInfoModel_t, ModelFree>;

ModelPtr ioam_model() {
    ModelPtr m(fbInfoModelAlloc());
    add_ioam_elements(m.get());
    return m;
}

std::uint8_t expected_type(DataType t) {
    switch (t) {
        case DataType::unsigned8:
            return FB_UINT_8;
        case DataType::unsigned16:
            return FB_UINT_16;
        case DataType::unsigned32:
            return FB_UINT_32;
        case DataType::unsigned64:
            return FB_UINT_64;
        case DataType::octetArray:
            return FB_OCTET_ARRAY;
        case DataType::dateTimeNanoseconds:
            return FB_DT_NANOSEC;
        case DataType::subTemplateList:
            return FB_SUB_TMPL_LIST;
    }
    return 0;
}

TEST(FixbufModel, EveryElementIsFoundByNameAndNumber) {
    auto model = ioam_model();
    for (const auto& e : elements()) {
        SCOPED_TRACE(std::string(e.name));
        const std::string name(e.name);
        const auto* by_name = fbInfoModelGetElementByName(model.get(), name.c_str());
        const auto* by_id = fbInfoModelGetElementByID(model.get(), e.id, e.pen);
        ASSERT_NE(by_name, nullptr);
        ASSERT_EQ(by_id, by_name);
        EXPECT_EQ(by_name->ent, e.pen);
        EXPECT_EQ(by_name->num, e.id);
        EXPECT_EQ(by_name->type, expected_type(e.type));
        EXPECT_EQ(by_name->len, field_length(e, Side::internal) == sizeof(fbVarfield_t) ||
                                        e.type == DataType::subTemplateList
                                    ? FB_IE_VARLEN
                                    : field_length(e, Side::internal));
        if (e.pen != 0) {
            EXPECT_STREQ(by_name->description, std::string(e.description).c_str());
            EXPECT_EQ(by_name->max, e.length == kVarLen ? 0 : all_ones(e.length));
        }
    }
}

TEST(FixbufModel, NativeWidthsAndFlags) {
    auto model = ioam_model();
    const auto* node_id = fbInfoModelGetElementByName(model.get(), "ioamNodeId");
    ASSERT_NE(node_id, nullptr);
    EXPECT_EQ(node_id->len, 4);
    EXPECT_EQ(node_id->max, 0xffffffu);
    EXPECT_TRUE(node_id->flags & FB_IE_F_ENDIAN);
    EXPECT_EQ(FB_IE_SEMANTIC(node_id->flags), FB_IE_SEMANTIC(FB_IE_IDENTIFIER));
    const auto* wide = fbInfoModelGetElementByName(model.get(), "ioamNodeIdWide");
    ASSERT_NE(wide, nullptr);
    EXPECT_EQ(wide->len, 8);
    const auto* delay = fbInfoModelGetElementByName(model.get(), "ioamTransitDelay");
    ASSERT_NE(delay, nullptr);
    EXPECT_EQ(FB_IE_UNITS(delay->flags), FB_IE_UNITS(FB_UNITS_NANOSECONDS));
    EXPECT_EQ(FB_IE_SEMANTIC(delay->flags), FB_IE_SEMANTIC(FB_IE_QUANTITY));
    const auto* data = fbInfoModelGetElementByName(model.get(), "ioamTraceData");
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->len, FB_IE_VARLEN);
    EXPECT_FALSE(data->flags & FB_IE_F_ENDIAN);
}

TEST(FixbufModel, RegisteringTwiceChangesNothing) {
    auto model = ioam_model();
    const auto before = fbInfoModelCountElements(model.get());
    add_ioam_elements(model.get());
    EXPECT_EQ(fbInfoModelCountElements(model.get()), before);
}

void expect_template_matches(fbInfoModel_t* model, const Layout& fields) {
    for (const auto side : {Side::external, Side::internal, Side::list_member}) {
        GError* err = nullptr;
        fbTemplate_t* t = make_template(model, fields, side, &err);
        ASSERT_NE(t, nullptr) << (err != nullptr ? err->message : "");
        ASSERT_EQ(fbTemplateCountElements(t), fields.size());
        for (std::uint32_t i = 0; i < fields.size(); ++i) {
            const auto* ie = fbTemplateGetIndexedIE(t, i);
            EXPECT_EQ(ie->ent, fields[i]->pen);
            EXPECT_EQ(ie->num, fields[i]->id);
            EXPECT_EQ(ie->len,
                      fields[i]->length == kVarLen ? FB_IE_VARLEN : field_length(*fields[i], side));
        }
        if (side != Side::external) {
            EXPECT_EQ(fbTemplateGetIELenOfMemBuffer(t), memory_layout(fields, side).size);
        }
        fbTemplateFreeUnused(t);
    }
}

TEST(FixbufTemplate, AllRecordKindsBuildForEveryLayoutBit) {
    auto model = ioam_model();
    expect_template_matches(model.get(), trace_record_fields(false));
    expect_template_matches(model.get(), trace_record_fields(true));
    for (const unsigned b : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 22u}) {
        expect_template_matches(model.get(), hop_fields(bit(b)));
        expect_template_matches(model.get(), dex_record_fields(bit(b)));
    }
    expect_template_matches(model.get(), dex_record_fields(0xfff002u));
}

TEST(FixbufTemplate, MissingElementsFailCleanly) {
    ModelPtr bare(fbInfoModelAlloc());  // IANA only
    GError* err = nullptr;
    const auto fields = dex_record_fields(bit(0));
    EXPECT_EQ(make_template(bare.get(), fields, Side::external, &err), nullptr);
    ASSERT_NE(err, nullptr);
    g_clear_error(&err);
}

TEST(FixbufTemplate, InternalLayoutIsPacked) {
    const auto fields = dex_record_fields(bit(0) | bit(22));
    const auto layout = internal_layout(fields);
    ASSERT_EQ(layout.offsets.size(), fields.size());
    EXPECT_EQ(layout.offsets[0], 0);
    EXPECT_EQ(layout.offsets[1], 8);   // after the 8-octet time
    EXPECT_EQ(layout.offsets[2], 12);  // after the 4-octet domain
    EXPECT_EQ(layout.size, 8 + 4 + 2 + 4 + 4 + 1 + 1 + 4 + 1 + 4 + 4 + sizeof(fbVarfield_t));
}

// Fills an in-memory record of `fields` (as an exporter): integers from value(e), octet arrays
// from octets(e); lists are left zeroed for the caller.
template <typename Value, typename Octets>
std::vector<std::uint8_t> make_record(const Layout& fields, Side side, Value value, Octets octets) {
    const auto layout = memory_layout(fields, side);
    std::vector<std::uint8_t> rec(layout.size);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const ElementSpec& e = *fields[i];
        std::uint8_t* at = rec.data() + layout.offsets[i];
        if (e.type == DataType::octetArray) {
            const std::span<const std::uint8_t> data = octets(e);
            const fbVarfield_t v{data.size(), const_cast<std::uint8_t*>(data.data())};
            std::memcpy(at, &v, sizeof v);
        } else if (e.type != DataType::subTemplateList) {
            const auto got = value(e);
            EXPECT_TRUE(got.ok()) << e.name;
            store_uint(at, field_length(e, side), got.ok() ? *got : 0);
        }
    }
    return rec;
}

// The inverse (as a collector): set_value(e, v) for integers, set_octets(e, span) for arrays.
template <typename SetValue, typename SetOctets>
void read_record(const std::uint8_t* rec, const Layout& fields, SetValue set_value,
                 SetOctets set_octets) {
    const auto layout = internal_layout(fields);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const ElementSpec& e = *fields[i];
        const std::uint8_t* at = rec + layout.offsets[i];
        if (e.type == DataType::octetArray) {
            fbVarfield_t v;
            std::memcpy(&v, at, sizeof v);
            EXPECT_TRUE(set_octets(e, std::span<const std::uint8_t>(v.buf, v.len)).ok()) << e.name;
        } else if (e.type != DataType::subTemplateList) {
            EXPECT_TRUE(set_value(e, load_uint(at, field_length(e, Side::internal))).ok())
                << e.name;
        }
    }
}

std::vector<std::uint8_t> node_record(const IoamNode& n, const Layout& fields, Side side) {
    return make_record(
        fields, side, [&](const ElementSpec& e) { return node_value(n, e); },
        [&](const ElementSpec&) { return node_opaque_data(n); });
}

IoamNode read_node(const std::uint8_t* rec, const Layout& fields) {
    IoamNode n;
    read_record(
        rec, fields, [&](const ElementSpec& e, std::uint64_t v) { return set_node_value(n, e, v); },
        [&](const ElementSpec&, std::span<const std::uint8_t> d) {
            return set_node_opaque_data(n, d);
        });
    return n;
}

using Templates = std::vector<std::pair<std::uint16_t, Layout>>;

void add_templates(fbInfoModel_t* model, fbSession_t* session, const Templates& templates,
                   bool with_external) {
    for (const auto& [tid, fields] : templates) {
        for (const auto side : {Side::internal, Side::external}) {
            if (side == Side::external && !with_external) {
                continue;
            }
            GError* err = nullptr;
            fbTemplate_t* t = make_template(model, fields, side, &err);
            ASSERT_NE(t, nullptr) << err->message;
            ASSERT_TRUE(fbSessionAddTemplate(session, side == Side::internal, tid, t, &err))
                << err->message;
        }
    }
}

// One IPFIX stream holding `templates` and then `record` (of template `tid`), as a file
// exporter writes it.
std::vector<std::uint8_t> export_stream(fbInfoModel_t* model, const Templates& templates,
                                        std::uint16_t tid, std::vector<std::uint8_t>& record) {
    char* buf = nullptr;
    std::size_t len = 0;
    FILE* sink = open_memstream(&buf, &len);
    EXPECT_NE(sink, nullptr);
    GError* err = nullptr;
    fbSession_t* session = fbSessionAlloc(model);
    fBuf_t* out = fBufAllocForExport(session, fbExporterAllocFP(sink));
    add_templates(model, session, templates, true);
    EXPECT_TRUE(fbSessionExportTemplates(session, &err));
    EXPECT_TRUE(fBufSetInternalTemplate(out, tid, &err));
    EXPECT_TRUE(fBufSetExportTemplate(out, tid, &err));
    EXPECT_TRUE(fBufAppend(out, record.data(), record.size(), &err));
    EXPECT_TRUE(fBufEmit(out, &err));
    fBufFree(out);  // frees session and exporter
    std::fclose(sink);
    std::vector<std::uint8_t> bytes(buf, buf + len);
    std::free(buf);
    return bytes;
}

// Reads the first data record of `stream` into an internal record of template `tid`, and hands
// it to `use` while the collector (which owns list contents) is alive.
template <typename Use>
void collect_first(fbInfoModel_t* model, const Templates& templates, std::uint16_t tid,
                   std::vector<std::uint8_t>& stream, Use use) {
    FILE* source = fmemopen(stream.data(), stream.size(), "rb");
    ASSERT_NE(source, nullptr);
    fbSession_t* session = fbSessionAlloc(model);
    add_templates(model, session, templates, false);
    fBuf_t* in = fBufAllocForCollection(session, fbCollectorAllocFP(nullptr, source));
    GError* err = nullptr;
    ASSERT_TRUE(fBufSetInternalTemplate(in, tid, &err));
    const Layout& fields = templates.front().second;
    std::vector<std::uint8_t> rec(internal_layout(fields).size);
    std::size_t len = rec.size();
    ASSERT_TRUE(fBufNext(in, rec.data(), &len, &err)) << err->message;
    EXPECT_EQ(len, rec.size());
    use(rec.data());
    GError* ignored = nullptr;
    fBufListFree(fbSessionGetTemplate(session, TRUE, tid, &ignored), rec.data());
    g_clear_error(&ignored);
    fBufFree(in);
    std::fclose(source);
}

// Exporter and collector through real libfixbuf buffers: reduced-length and variable-length
// encoding, NTP time and the all-ones convention survive the wire.
TEST(FixbufWire, DexRecordRoundTripsWithReducedLengths) {
    auto model = ioam_model();
    DexReport d;
    d.observation_time_ns = 1700000000123456789ull;
    d.observation_domain = 9;
    d.namespace_id = 0x1234;
    d.ext_flags = 0x80;
    d.flow_id = 0xcafef00d;
    d.trace_type = bit(0) | bit(4) | bit(8) | bit(22);
    d.node.hop_limit = 61;
    d.node.node_id = 0xa1b2c3;
    d.node.hop_limit_wide = 60;
    d.node.node_id_wide = 0x01020304050607;
    d.node.opaque_state = OpaqueState{0x000abc, {1, 2, 3, 4, 5, 6, 7, 8}};  // transit delay absent
    const auto fields = dex_record_fields(d.trace_type);
    const std::uint16_t tid = dex_template_id(d.trace_type);
    const Templates templates = {{tid, fields}};

    auto rec = make_record(
        fields, Side::internal, [&](const ElementSpec& e) { return dex_value(d, e); },
        [&](const ElementSpec&) { return node_opaque_data(d.node); });
    auto wire = export_stream(model.get(), templates, tid, rec);

    // The data set ends the stream: header, then 8+4+2+4+4+1+1+3 record header, 1+3 node,
    // 4 delay, 1+7 wide, 3 schema id, 1+8 opaque data.
    const std::size_t fixed = 8 + 4 + 2 + 4 + 4 + 1 + 1 + 3 + 1 + 3 + 4 + 1 + 7 + 3;
    const std::size_t set_len = 4 + fixed + 1 + 8;
    ASSERT_GE(wire.size(), 16 + set_len);
    const std::uint8_t* set = wire.data() + wire.size() - set_len;
    EXPECT_EQ((set[0] << 8) | set[1], tid);
    EXPECT_EQ(static_cast<std::size_t>((set[2] << 8) | set[3]), set_len);
    const std::uint64_t ntp = unix_ns_to_ntp(d.observation_time_ns);
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(set[4 + i], static_cast<std::uint8_t>(ntp >> (56 - 8 * i))) << "NTP time " << i;
    }
    const std::uint8_t* node_id = set + 4 + 8 + 4 + 2 + 4 + 4 + 1 + 1 + 3 + 1;
    EXPECT_EQ(node_id[0], 0xa1);  // 3 octets, network order
    EXPECT_EQ(node_id[1], 0xb2);
    EXPECT_EQ(node_id[2], 0xc3);
    const std::uint8_t* delay = node_id + 3;
    EXPECT_EQ(delay[0] & delay[1] & delay[2] & delay[3], 0xff) << "absent = all ones";

    DexReport back;
    collect_first(model.get(), templates, tid, wire, [&](const std::uint8_t* got) {
        read_record(
            got, fields,
            [&](const ElementSpec& e, std::uint64_t v) { return set_dex_value(back, e, v); },
            [&](const ElementSpec&, std::span<const std::uint8_t> data) {
                return set_node_opaque_data(back.node, data);
            });
    });
    EXPECT_EQ(back, d);
}

// A trace record with its hops in a subTemplateList, each hop in the hop template.
TEST(FixbufWire, TraceWithHopsRoundTrips) {
    auto model = ioam_model();
    IoamTrace t;
    t.observation_time_ns = 1700000001000000001ull;
    t.observation_domain = 4;
    t.namespace_id = 7;
    t.trace_type = bit(0) | bit(1) | bit(2) | bit(3) | bit(9);
    t.node_len = 6;
    t.raw_data.assign(3 * 24, 0x5a);  // the lossless copy travels as it is
    for (std::uint32_t i = 0; i < 3; ++i) {
        IoamNode n;
        n.hop_limit = static_cast<std::uint8_t>(64 - i);
        n.node_id = 100 + i;
        n.ingress_if_id = static_cast<std::uint16_t>(i);
        n.egress_if_id = static_cast<std::uint16_t>(i + 1);
        n.timestamp_secs = 1700000001;
        n.timestamp_frac = i == 1 ? std::nullopt : std::optional<std::uint32_t>(999999);
        n.ingress_if_id_wide = 0x10000 + i;
        n.egress_if_id_wide = 0x20000 + i;
        t.nodes.push_back(n);
    }
    const auto hop = hop_fields(t.trace_type);
    const auto trace = trace_record_fields(true);
    const std::uint16_t hop_tid = hop_template_id(t.trace_type);
    const Templates templates = {{kTraceWithHopsTemplateId, trace}, {hop_tid, hop}};

    auto rec = make_record(
        trace, Side::internal, [&](const ElementSpec& e) { return trace_value(t, e); },
        [&](const ElementSpec&) { return std::span<const std::uint8_t>(t.raw_data); });
    // List members are exported in the list_member form (the external template's widths).
    GError* err = nullptr;
    fbTemplate_t* hop_tmpl = make_template(model.get(), hop, Side::list_member, &err);
    ASSERT_NE(hop_tmpl, nullptr);
    fbSubTemplateList_t stl{};
    auto* hops = static_cast<std::uint8_t*>(fbSubTemplateListInit(
        &stl, FB_LIST_SEM_ALL_OF, hop_tid, hop_tmpl, static_cast<std::uint16_t>(t.nodes.size())));
    const std::size_t hop_size = memory_layout(hop, Side::list_member).size;
    ASSERT_EQ(hop_size, fbTemplateGetIELenOfMemBuffer(hop_tmpl));
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
        const auto r = node_record(t.nodes[i], hop, Side::list_member);
        std::memcpy(hops + i * hop_size, r.data(), hop_size);
    }
    std::memcpy(rec.data() + internal_layout(trace).offsets.back(), &stl, sizeof stl);
    auto wire = export_stream(model.get(), templates, kTraceWithHopsTemplateId, rec);
    fbSubTemplateListClear(&stl);
    fbTemplateFreeUnused(hop_tmpl);
    // On the wire: list header (varlen 255, length 3 + 3 hops of 1+3+2+2+4+4+4+4 octets,
    // all-of, template id), then the first hop: hop limit 64, 3-octet node id 100.
    const std::uint8_t first_hop[] = {0xff,
                                      0x00,
                                      75,
                                      FB_LIST_SEM_ALL_OF,
                                      static_cast<std::uint8_t>(hop_tid >> 8),
                                      static_cast<std::uint8_t>(hop_tid),
                                      64,
                                      0,
                                      0,
                                      100};
    EXPECT_NE(std::search(wire.begin(), wire.end(), std::begin(first_hop), std::end(first_hop)),
              wire.end());

    IoamTrace back;
    collect_first(
        model.get(), templates, kTraceWithHopsTemplateId, wire, [&](const std::uint8_t* got) {
            read_record(
                got, trace,
                [&](const ElementSpec& e, std::uint64_t v) { return set_trace_value(back, e, v); },
                [&](const ElementSpec&, std::span<const std::uint8_t> data) {
                    back.raw_data.assign(data.begin(), data.end());
                    return Status(Ok{});
                });
            fbSubTemplateList_t in{};
            std::memcpy(&in, got + internal_layout(trace).offsets.back(), sizeof in);
            EXPECT_EQ(in.tmplID, hop_tid);
            for (void* p = nullptr; (p = fbSubTemplateListGetNextPtr(&in, p)) != nullptr;) {
                back.nodes.push_back(read_node(static_cast<std::uint8_t*>(p), hop));
            }
        });
    ASSERT_EQ(back.nodes.size(), t.nodes.size());
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
        EXPECT_EQ(back.nodes[i], t.nodes[i]) << "node " << i;
    }
    EXPECT_EQ(back.raw_data, t.raw_data);
    EXPECT_EQ(back, t);
}

}  // namespace
}  // namespace ioam::ipfix::fixbuf
