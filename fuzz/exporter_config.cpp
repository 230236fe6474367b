// ioam-exporter's command line and config file parser: fuzz/args.hpp.

#include <cstddef>
#include <cstdint>

#include "exporter/config.hpp"
#include "fuzz/args.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    ioam::fuzz::CommandLine::mute_output();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return ioam::fuzz::fuzz_parse_config<ioam::exporter::ExporterConfig>(
        "ioam-exporter", ioam::exporter::parse_config, data, size);
}
