#pragma once
/// RAII wrappers around librdkafka's C API, the client every role shares (producer.hpp, admin.hpp,
/// source.hpp, group_reader.hpp build on it): handles live in
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

/// Waits for the broker run in slices of this many ms, so that Ctrl-C is answered at once.
inline constexpr std::int64_t kWaitSliceMs = 500;

/// Seconds of `ms` for messages: "10", "2.5".
std::string seconds_text(std::chrono::milliseconds ms);

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
