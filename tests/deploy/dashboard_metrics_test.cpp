// The Grafana dashboard (docker/grafana/dashboards/ioam.json) against a live ioam-collector:
// every PromQL expression names at least one metric, and every metric it names has samples in
// the /metrics of a collector that has received IOAM traces.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/collector/ioam_messages.hpp"
#include "tests/collector/net_helpers.hpp"
#include "tests/collector/temp_path.hpp"
#include "tests/common/metrics/exposition.hpp"
#include "tests/common/metrics/promtool.hpp"

namespace ioam::collector {
namespace {

using namespace ioam::collector::test;
using nlohmann::json;

const std::string kCollector = IOAM_BINARY_DIR "/collector/ioam-collector";
const std::string kExporter = IOAM_BINARY_DIR "/exporter/ioam-exporter";
const std::string kDashboard = IOAM_SOURCE_DIR "/docker/grafana/dashboards/ioam.json";

// Prometheus adds `up` to every scrape; no program exposes it.
const std::set<std::string> kPrometheusSynthetic{"up"};

bool is_exporter_metric(const std::string& name) {
    return name.starts_with("ioam_exporter_");
}

json load_dashboard() {
    std::ifstream in(kDashboard);
    return json::parse(in);
}

// Every PromQL string of the dashboard: panel targets and template variable queries.
std::vector<std::string> expressions(const json& dash) {
    std::vector<std::string> out;
    for (const json& p : dash.at("panels")) {
        for (const json& t : p.at("targets")) {
            out.push_back(t.at("expr").get<std::string>());
        }
    }
    for (const json& v : dash.at("templating").at("list")) {
        out.push_back(v.at("definition").get<std::string>());
    }
    return out;
}

// Metric names of one expression: what is left once label matchers, ranges, strings,
// grouping clauses, function calls and numbers are taken out. label_values(METRIC, label)
// names its label last, which is not a metric.
std::set<std::string> metric_names(std::string e) {
    e = std::regex_replace(e, std::regex(R"(label_values\(([^,{]+)(\{[^}]*\})?,\s*\w+\))"), "$1");
    for (const char* re : {R"(\{[^}]*\})", R"(\[[^\]]*\])", R"("[^"]*")",
                           R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))"}) {
        e = std::regex_replace(e, std::regex(re), " ");
    }
    std::set<std::string> names;
    const std::regex ident(R"([A-Za-z_:][A-Za-z0-9_:]*(\s*\()?)");
    for (std::sregex_iterator it(e.begin(), e.end(), ident), end; it != end; ++it) {
        if (!(*it)[1].matched) {  // a call is a function, not a metric
            names.insert((*it)[0].str());
        }
    }
    return names;
}

// Names with at least one sample line in a Prometheus text exposition.
std::set<std::string> sampled_metrics(const std::string& exposition) {
    std::set<std::string> names;
    std::istringstream in(exposition);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') {
            names.insert(line.substr(0, line.find_first_of("{ ")));
        }
    }
    return names;
}

// A trace whose type has bits 0-6 (ids, interfaces, timestamps, transit delay, namespace
// data, queue depth), so the transit delay and queue depth series exist too.
IoamTrace full_trace() {
    IoamTrace t = make_trace({1, 2, 3});
    t.trace_type = 0xfe0000;
    t.node_len = 7;
    t.raw_data.clear();
    for (IoamNode& n : t.nodes) {
        n.transit_delay = 2000 + *n.node_id;  // nanoseconds
        n.namespace_data = 0;
        n.queue_depth = 10 * *n.node_id;
        EXPECT_TRUE(encode_node(t.trace_type, n, t.raw_data));
    }
    return t;
}

std::vector<std::uint8_t> trace_message(std::uint32_t seq, const IoamTrace& t) {
    MessageBuilder b(1, seq);
    trace_templates(b, t.trace_type, true);
    b.begin_set(ipfix::kTraceWithHopsTemplateId);
    trace_record(b, t, true);
    return b.finish();
}

std::string temp_log(const std::string& program) {
    return (std::filesystem::temp_directory_path() /
            ("ioam-deploy-" + program + "-" + std::to_string(::getpid()) + ".log"))
        .string();
}

// True once `pid` has exited and waits to be reaped (left to Child, which owns the pid).
bool is_zombie(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    return line.find(") Z ") != std::string::npos;
}

// A binary's /metrics passes promtool's parser and linter (units, _total, help texts).
void expect_promtool_clean(const std::string& exposition) {
    const auto problems = ioam::metrics::test::promtool_problems(exposition);
    if (!problems) {
        std::cerr << "SKIPPED LOUDLY: promtool not installed (Debian package prometheus): "
                     "/metrics not linted\n";
        return;
    }
    EXPECT_EQ(*problems, "") << exposition;
}

// Every metric of the dashboard that `keep` selects has a sample in `exposition`.
std::set<std::string> expect_exposed(const std::string& exposition,
                                     const std::function<bool(const std::string&)>& keep) {
    const std::set<std::string> exposed = sampled_metrics(exposition);
    std::set<std::string> used;
    for (const std::string& e : expressions(load_dashboard())) {
        for (const std::string& m : metric_names(e)) {
            if (keep(m) && !kPrometheusSynthetic.contains(m)) {
                used.insert(m);
                EXPECT_TRUE(exposed.contains(m)) << m << " (in " << e << ") has no sample";
            }
        }
    }
    return used;
}

// The metric a template variable takes its values from (label_values(METRIC{...}, label)).
std::string variable_metric(const std::string& name) {
    const json dash = load_dashboard();
    for (const json& v : dash.at("templating").at("list")) {
        if (v.at("name") == name) {
            std::smatch m;
            const std::string def = v.at("definition").get<std::string>();
            if (std::regex_search(def, m, std::regex(R"(label_values\(([A-Za-z_:][\w:]*))"))) {
                return m[1].str();
            }
        }
    }
    ADD_FAILURE() << "no label_values variable " << name;
    return "";
}

// Linux writes "not available" in the transit delay field: a panel built on it stays empty on
// a healthy Linux demo, and says so.
TEST(Dashboard, PanelsOnFieldsLinuxLeavesEmptySaySo) {
    const json dash = load_dashboard();
    for (const json& p : dash.at("panels")) {
        for (const json& t : p.at("targets")) {
            if (t.at("expr").get<std::string>().find("ioam_hop_transit_delay") !=
                std::string::npos) {
                EXPECT_NE(p.at("title").get<std::string>().find("Linux"), std::string::npos)
                    << p.at("title");
                EXPECT_NE(p.value("description", "").find("Linux does not fill"), std::string::npos)
                    << p.at("title");
            }
        }
    }
    EXPECT_EQ(variable_metric("node").find("transit"), std::string::npos)
        << "$node must not depend on a field Linux leaves empty";
}

TEST(Dashboard, EveryExpressionNamesAMetric) {
    for (const std::string& e : expressions(load_dashboard())) {
        EXPECT_FALSE(metric_names(e).empty()) << e;
    }
}

TEST(Dashboard, PanelsUseTheProvisionedDataSource) {
    const json dash = load_dashboard();
    ASSERT_FALSE(dash.at("panels").empty());
    for (const json& p : dash.at("panels")) {
        EXPECT_EQ(p.at("datasource").at("uid"), "prometheus") << p.at("title");
    }
}

TEST(Dashboard, EveryMetricIsExposedByALiveCollector) {
    ASSERT_TRUE(std::filesystem::exists(kCollector)) << kCollector << " not built";
    TempDb db;
    const std::string log = temp_log("collector");
    Child child({kCollector, "--db", db.path(), "--udp-listen", "", "--tcp-listen", "127.0.0.1:0",
                 "--http-listen", "127.0.0.1:0", "--retention-age", "0"},
                log);
    const auto tcp = wait_log(child, R"(tcp \S+ \(port (\d+)\))");
    const auto http = wait_log(child, R"(HTTP \S+ \(port (\d+)\))");
    ASSERT_TRUE(tcp && http) << child.log();
    const auto http_port = static_cast<std::uint16_t>(std::stoi(*http));

    const IoamTrace t = full_trace();
    TcpSender sender(static_cast<std::uint16_t>(std::stoi(*tcp)));
    sender.send(trace_message(0, t));
    sender.send(trace_message(5, t));  // records 1-4 never arrive: sequence loss
    sender.send(trace_message(1, t));  // then one of them does, late: reordering
    MessageBuilder unknown(1, 6);      // a data set without its template: an ingest error
    unknown.begin_set(999).u32(0);
    sender.send(unknown.finish());
    std::string body;
    ASSERT_TRUE(wait_for([&] {
        const auto r = http_get(http_port, "/metrics");
        body = r ? r->body : "";
        return body.find("ioam_collector_sequence_lost_records_total{") != std::string::npos &&
               body.find("ioam_collector_decoded_records_total{kind=\"trace\"} 3") !=
                   std::string::npos &&
               body.find("ioam_collector_ingest_errors_total{") != std::string::npos &&
               body.find("ioam_collector_sequence_reordered_total{") != std::string::npos &&
               // The three reports are one packet, counted when its window closes.
               body.find("ioam_path_packets_total{") != std::string::npos;
    })) << body;

    expect_promtool_clean(body);
    const std::set<std::string> used =
        expect_exposed(body, [](const std::string& m) { return !is_exporter_metric(m); });
    // $node lists every node of the trace, the last one (the sink) included.
    const std::string node_metric = variable_metric("node");
    const auto exposition = ioam::metrics::test::parse_exposition(body);
    for (const char* node : {"1", "2", "3"}) {
        EXPECT_FALSE(exposition.find(node_metric, {{"node", node}}).empty())
            << node_metric << " has no series of node " << node << ":\n"
            << body;
    }
    // The panels the dashboard promises.
    for (const char* m :
         {"ioam_hop_transit_delay_seconds_bucket", "ioam_segment_delay_seconds_bucket",
          "ioam_path_delay_seconds_bucket", "ioam_node_queue_depth", "ioam_path_packets_total",
          "ioam_collector_sequence_lost_records_total", "ioam_collector_store_dropped_total"}) {
        EXPECT_TRUE(used.contains(m)) << m;
    }
    child.signal(SIGTERM);
    child.wait();
    std::filesystem::remove(log);
}

// The exporter's panels against a live ioam-exporter (it needs the kernel's IOAM6 family and
// CAP_NET_ADMIN, but no IOAM traffic: its families have samples from the start).
TEST(Dashboard, EveryExporterMetricIsExposedByALiveExporter) {
    ASSERT_TRUE(std::filesystem::exists(kExporter)) << kExporter << " not built";
    const std::string log = temp_log("exporter");
    const std::uint16_t metrics_port = free_port();
    Child child({kExporter, "--collector", "udp://127.0.0.1:" + std::to_string(free_port()),
                 "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)},
                log);
    std::string body;
    const bool up = wait_for([&] {
        const auto r = http_get(metrics_port, "/metrics");
        body = r ? r->body : "";
        return !body.empty() || is_zombie(child.pid());
    });
    if (body.empty()) {
        const std::string why = child.log();
        std::filesystem::remove(log);
        if (up) {  // it exited: no IOAM6 family or no CAP_NET_ADMIN here
            GTEST_SKIP() << "SKIPPED LOUDLY: ioam-exporter cannot run here: " << why;
        }
        FAIL() << "no /metrics from ioam-exporter: " << why;
    }
    expect_promtool_clean(body);
    const std::set<std::string> used = expect_exposed(body, is_exporter_metric);
    EXPECT_TRUE(used.contains("ioam_exporter_kernel_drops_total"));
    child.signal(SIGTERM);
    child.wait();
    std::filesystem::remove(log);
}

}  // namespace
}  // namespace ioam::collector
