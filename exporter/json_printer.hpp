#pragma once
// One JSON object per event (for --print json): field names follow the model, absent
// (unavailable) node fields are left out.

#include <string>

#include "exporter/decode/event_decoder.hpp"

namespace ioam::exporter {

std::string event_json(const decode::Event& event);

}  // namespace ioam::exporter
