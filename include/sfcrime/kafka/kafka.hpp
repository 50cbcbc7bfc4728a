#pragma once
/// RAII wrappers around librdkafka's C API (DESIGN.md, convention 6): handles live in
/// std::unique_ptr with deleters, callback state outlives the handle, consumers close() before
/// destruction. Every wait on the network is bounded by Config::timeout.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sfcrime/base/config.hpp"

namespace sfcrime::kafka {

struct HandleDeleter {
  void operator()(rd_kafka_t* h) const noexcept { rd_kafka_destroy(h); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const noexcept { rd_kafka_message_destroy(m); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const noexcept { rd_kafka_metadata_destroy(m); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const noexcept { rd_kafka_topic_partition_list_destroy(l); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
using Topic = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

/// A librdkafka property with its value, e.g. {"enable.idempotence", "true"}.
using Property = std::pair<std::string, std::string>;

/// sfcrime's defaults for every client, whatever its role: enable.metrics.push=false (KIP-714
/// client metrics: librdkafka 2.5+ waits up to 1 s in rd_kafka_destroy for a last push to a broker
/// that offers telemetry, seen as a second's stall at the end of a 0.3 s produce to Kafka 4.1).
std::vector<Property> client_defaults();

/// Builds a librdkafka configuration: client_defaults() first, then `defaults` (sfcrime's choices
/// for the role), then bootstrap.servers, then the user's properties (config file, then -X), so the
/// user wins.
/// @throws ConfigError naming the property and librdkafka's reason when a property is unknown or
///         its value invalid (secrets are never echoed).
Conf make_conf(const Config& config, const std::vector<Property>& defaults);

/// One partition's offsets: the low watermark (first offset held) and the high watermark (the
/// offset the next record will get); high - low records are held, fewer on compacted topics.
struct Watermarks {
  std::int64_t low = 0;
  std::int64_t high = 0;
};

/// A message header whose value may be null (Kafka allows a null header value; Property cannot
/// say it).
struct Header {
  std::string name;
  std::optional<std::string> value;  ///< std::nullopt: a null value
};

/// Where a consumer goes on from in one partition: committed with a transaction
/// (Producer::commit_transaction).
struct TopicPartitionOffset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;  ///< the next offset to read
};
/// A partition list of `offsets`, for Producer::commit_transaction.
PartitionList partition_list(const std::vector<TopicPartitionOffset>& offsets);
/// The start offsets "beginning" and "end" (librdkafka's logical offsets, negative).
inline constexpr std::int64_t kOffsetBeginning = RD_KAFKA_OFFSET_BEGINNING;
inline constexpr std::int64_t kOffsetEnd = RD_KAFKA_OFFSET_END;

/// A consumed message's key, value (empty views for null), topic and headers.
std::string_view key_of(const Message& m);
std::string_view value_of(const Message& m);
/// Its topic's name, or `fallback` for an event that carries none (a fatal error, all brokers down).
std::string topic_of(const Message& m, const std::string& fallback);
/// True for the event "the partition's end was reached" (enable.partition.eof).
bool at_partition_end(const Message& m);
/// The value of its last header named `name`, if it has one with a value.
std::optional<std::string_view> header_of(const Message& m, std::string_view name);
/// Its headers in order (a null value as std::nullopt).
std::vector<Header> headers_of(const Message& m);

/// One partition of a topic as cluster metadata describes it.
struct PartitionMetadata {
  std::int32_t id = 0;
  std::int32_t leader = -1;            ///< broker id, -1 when none
  std::vector<std::int32_t> replicas;  ///< broker ids
  std::vector<std::int32_t> isr;       ///< in-sync replicas, broker ids
};
/// One topic of the cluster metadata; its partitions sorted by id.
struct TopicMetadata {
  std::string name;
  bool ok = true;  ///< false when the broker reported an error for the topic
  std::vector<PartitionMetadata> partitions;
  /// The replication factor: the replicas of its first partition (0 without partitions).
  int replication_factor() const noexcept { return partitions.empty() ? 0 : static_cast<int>(partitions[0].replicas.size()); }
};
/// One broker of the cluster.
struct BrokerMetadata {
  std::int32_t id = 0;
  std::string host;
  int port = 0;
};
/// Brokers and topics (sorted by name), and which broker answered.
struct ClusterMetadata {
  std::vector<BrokerMetadata> brokers;
  std::vector<TopicMetadata> topics;
  std::int32_t answered_by_id = -1;
  std::string answered_by;  ///< the broker's name ("host:port/id")
};

/// librdkafka's version, e.g. "2.8.0".
std::string version();

/// Every property of `conf` with its value as librdkafka would use it (rd_kafka_conf_dump), in
/// librdkafka's order; secrets included (callers redact).
std::vector<Property> conf_values(const Conf& conf);

/// A librdkafka client handle and the callback state it reports into. Not copyable or movable:
/// librdkafka holds a pointer to the callback state.
class Client {
 public:
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  virtual ~Client();

  rd_kafka_t* get() const noexcept { return handle_.get(); }
  const Config& config() const noexcept { return config_; }

  /// One metadata round trip bounded by Config::timeout.
  /// @param all_topics true: every topic; false: brokers only (no topic is auto-created).
  /// @throws UnavailableError "cannot reach broker 'HOSTS' within N s (...)" naming the last
  ///         transport error librdkafka reported.
  Metadata metadata(bool all_topics);

  /// The brokers and every topic: one metadata round trip bounded by Config::timeout.
  /// @throws UnavailableError as metadata().
  ClusterMetadata describe_cluster();

  /// The partition count of `topic`, from a metadata request for all topics (so that a broker
  /// with auto.create.topics.enable does not create it).
  /// @throws NoInputError when the topic does not exist; UnavailableError as metadata().
  int partition_count(const std::string& topic);

  /// Low and high watermark of one partition, asked of its leader, bounded by Config::timeout.
  /// Errors that pass by themselves (no leader yet, not the leader, topic not yet known: a topic
  /// just created, a leader election) are retried until then.
  /// @throws UnavailableError when the leader does not answer in time.
  Watermarks watermarks(const std::string& topic, std::int32_t partition);

  /// Low and high watermarks of `partitions` of `topic`, in the order given: two ListOffsets
  /// lookups (earliest, then latest) for all of them, each one request per partition leader
  /// rather than two round trips per partition. Bounded by Config::timeout and retried as
  /// watermarks(topic, partition).
  /// @throws UnavailableError naming the partition whose leader did not answer in time;
  ///         InterruptedError on Ctrl-C while waiting.
  std::vector<Watermarks> watermarks(const std::string& topic, const std::vector<std::int32_t>& partitions);

  /// For each of `partitions` of `topic`, in the order given, the earliest offset whose timestamp
  /// is at or after `timestamp_ms` (ms since the epoch; ListOffsets by time, KIP-79), or -1 where
  /// no record is that recent. One lookup for all partitions (one request per leader), bounded by
  /// Config::timeout; errors that pass by themselves (a topic just created, a leader election)
  /// are retried in slices as watermarks() does, answering Ctrl-C between them.
  /// @throws UnavailableError when a leader does not answer in time or refuses;
  ///         InterruptedError on Ctrl-C while waiting.
  std::vector<std::int64_t> offsets_for_time(const std::string& topic, const std::vector<std::int32_t>& partitions,
                                             std::int64_t timestamp_ms);

  /// The watermarks of `topic`'s `partition` as this consumer last learned them from a fetch
  /// (rd_kafka_get_watermark_offsets: no round trip); -1 where none is known yet.
  Watermarks cached_watermarks(const std::string& topic, std::int32_t partition) const;

  /// The last error librdkafka reported through error_cb (empty if none), for messages.
  std::string last_error() const;
  /// True once librdkafka reported that every broker is down (ALL_BROKERS_DOWN) and no message
  /// was received since; cleared by note_alive().
  bool all_brokers_down() const noexcept { return all_down_.load(); }
  /// Clears all_brokers_down(): something came back from a broker.
  void note_alive() noexcept { all_down_.store(false); }

  /// The error sentence used when the broker cannot be reached within the timeout: "cannot reach
  /// broker 'HOSTS' within N s (waited for WHAT): LAST ERROR; is Kafka running? ...", or, when
  /// librdkafka reported a refusal since the last metadata answer, that refusal with librdkafka's
  /// reason and the settings to check: "cannot log in to broker 'HOSTS' (waited N s for WHAT):
  /// REASON; ..." (SASL), "cannot open a TLS connection to broker ..." (TLS), "broker 'HOSTS'
  /// closed the connection ..." (a security.protocol the listener does not speak).
  std::string unreachable_message(const std::string& waited_for) const;

 protected:
  /// @param type RD_KAFKA_PRODUCER or RD_KAFKA_CONSUMER.
  /// @param conf built by make_conf(); its opaque is set to this object.
  /// @throws UnavailableError if librdkafka cannot create the handle (e.g. a bad security setup).
  Client(rd_kafka_type_t type, const Config& config, Conf conf);

  /// Destroys the handle now (idempotent); derived classes call it first in their destructor so
  /// that no callback runs into a partly destroyed object.
  void destroy_handle() noexcept;

  /// Consumers: leaves the group (committing if auto-commit is on), acknowledging rebalance
  /// events, waiting at most Config::timeout (rd_kafka_consumer_close() has no bound when the
  /// coordinator is gone).
  void close_consumer() noexcept;
  /// Consumers: destroy_handle() without the unbounded close rd_kafka_destroy() would make again
  /// if close_consumer() gave up.
  void destroy_consumer() noexcept;

  Handle handle_;

 private:
  // One offsets lookup, retried: runs `attempt` with a time limit (ms, a slice of Config::timeout)
  // until it gives anything but an error that passes by itself (transient(), a timeout, a
  // transport error) or Config::timeout has passed; throws InterruptedError on Ctrl-C between
  // attempts, UnavailableError for the last error; after an error about leaders it refreshes the
  // metadata of `topic` first. `attempt` sets its second argument to the partition an error is
  // about (-1: the whole request); `what` names the offsets in messages, e.g. "the offsets of
  // 'calls'".
  void retry_offsets(const std::string& topic, const std::string& what,
                     const std::function<rd_kafka_resp_err_t(int slice_ms, std::int32_t& failed)>& attempt);

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf);
  // Keeps `reason` (of a Refusal `kind`, kafka.cpp) as the refusal unreachable_message() reports,
  // unless one is kept already that names the refusal in its text (`by_text`) where this one does not.
  void note_refusal(int kind, const std::string& reason, bool by_text);

  const Config& config_;
  std::atomic<bool> all_down_{false};
  mutable std::mutex mu_;
  std::string last_error_;
  std::string refusal_;  // librdkafka's reason for a TLS or SASL refusal, "" if none since metadata came
  int refusal_kind_ = 0;  // kafka.cpp's Refusal: 0 none
  bool refusal_by_text_ = false;
};


/// Counters of an idempotent producer, updated from delivery reports.
struct DeliveryStats {
  std::uint64_t delivered = 0;  ///< records acknowledged by the broker
  std::uint64_t failed = 0;     ///< records whose delivery failed for good
  std::uint64_t bytes = 0;      ///< value bytes of delivered records
};

/// The librdkafka properties every Producer sets before the user's (-X, config file):
/// enable.idempotence=true, partitioner=murmur2_random (the Java producer's), linger.ms=5,
/// batch.size=1000000, queue.buffering.max.kbytes=16384 (a bound on the queue by bytes),
/// message.timeout.ms=120000 (the Java producer's delivery.timeout.ms),
/// log.connection.close=false. Also shown by `sfcrime produce -X dump`.
std::vector<Property> producer_defaults();

/// One message to send, for every use (records, envelopes, answer rows, late records, the
/// changelog and the scale-out topics): everything Kafka lets a producer set.
struct OutMessage {
  std::size_t topic = 0;                  ///< Producer::add_topic()'s index; 0: the constructor's topic
  std::optional<std::string_view> key;    ///< std::nullopt: a null key (an empty string is a key)
  std::optional<std::string_view> value;  ///< std::nullopt: a null value (a tombstone)
  std::span<const Header> headers;        ///< in order; none when empty
  std::int64_t timestamp_ms = 0;          ///< CreateTime, ms since the epoch; 0: the time of sending
  std::int32_t partition = -1;            ///< -1: the partitioner's choice by key
};

/// One delivery report, delivered or not: what the Producer's one callback is given. The views
/// and `message` are valid only during the call.
struct DeliveryReport {
  std::uint64_t record = 0;     ///< the record number given to Producer::send()
  int error = 0;                ///< 0 when delivered, else librdkafka's error code (rd_kafka_resp_err_t)
  const char* error_text = "";  ///< librdkafka's text for `error` ("" when delivered)
  /// The error is about this message alone (larger than the broker takes, invalid): the other
  /// messages can still go.
  bool message_specific = false;
  /// Sent and no answer came (timed out, purged in flight, librdkafka's POSSIBLY_PERSISTED): the
  /// broker may have written it. A message that timed out may be written all the same
  /// (librdkafka's INTRODUCTION.md, "Message timeout considerations").
  bool possibly_written = false;
  /// Failed by Producer::purge() (or an aborted transaction) rather than by the broker.
  bool purged = false;
  std::int32_t partition = -1;  ///< the partition chosen, -1 if none was
  std::int64_t offset = -1;     ///< the message's offset when delivered, else -1
  std::string_view value;       ///< the value as sent
  /// The message as librdkafka reports it (for append_envelope), or nullptr for a refusal by send().
  const rd_kafka_message_t* message = nullptr;
  /// For a refusal by send(): the message as it was given; else nullptr.
  const OutMessage* refused = nullptr;
  bool delivered() const noexcept { return error == 0; }
};

/// An idempotent producer (enable.idempotence=true, hence acks=all) for one topic, or several
/// (add_topic()).
class Producer : public Client {
 public:
  /// Called for every delivery report (including a refusal by send(): partition -1), on the
  /// thread that calls send(), poll(), flush() or deliver_all().
  using ReportHandler = std::function<void(const DeliveryReport&)>;

  /// @param on_report the one delivery callback (may be empty).
  /// @param extra_defaults producer properties sfcrime sets for this use, under the user's. With a
  ///        transactional.id (here or from the user) sfcrime also sets, under the user's:
  ///        socket.timeout.ms = Config::timeout in ms (10 .. transaction.timeout.ms, librdkafka's
  ///        limits) and reconnect.backoff.max.ms = 1000 ms (the Java client's default; at least
  ///        reconnect.backoff.ms), so that a transaction's requests end within Config::timeout
  ///        (see commit_transaction()).
  /// @throws ConfigError, UnavailableError as Client; NoInputError if `topic` does not exist.
  Producer(const Config& config, const std::string& topic, ReportHandler on_report,
           const std::vector<Property>& extra_defaults = {});
  ~Producer() override;

  /// Enqueues one message (key, value and headers are copied). While librdkafka's local queue is
  /// full it serves delivery reports and retries, so it blocks rather than drops, until
  /// interrupted(). A message librdkafka refuses at once (e.g. larger than message.max.bytes) gets
  /// its delivery report before this returns, and counts as failed.
  /// @param record the number the message's delivery report carries.
  /// @returns false when interrupted() while waiting for room: the message was not enqueued.
  /// @throws UnavailableError on a fatal producer error (e.g. idempotence broken); FencedError in
  ///         a transaction.
  bool send(const OutMessage& message, std::uint64_t record);

  /// Adds `topic` as a destination (OutMessage::topic). @returns its index.
  /// @throws NoInputError if it does not exist; UnavailableError as Client::partition_count().
  std::size_t add_topic(const std::string& topic);

  // --- transactions (KIP-98, KIP-447), for a producer given a transactional.id ----------------
  // Errors: a fatal one (fenced by a newer producer with the same transactional.id, or an
  // unrecoverable broker answer) throws FencedError; one that requires an abort throws
  // TransactionAborted after aborting, so nothing of the transaction is visible to
  // read_committed readers, and names the error that failed the transaction (librdkafka keeps it,
  // rdkafka_txnmgr.c rd_kafka_txn_require_states0), not a later one that failure caused; a
  // retriable one is retried until Config::timeout, then UnavailableError. All three exit 69.

  /// rd_kafka_init_transactions: registers the transactional.id with its coordinator, fencing
  /// any older producer with the same id and aborting the transaction it left open.
  void init_transactions();
  /// Starts a transaction (local; no round trip).
  void begin_transaction();
  /// Adds the consumer's `offsets` (next offset to read, per partition) to the transaction with
  /// the consumer's group metadata (send_offsets_to_transaction; nothing when empty), then
  /// commits it: rows, changelog records and offsets become visible together.
  /// Waits for both at most Config::timeout from the call, give or take: librdkafka 2.0.2's
  /// rd_kafka_send_offsets_to_transaction() waits for its AddOffsetsToTxn answer whatever its
  /// timeout argument says (rdkafka_txnmgr.c: rd_kafka_txn_op_req1(rk, rko, RD_POLL_INFINITE)),
  /// so that request is bounded by socket.timeout.ms (= Config::timeout, see the constructor)
  /// from when it was sent, and librdkafka notices a timed-out request up to about 1 s late
  /// (rdkafka_broker.c scans for them once a second; while a broker thread waits out its
  /// reconnect backoff, only when the wait ends: hence reconnect.backoff.max.ms 1000). On
  /// an error that requires it, the abort waits at most Config::timeout more.
  /// @throws FencedError, TransactionAborted or UnavailableError as said above.
  void commit_transaction(const PartitionList& offsets, const Client& consumer);
  /// Aborts the open transaction, waiting at most Config::timeout; errors are reported, not thrown.
  void abort_transaction() noexcept;
  /// True between begin_transaction() and its commit or abort.
  bool in_transaction() const noexcept { return in_transaction_; }

  /// Serves delivery reports for up to `ms` milliseconds.
  void poll(int ms);

  /// Waits until every enqueued message has its delivery report or `timeout_ms` passed.
  /// @returns the number of messages still without a report (0 when all are settled).
  int flush(int timeout_ms);

  /// Messages enqueued and not yet reported on.
  int in_flight() const;

  /// librdkafka's fatal error (the idempotent or transactional producer cannot go on), or "" if
  /// none was raised.
  std::string fatal_error() const;
  /// Ends the transaction's bookkeeping and throws the fatal error as a FencedError of its kind.
  [[noreturn]] void throw_fatal();

  /// Fails every message still queued or in flight at once (rd_kafka_purge), e.g. after a fatal
  /// error, so that flush() need not wait message.timeout.ms; their delivery reports carry
  /// _PURGE_QUEUE (never sent) or _PURGE_INFLIGHT (sent, no answer: possibly written).
  void purge();

  /// Waits until every enqueued message has its delivery report, before the caller commits what
  /// depends on them. After Ctrl-C it waits at most Config::timeout more. In a transaction it
  /// only serves the reports already there: commit_transaction() waits for the rest, within its
  /// Config::timeout (rd_kafka_commit_transaction flushes first), and a failed message fails the
  /// commit, which aborts (waiting here too had no bound but message.timeout.ms).
  /// @param what names the messages in errors, e.g. "answer rows".
  /// @throws InterruptedError when interrupted with messages still unreported;
  ///         UnavailableError when any message failed (librdkafka gives up after message.timeout.ms)
  ///         and the producer is not transactional; FencedError in a transaction after a fatal
  ///         error.
  void deliver_all(const std::string& what);

  const DeliveryStats& stats() const noexcept { return stats_; }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  ReportHandler on_report_;
  // Throws for `error` (owned: destroyed here) of the transactional call `what` as documented
  // above; returns when it is retriable and `deadline` has not passed (the caller retries).
  void transaction_error(rd_kafka_error_t* error, const std::string& what,
                         std::chrono::steady_clock::time_point deadline);
  // The error that failed the open transaction (abortable or fatal) as librdkafka keeps it, owned
  // by the caller, or nullptr when it has none. Call it before abort_transaction().
  rd_kafka_error_t* transaction_failure();

  // 'a', 'b': the topics of this producer, for messages.
  std::string topic_names() const;
  DeliveryStats stats_;
  std::vector<Topic> topics_;  // [0]: the constructor's topic
  bool in_transaction_ = false;
  bool transactional_ = false;  // init_transactions() was called
};

/// A handle used only for the Admin API and metadata (a producer handle that never produces).
class Admin : public Client {
 public:
  explicit Admin(const Config& config);
  ~Admin() override;

  /// A topic to create: name, partitions, replication factor, topic configs (key, value).
  struct NewTopic {
    std::string name;
    int partitions = 1;
    int replication_factor = 1;
    std::vector<Property> configs;
  };

  /// Creates a topic through CreateTopics (librdkafka's rd_kafka_CreateTopics), then waits (up
  /// to Config::timeout) until every partition has a leader that answers, so the next command can
  /// use the topic at once.
  /// @returns true if created, false if it existed and `if_not_exists` was set.
  /// @throws Error(Exit::failure) with the broker's reason (topic exists, invalid name, invalid
  ///         replication factor, invalid config); UnavailableError if the broker does not answer
  ///         within Config::timeout, or if the topic was created but its partitions do not all
  ///         have an answering leader within Config::timeout (the message says it was created).
  bool create_topic(const NewTopic& topic, bool if_not_exists);

  /// Deletes a topic through DeleteTopics.
  /// @returns true if deleted, false if it did not exist and `if_exists` was set.
  /// @throws NoInputError if it does not exist (and not if_exists), Error on other refusals.
  bool delete_topic(const std::string& name, bool if_exists);

  /// Waits up to Config::timeout until metadata shows `name` with `partitions` partitions, each
  /// with a leader, and a leader answers an offsets request. @returns false on timeout.
  bool wait_until_ready(const std::string& name, int partitions);

  /// Asks the broker to validate the creation of `topic` without creating it (CreateTopics with
  /// validate_only, as kafka-topics.sh --dry-run / rpk topic create --dry-run).
  /// @returns true if the broker accepts it, false if the topic exists and `if_not_exists` is set.
  /// @throws as create_topic().
  bool validate_create_topic(const NewTopic& topic, bool if_not_exists);

  /// One configuration entry of a topic as DescribeConfigs reports it.
  struct ConfigEntry {
    std::string name;                  ///< e.g. "retention.ms"
    std::optional<std::string> value;  ///< std::nullopt: sensitive (the broker never sends it) or unset
    std::string source_name;  ///< librdkafka's name of the source: "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG", ...
    bool topic_override = false;  ///< set on the topic itself (source DYNAMIC_TOPIC_CONFIG)
    bool read_only = false;   ///< cannot be changed with AlterConfigs
    bool is_default = false;  ///< the broker's default value
    bool sensitive = false;   ///< a secret: its value is never returned
  };

  /// Every configuration entry of topic `name` (DescribeConfigs on the TOPIC resource), sorted by
  /// name; values of sensitive entries are std::nullopt (librdkafka's rd_kafka_ConfigEntry_value).
  /// @throws NoInputError when the topic does not exist; UnavailableError when the broker does not
  ///         answer within Config::timeout; Error(Exit::failure) on another refusal.
  std::vector<ConfigEntry> describe_topic_configs(const std::string& name);

  /// Sets the keys of `sets` and removes those of `deletes` (back to the broker's default) in the
  /// dynamic configuration of topic `name`, leaving its other keys alone, in one request
  /// (IncrementalAlterConfigs, KIP-339: what kafka-configs.sh --alter and rpk topic alter-config
  /// send).
  /// @param validate_only the broker validates the request and changes nothing.
  /// @throws NoInputError when the topic does not exist; Error(Exit::failure) with the broker's
  ///         reason (unknown key, invalid value); UnavailableError as describe_topic_configs();
  ///         UsageError when librdkafka refuses a key locally.
  void incremental_alter_topic_configs(const std::string& name, const std::vector<Property>& sets,
                                       const std::vector<std::string>& deletes, bool validate_only);

  /// Grows topic `name` to `total` partitions (CreatePartitions), then, unless `validate_only`,
  /// waits (Config::timeout) until every new partition has a leader.
  /// @throws NoInputError when the topic does not exist; Error(Exit::failure) with the broker's
  ///         reason (fewer partitions than now, too many); UnavailableError when no answer comes,
  ///         and also when the partitions were added but not every one had a leader that answers
  ///         within Config::timeout (the message says they were added, so that nobody adds them
  ///         again).
  void create_partitions(const std::string& name, int total, bool validate_only);

  // --- consumer groups --------------------------------------------------------------------------

  /// One group as ListConsumerGroups reports it.
  struct GroupListing {
    std::string id;
    std::string state;  ///< "Stable", "Empty", "PreparingRebalance", ... (rd_kafka_consumer_group_state_name)
    bool simple = false;  ///< no protocol type: offsets committed by clients that never joined
  };
  /// Every consumer group of the cluster (ListConsumerGroups, asked of every broker), sorted by id.
  /// @throws UnavailableError when a broker does not answer within Config::timeout.
  std::vector<GroupListing> list_groups();

  /// A member of a group and the partitions assigned to it.
  struct GroupMember {
    std::string member_id;    ///< the consumer id the coordinator gave
    std::string instance_id;  ///< group.instance.id of a static member, "" if none
    std::string client_id;
    std::string host;  ///< as the coordinator saw it, e.g. "/127.0.0.1"
    std::vector<std::pair<std::string, std::int32_t>> assignment;  ///< (topic, partition)
  };
  /// A group as DescribeConsumerGroups reports it.
  struct GroupDescription {
    std::string id;
    std::string state;     ///< as GroupListing::state; "Dead" for a group the coordinator does not know
    std::string assignor;  ///< partition assignor, e.g. "range"; "" when empty
    bool simple = false;
    std::int32_t coordinator = -1;  ///< broker id of the group coordinator, -1 if unknown
    std::string coordinator_host;   ///< "host:port", "" if unknown
    std::vector<GroupMember> members;
  };
  /// Describes the groups `ids` (DescribeConsumerGroups), in the order given. A group the
  /// coordinator does not know comes back with state "Dead" and no members (GROUP_ID_NOT_FOUND
  /// from newer brokers is reported the same way): callers decide whether that is an error.
  /// @throws UnavailableError when no answer comes within Config::timeout; Error(Exit::failure)
  ///         on another refusal.
  std::vector<GroupDescription> describe_groups(const std::vector<std::string>& ids);

  /// A group's committed offset for one partition.
  struct CommittedOffset {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = -1;  ///< the next offset the group reads; -1 when nothing is committed
  };
  /// Every committed offset of group `id` (ListConsumerGroupOffsets over all partitions), sorted by
  /// topic and partition; partitions without a committed offset are left out.
  /// @throws UnavailableError when no answer comes within Config::timeout; Error on a refusal.
  std::vector<CommittedOffset> committed_offsets(const std::string& id);

  /// Sets the committed offsets of group `id` (AlterConsumerGroupOffsets); the broker accepts it
  /// only while the group has no members.
  /// @throws Error(Exit::failure) with the broker's reason per partition (a non-empty group gives
  ///         UNKNOWN_MEMBER_ID, reported as "the group has members"); UnavailableError on timeout.
  void alter_committed_offsets(const std::string& id, const std::vector<CommittedOffset>& offsets);

  /// Deletes group `id` and its committed offsets (DeleteGroups).
  /// @throws NoInputError when the group does not exist; Error(Exit::failure) with the broker's
  ///         reason (NON_EMPTY_GROUP: it has members); UnavailableError on timeout.
  void delete_group(const std::string& id);

  /// The earliest offset of `topic` `partition` whose timestamp is >= `timestamp_ms`
  /// (Client::offsets_for_time), or the high watermark when there is none.
  /// @throws UnavailableError, InterruptedError as Client::offsets_for_time().
  std::int64_t offset_for_time(const std::string& topic, std::int32_t partition, std::int64_t timestamp_ms);
};

/// The error sentence for a topic that does not exist on the cluster of `config`, the same
/// wherever it is found missing: "topic 'NAME' does not exist on 'HOSTS' (sfcrime topic list
/// shows the topics; sfcrime topic create NAME makes one)".
std::string missing_topic_message(const Config& config, const std::string& name);

/// librdkafka's message for an error code, e.g. "Broker: Topic already exists".
std::string error_text(rd_kafka_resp_err_t err);

/// What every consumer of sfcrime does with an error event `m` (m->err set, other than
/// RD_KAFKA_RESP_ERR__PARTITION_EOF, which the caller handles): a fatal error, a topic or
/// partition that is gone, or a refused authorization ends the command; anything else is
/// transient (librdkafka retries it) and is printed on stderr with -v (verbosity >= 1).
/// @param consumer the handle that returned `m` (to read a fatal error's reason).
/// @param topic named in the messages when `m` carries no topic.
/// @throws UnavailableError for a fatal error or a refused authorization; NoInputError for an
///         unknown topic or partition (naming the message's topic).
void check_consumer_error(const Client& consumer, const Message& m, const std::string& topic, int verbosity);

}  // namespace sfcrime::kafka
