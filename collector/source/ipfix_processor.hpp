#pragma once
// IPFIX sessions and templates: applies validated messages to per-(session, observation
// domain) state and hands each data record to a RecordHandler. Templates are keyed by
// (session, domain, template id); a malformed message is counted against its exporter and
// dropped without touching any other exporter's state. A TCP session is one connection; a UDP
// session is one exporter address on one listener, whatever its source port (RFC 7011 section
// 8.4 leaves UDP template scope to the collector; exporters that open a new source port per
// message keep their templates). A UDP session exists only once a message with a valid header
// and set framing arrived; when the table is full the least recently used UDP session makes
// room.
//
// Threading: every public method takes one internal mutex; the socket thread calls process()
// and process_udp(), any thread may call exporters() and session_counts().

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collector/source/ipfix_parser.hpp"

namespace ioam::collector::source {

enum class Transport : std::uint8_t { udp, tcp };
std::string_view to_string(Transport t) noexcept;

// Why a message, set or record was dropped; label values of the error counter.
enum class IngestError : std::uint8_t {
    bad_version,
    bad_length,          // message length field disagrees with the bytes received
    set_overrun,         // a set header or set length runs past the message
    bad_template,        // malformed (options) template record or id < 256
    template_too_large,  // more fields than the configured maximum
    withdrawal_on_udp,   // RFC 7011 section 8.4 forbids withdrawals over UDP
    too_many_templates,
    too_many_domains,
    too_many_sessions,   // every slot is a TCP connection: nothing to evict
    reserved_set_id,     // set id 4..255
    unknown_template,    // data set whose template is unknown or expired
    record_overrun,      // a variable-length field or record runs past its set
    decode_error,        // the record handler rejected a record
    template_memory,     // the session's templates would exceed their byte budget
    value_out_of_range,  // a field's value does not fit its IOAM field (Errc::invalid_argument)
    record_too_large,    // more hops or node data than one IOAM option holds (Errc::too_large)
};
inline constexpr std::size_t kIngestErrorCount = 16;
std::string_view to_string(IngestError e) noexcept;

using SessionId = std::uint64_t;

struct SessionInfo {
    SessionId id = 0;
    Transport transport = Transport::udp;
    std::string address;  // exporter IP address, textual
    std::uint16_t port = 0;
};

// Templates of one (session, domain), for subTemplateList lookups while a record is decoded.
class TemplateScope {
  public:
    virtual ~TemplateScope() = default;
    virtual const Template* find(std::uint16_t template_id) const = 0;
};

struct RecordContext {
    const SessionInfo& session;
    std::uint32_t domain;
    std::uint32_t export_time;  // seconds, from the message header
    const TemplateScope& templates;
};

// Receives every data record of a known template; an error rejects the record and is counted
// (Errc::invalid_argument as value_out_of_range, Errc::too_large as record_too_large, anything
// else as decode_error). Threading: called under the processor's lock, on the thread that
// called process().
class RecordHandler {
  public:
    virtual ~RecordHandler() = default;
    virtual Status on_record(const RecordContext& ctx, const Template& t,
                             std::span<const Bytes> values) = 0;
    // After the last record of a data set: records a handler joins (one trace sent as one
    // record per node) are complete.
    virtual Status on_set_end(const RecordContext& ctx, const Template& t) = 0;
    // After the last data set of a message (before its sequence number is accounted): a
    // handler that holds records for the message's end hands them on. `ctx` has no template.
    virtual void on_message_end(const RecordContext& ctx) { (void)ctx; }
};

// Counting hooks for metrics; `exporter` is the IP address (no port: bounded label values),
// empty when the error precedes any session. Threading: as RecordHandler.
class IngestObserver {
  public:
    virtual ~IngestObserver() = default;
    virtual void on_message(std::string_view exporter, std::uint32_t domain, std::size_t bytes) = 0;
    // The data records (options records included) of one message, when it had any.
    virtual void on_records(std::string_view exporter, std::uint32_t domain,
                            std::size_t records) = 0;
    virtual void on_error(std::string_view exporter, IngestError e) = 0;
    virtual void on_sequence(std::string_view exporter, std::uint32_t domain, std::uint64_t lost,
                             std::uint64_t reordered, std::uint64_t restarts) = 0;
    virtual void on_unknown_fields(std::string_view exporter, std::size_t fields) = 0;
};

struct ProcessorConfig {
    std::size_t max_sessions = 1024;
    std::size_t max_domains_per_session = 64;
    std::size_t max_templates_per_domain = 1024;
    std::size_t max_template_fields = 512;
    // What the templates of one session (all its domains) may occupy, as template_cost()
    // counts it; with max_sessions this bounds all template memory (256 MiB by default).
    std::size_t max_template_bytes_per_session = 256 * 1024;
    std::uint64_t udp_template_lifetime_ns = 1800ull * 1'000'000'000;
    std::uint64_t udp_session_idle_ns = 3600ull * 1'000'000'000;
    // A backward sequence jump of at most this many records is a reordering; a longer one is
    // an exporter restart and resynchronises.
    std::uint32_t reorder_window = 4096;
    // A forward jump of more than this many records is a restart too, not a loss: one bogus
    // or restarted sequence number must not add up to 2^31 lost records.
    std::uint32_t max_sequence_gap = 1u << 20;
};

// Octets a template is charged against max_template_bytes_per_session: its fields plus the
// bookkeeping around it (map node, control block, struct).
std::size_t template_cost(const Template& t) noexcept;

// Live sessions by transport, and how many UDP sessions were evicted to make room.
struct SessionCounts {
    std::size_t udp = 0;
    std::size_t tcp = 0;
    std::uint64_t udp_evicted = 0;
};

struct ExporterStats {
    SessionInfo session;
    std::uint32_t domain = 0;
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
    std::uint64_t records = 0;
    std::uint64_t options_records = 0;
    std::uint64_t lost = 0;
    std::uint64_t reordered = 0;
    std::uint64_t restarts = 0;
    std::uint64_t errors = 0;
    std::size_t templates = 0;
    std::uint64_t templates_redefined = 0;  // same id again with other fields
    std::uint64_t templates_withdrawn = 0;  // withdrawn (TCP) or expired (UDP)
    std::uint64_t first_seen_ns = 0;
    std::uint64_t last_seen_ns = 0;
    std::uint64_t ended_ns = 0;  // when the session closed or expired; 0 while it lives
};

// A UDP peer (address as 16 octets, IPv4 mapped) on one local socket. The session is the
// (address, listener) pair; the port is only shown.
struct UdpPeer {
    std::array<std::uint8_t, 16> address{};
    std::uint16_t port = 0;
    std::uint16_t listener = 0;
};

class IpfixProcessor {
  public:
    IpfixProcessor(const ProcessorConfig& config, RoleOf role_of, RecordHandler& handler,
                   IngestObserver& observer);
    IpfixProcessor(const IpfixProcessor&) = delete;
    IpfixProcessor& operator=(const IpfixProcessor&) = delete;
    ~IpfixProcessor();

    // A new TCP connection; nullopt (and counted) when the session table is full of TCP
    // sessions (a UDP one is evicted otherwise).
    std::optional<SessionId> open_tcp(std::string address, std::uint16_t port);
    void close_session(SessionId id, std::uint64_t now_ns);

    // Applies one whole IPFIX message received on TCP session `id` at `now_ns` (wall clock).
    void process(SessionId id, Bytes message, std::uint64_t now_ns);
    // Applies one UDP datagram; its peer's session is created when the message is valid.
    void process_udp(const UdpPeer& peer, std::string_view address, Bytes message,
                     std::uint64_t now_ns);
    // Drops expired UDP templates and idle UDP sessions. A wall clock that went backwards
    // expires nothing until it passes the times recorded before the step.
    void expire(std::uint64_t now_ns);

    SessionCounts session_counts() const;

    // Live sessions, then the most recently ended ones (at most max_sessions of them), so
    // that an exporter that stopped stays visible with the time it stopped.
    std::vector<ExporterStats> exporters() const;

  private:
    struct Domain;
    struct Session;
    struct UdpKey {
        std::array<std::uint8_t, 16> address{};
        std::uint16_t listener = 0;
        bool operator==(const UdpKey&) const = default;
    };
    struct UdpKeyHash {
        std::size_t operator()(const UdpKey& k) const noexcept;
    };

    // Room for one more session: evicts the least recently used UDP session when full; false
    // (and counted) when every session is TCP.
    bool make_room(std::string_view address);
    using SessionMap = std::unordered_map<SessionId, std::unique_ptr<Session>>;
    SessionMap::iterator erase_session(SessionMap::iterator it, std::uint64_t now_ns);
    void apply(Session& s, Bytes message, std::uint64_t now_ns);
    Domain* domain_for(Session& s, std::uint32_t domain_id);
    void apply_templates(Session& s, Domain& d, const SetView& set, std::uint64_t now_ns);
    // Returns how far the records move the sequence number (Template::sequence_step()), or
    // nullopt when it cannot be known (unknown template or overrun), which suspends sequence
    // accounting for this message. Adds the records it walked to `records`.
    std::optional<std::size_t> apply_data(Session& s, Domain& d, const SetView& set,
                                          std::uint32_t export_time, std::uint64_t now_ns,
                                          std::size_t& records);
    void account_sequence(Session& s, Domain& d, std::uint32_t seq,
                          std::optional<std::size_t> advance);
    void error(const Session* s, Domain* d, IngestError e);
    void publish_counts();
    void remember_ended(const Session& s, std::uint64_t now_ns);

    const ProcessorConfig config_;
    const RoleOf role_of_;
    RecordHandler& handler_;
    IngestObserver& observer_;

    mutable std::mutex mu_;
    SessionId next_id_ = 1;
    SessionMap sessions_;
    std::unordered_map<UdpKey, SessionId, UdpKeyHash> udp_peers_;
    std::list<SessionId> udp_lru_;  // least recently used first
    std::atomic<std::uint64_t> udp_evicted_{0};
    std::atomic<std::size_t> udp_sessions_{0};  // published by publish_counts() under mu_
    std::atomic<std::size_t> tcp_sessions_{0};
    std::deque<ExporterStats> ended_;
    std::vector<SetView> sets_;  // scratch, reused per message
    std::vector<TemplateDef> defs_;
    std::vector<Bytes> values_;
};

}  // namespace ioam::collector::source
