#include "tools/ioam-query/table.hpp"

#include <algorithm>

namespace ioam::tools::query {

namespace {

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) {
        return s;
    }
    std::string out = "\"";
    for (const char c : s) {
        out += c == '"' ? "\"\"" : std::string(1, c);
    }
    return out + "\"";
}

std::string raw_text(const nlohmann::json& v) {
    if (v.is_null()) {
        return "";
    }
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

void Table::write(std::ostream& out, Format format, bool raw) const {
    if (format == Format::json) {
        for (const auto& row : rows) {
            nlohmann::json j = nlohmann::json::object();
            for (std::size_t i = 0; i < columns.size(); ++i) {
                j[columns[i].name] = row[i].raw;
            }
            out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        }
        return;
    }
    if (format == Format::csv) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            out << (i ? "," : "") << csv_field(columns[i].name);
        }
        out << '\n';
        for (const auto& row : rows) {
            for (std::size_t i = 0; i < columns.size(); ++i) {
                out << (i ? "," : "") << csv_field(raw ? raw_text(row[i].raw) : row[i].text);
            }
            out << '\n';
        }
        return;
    }
    std::vector<std::size_t> width(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) {
        width[i] = columns[i].name.size();
        for (const auto& row : rows) {
            width[i] = std::max(width[i], row[i].text.size());
        }
    }
    const auto line = [&](auto&& text_of) {
        std::string s;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const std::string& t = text_of(i);
            const std::string pad(width[i] - std::min(width[i], t.size()), ' ');
            s += i ? "  " : "";
            s += columns[i].left ? t + pad : pad + t;
        }
        while (s.ends_with(' ')) {
            s.pop_back();
        }
        out << s << '\n';
    };
    line([&](std::size_t i) -> const std::string& { return columns[i].name; });
    for (const auto& row : rows) {
        line([&](std::size_t i) -> const std::string& { return row[i].text; });
    }
}

}  // namespace ioam::tools::query
