#pragma once
/// `aggregate --scale-out`: the query as three stages that any number of processes of one
/// consumer group share, with every hop through Kafka and every batch one transaction
/// (docs/exactly-once.md, "Scale-out"; Kafka Streams' groupBy().windowedBy().aggregate()).
///
///   regroup   task = input partition p: extract, filter; each valid record goes unchanged to
///             <G>-aggregate-repartition keyed by its group key (as Kafka Streams' repartition
///             topics), then a punctuation {"source":p,"max_event_ms":..,"end":..,"idle":..} to every
///             repartition partition after each batch.
///   aggregate task = repartition partition r: the streaming engine over its records (watermark:
///             the smallest, over the input partitions that have neither ended nor gone idle, of
///             the largest event time each has sent, as its records and punctuations tell, minus
///             the delay: watermarks travel with the data; late records to --late-topic); the
///             rows go to
///             <G>-aggregate-rows keyed by window start, then a punctuation
///             {"task":r,"watermark":..,"end":..} to every rows partition.
///   assemble  task = rows partition w: the latest row of each (window, group); the watermark is
///             the smallest of the aggregate tasks' watermarks; window totals, distinct counts,
///             --top and the output mode as in one process; rows to stdout and --output-topic.
///
/// The state of aggregate task r and assemble task w lives in partitions r and R + w of the
/// compacted <G>-aggregate-scaleout-changelog. One consumer per process subscribes to the input,
/// repartition and rows topics in group G; one transactional producer per process writes every
/// output and the offsets of every consumed partition per batch (KIP-447: fenced by the group
/// generation). A rebalance aborts the open transaction, drops every task and restores the tasks
/// of the new assignment from the changelog, starting every partition at the committed offsets.
/// With --exit-at-end each assemble task's final batch writes a marker to <G>-aggregate-done, and
/// a process leaves once all are there.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "sfcrime/base/config.hpp"
#include "sfcrime/records/radio_codes.hpp"
#include "sfcrime/stream/engine.hpp"
#include "sfcrime/stream/sinks.hpp"

namespace sfcrime {

/// How `aggregate --scale-out` runs (the query itself is the StreamSpec).
struct ScaleOutOptions {
  std::string topic;                       ///< the input topic
  std::string group;                       ///< the consumer group, also the internal topics' prefix
  bool from_beginning = false;             ///< input partitions without a committed offset start at the earliest
  bool exit_at_end = false;                ///< end once every task of the query has ended
  std::chrono::milliseconds trigger{0};    ///< batch interval; 0: as soon as records are there
  std::uint64_t max_records_per_trigger = 0;  ///< input records per batch; 0: no limit
  std::chrono::milliseconds max_idle{2000};   ///< an idle input partition is not waited for after this
  std::optional<std::string> output_topic;    ///< rows also go here
  std::optional<std::string> late_topic;      ///< late records go here unchanged
  bool rows_to_stdout = true;                 ///< rows are printed (format, labels)
  OutputFormat format = OutputFormat::table;
  RowLabels labels;
  int progress = 0;  ///< 0 none, 1 text line per batch, 2 JSON per batch (on stderr)
};

/// What a process of the topology did.
struct ScaleOutTotals {
  std::uint64_t input = 0;     ///< input records regrouped by this process
  std::uint64_t invalid = 0;   ///< input messages that were not valid records
  std::uint64_t filtered = 0;  ///< input records dropped by --filter
  std::uint64_t late = 0;      ///< records the aggregate tasks of this process found late
  std::uint64_t rows_out = 0;  ///< rows emitted by the assemble tasks of this process
  std::uint64_t batches = 0;   ///< transactions committed
  std::uint64_t rebalances = 0;  ///< assignments taken (the first included) and rewinds after an abort
  /// How far out of event-time order the input partitions this process regrouped were, ms: the
  /// largest amount by which a valid record was older than the newest before it in its partition.
  std::int64_t max_disorder_ms = 0;
  /// True when some partition's first valid record (as regrouped here) was its newest.
  bool newest_first = false;
};

/// Runs this process's share of the query until the end (--exit-at-end: the whole query has
/// ended) or Ctrl-C (the open batch is committed first).
/// @throws UsageError when a changelog holds another query's state; UnavailableError
///         (FencedError, TransactionAborted included) for broker and transaction failures;
///         ConfigError when an internal topic exists with another partition count;
///         NoInputError when the input topic does not exist; IoError/OutputClosed from stdout.
ScaleOutTotals run_scale_out(const Config& config, const StreamSpec& spec, const ScaleOutOptions& options);

}  // namespace sfcrime
