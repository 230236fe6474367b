// The store conformance suite on the ClickHouse back end: a real clickhouse-server (one per
// test process) and a database per test, the records table detached to make batches fail, the
// database dropped under the store.

#include "tests/collector/store/clickhouse_helpers.hpp"
#include "tests/collector/store/conformance.hpp"

namespace ioam::collector::store::conformance {
namespace {

test::ClickhouseServer& shared_server() {
    static test::ClickhouseServer server;
    return server;
}

// As an operator's DETACH TABLE: inserts fail ("table doesn't exist") until it is attached.
class DetachedRecords {
  public:
    DetachedRecords(const test::ClickhouseServer& server, std::string database)
        : server_(server), database_(std::move(database)) {
        test::clickhouse_sql(server_, "DETACH TABLE " + database_ + ".records");
    }
    ~DetachedRecords() { test::clickhouse_sql(server_, "ATTACH TABLE " + database_ + ".records"); }
    DetachedRecords(const DetachedRecords&) = delete;
    DetachedRecords& operator=(const DetachedRecords&) = delete;

  private:
    const test::ClickhouseServer& server_;
    std::string database_;
};

struct ClickhouseBackendUnderTest {
    using WriteBlock = DetachedRecords;
    test::ClickhouseServer& server = shared_server();
    std::string database = test::unique_database();

    ~ClickhouseBackendUnderTest() {
        if (server.why().empty()) {
            test::clickhouse_sql(server, "DROP DATABASE IF EXISTS " + database);
        }
    }
    std::string unavailable() const { return server.why(); }
    std::unique_ptr<TraceStore> open(StoreConfig c) {
        c.path = test::clickhouse_url(server, database);
        return make_store(c);
    }
    std::unique_ptr<DetachedRecords> block_writes() {
        return std::make_unique<DetachedRecords>(server, database);
    }
    void lose_storage() { test::clickhouse_sql(server, "DROP DATABASE " + database); }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Clickhouse, StoreConformance,
                               ::testing::Types<ClickhouseBackendUnderTest>);

}  // namespace ioam::collector::store::conformance
