#pragma once
// Cases of the double-reallocation calculator and their table and JSON renderings.

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tools/realloc-calc/realloc_model.hpp"

namespace ioam::realloc {

struct KernelOutcome {
    Kernel kernel;
    Outcome outcome;
};

struct Case {
    Encap encap;
    unsigned overhead;
    std::vector<KernelOutcome> kernels;
    bool reallocated_twice() const;  // on any of the kernels
};

// Every mode of `proto` (every protocol when none) over its valid sizes, with the HMAC and RPL
// compression of `shape`.
std::vector<Encap> sweep(const std::optional<Proto>& proto, const Encap& shape);

// Preconditions: every encapsulation and the host are valid.
std::vector<Case> evaluate(const std::vector<Encap>& encaps, const Host& host,
                           const std::vector<Kernel>& kernels, Packet packet);

nlohmann::json to_json(const std::vector<Case>& cases);
std::string to_table(const std::vector<Case>& cases, const Host& host, Packet packet);

}  // namespace ioam::realloc
