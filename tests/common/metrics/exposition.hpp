#pragma once
// Parses the Prometheus text format into samples, so that tests compare names, label sets and
// values rather than substrings (the library chooses the order of labels and samples).

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ioam::metrics::test {

using LabelMap = std::map<std::string, std::string>;

struct Sample {
    std::string name;
    LabelMap labels;
    double value = 0;
};

struct Exposition {
    std::map<std::string, std::string> help;  // family name -> HELP text
    std::map<std::string, std::string> type;  // family name -> TYPE
    std::vector<Sample> samples;

    // The samples of this name whose labels include `labels`.
    std::vector<Sample> find(std::string_view name, const LabelMap& labels = {}) const {
        std::vector<Sample> out;
        for (const Sample& s : samples) {
            bool match = s.name == name;
            for (const auto& [k, v] : labels) {
                const auto it = s.labels.find(k);
                match = match && it != s.labels.end() && it->second == v;
            }
            if (match) {
                out.push_back(s);
            }
        }
        return out;
    }
    // The value of the one sample with exactly these labels; nullopt if there is none.
    std::optional<double> value(std::string_view name, const LabelMap& labels = {}) const {
        for (const Sample& s : samples) {
            if (s.name == name && s.labels == labels) {
                return s.value;
            }
        }
        return std::nullopt;
    }
};

// Fails the calling test on a line it cannot parse.
inline Exposition parse_exposition(std::string_view text) {
    Exposition out;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (line.empty()) {
            continue;
        }
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const std::string_view rest = line.substr(7);
            const auto sp = rest.find(' ');
            auto& map = line[2] == 'H' ? out.help : out.type;
            map[std::string(rest.substr(0, sp))] =
                sp == std::string_view::npos ? "" : std::string(rest.substr(sp + 1));
            continue;
        }
        Sample s;
        std::size_t i = line.find_first_of("{ ");
        s.name = std::string(line.substr(0, i));
        if (i != std::string_view::npos && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                const auto eq = line.find("=\"", i);
                if (eq == std::string_view::npos) {
                    ADD_FAILURE() << "bad labels: " << line;
                    return out;
                }
                const std::string key(line.substr(i, eq - i));
                std::string value;
                for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
                    if (line[i] == '\\' && i + 1 < line.size()) {
                        ++i;
                        value += line[i] == 'n' ? '\n' : line[i];
                    } else {
                        value += line[i];
                    }
                }
                s.labels[key] = value;
                i += 1;  // closing quote
                if (i < line.size() && line[i] == ',') {
                    ++i;
                }
            }
            ++i;  // closing brace
        }
        if (i >= line.size() || line[i] != ' ') {
            ADD_FAILURE() << "no value: " << line;
            return out;
        }
        const std::string value(line.substr(i + 1));
        char* end = nullptr;
        s.value = std::strtod(value.c_str(), &end);
        if (end == value.c_str()) {
            ADD_FAILURE() << "bad value: " << line;
        }
        out.samples.push_back(std::move(s));
    }
    return out;
}

}  // namespace ioam::metrics::test
