// End to end against the real kernel: two network namespaces joined by a veth pair, IOAM
// enabled on the receiving side, ioam-exporter running there and exporting to a UDP socket on
// that namespace's loopback. A UDP socket in the sending namespace carries a Pre-allocated
// Trace option in its Hop-by-Hop header; the test checks the IPFIX that comes out, by hand and
// with tshark. Needs root (netns, sysctls, CAP_NET_ADMIN); skips loudly without it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "common/ioam/options.hpp"
#include "tests/exporter/support/ipfix_reader.hpp"

namespace ioam::exporter {
namespace {

using test::FieldKey;

constexpr std::uint32_t kPen = 10383;
constexpr std::uint16_t kNamespace = 123;
constexpr std::uint32_t kNodeId = 42;
constexpr std::uint16_t kIngressId = 7;
constexpr std::uint32_t kNamespaceData = 0xdeadbeef;
constexpr std::uint32_t kTraceType = 0xff0000;  // bits 0-7
constexpr int kSentHopLimit = 50;
constexpr std::uint32_t kDomain = 77;
constexpr int kPackets = 5;

int sh(const std::string& cmd) {
    return std::system(cmd.c_str());
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string run_capture(const std::string& cmd) {
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char buf[4096];
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
            out.append(buf, n);
        }
        pclose(p);
    }
    return out;
}

// Waits for `what` to show up in a file a child process writes; the limit only keeps a
// broken setup from hanging the test.
bool wait_for_text(const std::string& path, const std::string& what) {
    for (int i = 0; i < 1000; ++i) {
        if (slurp(path).find(what) != std::string::npos) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

// The parent creates the output files, so that nothing stale is read before the child runs.
pid_t spawn(const std::vector<std::string>& argv, const std::string& out, const std::string& err) {
    std::ofstream(out, std::ios::trunc);
    std::ofstream(err, std::ios::trunc);
    const pid_t pid = fork();
    if (pid == 0) {
        const int o = open(out.c_str(), O_WRONLY | O_APPEND);
        const int e = open(err.c_str(), O_WRONLY | O_APPEND);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        std::vector<char*> args;
        for (const auto& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    return pid;
}

int stop(pid_t pid, int sig) {
    if (pid <= 0) {
        return -1;
    }
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A socket created inside another network namespace (it stays there once we switch back).
int socket_in(const std::string& netns, int domain, int type) {
    const int self = open("/proc/self/ns/net", O_RDONLY);
    const int target = open(("/var/run/netns/" + netns).c_str(), O_RDONLY);
    int fd = -1;
    if (self >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0) {
        fd = socket(domain, type, 0);
        setns(self, CLONE_NEWNET);
    }
    close(target);
    close(self);
    return fd;
}

// Two namespaces and a veth pair, deleted on every exit path.
struct Topology {
    std::string tx = "ioamx-tx-" + std::to_string(getpid());
    std::string rx = "ioamx-rx-" + std::to_string(getpid());
    std::string tx_if = "iox" + std::to_string(getpid());
    std::string rx_if = "ioy" + std::to_string(getpid());
    pid_t exporter = -1;
    pid_t capture = -1;

    ~Topology() {
        stop(exporter, SIGKILL);
        stop(capture, SIGKILL);
        sh("ip netns del " + tx + " 2>/dev/null");
        sh("ip netns del " + rx + " 2>/dev/null");
    }

    bool up() {
        const std::string t = "ip -n " + tx + " ", r = "ip -n " + rx + " ";
        return sh("ip netns add " + tx) == 0 && sh("ip netns add " + rx) == 0 &&
               sh("ip link add " + tx_if + " netns " + tx + " type veth peer name " + rx_if +
                  " netns " + rx) == 0 &&
               sh(t + "link set lo up") == 0 && sh(r + "link set lo up") == 0 &&
               sh(t + "link set " + tx_if + " up") == 0 &&
               sh(r + "link set " + rx_if + " up") == 0 &&
               sh(t + "addr add 2001:db8:10::1/64 dev " + tx_if + " nodad") == 0 &&
               sh(r + "addr add 2001:db8:10::2/64 dev " + rx_if + " nodad") == 0 &&
               sh("ip netns exec " + rx + " sysctl -qw net.ipv6.conf." + rx_if +
                  ".ioam6_enabled=1 net.ipv6.ioam6_id=" + std::to_string(kNodeId) +
                  " net.ipv6.conf." + rx_if + ".ioam6_id=" + std::to_string(kIngressId)) == 0 &&
               sh(r + "ioam namespace add " + std::to_string(kNamespace) + " data " +
                  std::to_string(kNamespaceData)) == 0;
    }
};

std::vector<std::uint8_t> hop_by_hop() {
    PtoOption pto;
    pto.namespace_id = kNamespace;
    pto.node_len = 8;
    pto.trace_type = kTraceType;
    pto.remaining_len = 2 * 8;  // room for two nodes
    pto.data.assign(2 * 8 * 4, 0);
    const IoamOption opt = pto;
    auto hbh = build_hop_by_hop(IPPROTO_UDP, std::span(&opt, 1));
    EXPECT_TRUE(hbh.ok());
    return hbh ? *hbh : std::vector<std::uint8_t>{};
}

// Skips loudly without root or IOAM; builds the topology, the collector socket on the
// receiving side and the sending socket, and starts ioam-exporter on demand.
class ExporterKernel : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) {
            GTEST_SKIP() << "SKIPPED LOUDLY: this test needs root (network namespaces, sysctls, "
                            "CAP_NET_ADMIN for the IOAM6 event group)";
        }
        if (sh("ip netns list >/dev/null 2>&1") != 0 ||
            run_capture("genl ctrl get name IOAM6 2>/dev/null").find("IOAM6") ==
                std::string::npos) {
            GTEST_SKIP() << "SKIPPED LOUDLY: needs iproute2 and a kernel with IOAM6 generic "
                            "netlink";
        }
        ASSERT_TRUE(topo.up()) << "could not build the namespaces/veth/IOAM configuration";

        // The collector: a UDP socket on the receiving namespace's loopback.
        rx = socket_in(topo.rx, AF_INET, SOCK_DGRAM);
        ASSERT_GE(rx, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        socklen_t alen = sizeof addr;
        getsockname(rx, reinterpret_cast<sockaddr*>(&addr), &alen);
        port = ntohs(addr.sin_port);
        timeval tv{1, 0};
        setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

        // The sender: UDP datagrams with an IOAM Pre-allocated Trace in their Hop-by-Hop header.
        tx = socket_in(topo.tx, AF_INET6, SOCK_DGRAM);
        ASSERT_GE(tx, 0);
        const auto hbh = hop_by_hop();
        ASSERT_EQ(setsockopt(tx, IPPROTO_IPV6, IPV6_HOPOPTS, hbh.data(), hbh.size()), 0);
        ASSERT_EQ(setsockopt(tx, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &kSentHopLimit, sizeof(int)), 0);
    }

    void TearDown() override {
        for (int fd : {rx, tx}) {
            if (fd >= 0) {
                close(fd);
            }
        }
        for (const char* f :
             {"capture.pcapng", "capture.out", "capture.err", "exporter.out", "exporter.err"}) {
            std::remove((dir + f).c_str());
        }
    }

    void start_exporter(const std::vector<std::string>& extra) {
        std::vector<std::string> argv = {"ip",
                                         "netns",
                                         "exec",
                                         topo.rx,
                                         IOAM_BINARY_DIR "/exporter/ioam-exporter",
                                         "--collector",
                                         "udp://127.0.0.1:" + std::to_string(port),
                                         "--domain-id",
                                         std::to_string(kDomain),
                                         "--flush-interval",
                                         "10"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        topo.exporter = spawn(argv, out, err);
        ASSERT_TRUE(wait_for_text(err, "listening to")) << slurp(err);
    }

    // Wireshark's own capture engine on the exporter namespace's loopback, so that the second
    // opinion reads what went on the wire. False when dumpcap or tshark is not installed.
    bool start_capture() {
        if (sh("command -v dumpcap >/dev/null 2>&1 && command -v tshark >/dev/null 2>&1") != 0) {
            return false;
        }
        const int canary_port = port == 65535 ? port - 1 : port + 1;
        topo.capture = spawn(
            {"ip", "netns", "exec", topo.rx, "dumpcap", "-q", "-i", "lo", "-f",
             "udp port " + std::to_string(port) + " or udp port " + std::to_string(canary_port),
             "-w", pcap},
            dir + "capture.out", capture_err);
        // dumpcap prints "Capturing on" before its socket is attached, so that line alone
        // raced the exporter's first (template) datagram on a fresh machine. Ready means a
        // canary datagram sent after the start is in the file.
        EXPECT_TRUE(wait_for_text(capture_err, "Capturing on")) << slurp(capture_err);
        const int canary = socket_in(topo.rx, AF_INET, SOCK_DGRAM);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(static_cast<std::uint16_t>(canary_port));
        bool ready = false;
        for (int i = 0; i < 300 && !ready; ++i) {
            sendto(canary, "canary", 6, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
            ready = captured_to(canary_port) > 0;
        }
        close(canary);
        EXPECT_TRUE(ready) << "capture never became ready: " << slurp(capture_err);
        return ready;
    }

    // Datagrams to `udp_port` in the capture file so far.
    std::size_t captured_to(int udp_port) const {
        const auto lines =
            run_capture("tshark -r " + pcap + " -Y udp.dstport==" + std::to_string(udp_port) +
                        " -T fields -e udp.length 2>/dev/null");
        return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
    }

    void send_probes(int count) {
        sockaddr_in6 dst{};
        dst.sin6_family = AF_INET6;
        dst.sin6_port = htons(9);
        inet_pton(AF_INET6, "2001:db8:10::2", &dst.sin6_addr);
        for (int i = 0; i < count; ++i) {
            ASSERT_EQ(sendto(tx, "x", 1, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst), 1);
        }
    }

    Topology topo;
    int rx = -1;
    int tx = -1;
    int port = 0;
    const std::string dir = ::testing::TempDir() + "ioamx-" + std::to_string(getpid()) + "-";
    const std::string out = dir + "exporter.out";
    const std::string err = dir + "exporter.err";
    const std::string pcap = dir + "capture.pcapng";
    const std::string capture_err = dir + "capture.err";
};

TEST_F(ExporterKernel, TraceEventsBecomeIpfixRecords) {
    const bool capturing = start_capture();
    start_exporter({"--print", "json"});
    const auto sent_at = static_cast<std::uint32_t>(std::time(nullptr));
    send_probes(kPackets);

    test::IpfixReader reader;
    std::vector<std::vector<std::uint8_t>> datagrams;
    std::vector<test::IpfixRecord> traces;
    std::vector<std::uint32_t> sequences;
    for (int tries = 0; tries < 20 && traces.size() < kPackets; ++tries) {
        std::vector<std::uint8_t> buf(65535);
        const auto n = recv(rx, buf.data(), buf.size(), 0);
        if (n <= 0) {
            continue;  // 1 s receive timeout: keep waiting a little
        }
        buf.resize(static_cast<std::size_t>(n));
        datagrams.push_back(buf);
        const auto msg = reader.read(buf);
        EXPECT_EQ(msg.domain, kDomain);
        if (!msg.records.empty()) {
            sequences.push_back(msg.sequence);
        }
        traces.insert(traces.end(), msg.records.begin(), msg.records.end());
    }
    ASSERT_EQ(traces.size(), static_cast<std::size_t>(kPackets)) << slurp(err);
    EXPECT_EQ(sequences.front(), 0u);

    for (const auto& r : traces) {
        EXPECT_EQ(r.uint({kPen, 0}), kNamespace);
        EXPECT_EQ(r.uint({kPen, 20}), kTraceType);
        EXPECT_EQ(r.uint({kPen, 22}), 8u);  // node length
        EXPECT_EQ(r.uint({kPen, 25}), 1u);  // one node filled
        EXPECT_EQ(r.raw({kPen, 21})->size(), 32u);
        const auto [semantic, hops] = reader.sub_template_list(*r.raw({0, 292}));
        ASSERT_EQ(hops.size(), 1u);
        const auto& h = hops[0];
        EXPECT_EQ(h.uint({kPen, 2}), kNodeId);
        EXPECT_EQ(h.uint({kPen, 1}), static_cast<std::uint64_t>(kSentHopLimit - 1));
        EXPECT_EQ(h.uint({kPen, 3}), kIngressId);
        EXPECT_EQ(h.uint({kPen, 4}), 0xffffu);  // delivered locally: no egress
        const auto secs = h.uint({kPen, 5});
        EXPECT_NE(secs, 0xffffffffu);
        EXPECT_LE(secs > sent_at ? secs - sent_at : sent_at - secs, 60u);
        EXPECT_NE(h.uint({kPen, 6}), 0xffffffffu);
        EXPECT_EQ(h.uint({kPen, 7}), kNamespaceData);
    }

    // SIGTERM: flush and exit 0.
    EXPECT_EQ(stop(std::exchange(topo.exporter, -1), SIGTERM), 0) << slurp(err);
    const auto json = slurp(out);
    EXPECT_NE(json.find("\"node_id\":42"), std::string::npos) << json;

    // What went on the wire, through Wireshark's IPFIX dissector.
    if (!capturing) {
        GTEST_SKIP() << "SKIPPED LOUDLY (partly): tshark/dumpcap not installed, wire check not "
                        "done";
    }
    // libpcap hands packets to dumpcap in blocks, on a timer: stopping it right away would
    // lose the last ones, so wait until they are in the file.
    const auto captured = [&] { return captured_to(port); };
    for (int i = 0; i < 100 && captured() < datagrams.size(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(stop(std::exchange(topo.capture, -1), SIGINT), 0) << slurp(capture_err);
    EXPECT_GE(captured(), datagrams.size()) << slurp(capture_err);
    const std::string decode =
        "tshark -r " + pcap +
        " -o cflow.max_template_fields:200 -d udp.port==" + std::to_string(port) + ",cflow ";
    const auto domains = run_capture(decode + "-T fields -e cflow.od_id 2>/dev/null");
    EXPECT_NE(domains.find(std::to_string(kDomain)), std::string::npos) << domains;
    const auto text = run_capture(decode + "-V 2>/dev/null");
    EXPECT_NE(text.find("(Data Template)"), std::string::npos) << text.substr(0, 3000);
    EXPECT_NE(text.find("subTemplateList"), std::string::npos) << text.substr(0, 3000);
    EXPECT_EQ(text.find("Malformed"), std::string::npos) << text;
    // tshark lists expert items by severity ("Errors (n)", "Warns (n)"), e.g. "Unexpected flow
    // sequence for domain ID 77" in group Sequence.
    const auto expert = run_capture(decode + "-q -z expert 2>/dev/null");
    EXPECT_EQ(expert.find("Errors"), std::string::npos) << expert;
    EXPECT_EQ(expert.find("Warns"), std::string::npos) << expert;
    EXPECT_EQ(expert.find("Sequence"), std::string::npos) << expert;
}

// A stopped exporter lets the kernel overflow its small receive buffer: the drop is counted
// and logged, and the exporter goes on exporting what comes next.
TEST_F(ExporterKernel, KernelDropsAreCountedAndTheExporterGoesOn) {
    start_exporter({"--rcvbuf", "65536"});
    ASSERT_EQ(kill(topo.exporter, SIGSTOP), 0);
    send_probes(2000);
    ASSERT_EQ(kill(topo.exporter, SIGCONT), 0);
    ASSERT_TRUE(wait_for_text(err, "kernel dropped IOAM events")) << slurp(err);

    // Whatever was queued before the overflow arrives; then fresh events still get through.
    test::IpfixReader reader;
    std::size_t records = 0;
    for (int idle = 0; idle < 2;) {
        std::vector<std::uint8_t> buf(65535);
        const auto n = recv(rx, buf.data(), buf.size(), 0);
        if (n <= 0) {
            ++idle;
            continue;
        }
        buf.resize(static_cast<std::size_t>(n));
        records += reader.read(buf).records.size();
    }
    EXPECT_GT(records, 0u);
    EXPECT_LT(records, 2000u);
    send_probes(3);
    std::size_t fresh = 0;
    for (int tries = 0; tries < 10 && fresh < 3; ++tries) {
        std::vector<std::uint8_t> buf(65535);
        const auto n = recv(rx, buf.data(), buf.size(), 0);
        if (n > 0) {
            buf.resize(static_cast<std::size_t>(n));
            fresh += reader.read(buf).records.size();
        }
    }
    EXPECT_EQ(fresh, 3u);
    EXPECT_EQ(stop(std::exchange(topo.exporter, -1), SIGTERM), 0) << slurp(err);
}

}  // namespace
}  // namespace ioam::exporter
