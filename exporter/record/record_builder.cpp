#include "exporter/record/record_builder.hpp"

#include <fixbuf/public.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "common/ipfix/fixbuf/ioam_fixbuf.hpp"
#include "common/ipfix/record_layouts.hpp"

namespace ioam::exporter::record {
namespace {

namespace ipf = ioam::ipfix;
namespace fbx = ioam::ipfix::fixbuf;

constexpr std::size_t kMinMtu = 64;
constexpr std::size_t kMaxMtu = 65535;
// The model lives for the whole process: sessions and templates refer to it.
fbInfoModel_t* info_model() {
    static fbInfoModel_t* model = [] {
        fbInfoModel_t* m = fbInfoModelAlloc();
        fbx::add_ioam_elements(m);
        return m;
    }();
    return model;
}

// What a layout's records are made from; decides how its integer fields are read.
enum class Kind : std::uint8_t { hop, trace, dex, sampling };

// An integer field of an internal record: its reader, resolved when the layout is announced.
template <typename Record>
struct IntegerField {
    ipf::Accessor<Record> read;
    std::uint16_t offset;  // in the internal record
    std::uint16_t width;   // native width of integers in the internal record
};

constexpr std::uint16_t kAbsent = 0xffff;

// A layout announced in this session: where its fields live in memory and how each gets its
// value. Only the integer list of the layout's kind is used.
struct Plan {
    std::uint16_t tid = 0;
    std::uint16_t size = 0;
    const fbTemplate_t* external = nullptr;  // owned by the session
    std::vector<IntegerField<IoamNode>> node_ints;
    std::vector<IntegerField<IoamTrace>> trace_ints;
    std::vector<IntegerField<DexReport>> dex_ints;
    struct Slot {
        std::uint16_t offset;
        std::uint16_t width;
    };
    std::vector<Slot> option_ints;          // sampling options: fields in layout order
    std::uint16_t trace_data_at = kAbsent;  // offsets of the non-integer fields, if present
    std::uint16_t opaque_data_at = kAbsent;
    std::uint16_t hop_list_at = kAbsent;
};

template <typename Record>
Status write_integers(const std::vector<IntegerField<Record>>& fields, const Record& r,
                      std::uint8_t* rec) {
    for (const auto& f : fields) {
        std::uint64_t v = 0;
        if (!f.read.read(r, v)) {
            return f.read(r).error();
        }
        fbx::store_uint(rec + f.offset, f.width, v);
    }
    return Ok{};
}

void put_varfield(std::uint8_t* at, std::span<const std::uint8_t> data) {
    fbVarfield_t vf{data.size(), const_cast<std::uint8_t*>(data.data())};
    std::memcpy(at, &vf, sizeof vf);
}

// Internal templates get their own ids: when encoding a subTemplateList libfixbuf restores the
// record's templates by id afterwards, and with equal internal and external ids it would take
// the external template for the internal one (libfixbuf 2.4 fBufSetEncodeSubTemplates).
constexpr std::uint16_t internal_tid(std::uint16_t tid) {
    return tid | 0x8000u;
}

Errc fixbuf_errc(const GError* err) {
    return err != nullptr && err->code == FB_ERROR_EOM ? Errc::too_large : Errc::bad_ipfix;
}

}  // namespace

struct RecordBuilder::Impl {
    Impl(const RecordOptions& opts, MessageHandler h) : options(opts), handler(std::move(h)) {
        if (options.mtu < kMinMtu || options.mtu > kMaxMtu) {
            throw std::invalid_argument("MTU must be within " + std::to_string(kMinMtu) + ".." +
                                        std::to_string(kMaxMtu) + " octets");
        }
        out.resize(options.mtu);
        fbSession_t* session = fbSessionAlloc(info_model());
        fbSessionSetDomain(session, options.observation_domain);
        exporter = fbExporterAllocBuffer(out.data(), static_cast<std::uint16_t>(options.mtu));
        fbuf = fBufAllocForExport(session, exporter);
    }

    ~Impl() { fBufFree(fbuf); }  // frees the session, its templates and the exporter

    // libfixbuf emits a full message into `out` from inside append/template calls; a version
    // field appearing there tells that it did. Each call emits at most one message.
    void collect() {
        if (out[0] != 0 || out[1] != 10) {
            return;
        }
        const std::size_t len = fbExporterGetMsgLen(exporter);
        const std::span<const std::uint8_t> msg(out.data(), len);
        if (capture != nullptr) {
            capture->emplace_back(msg.begin(), msg.end());
        } else {
            ++stats.messages;
            stats.octets += len;
            handler(msg);
        }
        emitted_records += pending;
        pending = 0;
        dirty = false;
        out[0] = out[1] = 0;
    }

    // The plan of template `tid`, announcing it on first use with the fields make() returns.
    template <typename MakeFields>
    Result<const Plan*> plan(std::uint16_t tid, MakeFields&& make, Kind kind) {
        if (auto it = plans.find(tid); it != plans.end()) {
            return &it->second;
        }
        return announce(tid, make(), kind);
    }

    // Adds the internal and external templates of a new layout; the external one is written
    // to the message in progress right away.
    Result<const Plan*> announce(std::uint16_t tid, const ipf::Layout& fields, Kind kind) {
        const bool list_member = kind == Kind::hop;
        GError* err = nullptr;
        fbSession_t* session = fBufGetSession(fbuf);
        fbTemplate_t* internal =
            list_member ? nullptr
                        : fbx::make_template(info_model(), fields, fbx::Side::internal, &err);
        fbTemplate_t* external =
            list_member || internal != nullptr
                ? fbx::make_template(info_model(), fields, fbx::Side::external, &err)
                : nullptr;
        if (kind == Kind::sampling && external != nullptr) {
            fbTemplateSetOptionsScope(internal, ipf::kSamplingScopeCount);
            fbTemplateSetOptionsScope(external, ipf::kSamplingScopeCount);
        }
        if (external == nullptr) {
            if (internal != nullptr) {
                fbTemplateFreeUnused(internal);
            }
            g_clear_error(&err);
            return Errc::bad_ipfix;
        }
        if (internal != nullptr &&
            !fbSessionAddTemplate(session, TRUE, internal_tid(tid), internal, &err)) {
            fbTemplateFreeUnused(internal);
            fbTemplateFreeUnused(external);
            g_clear_error(&err);
            return Errc::bad_ipfix;
        }
        const bool added = fbSessionAddTemplate(session, FALSE, tid, external, &err) != 0;
        collect();
        if (!added) {
            fbTemplateFreeUnused(external);
            const Errc e = fixbuf_errc(err);
            g_clear_error(&err);
            return e;
        }
        dirty = true;
        ++stats.template_sends;
        order.push_back(tid);
        Plan p = make_plan(tid, fields, kind);
        p.external = external;
        return &plans.emplace(tid, std::move(p)).first->second;
    }

    // Memory layout of a record (list members: see fbx::Side::list_member).
    static Plan make_plan(std::uint16_t tid, const ipf::Layout& fields, Kind kind) {
        const auto side = kind == Kind::hop ? fbx::Side::list_member : fbx::Side::internal;
        const auto mem = fbx::memory_layout(fields, side);
        Plan p;
        p.tid = tid;
        p.size = mem.size;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const auto& e = *fields[i];
            const std::uint16_t at = mem.offsets[i];
            const std::uint16_t width = fbx::field_length(e, side);
            if (e.type == ipf::DataType::subTemplateList) {
                p.hop_list_at = at;
            } else if (e.name == "ioamTraceData") {
                p.trace_data_at = at;
            } else if (e.name == "ioamOpaqueData") {
                p.opaque_data_at = at;
            } else if (kind == Kind::hop) {
                p.node_ints.push_back({ipf::node_accessor(e), at, width});
            } else if (kind == Kind::trace) {
                p.trace_ints.push_back({ipf::trace_accessor(e), at, width});
            } else if (kind == Kind::sampling) {
                p.option_ints.push_back({at, width});
            } else {
                p.dex_ints.push_back({ipf::dex_accessor(e), at, width});
            }
        }
        return p;
    }

    Status append(const Plan& p, std::uint8_t* rec) {
        GError* err = nullptr;
        if (p.tid != current_tid) {
            if (!fBufSetInternalTemplate(fbuf, internal_tid(p.tid), &err) ||
                !fBufSetExportTemplate(fbuf, p.tid, &err)) {
                g_clear_error(&err);
                current_tid = 0;
                return Errc::bad_ipfix;
            }
            current_tid = p.tid;
        }
        const bool ok = fBufAppend(fbuf, rec, p.size, &err) != 0;
        collect();
        if (!ok) {
            const Errc e = fixbuf_errc(err);
            g_clear_error(&err);
            return e;
        }
        ++pending;
        ++stats.records;
        dirty = true;
        return Ok{};
    }

    // Fills the hop records of `t` and points the trace record's list at them.
    Status add_hops(const IoamTrace& t, const Plan& hp, const Plan& trace_plan, std::uint8_t* rec) {
        hop_buf.assign(t.nodes.size() * hp.size, 0);
        std::uint8_t* at = hop_buf.data();
        for (const auto& node : t.nodes) {
            if (auto st = write_integers(hp.node_ints, node, at); !st) {
                return st;
            }
            if (hp.opaque_data_at != kAbsent) {
                put_varfield(at + hp.opaque_data_at, ipf::node_opaque_data(node));
            }
            at += hp.size;
        }
        if (hop_buf.size() > 0xffff) {
            return Errc::too_large;
        }
        fbSubTemplateList_t stl{};
        fbSubTemplateListInitWithOwnBuffer(&stl, FB_LIST_SEM_ALL_OF, hp.tid, hp.external,
                                           static_cast<std::uint16_t>(t.nodes.size()),
                                           static_cast<std::uint16_t>(hop_buf.size()),
                                           hop_buf.data());
        if (trace_plan.hop_list_at != kAbsent) {
            std::memcpy(rec + trace_plan.hop_list_at, &stl, sizeof stl);
        }
        return Ok{};
    }

    // The plans of a trace of `type`: its hop plan (null without hop lists) and its own.
    Status trace_plans(std::uint32_t type) {
        if (type == last_trace.type && last_trace.trace != nullptr) {
            return Ok{};
        }
        // The hop template is announced before the trace template whose list refers to it.
        const Plan* hop = nullptr;
        if (options.hop_list) {
            auto h = plan(
                ipf::hop_template_id(type), [&] { return ipf::hop_fields(type); }, Kind::hop);
            if (!h) {
                return h.error();
            }
            hop = *h;
        }
        auto trace = plan(
            hop ? ipf::kTraceWithHopsTemplateId : ipf::kTraceTemplateId,
            [&] { return ipf::trace_record_fields(hop != nullptr); }, Kind::trace);
        if (!trace) {
            return trace.error();
        }
        last_trace = {type, hop, *trace};
        return Ok{};
    }

    // Under --sample 1/N, the options record that tells collectors the ratio: written before
    // the first data record and again after every template export, so that a collector that
    // restarted learns it the way it learns the templates.
    Status add_sampling() {
        sampling_sent = true;
        if (options.sample_one_in <= 1) {
            return Ok{};
        }
        auto p = plan(
            ipf::kSamplingTemplateId, [] { return ipf::sampling_options_fields(); },
            Kind::sampling);
        if (!p) {
            return p.error();
        }
        const Plan& plan = **p;
        rec.assign(plan.size, 0);
        const std::uint64_t values[] = {options.observation_domain, 1, options.sample_one_in - 1u};
        for (std::size_t i = 0; i < plan.option_ints.size() && i < std::size(values); ++i) {
            fbx::store_uint(rec.data() + plan.option_ints[i].offset, plan.option_ints[i].width,
                            values[i]);
        }
        return append(plan, rec.data());
    }

    Status add(const IoamTrace& t) {
        if (!sampling_sent) {
            if (auto st = add_sampling(); !st) {
                return st;
            }
        }
        if (auto st = trace_plans(t.trace_type); !st) {
            return st;
        }
        const Plan* hop = last_trace.hop;
        const Plan& p = *last_trace.trace;
        rec.assign(p.size, 0);
        if (hop != nullptr) {
            if (auto st = add_hops(t, *hop, p, rec.data()); !st) {
                return st;
            }
        }
        if (auto st = write_integers(p.trace_ints, t, rec.data()); !st) {
            return st;
        }
        if (p.trace_data_at != kAbsent) {
            put_varfield(rec.data() + p.trace_data_at, t.raw_data);
        }
        return append(p, rec.data());
    }

    Status add(const DexReport& d) {
        if (!sampling_sent) {
            if (auto st = add_sampling(); !st) {
                return st;
            }
        }
        auto dex = plan(
            ipf::dex_template_id(d.trace_type),
            [&] { return ipf::dex_record_fields(d.trace_type); }, Kind::dex);
        if (!dex) {
            return dex.error();
        }
        const Plan& p = **dex;
        rec.assign(p.size, 0);
        if (auto st = write_integers(p.dex_ints, d, rec.data()); !st) {
            return st;
        }
        if (p.opaque_data_at != kAbsent) {
            put_varfield(rec.data() + p.opaque_data_at, ipf::node_opaque_data(d.node));
        }
        return append(p, rec.data());
    }

    Status flush() {
        if (!dirty) {
            return Ok{};
        }
        GError* err = nullptr;
        const bool ok = fBufEmit(fbuf, &err) != 0;
        collect();
        if (!ok) {
            g_clear_error(&err);
            return Errc::bad_ipfix;
        }
        return Ok{};
    }

    Status export_templates() {
        for (const auto tid : order) {
            GError* err = nullptr;
            const bool ok = fbSessionExportTemplate(fBufGetSession(fbuf), tid, &err) != 0;
            collect();
            if (!ok) {
                const Errc e = fixbuf_errc(err);
                g_clear_error(&err);
                return e;
            }
            dirty = true;
            ++stats.template_sends;
        }
        return sampling_sent ? add_sampling() : Status{Ok{}};
    }

    RecordOptions options;
    MessageHandler handler;
    std::vector<std::uint8_t> out;  // where the buffer exporter copies each message
    fbExporter_t* exporter = nullptr;
    fBuf_t* fbuf = nullptr;
    std::unordered_map<std::uint16_t, Plan> plans;  // bounded: template ids are 13-bit keyed
    std::vector<std::uint16_t> order;               // announcement order, for re-export
    std::uint16_t current_tid = 0;
    std::vector<std::uint8_t> rec;      // internal record being built
    std::vector<std::uint8_t> hop_buf;  // its hop records
    std::size_t pending = 0;            // records in the message in progress
    std::uint64_t emitted_records = 0;
    bool dirty = false;  // the message in progress holds something
    bool sampling_sent = false;
    std::vector<std::vector<std::uint8_t>>* capture = nullptr;
    BuilderStats stats;
    // The plans of the last trace type: consecutive traces mostly share one. Plans live as
    // long as the builder and never move (node-based map).
    struct {
        std::uint32_t type = 0;
        const Plan* hop = nullptr;
        const Plan* trace = nullptr;
    } last_trace;
};

RecordBuilder::RecordBuilder(const RecordOptions& options, MessageHandler handler)
    : impl_(std::make_unique<Impl>(options, std::move(handler))) {}
RecordBuilder::~RecordBuilder() = default;

Status RecordBuilder::add(const IoamTrace& trace) {
    return impl_->add(trace);
}
Status RecordBuilder::add(const DexReport& report) {
    return impl_->add(report);
}
Status RecordBuilder::flush() {
    return impl_->flush();
}
Status RecordBuilder::export_templates() {
    return impl_->export_templates();
}

Result<std::vector<std::vector<std::uint8_t>>> RecordBuilder::template_messages() {
    if (auto st = impl_->flush(); !st) {
        return st.error();
    }
    std::vector<std::vector<std::uint8_t>> msgs;
    impl_->capture = &msgs;
    auto st = impl_->export_templates();
    if (st) {
        st = impl_->flush();
    }
    impl_->capture = nullptr;
    if (!st) {
        return st.error();
    }
    return msgs;
}

std::uint32_t RecordBuilder::sequence_number() const noexcept {
    return static_cast<std::uint32_t>(impl_->emitted_records);
}
std::size_t RecordBuilder::pending_records() const noexcept {
    return impl_->pending;
}
const BuilderStats& RecordBuilder::stats() const noexcept {
    return impl_->stats;
}

}  // namespace ioam::exporter::record
