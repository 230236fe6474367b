#pragma once
// One JSON object per event (for --print json): the keys of the collector's JSON API
// (collector/api/routes.cpp) for the same records, absent (unavailable) node fields left out.

#include <string>

#include "exporter/decode/event_decoder.hpp"

namespace ioam::exporter {

std::string event_json(const decode::Event& event);

}  // namespace ioam::exporter
