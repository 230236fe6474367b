#include <algorithm>
#include <string>

#include "collector/console/assets.hpp"

namespace ioam::collector::console {

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    while (!if_none_match.empty()) {
        const auto comma = if_none_match.find(',');
        std::string_view tag = if_none_match.substr(0, comma);
        if_none_match =
            comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
        while (!tag.empty() && tag.front() == ' ') {
            tag.remove_prefix(1);
        }
        while (!tag.empty() && tag.back() == ' ') {
            tag.remove_suffix(1);
        }
        // A weak tag names the same content for GET (RFC 9110, 13.1.2).
        if (tag.starts_with("W/")) {
            tag.remove_prefix(2);
        }
        if (tag == "*" || tag == etag) {
            return true;
        }
    }
    return false;
}

std::optional<net::HttpResponse> serve(std::string_view path, std::string_view if_none_match) {
    if (path == "/") {
        path = "/index.html";
    }
    const auto all = assets();
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Asset& a) { return a.path == path; });
    if (it == all.end()) {
        return std::nullopt;
    }
    net::HttpResponse r{200, std::string(it->content_type), {}, std::string(it->etag)};
    if (etag_matches(if_none_match, it->etag)) {
        r.status = 304;
    } else {
        r.body = it->body;
    }
    return r;
}

}  // namespace ioam::collector::console
