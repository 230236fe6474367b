#include "common/ipfix/fixbuf/ioam_fixbuf.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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
    for (const auto side : {Side::external, Side::internal}) {
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
        if (side == Side::internal) {
            EXPECT_EQ(fbTemplateGetIELenOfMemBuffer(t), internal_layout(fields).size);
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

// Writes a DEX report into an internal record laid out by internal_layout(), as an exporter.
std::vector<std::uint8_t> to_record(const DexReport& d, const Layout& fields) {
    const auto layout = internal_layout(fields);
    std::vector<std::uint8_t> rec(layout.size);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        std::uint8_t* at = rec.data() + layout.offsets[i];
        if (fields[i]->type == DataType::octetArray) {
            const auto data = node_opaque_data(d.node);
            fbVarfield_t v{data.size(), const_cast<std::uint8_t*>(data.data())};
            std::memcpy(at, &v, sizeof v);
            continue;
        }
        const std::uint64_t value = *dex_value(d, *fields[i]);
        const auto width = field_length(*fields[i], Side::internal);
        const std::array<std::uint64_t, 1> wide = {value};
        const std::uint8_t u8 = static_cast<std::uint8_t>(value);
        const std::uint16_t u16 = static_cast<std::uint16_t>(value);
        const std::uint32_t u32 = static_cast<std::uint32_t>(value);
        const void* src = width == 1   ? static_cast<const void*>(&u8)
                          : width == 2 ? static_cast<const void*>(&u16)
                          : width == 4 ? static_cast<const void*>(&u32)
                                       : static_cast<const void*>(wide.data());
        std::memcpy(at, src, width);
    }
    return rec;
}

// Reads it back, as a collector.
DexReport from_record(const std::uint8_t* rec, const Layout& fields) {
    const auto layout = internal_layout(fields);
    DexReport d;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::uint8_t* at = rec + layout.offsets[i];
        if (fields[i]->type == DataType::octetArray) {
            fbVarfield_t v;
            std::memcpy(&v, at, sizeof v);
            EXPECT_TRUE(set_node_opaque_data(d.node, {v.buf, v.len}).ok());
            continue;
        }
        const auto width = field_length(*fields[i], Side::internal);
        std::uint64_t value = 0;
        if (width == 1) {
            value = *at;
        } else if (width == 2) {
            std::uint16_t v;
            std::memcpy(&v, at, 2);
            value = v;
        } else if (width == 4) {
            std::uint32_t v;
            std::memcpy(&v, at, 4);
            value = v;
        } else {
            std::memcpy(&value, at, 8);
        }
        EXPECT_TRUE(set_dex_value(d, *fields[i], value).ok()) << fields[i]->name;
    }
    return d;
}

// Exporter and collector through real libfixbuf buffers: reduced-length and variable-length
// encoding, and the all-ones convention, survive the wire.
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

    // Export through a memory stream, as a file exporter would (templates, then data).
    char* wire_buf = nullptr;
    std::size_t len = 0;
    FILE* sink = open_memstream(&wire_buf, &len);
    ASSERT_NE(sink, nullptr);
    GError* err = nullptr;
    fbSession_t* out_session = fbSessionAlloc(model.get());
    fBuf_t* out = fBufAllocForExport(out_session, fbExporterAllocFP(sink));
    fbSessionSetDomain(out_session, d.observation_domain);
    ASSERT_TRUE(fbSessionAddTemplate(
        out_session, TRUE, tid, make_template(model.get(), fields, Side::internal, &err), &err));
    ASSERT_TRUE(fbSessionAddTemplate(
        out_session, FALSE, tid, make_template(model.get(), fields, Side::external, &err), &err));
    ASSERT_TRUE(fbSessionExportTemplates(out_session, &err)) << err->message;
    ASSERT_TRUE(fBufSetInternalTemplate(out, tid, &err));
    ASSERT_TRUE(fBufSetExportTemplate(out, tid, &err));
    auto rec = to_record(d, fields);
    ASSERT_TRUE(fBufAppend(out, rec.data(), rec.size(), &err)) << err->message;
    ASSERT_TRUE(fBufEmit(out, &err)) << err->message;
    fBufFree(out);
    std::fclose(sink);
    const std::vector<std::uint8_t> wire(wire_buf, wire_buf + len);
    std::free(wire_buf);

    // The data set ends the stream: header, then 8+4+2+4+4+1+1+3 record header, 1+3 node,
    // 4 delay, 1+7 wide, 3 schema id, 1+8 opaque data.
    const std::size_t fixed = 8 + 4 + 2 + 4 + 4 + 1 + 1 + 3 + 1 + 3 + 4 + 1 + 7 + 3;
    const std::size_t set_len = 4 + fixed + 1 + 8;
    ASSERT_GE(len, 16 + set_len);
    const std::uint8_t* set = wire.data() + len - set_len;
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

    FILE* source = fmemopen(const_cast<std::uint8_t*>(wire.data()), wire.size(), "rb");
    ASSERT_NE(source, nullptr);
    fbSession_t* in_session = fbSessionAlloc(model.get());
    ASSERT_TRUE(fbSessionAddTemplate(
        in_session, TRUE, tid, make_template(model.get(), fields, Side::internal, &err), &err));
    fBuf_t* in = fBufAllocForCollection(in_session, fbCollectorAllocFP(nullptr, source));
    ASSERT_TRUE(fBufSetInternalTemplate(in, tid, &err));
    std::vector<std::uint8_t> got(internal_layout(fields).size);
    std::size_t got_len = got.size();
    ASSERT_TRUE(fBufNext(in, got.data(), &got_len, &err)) << err->message;
    EXPECT_EQ(got_len, got.size());
    const DexReport back = from_record(got.data(), fields);
    fBufFree(in);
    std::fclose(source);
    EXPECT_EQ(back, d);
}

}  // namespace
}  // namespace ioam::ipfix::fixbuf
