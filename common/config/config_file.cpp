#include "common/config/config_file.hpp"

#include <charconv>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ioam::config {

namespace {

// Binary files hold control octets a text config file never has.
bool is_text(std::string_view s) noexcept {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f) {
            return false;
        }
    }
    return true;
}

// CLI11 silently skips lines it cannot read as `key = value`; here they are errors, so that a
// file of another format is not taken as an empty configuration.
void check_key_value_lines(const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    bool in_array = false;  // inside a `key = [` ... `]` spread over lines
    for (std::size_t number = 1; std::getline(lines, line); ++number) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#' || line[first] == ';') {
            continue;
        }
        if (in_array) {
            in_array = line.find(']') == std::string::npos;
            continue;
        }
        if (line[first] == '[') {
            throw CLI::ConversionError("config file line " + std::to_string(number) +
                                       ": sections and JSON arrays are not allowed, only "
                                       "key = value lines or one JSON object");
        }
        const auto eq = line.find('=');
        if (eq == std::string::npos) {
            throw CLI::ConversionError("config file line " + std::to_string(number) +
                                       ": not a key = value line");
        }
        const auto value = line.find_first_not_of(" \t", eq + 1);
        in_array = value != std::string::npos && line[value] == '[' &&
                   line.find(']', value) == std::string::npos;
    }
}

std::vector<CLI::ConfigItem> json_items(const std::string& text) {
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        throw CLI::ConversionError("config file is not a valid JSON object");
    }
    std::vector<CLI::ConfigItem> items;
    for (const auto& [key, value] : json.items()) {
        CLI::ConfigItem item;
        item.name = key;
        const auto add = [&](const nlohmann::json& v) {
            if (v.is_object() || v.is_array()) {
                // item.name, not the binding: clang 14 cannot capture a structured binding.
                throw CLI::ConversionError("config key '" + item.name +
                                           "': nested values are not allowed");
            }
            item.inputs.push_back(v.is_string() ? v.get<std::string>() : v.dump());
        };
        if (value.is_array()) {
            for (const auto& v : value) {
                add(v);
            }
        } else {
            add(value);
        }
        items.push_back(std::move(item));
    }
    return items;
}

}  // namespace

std::vector<CLI::ConfigItem> ConfigFile::from_config(std::istream& input) const {
    std::stringstream buffer;
    buffer << input.rdbuf();
    const std::string text = buffer.str();
    if (!is_text(text)) {
        throw CLI::ConversionError("config file is not text");
    }
    const auto first = text.find_first_not_of(" \t\r\n");
    std::vector<CLI::ConfigItem> items;
    if (first != std::string::npos && text[first] == '{') {
        items = json_items(text);
    } else {
        check_key_value_lines(text);
        std::istringstream again(text);
        items = CLI::ConfigTOML::from_config(again);
    }
    for (const CLI::ConfigItem& item : items) {
        // CLI11 marks [section] entries and exits with these names or with parents.
        if (!item.parents.empty() || item.name == "++" || item.name == "--") {
            throw CLI::ConversionError(
                "config file: sections ([...]) and JSON arrays are not "
                "allowed, only key = value lines or one JSON object");
        }
        if (item.name == "config" || app_.get_option_no_throw("--" + item.name) == nullptr) {
            throw CLI::ConversionError("config file: unknown key '" + item.name + "'");
        }
    }
    return items;
}

void add_config_file(CLI::App& app, const std::string& help) {
    app.config_formatter(std::make_shared<ConfigFile>(app));
    app.set_config("--config", "", help);
    app.allow_config_extras(false);
}

CLI::Validator unsigned_range(std::uint64_t min, std::uint64_t max) {
    const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return CLI::Validator(
        [min, max, range](std::string& text) -> std::string {
            std::uint64_t v = 0;
            const char* end = text.data() + text.size();
            const auto [p, ec] = std::from_chars(text.data(), end, v);
            if (text.empty() || ec == std::errc::invalid_argument || p != end) {
                return "'" + text + "' is not an unsigned decimal number";
            }
            if (ec == std::errc::result_out_of_range || v < min || v > max) {
                return text + " is outside " + range;
            }
            return {};
        },
        "UINT in " + range);
}

int report(const CLI::App& app, const CLI::ParseError& e, std::string_view program) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
        return app.exit(e);
    }
    std::cerr << program << ": " << e.what() << '\n';
    return e.get_exit_code();
}

}  // namespace ioam::config
