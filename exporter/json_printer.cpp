#include "exporter/json_printer.hpp"

#include "common/json/ioam_json.hpp"

namespace ioam::exporter {

std::string event_json(const decode::Event& event) {
    return std::visit([](const auto& e) { return json::to_json(e).dump(); }, event);
}

}  // namespace ioam::exporter
