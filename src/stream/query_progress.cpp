#include "sfcrime/stream/query_progress.hpp"

#include <boost/json.hpp>
#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <chrono>

#include "sfcrime/base/datetime.hpp"

namespace sfcrime {

QueryIdentity QueryIdentity::make(const std::string& query, const std::optional<std::string>& group) {
  QueryIdentity q;
  boost::uuids::random_generator random;
  q.run_id = boost::uuids::to_string(random());
  if (group) {
    // A fixed namespace of sfcrime's own (itself a name-based UUID of "sfcrime aggregate" in the
    // URL namespace), so the id depends only on the group and the query.
    boost::uuids::name_generator_sha1 in_url(boost::uuids::ns::url());
    boost::uuids::name_generator_sha1 in_sfcrime(in_url("sfcrime aggregate"));
    q.id = boost::uuids::to_string(in_sfcrime(*group + "\n" + query));
    q.name = *group;
  } else {
    q.id = boost::uuids::to_string(random());
  }
  return q;
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return format_naive_datetime(ms - ms % 1000) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
}

boost::json::object progress_json(const QueryIdentity& query, const BatchProgress& b, const std::string& timestamp) {
  const BatchCounters& c = b.counters;
  boost::json::object p;
  p["id"] = query.id;
  p["runId"] = query.run_id;
  if (query.name)
    p["name"] = *query.name;
  else
    p["name"] = nullptr;
  p["timestamp"] = timestamp;
  p["batchId"] = b.batch_id;
  p["numInputRows"] = c.input;
  p["inputRowsPerSecond"] = b.input_rows_per_second;
  p["processedRowsPerSecond"] = b.processed_rows_per_second;
  p["durationMs"] = {{"addBatch", b.add_batch_ms}, {"triggerExecution", b.trigger_execution_ms}};
  boost::json::object et;
  if (c.min_event <= c.max_event) {
    et["min"] = format_naive_datetime(c.min_event);
    et["max"] = format_naive_datetime(c.max_event);
  }
  et["watermark"] = format_watermark(b.watermark);
  p["eventTime"] = std::move(et);
  boost::json::object op;
  op["operatorName"] = "windowAggregate";
  op["numRowsTotal"] = b.rows_total;
  op["numRowsUpdated"] = c.rows_updated;
  op["numRowsDroppedByWatermark"] = c.dropped_pairs;
  op["numWindowsTotal"] = b.windows_total;
  p["stateOperators"] = boost::json::array{std::move(op)};
  boost::json::object src;
  src["description"] = b.source;
  src["startOffset"] = b.start_offset;
  src["endOffset"] = b.end_offset;
  src["numInputRows"] = c.input;
  src["inputRowsPerSecond"] = b.input_rows_per_second;
  src["processedRowsPerSecond"] = b.processed_rows_per_second;
  p["sources"] = boost::json::array{std::move(src)};
  p["sink"] = {{"description", b.sink}, {"numOutputRows", c.rows_out}};
  p["numLateRecords"] = c.late;
  p["numInvalidRows"] = c.invalid;
  p["numFilteredRows"] = c.filtered;
  return p;
}

std::string progress_text(const BatchProgress& b) {
  const BatchCounters& c = b.counters;
  return "sfcrime aggregate: batch " + std::to_string(b.batch_id) + ": " + std::to_string(c.input) + " in, " +
         std::to_string(c.late) + " late, " + std::to_string(c.invalid) + " invalid, " + std::to_string(c.rows_out) +
         " rows out, " + std::to_string(b.rows_total) + " rows in state, watermark " + format_watermark(b.watermark);
}

}  // namespace sfcrime
