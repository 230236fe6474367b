#pragma once
// The rows ioam-query prints, each cell both as text for people and as a JSON value for
// programs: an aligned table (numbers right-aligned), CSV (RFC 4180) or JSON lines.
//
// Threading: plain values.

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ioam::tools::query {

enum class Format { table, csv, json };

struct Cell {
    std::string text;    // "139us", "2026-11-24 00:00:00"
    nlohmann::json raw;  // 139000, 1795478400000000000; null when absent
};

struct Table {
    struct Column {
        std::string name;
        bool left = false;  // text, aligned left
    };
    std::vector<Column> columns;
    std::vector<std::vector<Cell>> rows;

    // CSV cells are the text form unless `raw`; JSON lines always hold the raw values.
    void write(std::ostream& out, Format format, bool raw) const;
};

}  // namespace ioam::tools::query
