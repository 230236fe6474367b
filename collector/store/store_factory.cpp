#include <stdexcept>
#include <string_view>

#include "collector/store/batching_store.hpp"
#include "collector/store/sqlite/sqlite_backend.hpp"
#include "collector/store/trace_store.hpp"

namespace ioam::collector::store {

std::unique_ptr<TraceStore> make_store(const StoreConfig& config) {
    std::string_view where = config.path;
    const auto colon = where.find(':');
    std::string_view scheme = "sqlite";
    // A bare path (even one with a colon further on, after a slash) is a SQLite file.
    if (colon != std::string_view::npos &&
        where.substr(0, colon).find('/') == std::string_view::npos) {
        scheme = where.substr(0, colon);
        where = where.substr(colon + 1);
    }
    if (scheme != "sqlite") {
        throw std::runtime_error("unknown store back end '" + std::string(scheme) +
                                 "' (known: sqlite:PATH)");
    }
    if (where.empty()) {
        throw std::runtime_error("store: sqlite: needs a file path");
    }
    return std::make_unique<BatchingStore>(config, open_sqlite_backend(std::string(where)));
}

}  // namespace ioam::collector::store
