#include "sfcrime/kafka/producer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <thread>
#include <tuple>

#include "sfcrime/base/errors.hpp"

namespace sfcrime::kafka {

// ---------------------------------------------------------------------------------------------
// Producer

std::vector<Property> producer_defaults() {
  return {
      {"enable.idempotence", "true"},  // acks=all, no duplicates or reordering on retries
      {"partitioner", "murmur2_random"},  // the Java client's partitioner: same key, same partition
      {"linger.ms", "5"},
      {"batch.size", "1000000"},
      // What waits in librdkafka's queue, KiB: 16 MiB keeps the broker busy (6 partitions of
      // 1 MB batches) where the default, 100,000 messages, held 80 MiB of the real data's records
      // when the broker was slow, and produce blocks on a full queue rather than grow.
      {"queue.buffering.max.kbytes", "16384"},
      {"message.timeout.ms", "120000"},  // the Java producer's delivery.timeout.ms
      {"log.connection.close", "false"},
  };
}

namespace {
// The value of librdkafka property `key` for a producer made with `extra` defaults: the user's
// (-X, config file; the last setting wins), else sfcrime's, else std::nullopt.
std::optional<std::string> producer_property(const Config& config, const std::vector<Property>& extra,
                                             const std::string& key) {
  std::optional<std::string> value;
  for (const auto& [k, v] : extra)
    if (k == key) value = v;
  for (const auto& [k, v] : config.properties)
    if (k == key) value = v;
  return value;
}

// A whole number property of a producer made with `extra` defaults, or `otherwise` when it is not
// set or not a number (rd_kafka_conf_set() refuses that with its own message).
std::int64_t producer_number(const Config& config, const std::vector<Property>& extra, const std::string& key,
                             std::int64_t otherwise) {
  const auto v = producer_property(config, extra, key);
  if (!v) return otherwise;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    return otherwise;
  }
}

// What a transactional producer sets on top of sfcrime's and the caller's defaults, so that every
// wait of a transaction's commit or abort ends within --timeout (+1 s), also when the coordinator
// stops answering or every broker is down. The user's -X settings still win (make_conf applies
// them last).
//  - socket.timeout.ms = --timeout: rd_kafka_send_offsets_to_transaction() waits for its
//    AddOffsetsToTxn answer with no bound of its own (librdkafka 2.0.2, rdkafka_txnmgr.c:
//    rd_kafka_txn_op_req1(rk, rko, RD_POLL_INFINITE), "Timeout is enforced by
//    op_send_offsets_to_transaction()", i.e. rd_kafka_txn_handle_AddOffsetsToTxn looks at the
//    call's timeout only once the answer came), and rd_kafka_AddOffsetsToTxnRequest's request
//    ends at socket.timeout.ms (librdkafka's default 60 s). librdkafka's limits: 10 .. 300000,
//    and at most transaction.timeout.ms + 100 (rd_kafka_new() refuses more; CONFIGURATION.md:
//    "must not exceed the transaction timeout"): capped at transaction.timeout.ms (default 60000).
//  - reconnect.backoff.max.ms = 1000 (the Java client's default; librdkafka's is 10000): a broker
//    thread waiting out its reconnect backoff finds its timed-out requests only when the wait ends
//    (seen with every broker down: AddOffsetsToTxn timed out after 6.5-8.6 s, not 2). Never below
//    reconnect.backoff.ms, which librdkafka refuses.
std::vector<Property> transactional_defaults(const Config& config, const std::vector<Property>& extra) {
  const std::int64_t txn_timeout = producer_number(config, extra, "transaction.timeout.ms", 60000);
  const std::int64_t socket_timeout =
      std::clamp<std::int64_t>(config.timeout.count(), 10, std::clamp<std::int64_t>(txn_timeout, 10, 300000));
  const std::int64_t backoff = std::max<std::int64_t>(1000, producer_number(config, extra, "reconnect.backoff.ms", 100));
  return {{"socket.timeout.ms", std::to_string(socket_timeout)},
          {"reconnect.backoff.max.ms", std::to_string(backoff)}};
}

Conf producer_conf(const Config& config, const std::vector<Property>& extra, void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*)) {
  std::vector<Property> defaults = producer_defaults();
  defaults.insert(defaults.end(), extra.begin(), extra.end());
  if (producer_property(config, extra, "transactional.id")) {
    const std::vector<Property> txn = transactional_defaults(config, extra);
    defaults.insert(defaults.end(), txn.begin(), txn.end());
  }
  // The queue's byte bound must hold one message of the largest size allowed, or a message that
  // size would wait for room forever (QUEUE_FULL on an empty queue).
  const std::int64_t largest_kib = producer_number(config, extra, "message.max.bytes", 1000000) / 1024 + 1;
  if (largest_kib > producer_number(config, extra, "queue.buffering.max.kbytes", 16384))
    defaults.emplace_back("queue.buffering.max.kbytes", std::to_string(largest_kib));
  Conf conf = make_conf(config, defaults);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), dr);
  return conf;
}
}  // namespace

namespace {
/// The kind of a fatal error: a newer producer with the same transactional.id took over (Kafka's
/// PRODUCER_FENCED, INVALID_PRODUCER_EPOCH, librdkafka's _FENCED), or anything else.
FencedError::Kind fatal_kind(rd_kafka_resp_err_t code) noexcept {
  return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                 code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH
             ? FencedError::Kind::fenced
             : FencedError::Kind::fatal;
}
}  // namespace

Producer::Producer(const Config& config, const std::string& topic, ReportHandler on_report,
                   const std::vector<Property>& extra_defaults)
    : Client(RD_KAFKA_PRODUCER, config, producer_conf(config, extra_defaults, &Producer::on_delivery)),
      on_report_(std::move(on_report)) {
  add_topic(topic);
}

Producer::~Producer() {
  topics_.clear();
  destroy_handle();
}

std::size_t Producer::add_topic(const std::string& topic) {
  partition_count(topic);  // reachability and existence, each with a clear error
  Topic t(rd_kafka_topic_new(handle_.get(), topic.c_str(), nullptr));
  if (!t) throw Error(Exit::software, "cannot create a topic handle for '" + topic + "'");
  topics_.push_back(std::move(t));
  return topics_.size() - 1;
}

namespace {
/// Errors about the message itself, not about the broker: the other messages can still go.
bool message_specific(rd_kafka_resp_err_t err) noexcept {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
         err == RD_KAFKA_RESP_ERR_INVALID_RECORD || err == RD_KAFKA_RESP_ERR_INVALID_MSG;
}

DeliveryReport report_of(std::uint64_t record, rd_kafka_resp_err_t err) {
  DeliveryReport r;
  r.record = record;
  r.error = err;
  r.error_text = err == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : rd_kafka_err2str(err);
  r.message_specific = message_specific(err);
  r.purged = err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
  return r;
}
}  // namespace

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<Producer*>(static_cast<Client*>(opaque));
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++self->stats_.delivered;
    self->stats_.bytes += m->len;
    self->note_alive();
  } else {
    ++self->stats_.failed;
  }
  if (!self->on_report_) return;
  DeliveryReport r = report_of(reinterpret_cast<std::uintptr_t>(m->_private), m->err);
  // librdkafka 2.8.0 reported some messages of a broker stopped mid-produce as NOT_PERSISTED that
  // were in the topic: every one that timed out or was purged in flight counts as possibly written.
  r.possibly_written = rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED ||
                       m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
  r.partition = m->partition;
  r.offset = m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? m->offset : -1;
  r.value = std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  r.message = m;
  self->on_report_(r);
}

bool Producer::send(const OutMessage& m, std::uint64_t record) {
  rd_kafka_topic_t* topic = topics_.at(m.topic).get();
  void* key_data = m.key ? const_cast<char*>(m.key->data()) : nullptr;  // nullptr: a null key
  const std::size_t key_size = m.key ? m.key->size() : 0;
  void* value_data = m.value ? const_cast<char*>(m.value->data()) : nullptr;  // nullptr: a null value
  const std::size_t value_size = m.value ? m.value->size() : 0;
  for (;;) {
    // librdkafka owns the header list once producev succeeds; a new one for every attempt. A null
    // list is allowed: no headers are sent.
    rd_kafka_headers_t* hdrs = nullptr;
    if (!m.headers.empty()) {
      hdrs = rd_kafka_headers_new(m.headers.size());
      for (const Header& h : m.headers)
        rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value ? h.value->data() : nullptr,
                            h.value ? static_cast<ssize_t>(h.value->size()) : 0);
    }
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        handle_.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(m.partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_VALUE(value_data, value_size),
        RD_KAFKA_V_TIMESTAMP(m.timestamp_ms), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(record))), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) rd_kafka_headers_destroy(hdrs);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (interrupted()) return false;
      rd_kafka_poll(handle_.get(), 10);  // make room by serving delivery reports
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      if (in_transaction_) throw_fatal();
      throw UnavailableError("the producer hit a fatal error: " + fatal_error());
    }
    // Refused at once (e.g. larger than message.max.bytes): a failed delivery of its own.
    ++stats_.failed;
    if (on_report_) {
      DeliveryReport r = report_of(record, err);
      r.partition = m.partition;
      r.value = m.value.value_or(std::string_view());
      r.refused = &m;
      on_report_(r);
    }
    return true;
  }
}

rd_kafka_error_t* Producer::transaction_failure() {
  // librdkafka keeps the error that failed the transaction (rk_eos.txn_err and txn_errstr, set by
  // rd_kafka_txn_set_abortable_error0 or rd_kafka_txn_set_fatal_error) and answers any
  // transactional call made in the AbortableError or FatalError state with it
  // (rd_kafka_txn_require_states0 in rdkafka_txnmgr.c). rd_kafka_begin_transaction() is such a
  // call that changes nothing in any state but Ready (it requires Ready), and no request is sent.
  rd_kafka_error_t* e = rd_kafka_begin_transaction(handle_.get());
  if (!e) {
    // Ready, which a failed transaction is not: the probe opened a new, empty transaction; end it
    // here rather than count on the caller's abort (which only runs when in_transaction_ is set).
    if (rd_kafka_error_t* a = rd_kafka_abort_transaction(handle_.get(), static_cast<int>(config().timeout.count())))
      rd_kafka_error_destroy(a);
    return nullptr;
  }
  if (rd_kafka_error_txn_requires_abort(e) || rd_kafka_error_is_fatal(e)) return e;
  rd_kafka_error_destroy(e);  // e.g. _STATE "Operation not valid in state BeginCommit"
  return nullptr;
}

void Producer::transaction_error(rd_kafka_error_t* error, const std::string& what,
                                 std::chrono::steady_clock::time_point deadline) {
  std::string reason = rd_kafka_error_string(error);
  bool fatal = rd_kafka_error_is_fatal(error);
  const bool abort = rd_kafka_error_txn_requires_abort(error);
  const bool retriable = rd_kafka_error_is_retriable(error);
  rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  // A call can fail with only what the failed transaction did to it: send_offsets_to_transaction
  // whose TxnOffsetCommit step found the transaction failed by a late AddPartitionsToTxn refusal
  // says "Failed to commit offsets to transaction on broker (none): Local: Erroneous state"
  // (rd_kafka_txn_send_TxnOffsetCommitRequest returns _STATE once the state is no longer
  // InTransaction). Report the error that failed the transaction instead (before the abort, which
  // makes the state Ready again).
  if (abort && !fatal) {
    if (rd_kafka_error_t* cause = transaction_failure()) {
      if (rd_kafka_error_code(cause) != code) {
        reason = rd_kafka_error_string(cause);
        fatal = rd_kafka_error_is_fatal(cause);
        code = rd_kafka_error_code(cause);
      }
      rd_kafka_error_destroy(cause);
    }
  }
  if (fatal) {
    in_transaction_ = false;
    throw FencedError(fatal_kind(code), "the transactional producer cannot go on (" + what + "): " + reason);
  }
  if (abort) {
    abort_transaction();
    throw TransactionAborted("the transaction was aborted (" + what + "): " + reason);
  }
  if (retriable && std::chrono::steady_clock::now() < deadline && !interrupted()) return;
  if (retriable)
    throw UnavailableError("cannot " + what + " within " + std::to_string(config().timeout.count() / 1000) +
                           " s: " + reason + " (is the transaction coordinator available? see --timeout)");
  throw UnavailableError("cannot " + what + ": " + reason);
}

void Producer::init_transactions() {
  transactional_ = true;
  const auto deadline = std::chrono::steady_clock::now() + config().timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    rd_kafka_error_t* e = rd_kafka_init_transactions(handle_.get(), std::max<std::int64_t>(left.count(), 1));
    if (!e) return;
    if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT && !rd_kafka_error_is_fatal(e)) {
      rd_kafka_error_destroy(e);
      throw UnavailableError(unreachable_message("the transaction coordinator (init_transactions)"));
    }
    transaction_error(e, "initialize the transactions", deadline);
  }
}

void Producer::begin_transaction() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(handle_.get()))
    transaction_error(e, "begin a transaction", std::chrono::steady_clock::now());
  in_transaction_ = true;
}

void Producer::commit_transaction(const PartitionList& list, const Client& client) {
  const rd_kafka_topic_partition_list_t* offsets = list.get();
  rd_kafka_t* consumer = client.get();
  const auto deadline = std::chrono::steady_clock::now() + config().timeout;
  auto left_ms = [&] {
    return static_cast<int>(std::max<std::int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count(), 1));
  };
  if (offsets && offsets->cnt > 0) {
    rd_kafka_consumer_group_metadata_t* meta = rd_kafka_consumer_group_metadata(consumer);
    for (;;) {
      rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(handle_.get(), offsets, meta, left_ms());
      if (!e) break;
      try {
        transaction_error(e, "add the input offsets to the transaction", deadline);
      } catch (...) {
        rd_kafka_consumer_group_metadata_destroy(meta);
        throw;
      }
    }
    rd_kafka_consumer_group_metadata_destroy(meta);
  }
  for (;;) {
    rd_kafka_error_t* e = rd_kafka_commit_transaction(handle_.get(), left_ms());
    if (!e) break;
    transaction_error(e, "commit the transaction", deadline);
  }
  in_transaction_ = false;
}

void Producer::abort_transaction() noexcept {
  if (!in_transaction_) return;
  in_transaction_ = false;
  // Fenced: the newer producer with this transactional.id already aborted it.
  if (!fatal_error().empty()) return;
  if (rd_kafka_error_t* e = rd_kafka_abort_transaction(handle_.get(), static_cast<int>(config().timeout.count()))) {
    std::fprintf(stderr, "sfcrime: cannot abort the transaction: %s (it ends when transaction.timeout.ms passes)\n",
                 redact_secrets(rd_kafka_error_string(e)).c_str());
    rd_kafka_error_destroy(e);
  }
}

void Producer::poll(int ms) { rd_kafka_poll(handle_.get(), ms); }

int Producer::flush(int timeout_ms) {
  rd_kafka_flush(handle_.get(), timeout_ms);
  return rd_kafka_outq_len(handle_.get());
}

int Producer::in_flight() const { return rd_kafka_outq_len(handle_.get()); }

void Producer::throw_fatal() {
  char reason[512];
  const rd_kafka_resp_err_t code = rd_kafka_fatal_error(handle_.get(), reason, sizeof reason);
  in_transaction_ = false;
  throw FencedError(fatal_kind(code), std::string("the transactional producer cannot go on: ") + reason);
}

std::string Producer::fatal_error() const {
  char reason[512];
  if (rd_kafka_fatal_error(handle_.get(), reason, sizeof reason) == RD_KAFKA_RESP_ERR_NO_ERROR) return "";
  return reason;
}

void Producer::purge() { rd_kafka_purge(handle_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT); }

std::string Producer::topic_names() const {
  std::string names;
  for (const Topic& t : topics_) names += (names.empty() ? "'" : ", '") + std::string(rd_kafka_topic_name(t.get())) + "'";
  return names;
}

void Producer::deliver_all(const std::string& what) {
  if (in_transaction_) {
    // The commit waits for them: rd_kafka_commit_transaction() flushes every outstanding message
    // first, within the commit's timeout (rdkafka_txnmgr.c), and fails with an abortable error if
    // one failed. Waiting here as well would have no bound but message.timeout.ms: a message
    // enqueued as the transaction failed can escape librdkafka's purge and hold the commit back.
    poll(0);
    if (!fatal_error().empty()) throw_fatal();
    return;
  }
  std::optional<std::chrono::steady_clock::time_point> give_up;
  while (flush(500) > 0) {
    if (!interrupted()) continue;
    if (!give_up) give_up = std::chrono::steady_clock::now() + config().timeout;
    if (std::chrono::steady_clock::now() >= *give_up)
      throw InterruptedError("interrupted with " + std::to_string(in_flight()) + " " + what + " for " +
                             topic_names() + " without a delivery report");
  }
  // A transactional producer's failed message fails the commit of its transaction (which then
  // aborts); messages purged by an earlier abort must not fail the batches after it.
  if (stats_.failed > 0 && !transactional_)
    throw UnavailableError(std::to_string(stats_.failed) + " " + what + " were not delivered to " +
                           topic_names() + " (see the errors above; -v shows the client's log)");
}

}  // namespace sfcrime::kafka
