#pragma once
/// The window state of `aggregate --exactly-once` in a Kafka changelog topic, and its restore
/// (docs/exactly-once.md; Kafka Streams' changelog-backed state stores).
///
/// The changelog is a compacted topic `<group>-aggregate-changelog` with one partition. Every
/// batch's transaction writes, for each window the batch added to, the window's whole state, a
/// tombstone for each window the batch freed, and the engine's clock:
///
///   key "window:<start ms>"  value {"window_start":"2018-10-02T09:00:00","total":41,
///                                   "groups":[{"key":["Traffic Stop"],"count":12,
///                                              "dispositions":[["CIT",5],["HAN",7]]},...]}
///                            (a group key part is a string or null, one per --by field)
///   key "window:<start ms>"  null (tombstone): the window closed and its state was freed
///   key "clock"              value {"max_event_ms":N,"watermark_ms":N,"next_batch_id":N,
///                                   "query":"<the query's description>"}
///
/// Compaction keeps the last value per key, so the topic holds the state of the open windows and
/// one clock record; a restore reads it to its end (read_committed) and keeps the last value per key.
#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sfcrime/base/config.hpp"
#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/kafka/producer.hpp"
#include "sfcrime/stream/engine.hpp"

namespace sfcrime::changelog {

/// "<group>-aggregate-changelog" (Kafka Streams names its changelogs
/// "<application.id>-<store>-changelog"; the application id here is the consumer group).
std::string topic_name(const std::string& group);

/// A one-line description of what `spec` computes over `input_topic` (window, slide, watermark,
/// output mode, grouping fields, filters, time field), stored with the clock so that a restart
/// with another query is refused instead of mixing two queries' state.
std::string describe_query(const StreamSpec& spec, const std::string& input_topic);

/// Checks that every topic a query reads or writes exists (the input, --output-topic,
/// --late-topic), so that a run refused for a missing one creates none of its internal topics.
/// Empty names are skipped. One metadata request per topic.
/// @throws NoInputError naming the first missing topic; UnavailableError as kafka::Client::metadata.
void require_topics(const Config& config, const std::vector<std::string>& topics);

/// Creates the changelog topic when it is missing: 1 partition, cleanup.policy=compact, the
/// brokers' default replication factor.
/// @throws UnavailableError, Error as kafka::Admin::create_topic.
void ensure_topic(const Config& config, const std::string& group);

/// Creates `topic` when it is missing, with `partitions` partitions, the brokers' default
/// replication factor and `configs`; an existing topic must have that many partitions.
/// @throws ConfigError when it exists with another partition count; as kafka::Admin::create_topic.
void ensure_internal_topic(const Config& config, const std::string& topic, int partitions,
                           const std::vector<kafka::Property>& configs);

/// What a restore found.
struct Restored {
  std::uint64_t windows = 0;    ///< windows restored
  std::uint64_t rows = 0;       ///< (window, group) rows restored
  std::uint64_t records = 0;    ///< changelog records read
  bool clock = false;           ///< a clock record was found (a previous run committed a batch)
  boost::json::object clock_fields;  ///< the clock record as stored (with the Writer's extras)
};

/// Reads the changelog of `group` to its end (read_committed: only committed batches) and
/// restores the last state of each window and the clock into `engine`, which must be new.
/// @throws UsageError when the changelog was written by another query (describe_query differs);
///         DataError for a record this module did not write; UnavailableError when the topic
///         cannot be read within Config::timeout; InterruptedError on Ctrl-C.
Restored restore(const Config& config, const std::string& group, const std::string& query, StreamEngine& engine);

/// As restore(config, group, query, engine), from partition `partition` of changelog `topic` (one
/// state per partition: aggregate --scale-out's tasks).
Restored restore_partition(const Config& config, const std::string& topic, std::int32_t partition,
                           const std::string& query, StreamEngine& engine);

/// Writes the engine's state changes of each batch to the changelog through a transactional
/// producer (the caller begins and commits the transaction around StreamEngine::end_batch).
class Writer final : public StateObserver {
 public:
  /// @param producer a producer to which the changelog topic was added as `topic_index`.
  /// @param partition the changelog partition to write (-1: by key; a one-partition changelog).
  /// @param extras called to add the caller's own fields to each clock record.
  Writer(kafka::Producer& producer, std::size_t topic_index, std::string query, std::int32_t partition = -1,
         std::function<void(boost::json::object&)> extras = {})
      : producer_(producer), index_(topic_index), query_(std::move(query)), partition_(partition),
        extras_(std::move(extras)) {}
  /// @throws InterruptedError when interrupted while librdkafka's queue is full; FencedError.
  void window_changed(std::int64_t start, const WindowAgg& w) override;
  void window_freed(std::int64_t start) override;
  void clock(std::int64_t max_event, std::int64_t watermark, std::int64_t next_batch_id) override;
  /// Changelog records sent so far.
  std::uint64_t sent() const noexcept { return sent_; }

 private:
  void send(const std::string& key, std::string_view value);
  kafka::Producer& producer_;
  std::size_t index_;
  std::string query_;
  std::int32_t partition_;
  std::function<void(boost::json::object&)> extras_;
  std::vector<std::string> scratch_;
  std::uint64_t sent_ = 0;
};

}  // namespace sfcrime::changelog
