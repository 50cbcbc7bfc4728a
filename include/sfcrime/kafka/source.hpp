#pragma once
/// Reading a topic: the consumer side shared by `consume` and `aggregate`.
///
/// Two modes, as kcat has them:
///  - without a group: every partition (or those chosen) is assigned to this process
///    (rd_kafka_assign), starting where SourceOptions::start says (consume --offset: the beginning,
///    the end, an offset, N before the end, or the first message at or after a time), else at the
///    beginning (--from-beginning) or the end; nothing is committed.
///  - with --group G: the partitions are shared by the group's members (rd_kafka_subscribe);
///    a partition starts at the group's committed offset, else at the beginning
///    (--from-beginning, auto.offset.reset=earliest) or the end (latest), as
///    kafka-console-consumer does; offsets are committed automatically and on close.
///
/// End of input (--exit-at-end): when a partition is assigned its high watermark is read; the
/// partition is at its end once the position reaches that offset. The source is at its end when
/// every assigned partition is, so --exit-at-end works with a group too (kcat's -G does not exit:
/// edenhill/kcat issue 206). A member that was assigned no partition is at its end at once.
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime {

/// Where reading starts in each partition (consume --offset), for a source without a group.
struct StartOffset {
  enum class Kind {
    end,        ///< the high watermark: only new messages
    beginning,  ///< the low watermark (the earliest message held)
    absolute,   ///< offset `value` in every partition, clamped to [low, high] watermark
    from_end,   ///< `value` messages before the high watermark (not before the low one), as kcat's -o -N
    timestamp   ///< the first message with a timestamp >= `value` (ms since the epoch), else the end
  };
  Kind kind = Kind::end;
  std::int64_t value = 0;
};

/// Parses a --offset value: beginning | end | N | -N | @TIME, where TIME is milliseconds since
/// the epoch, an ISO 8601 date or date-time taken as UTC (2024-05-01, 2024-05-01T13:45:00[.123],
/// an optional trailing Z), or a duration before `now_ms` (@-1h, @-30m; see parse_duration).
/// "start" and "oldest" are accepted for beginning, "newest" and "latest" for end (rpk's words).
/// @throws UsageError naming the value and the accepted forms.
StartOffset parse_start_offset(std::string_view text, std::int64_t now_ms);

/// Default queued.max.messages.kbytes of a consumer with a queue per partition, KiB per
/// partition, at most: one fetch's worth (max.partition.fetch.bytes, 1 MiB), which a fetch may
/// overshoot by one more (librdkafka's CONFIGURATION.md). bench/memory.py measures the peak RSS it gives.
inline constexpr int kPartitionPrefetchKiB = 1024;
/// The prefetch of all partitions together, KiB: a topic of more than 16 partitions gets
/// kPrefetchTotalKiB / partitions per partition (and as max.partition.fetch.bytes), so that the
/// read-ahead stays bounded however many partitions there are.
inline constexpr int kPrefetchTotalKiB = 16 * 1024;
/// The least prefetch per partition, KiB (above 256 partitions the total grows again).
inline constexpr int kPartitionPrefetchMinKiB = 64;
/// Default fetch.queue.backoff.ms of such a consumer, ms: how soon a partition whose queue was full
/// is fetched again (librdkafka 2.1+; its default, 1000 ms, stalls a reader that drains quickly).
inline constexpr int kFetchQueueBackoffMs = 1;
/// The defaults of a consumer with a queue per partition (SourceOptions::partition_queues) that
/// reads `partitions` partitions: queued.max.messages.kbytes and fetch.message.max.bytes (alias
/// max.partition.fetch.bytes) per partition (kPartitionPrefetchKiB, less above 16 partitions:
/// kPrefetchTotalKiB in all, at least kPartitionPrefetchMinKiB) and fetch.queue.backoff.ms.
/// `aggregate -X dump` shows those of one partition.
std::vector<kafka::Property> partition_queue_defaults(int partitions = 1);

/// What to read and how.
struct SourceOptions {
  std::string topic;
  std::optional<std::string> group;  ///< consumer group id; none = assign every partition
  bool from_beginning = false;
  /// Without a group (and not transactional): where each partition starts; overrides
  /// from_beginning. Resolved once, when the partitions are assigned (a time through
  /// Client::offsets_for_time: one lookup for all partitions, bounded by Config::timeout).
  std::optional<StartOffset> start;
  bool exit_at_end = false;
  /// With a group: commit only when commit() is called (aggregate commits after its output is
  /// written), not every 5 s.
  bool manual_commit = false;
  /// The caller reports each message it has processed (mark_processed()); only those offsets are
  /// committed and a partition given back by a rebalance resumes after them (aggregate buffers
  /// messages to merge partitions by event time, so polled is not processed).
  bool store_processed = false;
  /// Exactly-once (aggregate --exactly-once, with a group and store_processed): every partition
  /// is assigned to this process (the group is not joined: one process holds the whole query's
  /// state), starting at the group's committed offsets; nothing is committed by the consumer: the
  /// caller adds processed_offsets() to its producer's transaction, whose transactional.id fences
  /// any other process of the group. Reads with isolation.level=read_committed.
  bool transactional = false;
  /// Without a group: only these partitions (empty: every partition of the topic); one named
  /// twice is read once.
  std::vector<std::int32_t> partitions;
  /// Each assigned partition's messages stay in a queue of their own (rd_kafka_queue_get_partition
  /// with forwarding removed, set up before the partition is assigned, as librdkafka's author
  /// advises in librdkafka issues 1395 and 2387), read with poll_partition() instead of next().
  /// librdkafka then bounds what it prefetches per partition (queued.max.messages.kbytes, by
  /// default kPartitionPrefetchKiB here, fetched again kFetchQueueBackoffMs after the queue was
  /// full; -X overrides both) and keeps fetching the partitions that are drained, so a
  /// reader that merges partitions never has to pause one (a pause throws its prefetched
  /// messages away and the resumed fetch waits behind a long-polling one: up to
  /// fetch.wait.max.ms, 500 ms, per resume).
  bool partition_queues = false;
};

/// A consumer of one topic that knows when it has read everything that was there.
class TopicSource : public kafka::Client {
 public:
  /// Connects, checks the topic exists and assigns or subscribes.
  /// @throws UnavailableError if the broker cannot be reached within Config::timeout;
  ///         NoInputError if the topic does not exist; ConfigError for bad properties.
  TopicSource(const Config& config, SourceOptions options);
  /// Closes the consumer (leaving the group, committing offsets) before destroying it.
  ~TopicSource() override;

  /// The next message, or nullptr when none came within `wait` or the end was reached
  /// (check at_end()).
  /// @throws UnavailableError on a fatal consumer error, an unknown topic or partition, or when
  ///         with exit_at_end no partition was assigned within Config::timeout (plus the group's
  ///         session timeout) or every broker stayed down for Config::timeout;
  ///         InterruptedError never (callers check sfcrime::interrupted()).
  kafka::Message next(std::chrono::milliseconds wait);

  /// With partition_queues: appends to `out` up to `max` messages of `partition` that are in its
  /// queue now (no wait: wait() waits for any queue); partition-EOF events and errors are handled
  /// as next() handles them (never appended). The consumer queue and the time limits of
  /// exit_at_end are served by serve().
  /// @returns the number of messages appended (0 for a partition not assigned now).
  /// @throws as next().
  std::size_t poll_partition(std::int32_t partition, std::vector<kafka::Message>& out, std::size_t max);

  /// With partition_queues: serves the consumer queue (rebalance callbacks, errors, the
  /// all-brokers-down check of next()) without waiting.
  /// @throws as next().
  void serve();

  /// With partition_queues: waits at most `wait` until a message or event may have come to any
  /// partition's queue or the consumer queue since the last wait() (librdkafka writes to a pipe
  /// when one of those queues stops being empty: rd_kafka_queue_io_event_enable). May return
  /// early without anything new; never misses a queue that became non-empty after the caller
  /// found it empty.
  void wait(std::chrono::milliseconds wait);

  /// True with exit_at_end once every assigned partition was read up to its high watermark
  /// (taken when it was assigned).
  bool at_end() const noexcept;

  /// Messages returned by next() so far.
  std::uint64_t consumed() const noexcept { return consumed_; }

  /// Commits, synchronously, the offsets after the messages next() returned, or with
  /// store_processed those given to mark_processed() (group mode only). A commit refused because
  /// a rebalance is under way is skipped (-v says so) unless `last`: the next one or the
  /// revocation commits.
  /// @param last no commit follows this one (the end of the run): every failure throws, so a run
  ///        never ends 0 with its offsets left behind.
  /// @throws UnavailableError when the commit fails (otherwise than routinely, unless `last`).
  void commit(bool last = false);

  /// Records that every message of `partition` before `next_offset` was processed (with
  /// store_processed): stored for the next commit() and used as the resume point.
  void mark_processed(std::int32_t partition, std::int64_t next_offset);

  /// The processed positions (next offset to process) of the partitions assigned now, as a list
  /// for rd_kafka_send_offsets_to_transaction; partitions with nothing processed yet are left out.
  kafka::PartitionList processed_offsets() const;

  /// The partitions assigned to this process now.
  const std::set<std::int32_t>& assignment() const noexcept { return assignment_; }

  /// True when the consumer has reached the end of `partition` (a partition-EOF event) and no
  /// message came from it since, or, with exit_at_end, was read up to its high watermark.
  bool caught_up(std::int32_t partition) const;

  /// The high watermark of `partition` as last seen in a fetch response (no round trip), or -1
  /// when none was seen yet.
  std::int64_t cached_high(std::int32_t partition);


  /// Called (inside next(), from the rebalance callback) for each partition taken away from this
  /// process, after its processed offset was committed (store_processed), so that messages
  /// buffered from it can be dropped.
  void on_revoked(std::function<void(std::int32_t)> f) { on_revoked_ = std::move(f); }

  /// Closes the consumer: leaves the group (committing if auto-commit is on), waiting at most
  /// Config::timeout. Idempotent.
  void close();

 private:
  static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque);
  void track(std::int32_t partition, std::int64_t start, std::int64_t high);
  // Replaces the logical offsets of `list` by where options_.start says each partition starts;
  // `marks` are the watermarks of list's partitions, in its order (needed for an absolute offset
  // and -N only). A time is looked up for all partitions at once (Client::offsets_for_time).
  void resolve_start(rd_kafka_topic_partition_list_t* list, const std::vector<kafka::Watermarks>& marks);
  // With partition_queues: takes each partition of `parts` out of the consumer queue (before it
  // is assigned), or gives back and forgets the queues of `parts` (nullptr: all of them).
  void split_queues(const rd_kafka_topic_partition_list_t* parts);
  void drop_queues(const rd_kafka_topic_partition_list_t* parts) noexcept;
  // With partition_queues: makes the wake-up pipe and watches the consumer queue; gives back
  // every queue reference and closes the pipe (idempotent; before the handle is destroyed).
  void start_queues();
  void stop_queues() noexcept;
  // What next() and poll_partition() do with one polled message or event: true for a message to
  // hand to the caller (counted, its partition no longer at EOF); false for an event handled here.
  bool accept(const kafka::Message& m);
  // Commits next_offset_ of `parts` synchronously (store_processed).
  void commit_partitions(const rd_kafka_topic_partition_list_t* parts, bool last = false);
  // Commits `offsets` (nullptr: the stored ones) waiting at most Config::timeout for the result.
  // Throws UnavailableError on timeout.
  rd_kafka_resp_err_t commit_bounded(const rd_kafka_topic_partition_list_t* offsets);
  // Throws UnavailableError for a commit error that is not routine during a rebalance, and with
  // `last` for those too.
  void check_commit(rd_kafka_resp_err_t err, bool last = false);

  SourceOptions options_;
  // partition -> high watermark to reach; erased once reached.
  std::map<std::int32_t, std::int64_t> pending_;
  // partition -> offset after the last message next() returned (or, with store_processed, the
  // caller processed) from it.
  std::map<std::int32_t, std::int64_t> next_offset_;
  std::set<std::int32_t> assignment_;
  std::set<std::int32_t> at_eof_;
  std::map<std::int32_t, rd_kafka_queue_t*> queues_;  // partition_queues: partition -> its own queue
  rd_kafka_queue_t* consumer_queue_ = nullptr;        // partition_queues: the consumer queue (events)
  int wake_[2] = {-1, -1};                            // partition_queues: the io-event pipe
  std::function<void(std::int32_t)> on_revoked_;
  bool assigned_ = false;
  bool closed_ = false;
  std::uint64_t consumed_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point down_since_{};
  std::exception_ptr rebalance_error_;  // thrown in the rebalance callback, rethrown by next()
};

}  // namespace sfcrime
