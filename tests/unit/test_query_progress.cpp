#define BOOST_TEST_MODULE query_progress
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <regex>
#include <string>
#include <vector>

#include "sfcrime/stream/query_progress.hpp"

// The per-batch progress report: Spark's StreamingQueryProgress names, in Spark's order.

BOOST_AUTO_TEST_CASE(ids_are_stable_for_a_group_and_new_per_run) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  const auto a = sfcrime::QueryIdentity::make("window=30m", std::string("g"));
  const auto b = sfcrime::QueryIdentity::make("window=30m", std::string("g"));
  BOOST_TEST(std::regex_match(a.id, uuid));
  BOOST_TEST(std::regex_match(a.run_id, uuid));
  BOOST_TEST(a.id == b.id);           // the same query of the same group: the same id
  BOOST_TEST(a.run_id != b.run_id);   // every start: a new runId
  BOOST_TEST(a.name.value() == "g");
  BOOST_TEST(sfcrime::QueryIdentity::make("window=1h", std::string("g")).id != a.id);
  BOOST_TEST(sfcrime::QueryIdentity::make("window=30m", std::string("h")).id != a.id);
  const auto c = sfcrime::QueryIdentity::make("window=30m", std::nullopt);
  const auto d = sfcrime::QueryIdentity::make("window=30m", std::nullopt);
  BOOST_TEST(c.id != d.id);
  BOOST_TEST(!c.name);
}

BOOST_AUTO_TEST_CASE(report_keys_in_sparks_order_with_this_batchs_counts) {
  sfcrime::QueryIdentity q{"id-1", "run-1", std::nullopt};
  sfcrime::BatchProgress b;
  b.batch_id = 3;
  b.counters.input = 500;
  b.counters.late = 2;
  b.counters.rows_out = 40;
  b.counters.min_event = 0;
  b.counters.max_event = 60'000;
  b.watermark = sfcrime::StreamEngine::kMaxTime;
  b.source = "topic t";
  b.sink = "json";
  const boost::json::object o = sfcrime::progress_json(q, b, "2026-12-07T00:00:00.000Z");
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  BOOST_TEST((keys == std::vector<std::string>{"id", "runId", "name", "timestamp", "batchId", "numInputRows",
                                               "inputRowsPerSecond", "processedRowsPerSecond", "durationMs",
                                               "eventTime", "stateOperators", "sources", "sink", "numLateRecords",
                                               "numInvalidRows", "numFilteredRows"}));
  BOOST_TEST(o.at("name").is_null());
  BOOST_TEST(o.at("eventTime").at("min").as_string() == "1970-01-01T00:00:00");
  BOOST_TEST(o.at("eventTime").at("watermark").as_string() == "+infinity");
  BOOST_TEST(o.at("sink").at("numOutputRows").to_number<int>() == 40);
  BOOST_TEST(o.at("numLateRecords").to_number<int>() == 2);
  BOOST_TEST(sfcrime::progress_text(b) ==
             "sfcrime aggregate: batch 3: 500 in, 2 late, 0 invalid, 40 rows out, 0 rows in state, watermark +infinity");
}
