#include "collector/source/ipfix_processor.hpp"

#include <algorithm>

namespace ioam::collector::source {

std::string_view to_string(Transport t) noexcept {
    return t == Transport::udp ? "udp" : "tcp";
}

std::string_view to_string(IngestError e) noexcept {
    switch (e) {
        case IngestError::bad_version:
            return "bad_version";
        case IngestError::bad_length:
            return "bad_length";
        case IngestError::set_overrun:
            return "set_overrun";
        case IngestError::bad_template:
            return "bad_template";
        case IngestError::template_too_large:
            return "template_too_large";
        case IngestError::withdrawal_on_udp:
            return "withdrawal_on_udp";
        case IngestError::too_many_templates:
            return "too_many_templates";
        case IngestError::too_many_domains:
            return "too_many_domains";
        case IngestError::too_many_sessions:
            return "too_many_sessions";
        case IngestError::reserved_set_id:
            return "reserved_set_id";
        case IngestError::unknown_template:
            return "unknown_template";
        case IngestError::record_overrun:
            return "record_overrun";
        case IngestError::decode_error:
            return "decode_error";
        case IngestError::template_memory:
            return "template_memory";
        case IngestError::value_out_of_range:
            return "value_out_of_range";
        case IngestError::record_too_large:
            return "record_too_large";
    }
    return "unknown";
}

namespace {

// Time between two wall-clock readings; zero when the clock stepped back in between, so that
// a backward step never looks like an age of 2^64 ns.
std::uint64_t elapsed(std::uint64_t now_ns, std::uint64_t then_ns) noexcept {
    return now_ns > then_ns ? now_ns - then_ns : 0;
}

IngestError handler_error(Errc e) noexcept {
    switch (e) {
        case Errc::invalid_argument:
            return IngestError::value_out_of_range;
        case Errc::too_large:
            return IngestError::record_too_large;
        default:
            return IngestError::decode_error;
    }
}

// Sending a template again refreshes it; other fields under the same id change how the
// exporter's records decode, which an operator wants to know.
bool same_fields(const Template& a, const Template& b) noexcept {
    return a.scope_count == b.scope_count &&
           std::equal(a.fields.begin(), a.fields.end(), b.fields.begin(), b.fields.end(),
                      [](const FieldSpec& x, const FieldSpec& y) {
                          return x.pen == y.pen && x.id == y.id && x.length == y.length;
                      });
}

}  // namespace

std::size_t template_cost(const Template& t) noexcept {
    // Control block, map node and allocator overhead, measured order of magnitude.
    constexpr std::size_t kOverhead = 128;
    return sizeof(Template) + t.fields.capacity() * sizeof(FieldSpec) + kOverhead;
}

struct IpfixProcessor::Domain final : TemplateScope {
    struct Entry {
        TemplatePtr tmpl;
        std::uint64_t refreshed_ns = 0;
    };
    std::unordered_map<std::uint16_t, Entry> templates;
    std::size_t template_bytes = 0;
    std::optional<std::uint32_t> next_seq;
    ExporterStats stats;

    const Template* find(std::uint16_t id) const override {
        auto it = templates.find(id);
        return it == templates.end() ? nullptr : it->second.tmpl.get();
    }
    void put(std::uint16_t id, TemplatePtr t, std::uint64_t now_ns) {
        if (auto it = templates.find(id); it != templates.end()) {
            template_bytes -= template_cost(*it->second.tmpl);
            stats.templates_redefined += !same_fields(*it->second.tmpl, *t);
        }
        template_bytes += template_cost(*t);
        templates[id] = {std::move(t), now_ns};
        stats.templates = templates.size();
    }
    template <typename Pred>
    void erase_if(Pred pred) {
        for (auto it = templates.begin(); it != templates.end();) {
            if (pred(it->second)) {
                template_bytes -= template_cost(*it->second.tmpl);
                stats.templates_withdrawn++;
                it = templates.erase(it);
            } else {
                ++it;
            }
        }
        stats.templates = templates.size();
    }
};

struct IpfixProcessor::Session {
    SessionInfo info;
    std::optional<UdpKey> key;
    std::list<SessionId>::iterator lru;  // UDP only
    std::uint64_t last_seen_ns = 0;
    std::unordered_map<std::uint32_t, Domain> domains;

    std::size_t template_bytes() const noexcept {
        std::size_t n = 0;
        for (const auto& [id, d] : domains) {
            n += d.template_bytes;
        }
        return n;
    }
};

std::size_t IpfixProcessor::UdpKeyHash::operator()(const UdpKey& k) const noexcept {
    std::size_t h = k.listener;
    for (std::uint8_t b : k.address) {
        h = h * 131 + b;
    }
    return h;
}

IpfixProcessor::IpfixProcessor(const ProcessorConfig& config, RoleOf role_of,
                               RecordHandler& handler, IngestObserver& observer)
    : config_(config), role_of_(role_of), handler_(handler), observer_(observer) {}

IpfixProcessor::~IpfixProcessor() = default;

bool IpfixProcessor::make_room(std::string_view address) {
    if (sessions_.size() < config_.max_sessions) {
        return true;
    }
    if (udp_lru_.empty()) {
        observer_.on_error(address, IngestError::too_many_sessions);
        return false;
    }
    // Shown as ended at its last message: that is when it was last heard of.
    auto victim = sessions_.find(udp_lru_.front());
    erase_session(victim, victim->second->last_seen_ns);
    ++udp_evicted_;
    return true;
}

IpfixProcessor::SessionMap::iterator IpfixProcessor::erase_session(SessionMap::iterator it,
                                                                   std::uint64_t now_ns) {
    Session& s = *it->second;
    if (s.key) {
        udp_peers_.erase(*s.key);
        udp_lru_.erase(s.lru);
    }
    remember_ended(s, now_ns);
    return sessions_.erase(it);
}

std::optional<SessionId> IpfixProcessor::open_tcp(std::string address, std::uint16_t port) {
    std::lock_guard lock(mu_);
    if (!make_room(address)) {
        return std::nullopt;
    }
    auto s = std::make_unique<Session>();
    s->info = {next_id_++, Transport::tcp, std::move(address), port};
    const SessionId id = s->info.id;
    sessions_.emplace(id, std::move(s));
    publish_counts();
    return id;
}

void IpfixProcessor::process_udp(const UdpPeer& peer, std::string_view address, Bytes message,
                                 std::uint64_t now_ns) {
    std::lock_guard lock(mu_);
    const UdpKey key{peer.address, peer.listener};
    Session* s = nullptr;
    if (auto it = udp_peers_.find(key); it != udp_peers_.end()) {
        s = sessions_.at(it->second).get();
        udp_lru_.splice(udp_lru_.end(), udp_lru_, s->lru);
    } else {
        // Junk from a new address must not take a slot: only a message whose header and sets
        // are well framed makes a session.
        auto header = parse_header(message);
        if (!header) {
            observer_.on_error(address, header.error() == Errc::bad_ipfix
                                            ? IngestError::bad_version
                                            : IngestError::bad_length);
            return;
        }
        if (!split_sets(message, sets_)) {
            observer_.on_error(address, IngestError::set_overrun);
            return;
        }
        if (!make_room(address)) {
            return;
        }
        auto created = std::make_unique<Session>();
        s = created.get();
        s->info = {next_id_++, Transport::udp, std::string(address), peer.port};
        s->key = key;
        s->lru = udp_lru_.insert(udp_lru_.end(), s->info.id);
        udp_peers_.emplace(key, s->info.id);
        sessions_.emplace(s->info.id, std::move(created));
        publish_counts();
    }
    s->info.port = peer.port;
    apply(*s, message, now_ns);
}

void IpfixProcessor::close_session(SessionId id, std::uint64_t now_ns) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) {
        erase_session(it, now_ns);
        publish_counts();
    }
}

void IpfixProcessor::remember_ended(const Session& s, std::uint64_t now_ns) {
    for (const auto& [id, d] : s.domains) {
        if (ended_.size() == config_.max_sessions) {
            ended_.pop_front();
        }
        ended_.push_back(d.stats);
        ended_.back().session = s.info;
        ended_.back().ended_ns = now_ns;
    }
}

void IpfixProcessor::error(const Session* s, Domain* d, IngestError e) {
    if (d != nullptr) {
        ++d->stats.errors;
    }
    observer_.on_error(s != nullptr ? std::string_view(s->info.address) : std::string_view{}, e);
}

IpfixProcessor::Domain* IpfixProcessor::domain_for(Session& s, std::uint32_t domain_id) {
    if (auto it = s.domains.find(domain_id); it != s.domains.end()) {
        return &it->second;
    }
    if (s.domains.size() >= config_.max_domains_per_session) {
        return nullptr;
    }
    Domain& d = s.domains[domain_id];
    d.stats.session = s.info;
    d.stats.domain = domain_id;
    return &d;
}

void IpfixProcessor::process(SessionId id, Bytes message, std::uint64_t now_ns) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) {
        apply(*it->second, message, now_ns);
    }
}

void IpfixProcessor::apply(Session& s, Bytes message, std::uint64_t now_ns) {
    s.last_seen_ns = now_ns;
    auto header = parse_header(message);
    if (!header) {
        error(
            &s, nullptr,
            header.error() == Errc::bad_ipfix ? IngestError::bad_version : IngestError::bad_length);
        return;
    }
    Domain* d = domain_for(s, header->domain);
    if (d == nullptr) {
        error(&s, nullptr, IngestError::too_many_domains);
        return;
    }
    if (!split_sets(message, sets_)) {
        error(&s, d, IngestError::set_overrun);
        return;
    }
    d->stats.messages++;
    d->stats.bytes += message.size();
    d->stats.first_seen_ns = d->stats.first_seen_ns == 0 ? now_ns : d->stats.first_seen_ns;
    d->stats.last_seen_ns = now_ns;
    observer_.on_message(s.info.address, header->domain, message.size());

    std::optional<std::size_t> advance = 0;  // of the sequence number
    std::size_t records = 0;
    for (const SetView& set : sets_) {
        if (set.id == kTemplateSetId || set.id == kOptionsTemplateSetId) {
            apply_templates(s, *d, set, now_ns);
        } else if (set.id >= kMinDataSetId) {
            auto n = apply_data(s, *d, set, header->export_time, now_ns, records);
            advance = advance && n ? std::optional(*advance + *n) : std::nullopt;
        } else {
            error(&s, d, IngestError::reserved_set_id);
        }
    }
    if (records > 0) {  // once per message: the observer's series lookups cost more than adding
        observer_.on_records(s.info.address, d->stats.domain, records);
    }
    handler_.on_message_end({s.info, d->stats.domain, header->export_time, *d});
    account_sequence(s, *d, header->sequence, advance);
}

void IpfixProcessor::apply_templates(Session& s, Domain& d, const SetView& set,
                                     std::uint64_t now_ns) {
    defs_.clear();
    const Status parsed =
        parse_template_set(set, {.max_fields = config_.max_template_fields}, role_of_, defs_);
    for (TemplateDef& def : defs_) {
        if (def.withdrawal) {
            if (s.info.transport == Transport::udp) {
                error(&s, &d, IngestError::withdrawal_on_udp);
            } else {
                const bool all = def.id == set.id;
                d.erase_if([&](const Domain::Entry& e) {
                    return all ? e.tmpl->options() == (set.id == kOptionsTemplateSetId)
                               : e.tmpl->id == def.id;
                });
            }
            continue;
        }
        auto existing = d.templates.find(def.id);
        if (existing == d.templates.end() &&
            d.templates.size() >= config_.max_templates_per_domain) {
            error(&s, &d, IngestError::too_many_templates);
            continue;
        }
        const std::size_t replaced =
            existing == d.templates.end() ? 0 : template_cost(*existing->second.tmpl);
        if (s.template_bytes() - replaced + template_cost(*def.tmpl) >
            config_.max_template_bytes_per_session) {
            error(&s, &d, IngestError::template_memory);
            continue;
        }
        if (def.tmpl->unknown_fields > 0) {
            observer_.on_unknown_fields(s.info.address, def.tmpl->unknown_fields);
        }
        d.put(def.id, std::move(def.tmpl), now_ns);
    }
    if (!parsed) {
        error(&s, &d,
              parsed.error() == Errc::too_large ? IngestError::template_too_large
                                                : IngestError::bad_template);
    }
}

std::optional<std::size_t> IpfixProcessor::apply_data(Session& s, Domain& d, const SetView& set,
                                                      std::uint32_t export_time,
                                                      std::uint64_t now_ns, std::size_t& records) {
    auto it = d.templates.find(set.id);
    if (it != d.templates.end() && s.info.transport == Transport::udp &&
        elapsed(now_ns, it->second.refreshed_ns) > config_.udp_template_lifetime_ns) {
        const std::uint16_t expired = set.id;
        d.erase_if([expired](const Domain::Entry& e) { return e.tmpl->id == expired; });
        it = d.templates.end();
    }
    if (it == d.templates.end()) {
        error(&s, &d, IngestError::unknown_template);
        return std::nullopt;
    }
    // Holds the template even if the handler's work outlives a later withdrawal.
    const TemplatePtr tmpl = it->second.tmpl;
    const RecordContext ctx{s.info, d.stats.domain, export_time, d};
    auto n = walk_records(*tmpl, set.body, values_, [&](std::span<const Bytes> values) {
        if (Status st = handler_.on_record(ctx, *tmpl, values); !st) {
            error(&s, &d, handler_error(st.error()));
        }
    });
    if (Status st = handler_.on_set_end(ctx, *tmpl); !st) {
        error(&s, &d, handler_error(st.error()));
    }
    if (!n) {
        error(&s, &d, IngestError::record_overrun);
        return std::nullopt;
    }
    (tmpl->options() ? d.stats.options_records : d.stats.records) += *n;
    records += *n;
    return *n * tmpl->sequence_step();
}

void IpfixProcessor::account_sequence(Session& s, Domain& d, std::uint32_t seq,
                                      std::optional<std::size_t> advance) {
    std::uint64_t lost = 0;
    std::uint64_t reordered = 0;
    std::uint64_t restarts = 0;
    if (d.next_seq) {
        const auto diff = static_cast<std::int32_t>(seq - *d.next_seq);
        if (diff > 0 && static_cast<std::uint32_t>(diff) <= config_.max_sequence_gap) {
            lost = static_cast<std::uint64_t>(diff);
        } else if (diff > 0) {
            restarts = 1;
        } else if (diff < 0 && static_cast<std::uint32_t>(-static_cast<std::int64_t>(diff)) <=
                                   config_.reorder_window) {
            reordered = 1;  // a late message: the expected number stays where it is
        } else if (diff < 0) {
            restarts = 1;
        }
    }
    if (reordered == 0) {
        d.next_seq = advance
                         ? std::optional<std::uint32_t>(seq + static_cast<std::uint32_t>(*advance))
                         : std::nullopt;
    }
    if (lost + reordered + restarts > 0) {
        d.stats.lost += lost;
        d.stats.reordered += reordered;
        d.stats.restarts += restarts;
        observer_.on_sequence(s.info.address, d.stats.domain, lost, reordered, restarts);
    }
}

void IpfixProcessor::expire(std::uint64_t now_ns) {
    std::lock_guard lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session& s = *it->second;
        if (s.info.transport != Transport::udp) {
            ++it;
            continue;
        }
        if (elapsed(now_ns, s.last_seen_ns) > config_.udp_session_idle_ns) {
            it = erase_session(it, now_ns);
            continue;
        }
        for (auto& [id, d] : s.domains) {
            d.erase_if([&](const Domain::Entry& e) {
                return elapsed(now_ns, e.refreshed_ns) > config_.udp_template_lifetime_ns;
            });
        }
        ++it;
    }
    publish_counts();
}

// Scrapes read the counts while the ingest thread, holding mu_, may be waiting for the metrics
// registry that the scrape holds: the counts are published, never read under mu_.
SessionCounts IpfixProcessor::session_counts() const {
    return {udp_sessions_.load(std::memory_order_relaxed),
            tcp_sessions_.load(std::memory_order_relaxed),
            udp_evicted_.load(std::memory_order_relaxed)};
}

void IpfixProcessor::publish_counts() {
    udp_sessions_.store(udp_lru_.size(), std::memory_order_relaxed);
    tcp_sessions_.store(sessions_.size() - udp_lru_.size(), std::memory_order_relaxed);
}

std::vector<ExporterStats> IpfixProcessor::exporters() const {
    std::lock_guard lock(mu_);
    std::vector<ExporterStats> out;
    for (const auto& [id, s] : sessions_) {
        for (const auto& [domain, d] : s->domains) {
            out.push_back(d.stats);
            out.back().session = s->info;  // a UDP exporter's port is its latest one
        }
    }
    std::sort(out.begin(), out.end(), [](const ExporterStats& a, const ExporterStats& b) {
        return a.session.id != b.session.id ? a.session.id < b.session.id : a.domain < b.domain;
    });
    out.insert(out.end(), ended_.rbegin(), ended_.rend());
    return out;
}

}  // namespace ioam::collector::source
