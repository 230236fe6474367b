#pragma once
// What both binaries share about their configuration: the config file format (`key = value`
// lines as CLI11 reads TOML/INI, or one JSON object; keys are the long flag names), unsigned
// options that refuse signs, overflow and values outside their range, and one-line errors.
//
// Threading: start-up only, from the thread that parses the command line.

#include <algorithm>
#include <cstdint>
#include <istream>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

namespace ioam::config {

// Reads a config file for `app`. Errors (CLI::ConversionError) for: a file that is not text,
// JSON that is not one object, a [section] (neither binary has any), a key no option has.
class ConfigFile final : public CLI::ConfigTOML {
  public:
    explicit ConfigFile(const CLI::App& app) : app_(app) {}
    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

  private:
    const CLI::App& app_;
};

// Adds --config FILE to `app`, read by ConfigFile.
void add_config_file(CLI::App& app, const std::string& help);

// Accepts decimal digits only, as an unsigned 64-bit value within [min, max].
CLI::Validator unsigned_range(std::uint64_t min, std::uint64_t max);

// An unsigned option whose text must be a number within [min, max] (and fit T): CLI11 alone
// takes "-1" as 2^64-1 and saturates overflowing values.
template <typename T>
CLI::Option* add_unsigned(CLI::App& app, const std::string& name, T& value, const std::string& help,
                          std::uint64_t min, std::uint64_t max = std::numeric_limits<T>::max()) {
    static_assert(std::is_unsigned_v<T>);
    const std::uint64_t limit = std::min<std::uint64_t>(max, std::numeric_limits<T>::max());
    return app.add_option(name, value, help)
        ->check(unsigned_range(min, limit))
        ->capture_default_str();
}

// The exit code of a parse error after printing it: --help and --version print their text
// and give 0; an error prints one line, "<program>: <what>", on stderr.
int report(const CLI::App& app, const CLI::ParseError& e, std::string_view program);

}  // namespace ioam::config
