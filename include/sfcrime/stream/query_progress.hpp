#pragma once
/// The per-batch progress report of `sfcrime aggregate`, one shape for every path (one process,
/// --exactly-once, --scale-out): Spark Structured Streaming's StreamingQueryProgress, with its
/// names (docs/streaming.md, "Progress"), as JSON (--progress json) or one text line
/// (--progress text).
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "sfcrime/stream/engine.hpp"

namespace sfcrime {

/// Which query a report is about, as Spark names it.
struct QueryIdentity {
  /// UUID. With a consumer group: derived from the group and the query (RFC 4122 name-based,
  /// SHA-1), so every start of the same query in the same group has the same id, as Spark keeps
  /// its id in the checkpoint; without one, random.
  std::string id;
  std::string run_id;               ///< random UUID, new at every start (Spark's runId)
  std::optional<std::string> name;  ///< the --group; null without one

  /// @param query the query's description (changelog::describe_query: window, watermark, mode, ...)
  static QueryIdentity make(const std::string& query, const std::optional<std::string>& group);
};

/// The figures of one micro-batch.
struct BatchProgress {
  std::int64_t batch_id = 0;
  BatchCounters counters;                       ///< this batch's counts (not cumulative)
  std::int64_t watermark = StreamEngine::kMinTime;  ///< after the batch, ms (kMin/kMax: -/+infinity)
  std::uint64_t rows_total = 0;                 ///< (window, group) rows in state after the batch
  std::uint64_t windows_total = 0;              ///< windows in state after the batch
  double input_rows_per_second = 0;             ///< input rows / time since the previous trigger
  double processed_rows_per_second = 0;         ///< input rows / time the batch took
  std::int64_t add_batch_ms = 0;                ///< emitting and committing, ms
  std::int64_t trigger_execution_ms = 0;        ///< the whole batch, ms
  std::string source;                           ///< e.g. "topic police-calls" or "file calls.json"
  boost::json::object start_offset;             ///< per partition the next offset before the batch
  boost::json::object end_offset;               ///< ... and after it
  std::string sink;                             ///< e.g. "json + topic answers"
};

/// The StreamingQueryProgress object of `b` (keys in Spark's order: id, runId, name, timestamp,
/// batchId, numInputRows, rates, durationMs, eventTime, stateOperators, sources, sink, then
/// sfcrime's numLateRecords, numInvalidRows, numFilteredRows). `timestamp` as utc_timestamp().
boost::json::object progress_json(const QueryIdentity& query, const BatchProgress& b, const std::string& timestamp);

/// One line for people: "sfcrime aggregate: batch 3: 500 in, 2 late, 0 invalid, 40 rows out,
/// 120 rows in state, watermark 2018-10-02T10:05:00".
std::string progress_text(const BatchProgress& b);

/// The wall-clock time as Spark's progress timestamp: 2026-11-21T13:00:00.123Z (UTC).
std::string utc_timestamp();

}  // namespace sfcrime
