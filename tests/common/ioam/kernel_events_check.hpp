#pragma once
// Checks of a capture made by scripts/capture-ioam-events.py against the configuration that
// script sets (node/interface ids, namespace data, opaque state schema): shared by the
// fixture test (unit) and the live capture test (kernel).

#include <nlohmann/json.hpp>

namespace ioam::test {

// Decodes every event field by field against the capture configuration, and checks the
// node order (newest first). require_nodelen_fix: the kernel must have dropped the probe
// whose NodeLen leaves out an undefined bit (true for the committed fixture).
void check_capture_events(const nlohmann::json& doc, bool require_nodelen_fix);

// The options the sender put on the wire parse back to the probes.
void check_sent_options(const nlohmann::json& doc);

}  // namespace ioam::test
