#pragma once
/// The inputs of `sfcrime aggregate`: a Kafka topic (partitions merged in event-time order) or a
/// file / standard input, both handing extracted records to the engine in processing order and
/// telling where the default trigger's micro-batch ends (docs/streaming.md, "Input order" and
/// "Micro-batches").
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/kafka/source.hpp"
#include "sfcrime/records/reader.hpp"
#include "sfcrime/stream/engine.hpp"
#include "sfcrime/stream/merge.hpp"

namespace sfcrime {

/// One input record, extracted. Valid until the next take().
struct InputItem {
  Extracted x;
  std::string_view value;                 ///< the record's text (message value)
  std::optional<std::string_view> key;    ///< the message key (topic input; none for a null key)
  std::int32_t partition = -1;            ///< -1 for a file
  std::int64_t offset = 0;                ///< the message offset, or the record number (1-based) in a file
  std::uint64_t line = 0;                 ///< a file record's first line
};

/// A source of records in processing order.
class StreamInput {
 public:
  virtual ~StreamInput() = default;
  /// The next record in processing order, waiting at most `wait` for input (0: only one that is
  /// ready now, at the least cost: a KafkaInput then neither serves its consumer queue nor waits).
  /// @returns nullptr when none is ready in time or the input ended (see at_end()).
  /// @throws DataError for a file whose framing breaks (reader.hpp); UnavailableError and
  ///         NoInputError from the consumer (source.hpp); IoError.
  virtual InputItem* take(std::chrono::milliseconds wait) = 0;
  /// True once every record was taken and no more can come (end of file; with --exit-at-end,
  /// every partition read to the high watermark it had when assigned).
  virtual bool at_end() = 0;
  /// Notes where the current micro-batch starts (call after its first take()).
  virtual void begin_batch() = 0;
  /// True when the records that were available at begin_batch() have all been taken: the end of
  /// a micro-batch under the default trigger.
  virtual bool batch_complete() = 0;
  /// Writes the next position to process, per partition, for the progress report:
  /// {"TOPIC": {"0": 123, ...}} or {"file": 500} (records taken).
  virtual void positions(boost::json::object& out) const = 0;
  /// How the progress report names this source.
  virtual std::string description() const = 0;
  /// Commits the positions of the records taken so far (consumer group only).
  /// @param last no commit follows (TopicSource::commit).
  virtual void commit(bool /*last*/ = false) {}
  /// Leaves the group and closes the consumer (topic input only). Idempotent.
  virtual void close() {}
  /// The error that ended the input early, or null: a file whose framing broke (a truncated
  /// record, bytes after the array: DataError from reader.hpp). The records before it were taken
  /// and at_end() is true, so the caller answers for them and then throws it.
  virtual std::exception_ptr failure() const { return nullptr; }
  /// How far out of event-time order the input's partitions were, each in its own offset order
  /// (ms; the valid records taken so far), or std::nullopt for a source whose processing order is
  /// its own order (a file). The engine's StreamEngine::max_disorder_ms() is the disorder of the
  /// processing order, which merging partitions read at different times can make larger.
  virtual std::optional<std::int64_t> partition_disorder_ms() const { return std::nullopt; }
};

/// Records of a JSON array or NDJSON file or standard input (reader.hpp), in file order. A break
/// in the framing ends the input where it is (failure()), as produce stops there too. A record
/// over the reader's limit (16 MiB) is an invalid item, its reason too_large_reason(), and the
/// file goes on.
class FileInput final : public StreamInput {
 public:
  /// `spec` is kept by reference and must outlive the input.
  /// @throws NoInputError if the file does not exist; IoError if it cannot be opened.
  FileInput(const std::string& path, const StreamSpec& spec);
  InputItem* take(std::chrono::milliseconds wait) override;
  bool at_end() override { return ended_; }
  void begin_batch() override {}
  /// On a pipe, the batch ends when no more input is ready; a regular file is one batch.
  bool batch_complete() override;
  void positions(boost::json::object& out) const override;
  std::string description() const override;
  std::exception_ptr failure() const override { return failure_; }

 private:
  RecordReader reader_;
  std::exception_ptr failure_;
  Extractor extractor_;
  InputItem item_;
  RawRecord raw_;
  bool ended_ = false;
};

/// Records of a topic; several partitions are merged in event-time order by EventTimeMerge
/// (merge.hpp): a partition is caught up when the consumer is at its end, and lagging when the
/// high watermark seen in fetch responses is beyond what was fetched.
///
/// Each partition is read from a queue of its own (SourceOptions::partition_queues), a batch at
/// a time: librdkafka bounds what it prefetches per partition (queued.min.messages, default
/// 100,000 messages, and queued.max.messages.kbytes, default 64 MiB, each per partition), and
/// at most kBatch extracted records per partition wait here.
class KafkaInput final : public StreamInput {
 public:
  /// `spec` is kept by reference and must outlive the input; `options.store_processed` is set.
  /// @throws as TopicSource's constructor.
  KafkaInput(const Config& config, SourceOptions options, const StreamSpec& spec, std::chrono::milliseconds max_idle);
  InputItem* take(std::chrono::milliseconds wait) override;
  bool at_end() override;
  /// Takes, per assigned partition, the high watermark the consumer knows as the batch's target.
  void begin_batch() override;
  bool batch_complete() override;
  void positions(boost::json::object& out) const override;
  std::string description() const override { return "topic " + topic_; }
  void commit(bool last = false) override { source_.commit(last); }
  /// The positions after the records taken so far, per assigned partition (for a transaction).
  kafka::PartitionList processed_offsets() const { return source_.processed_offsets(); }
  /// The consumer handle (its group metadata goes into a transaction).
  const kafka::Client& consumer() const noexcept { return source_; }
  void close() override { source_.close(); }
  std::optional<std::int64_t> partition_disorder_ms() const override { return partition_disorder_; }

 private:
  InputItem* try_take();
  // Moves what `partition`'s queue holds now, extracted, to its buffer; false when it held none.
  bool refill(std::int32_t partition);
  /// Records polled from a partition's queue at a time.
  static constexpr std::size_t kBatch = 256;

  std::string topic_;
  TopicSource source_;
  Extractor extractor_;
  EventTimeMerge<kafka::Message> merge_;
  std::map<std::int32_t, std::int64_t> polled_;  // partition -> offset after the last one buffered
  std::map<std::int32_t, std::int64_t> newest_;  // partition -> largest event time of its valid records
  std::int64_t partition_disorder_ = 0;
  std::map<std::int32_t, std::int64_t> taken_;   // partition -> next offset to process
  std::map<std::int32_t, std::int64_t> target_;  // partition -> high watermark at begin_batch()
  std::vector<kafka::Message> polled_batch_;     // scratch of refill()
  std::uint64_t takes_ = 0;                      // take() calls, to serve the consumer queue now and then
  // The merge's clock: read on each refill and wait, and every 64 takes (take()).
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
  EventTimeMerge<kafka::Message>::Entry current_;
  InputItem item_;
};

}  // namespace sfcrime
