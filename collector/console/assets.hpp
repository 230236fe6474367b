#pragma once
// The web console's static files, compiled into the binary (embed.cmake writes assets()), and
// how they are served: "/" is index.html; every answer carries its ETag and a matching
// If-None-Match gets 304, so a browser revalidates rather than downloads.
//
// Threading: immutable data; any thread.

#include <optional>
#include <span>
#include <string_view>

#include "common/net/http_server.hpp"

namespace ioam::collector::console {

struct Asset {
    std::string_view path;  // "/index.html"
    std::string_view content_type;
    std::string_view body;
    std::string_view etag;  // quoted, as sent
};

std::span<const Asset> assets();

// nullopt when `path` (no query) is not a console file.
std::optional<net::HttpResponse> serve(std::string_view path, std::string_view if_none_match);

// A response's ETag matches If-None-Match (a list of tags, or "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace ioam::collector::console
