#include "common/ipfix/ioam_elements.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace ioam::ipfix {
namespace {

using enum DataType;

struct Expected {
    std::string_view name;
    std::uint32_t pen;
    std::uint16_t id;
    DataType type;
    std::uint16_t length;
};

// The contract exporter and collector were coded against: numbers must never change.
constexpr Expected kContract[] = {
    // IANA 325 (324 is observationTimeMicroseconds, whatever the first brief said).
    {"observationTimeNanoseconds", 0, 325, dateTimeNanoseconds, 8},
    {"observationDomainId", 0, 149, unsigned32, 4},
    {"subTemplateList", 0, 292, DataType::subTemplateList, kVarLen},
    {"samplingPacketInterval", 0, 305, unsigned32, 4},
    {"samplingPacketSpace", 0, 306, unsigned32, 4},
    {"ioamNamespaceId", kPen, 0, unsigned16, 2},
    {"ioamHopLimit", kPen, 1, unsigned8, 1},
    {"ioamNodeId", kPen, 2, unsigned32, 3},
    {"ioamIngressIfId", kPen, 3, unsigned16, 2},
    {"ioamEgressIfId", kPen, 4, unsigned16, 2},
    {"ioamTimestampSeconds", kPen, 5, unsigned32, 4},
    {"ioamTimestampFraction", kPen, 6, unsigned32, 4},
    {"ioamNamespaceData", kPen, 7, unsigned32, 4},
    {"ioamQueueDepth", kPen, 8, unsigned32, 4},
    {"ioamNodeIdWide", kPen, 9, unsigned64, 7},
    {"ioamIngressIfIdWide", kPen, 10, unsigned32, 4},
    {"ioamEgressIfIdWide", kPen, 11, unsigned32, 4},
    {"ioamNamespaceDataWide", kPen, 12, unsigned64, 8},
    {"ioamOpaqueSchemaId", kPen, 13, unsigned32, 3},
    {"ioamOpaqueData", kPen, 14, octetArray, kVarLen},
    {"ioamDexFlowId", kPen, 15, unsigned32, 4},
    {"ioamDexSequenceNumber", kPen, 16, unsigned32, 4},
    {"ioamTransitDelay", kPen, 17, unsigned32, 4},
    {"ioamChecksumComplement", kPen, 18, unsigned32, 4},
    {"ioamBufferOccupancy", kPen, 19, unsigned32, 4},
    {"ioamTraceType", kPen, 20, unsigned32, 3},
    {"ioamTraceData", kPen, 21, octetArray, kVarLen},
    {"ioamNodeLength", kPen, 22, unsigned8, 1},
    {"ioamTraceFlags", kPen, 23, unsigned8, 1},
    {"ioamOptionType", kPen, 24, unsigned8, 1},
    {"ioamHopCount", kPen, 25, unsigned8, 1},
    {"ioamDexFlags", kPen, 26, unsigned8, 1},
    {"ioamDexExtFlags", kPen, 27, unsigned8, 1},
    {"ioamHopLimitWide", kPen, 28, unsigned8, 1},
};

TEST(Elements, MatchTheContractExactly) {
    ASSERT_EQ(elements().size(), std::size(kContract));
    for (const auto& want : kContract) {
        SCOPED_TRACE(std::string(want.name));
        const auto* e = find(want.name);
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->pen, want.pen);
        EXPECT_EQ(e->id, want.id);
        EXPECT_EQ(e->type, want.type);
        EXPECT_EQ(e->length, want.length);
        EXPECT_EQ(find(want.pen, want.id), e);
    }
}

TEST(Elements, NamesAndNumbersAreUnique) {
    std::set<std::string_view> names;
    std::set<std::pair<std::uint32_t, std::uint16_t>> numbers;
    for (const auto& e : elements()) {
        EXPECT_TRUE(names.insert(e.name).second) << e.name;
        EXPECT_TRUE(numbers.insert({e.pen, e.id}).second) << e.name;
        EXPECT_LT(e.id, 0x8000) << e.name << ": the enterprise bit is not part of the id";
    }
}

TEST(Elements, IanaFirstThenEnterpriseInIdOrder) {
    const auto all = elements();
    for (std::size_t i = 1; i < all.size(); ++i) {
        const auto& a = all[i - 1];
        const auto& b = all[i];
        EXPECT_TRUE(a.pen < b.pen || (a.pen == b.pen && a.id < b.id)) << a.name << " " << b.name;
    }
}

TEST(Elements, LengthFitsTheDataType) {
    for (const auto& e : elements()) {
        SCOPED_TRACE(std::string(e.name));
        switch (e.type) {
            case unsigned8:
                EXPECT_EQ(e.length, 1);
                break;
            case unsigned16:
                EXPECT_TRUE(e.length >= 1 && e.length <= 2);
                break;
            case unsigned32:
                EXPECT_TRUE(e.length >= 1 && e.length <= 4);
                break;
            case unsigned64:
                EXPECT_TRUE(e.length >= 1 && e.length <= 8);
                break;
            case dateTimeNanoseconds:
                EXPECT_EQ(e.length, 8);
                break;
            case octetArray:
            case DataType::subTemplateList:
                EXPECT_EQ(e.length, kVarLen);
                break;
        }
    }
}

TEST(Elements, DescribedWithRegisteredSemanticsAndUnits) {
    // The IANA spellings (RFC 7012 section 3.2, IANA "IPFIX Information Element Units") that
    // libfixbuf and libfds both understand.
    const std::set<std::string_view> semantics = {
        "default", "quantity", "totalCounter", "deltaCounter", "identifier", "flags", "list"};
    const std::set<std::string_view> units = {
        "", "octets", "packets", "seconds", "microseconds", "nanoseconds", "hops", "4-octet words"};
    for (const auto& e : elements()) {
        SCOPED_TRACE(std::string(e.name));
        EXPECT_TRUE(semantics.contains(e.semantics)) << e.semantics;
        EXPECT_TRUE(units.contains(e.units)) << e.units;
        EXPECT_GE(e.description.size(), 30u);
        EXPECT_EQ(e.description.find_first_of("|\n"), std::string_view::npos)
            << "would break the Markdown table";
    }
}

TEST(Elements, UnknownLookupsFail) {
    EXPECT_EQ(find("ioamNoSuchThing"), nullptr);
    EXPECT_EQ(find(kPen, 999), nullptr);
    EXPECT_EQ(find(0, 0), nullptr);
    EXPECT_EQ(find(1, 2), nullptr);
}

TEST(Elements, DataTypeNamesAreTheIanaOnes) {
    EXPECT_EQ(to_string(unsigned8), "unsigned8");
    EXPECT_EQ(to_string(unsigned64), "unsigned64");
    EXPECT_EQ(to_string(octetArray), "octetArray");
    EXPECT_EQ(to_string(dateTimeNanoseconds), "dateTimeNanoseconds");
    EXPECT_EQ(to_string(DataType::subTemplateList), "subTemplateList");
}

}  // namespace
}  // namespace ioam::ipfix
