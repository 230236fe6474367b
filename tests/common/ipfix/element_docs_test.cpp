#include "common/ipfix/element_docs.hpp"

#include <glib.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/ipfix/ioam_elements.hpp"

namespace ioam::ipfix {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const std::string kSource = IOAM_SOURCE_DIR;
const std::string kRegen =
    " is stale: regenerate with ioam-ie-gen (see tests/common/ipfix/CMakeLists.txt)";

TEST(ElementDocs, CommittedMarkdownIsGenerated) {
    EXPECT_TRUE(read_file(kSource + "/docs/ipfix-elements.md") == render_markdown())
        << "docs/ipfix-elements.md" << kRegen;
}

TEST(ElementDocs, CommittedXmlIsGenerated) {
    EXPECT_TRUE(read_file(kSource + "/docs/ioam-elements.xml") == render_libfds_xml())
        << "docs/ioam-elements.xml" << kRegen;
}

TEST(ElementDocs, MarkdownHasARowPerElement) {
    const auto md = render_markdown();
    for (const auto& e : elements()) {
        const auto row = "| `" + std::string(e.name) + "` | " + std::to_string(e.pen) + " | " +
                         std::to_string(e.id) + " | " + std::string(to_string(e.type)) + " | ";
        EXPECT_NE(md.find(row), std::string::npos) << row;
    }
}

// What GMarkup saw: the text of each child of each <element>, and the scope.
struct Parsed {
    std::map<std::string, std::string> scope;
    std::vector<std::map<std::string, std::string>> elements;
    std::string path;  // "/ipfix-elements/element/id" while inside that tag
};

void on_start(GMarkupParseContext*, const gchar* name, const gchar**, const gchar**, gpointer user,
              GError**) {
    auto* p = static_cast<Parsed*>(user);
    p->path += "/" + std::string(name);
    if (p->path == "/ipfix-elements/element") {
        p->elements.emplace_back();
    }
}

void on_end(GMarkupParseContext*, const gchar*, gpointer user, GError**) {
    auto* p = static_cast<Parsed*>(user);
    p->path.erase(p->path.rfind('/'));
}

void on_text(GMarkupParseContext*, const gchar* text, gsize len, gpointer user, GError**) {
    auto* p = static_cast<Parsed*>(user);
    const std::string element = "/ipfix-elements/element/";
    const std::string scope = "/ipfix-elements/scope/";
    if (p->path.starts_with(element)) {
        p->elements.back()[p->path.substr(element.size())] += std::string(text, len);
    } else if (p->path.starts_with(scope)) {
        p->scope[p->path.substr(scope.size())] += std::string(text, len);
    }
}

TEST(ElementDocs, XmlIsWellFormedAndDescribesEveryEnterpriseElement) {
    const auto xml = render_libfds_xml();
    Parsed parsed;
    const GMarkupParser parser = {on_start, on_end, on_text, nullptr, nullptr};
    GMarkupParseContext* ctx =
        g_markup_parse_context_new(&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &parsed, nullptr);
    GError* err = nullptr;
    const bool ok =
        g_markup_parse_context_parse(ctx, xml.data(), static_cast<gssize>(xml.size()), &err) &&
        g_markup_parse_context_end_parse(ctx, &err);
    g_markup_parse_context_free(ctx);
    ASSERT_TRUE(ok) << (err != nullptr ? err->message : "");

    EXPECT_EQ(parsed.scope["pen"], std::to_string(kPen));
    EXPECT_EQ(parsed.scope["name"], "ioam");
    std::size_t enterprise = 0;
    for (const auto& e : elements()) {
        if (e.pen != kPen) {
            continue;
        }
        ASSERT_LT(enterprise, parsed.elements.size());
        auto& got = parsed.elements[enterprise++];
        EXPECT_EQ(got["id"], std::to_string(e.id));
        EXPECT_EQ(got["name"], e.name);
        EXPECT_EQ(got["dataType"], to_string(e.type));
        EXPECT_EQ(got["dataSemantics"], e.semantics);
        EXPECT_EQ(got["units"], e.units);
    }
    EXPECT_EQ(enterprise, parsed.elements.size());
}

}  // namespace
}  // namespace ioam::ipfix
