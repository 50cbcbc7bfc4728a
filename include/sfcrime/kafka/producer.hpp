#pragma once
/// The idempotent (and transactional) producer: one message type (OutMessage), one send, one
/// delivery callback (DeliveryReport).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::kafka {

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

}  // namespace sfcrime::kafka
