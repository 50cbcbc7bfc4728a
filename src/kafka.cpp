#include "sfcrime/kafka.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <thread>

#include "sfcrime/errors.hpp"

namespace sfcrime::kafka {

namespace {
/// Waits for the broker run in slices of this many ms so that Ctrl-C is answered at once.
constexpr std::int64_t kWaitSliceMs = 500;
}  // namespace
namespace {

std::string seconds_text(std::chrono::milliseconds ms) {
  std::ostringstream s;
  if (ms.count() % 1000 == 0)
    s << ms.count() / 1000;
  else
    s << static_cast<double>(ms.count()) / 1000.0;
  return s.str();
}

void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, const char* origin) {
  char errstr[512];
  const rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr);
  if (r == RD_KAFKA_CONF_OK) return;
  if (r == RD_KAFKA_CONF_UNKNOWN)
    throw ConfigError("unknown librdkafka property '" + key + "' (from " + origin +
                      "; see librdkafka's CONFIGURATION.md, or `sfcrime -X dump`)");
  if (is_secret_property(key)) throw ConfigError("invalid value for '" + key + "' (from " + origin + ")");
  throw ConfigError("invalid value '" + value + "' for librdkafka property '" + key + "' (from " + origin + "): " +
                    errstr);
}

}  // namespace

std::string error_text(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

Conf make_conf(const Config& config, const std::vector<Property>& defaults) {
  Conf conf(rd_kafka_conf_new());
  for (const auto& [k, v] : defaults) set_property(conf.get(), k, v, "sfcrime's defaults");
  set_property(conf.get(), "bootstrap.servers", config.bootstrap_servers, "--bootstrap-servers");
  for (const auto& [k, v] : config.properties) set_property(conf.get(), k, v, "-X or the config file");
  return conf;
}

void dump_config(const Config& config, const rd_kafka_conf_t* conf, std::ostream& out) {
  size_t n = 0;
  const char** arr = rd_kafka_conf_dump(const_cast<rd_kafka_conf_t*>(conf), &n);
  out << "# librdkafka " << rd_kafka_version_str() << " properties (effective)\n";
  for (size_t i = 0; i + 1 < n; i += 2) {
    const std::string key = arr[i];
    out << key << " = " << (is_secret_property(key) ? "[redacted]" : arr[i + 1]) << "\n";
  }
  rd_kafka_conf_dump_free(arr, n);
  out << "# sfcrime settings (origin: default < file < env < flag)\n";
  out << "sfcrime.timeout = " << seconds_text(config.timeout) << "s  # " << config.origin.at("sfcrime.timeout") << "\n";
  out << "sfcrime.radio.codes = " << config.radio_codes << "  # " << config.origin.at("sfcrime.radio.codes") << "\n";
  out << "# bootstrap.servers origin: " << config.origin.at("bootstrap.servers") << "\n";
}

Client::Client(rd_kafka_type_t type, const Config& config, Conf conf) : config_(config) {
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_error_cb(conf.get(), &Client::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &Client::on_log);
  char errstr[512];
  rd_kafka_t* h = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (!h) throw ConfigError(std::string("cannot create a Kafka client: ") + errstr);
  conf.release();  // rd_kafka_new took ownership
  handle_.reset(h);
}

Client::~Client() { destroy_handle(); }

void Client::destroy_handle() noexcept { handle_.reset(); }

void Client::close_consumer() noexcept {
  rd_kafka_queue_t* q = rd_kafka_queue_new(handle_.get());
  if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(handle_.get(), q)) {
    rd_kafka_error_destroy(e);
    rd_kafka_queue_destroy(q);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
  while (!rd_kafka_consumer_closed(handle_.get()) && std::chrono::steady_clock::now() < deadline) {
    if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 100)) {
      // Rebalance events during close: acknowledge revocation so that close can complete.
      if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) rd_kafka_assign(handle_.get(), nullptr);
      rd_kafka_event_destroy(ev);
    }
  }
  rd_kafka_queue_destroy(q);
}

void Client::destroy_consumer() noexcept {
  if (handle_ && !rd_kafka_consumer_closed(handle_.get()))
    rd_kafka_destroy_flags(handle_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  destroy_handle();
}

void Client::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Client*>(opaque);
  {
    std::lock_guard lock(self->mu_);
    self->last_error_ = reason;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->all_down_.store(true);
  if (self->config_.verbosity >= 1) std::fprintf(stderr, "sfcrime: kafka: %s\n", reason);
}

void Client::on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* self = static_cast<Client*>(rd_kafka_opaque(rk));
  // Quiet by default: connection failures surface as one clear error instead. -v shows warnings
  // and errors (syslog levels <= 4), -vv everything librdkafka logs (add -X debug=... for more).
  const int v = self ? self->config_.verbosity : 0;
  if ((v >= 1 && level <= 4) || v >= 2) std::fprintf(stderr, "sfcrime: kafka %s: %s\n", fac, buf);
  // A failed login is logged at once (level 3, e.g. "SASL authentication error: ..."), while
  // error_cb only runs from rd_kafka_poll(), which a metadata wait does not call: keep it as the
  // last error so that the message says why the broker could not be used.
  if (self && level <= 3 && std::strstr(buf, "uthentication")) {
    std::lock_guard lock(self->mu_);
    self->last_error_ = buf;
  }
}

std::string Client::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

std::string Client::unreachable_message(const std::string& waited_for) const {
  const std::string e = last_error();
  if (e.find("uthentication") != std::string::npos)
    return "cannot log in to broker '" + config_.bootstrap_servers + "' (waited " + seconds_text(config_.timeout) +
           " s for " + waited_for + "): " + e + "; check the -X sasl.* and ssl.* settings";
  std::string m = "cannot reach broker '" + config_.bootstrap_servers + "' within " + seconds_text(config_.timeout) +
                  " s (waited for " + waited_for + ")";
  if (!e.empty()) m += ": " + e;
  m += "; is Kafka running? see --bootstrap-servers and --timeout";
  return m;
}

Metadata Client::metadata(bool all_topics) {
  const rd_kafka_metadata_t* md = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
  rd_kafka_resp_err_t err;
  for (;;) {
    // In slices, so that Ctrl-C is answered at once rather than after the whole timeout.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    err = rd_kafka_metadata(handle_.get(), all_topics ? 1 : 0, nullptr, &md,
                            static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, kWaitSliceMs)));
    if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT) break;
    if (interrupted()) throw InterruptedError("interrupted while waiting for cluster metadata from '" +
                                              config_.bootstrap_servers + "'");
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
      throw UnavailableError(unreachable_message("cluster metadata"));
    throw UnavailableError("metadata request to '" + config_.bootstrap_servers + "' failed: " + error_text(err));
  }
  return Metadata(md);
}

int Client::partition_count(const std::string& topic) {
  Metadata md = metadata(true);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic == t.topic) {
      if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt == 0)
        throw UnavailableError("topic '" + topic + "' is not available: " + error_text(t.err));
      return t.partition_cnt;
    }
  }
  throw NoInputError("topic '" + topic + "' does not exist on '" + config_.bootstrap_servers +
                     "' (create it with: sfcrime topic create " + topic + " --partitions N)");
}

namespace {
// Errors a just-created topic or a leader election gives for a moment: worth retrying until the timeout.
bool transient(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
         err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
}
}  // namespace

namespace {
// The earliest (timestamp -2) and latest (-1) offsets of one partition through ListOffsets, waiting
// at most `timeout_ms`. rd_kafka_query_watermark_offsets would be the natural call, but in
// librdkafka 2.0.2 it ignores its timeout while the partition's leader is down (librdkafka issue
// 2588, fixed in 2.3.0); rd_kafka_offsets_for_times honours it.
rd_kafka_resp_err_t list_offsets(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, Watermarks& w,
                                 int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::int64_t* out[] = {&w.low, &w.high};
  const std::int64_t spec[] = {-2, -1};  // ListOffsets' EARLIEST and LATEST timestamps
  for (int i = 0; i < 2; ++i) {
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = spec[i];
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list.get(), static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
    *out[i] = list->elems[0].offset;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}
}  // namespace

Watermarks Client::watermarks(const std::string& topic, std::int32_t partition) {
  Watermarks w;
  const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
  rd_kafka_resp_err_t err;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    // Two round trips per attempt (earliest, latest): a slice of 2 s, not kWaitSliceMs, so that
    // slow brokers (250 ms a round trip in the fault tests) still answer.
    err = list_offsets(handle_.get(), topic, partition, w, static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, 2000)));
    const bool again = transient(err) || err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT;
    if (again && interrupted())
      throw InterruptedError("interrupted while waiting for the offsets of '" + topic + "'");
    if (!again || std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
      throw UnavailableError(unreachable_message("the offsets of '" + topic + "' partition " + std::to_string(partition)));
    throw UnavailableError("cannot read the offsets of '" + topic + "' partition " + std::to_string(partition) + ": " +
                           error_text(err));
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Producer

namespace {
Conf producer_conf(const Config& config, const std::vector<Property>& extra, void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*)) {
  std::vector<Property> defaults = {
      {"enable.idempotence", "true"},  // acks=all, no duplicates or reordering on retries
      {"partitioner", "murmur2_random"},  // the Java client's partitioner: same key, same partition
      {"linger.ms", "5"},
      {"batch.size", "1000000"},
      {"message.timeout.ms", "120000"},  // the Java producer's delivery.timeout.ms
      {"log.connection.close", "false"},
  };
  defaults.insert(defaults.end(), extra.begin(), extra.end());
  Conf conf = make_conf(config, defaults);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), dr);
  return conf;
}
}  // namespace

Producer::Producer(const Config& config, const std::string& topic, FailureHandler on_failure,
                   const std::vector<Property>& extra_defaults)
    : Client(RD_KAFKA_PRODUCER, config, producer_conf(config, extra_defaults, &Producer::on_delivery)),
      on_failure_(std::move(on_failure)) {
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

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<Producer*>(static_cast<Client*>(opaque));
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++self->stats_.delivered;
    self->stats_.bytes += m->len;
    self->note_alive();
  } else {
    ++self->stats_.failed;
    if (self->on_failure_) self->on_failure_(reinterpret_cast<std::uintptr_t>(m->_private), m->err);
  }
  if (self->on_report_) {
    Report r;
    r.record = reinterpret_cast<std::uintptr_t>(m->_private);
    r.err = m->err;
    r.status = rd_kafka_message_status(m);
    r.partition = m->partition;
    r.offset = m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? m->offset : -1;
    r.value = std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
    self->on_report_(r);
  }
}

bool Producer::send(std::optional<std::string_view> key, std::string_view value, std::uint64_t record) {
  return send_to(0, key, value, record);
}

bool Producer::send(std::optional<std::string_view> key, std::string_view value, std::uint64_t record,
                    const std::vector<Property>& headers) {
  return send_to(0, key, value, record, headers);
}

bool Producer::send_to(std::size_t index, std::optional<std::string_view> key, std::string_view value,
                       std::uint64_t record, const std::vector<Property>& headers, std::int32_t partition) {
  rd_kafka_topic_t* topic = topics_.at(index).get();
  void* key_data = key ? const_cast<char*>(key->data()) : nullptr;  // nullptr: a null key
  const std::size_t key_size = key ? key->size() : 0;
  for (;;) {
    // librdkafka owns the header list once producev succeeds; a new one for every attempt.
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [name, v] : headers)
        rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), v.data(), static_cast<ssize_t>(v.size()));
    }
    // A null header list is allowed: librdkafka sends no headers then.
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        handle_.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(record))),
        RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) rd_kafka_headers_destroy(hdrs);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      if (interrupted()) return false;
      rd_kafka_poll(handle_.get(), 10);  // make room by serving delivery reports
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512];
      rd_kafka_fatal_error(handle_.get(), reason, sizeof reason);
      if (in_transaction_) {
        in_transaction_ = false;
        throw FencedError(std::string("the transactional producer cannot go on: ") + reason);
      }
      throw UnavailableError(std::string("the producer hit a fatal error: ") + reason);
    }
    // Per-message refusal (e.g. larger than message.max.bytes): counted as a failed delivery.
    ++stats_.failed;
    if (on_failure_) on_failure_(record, err);
    if (on_report_) {
      Report r;
      r.record = record;
      r.err = err;
      r.value = value;
      on_report_(r);
    }
    return true;
  }
}

void Producer::transaction_error(rd_kafka_error_t* error, const std::string& what,
                                 std::chrono::steady_clock::time_point deadline) {
  const std::string reason = rd_kafka_error_string(error);
  const bool fatal = rd_kafka_error_is_fatal(error);
  const bool abort = rd_kafka_error_txn_requires_abort(error);
  const bool retriable = rd_kafka_error_is_retriable(error);
  rd_kafka_error_destroy(error);
  if (fatal) {
    in_transaction_ = false;
    throw FencedError("the transactional producer cannot go on (" + what + "): " + reason);
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

void Producer::commit_transaction(const rd_kafka_topic_partition_list_t* offsets, rd_kafka_t* consumer) {
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
                 rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
}

void Producer::poll(int ms) { rd_kafka_poll(handle_.get(), ms); }

int Producer::flush(int timeout_ms) {
  rd_kafka_flush(handle_.get(), timeout_ms);
  return rd_kafka_outq_len(handle_.get());
}

int Producer::in_flight() const { return rd_kafka_outq_len(handle_.get()); }

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
  std::optional<std::chrono::steady_clock::time_point> give_up;
  while (flush(500) > 0) {
    if (in_transaction_) {
      if (const std::string why = fatal_error(); !why.empty()) {
        in_transaction_ = false;
        throw FencedError("the transactional producer cannot go on: " + why);
      }
    }
    if (!interrupted()) continue;
    if (!give_up) give_up = std::chrono::steady_clock::now() + config().timeout;
    if (std::chrono::steady_clock::now() >= *give_up)
      throw InterruptedError("interrupted with " + std::to_string(in_flight()) + " " + what + " for " +
                             topic_names() + " without a delivery report");
  }
  if (const std::string why = fatal_error(); !why.empty() && in_transaction_) {
    in_transaction_ = false;
    throw FencedError("the transactional producer cannot go on: " + why);
  }
  // A transactional producer's failed message fails the commit of its transaction (which then
  // aborts); messages purged by an earlier abort must not fail the batches after it.
  if (stats_.failed > 0 && !transactional_)
    throw UnavailableError(std::to_string(stats_.failed) + " " + what + " were not delivered to " +
                           topic_names() + " (see the errors above; -v shows the client's log)");
}

// ---------------------------------------------------------------------------------------------
// Admin

Admin::Admin(const Config& config)
    : Client(RD_KAFKA_PRODUCER, config, make_conf(config, {{"log.connection.close", "false"}})) {}

Admin::~Admin() { destroy_handle(); }

namespace {
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const noexcept { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const noexcept { rd_kafka_AdminOptions_destroy(o); }
};

std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> admin_options(rd_kafka_t* rk, rd_kafka_admin_op_t op,
                                                                        std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> o(rd_kafka_AdminOptions_new(rk, op));
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(o.get(), static_cast<int>(timeout.count()), errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(o.get(), static_cast<int>(timeout.count()), errstr, sizeof errstr);
  return o;
}

// Waits for the one result event of an admin request, bounded by the timeout plus a margin.
std::unique_ptr<rd_kafka_event_t, EventDeleter> await(Client& c, rd_kafka_queue_t* q, const std::string& what) {
  std::unique_ptr<rd_kafka_event_t, EventDeleter> ev;
  const auto deadline = std::chrono::steady_clock::now() + c.config().timeout + std::chrono::seconds(2);
  while (!ev && std::chrono::steady_clock::now() < deadline) {
    ev.reset(rd_kafka_queue_poll(q, static_cast<int>(kWaitSliceMs)));
    if (!ev && interrupted()) throw InterruptedError("interrupted while waiting for " + what);
  }
  if (!ev) throw UnavailableError(c.unreachable_message(what));
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const auto err = rd_kafka_event_error(ev.get());
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
      throw UnavailableError(c.unreachable_message(what));
    throw UnavailableError(what + " failed: " + rd_kafka_event_error_string(ev.get()));
  }
  return ev;
}
}  // namespace

bool Admin::create_topic(const NewTopic& topic, bool if_not_exists) {
  metadata(false);  // a clear error if the broker is not there
  char errstr[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions, topic.replication_factor,
                                                  errstr, sizeof errstr);
  if (!nt) throw UsageError("cannot create topic '" + topic.name + "': " + errstr);
  std::unique_ptr<rd_kafka_NewTopic_t, void (*)(rd_kafka_NewTopic_t*)> guard(nt, rd_kafka_NewTopic_destroy);
  for (const auto& [k, v] : topic.configs) {
    if (rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw UsageError("cannot set topic config '" + k + "'");
  }
  auto opts = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, config().timeout);
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(handle_.get()));
  rd_kafka_CreateTopics(handle_.get(), &nt, 1, opts.get(), q.get());
  auto ev = await(*this, q.get(), "the creation of topic '" + topic.name + "'");
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      wait_until_ready(topic.name, topic.partitions);
      return true;
    }
    const char* why = rd_kafka_topic_result_error_string(res[i]);
    const std::string reason = why && *why ? why : error_text(err);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      if (if_not_exists) return false;
      throw Error(Exit::failure, "topic '" + topic.name + "' already exists (add --if-not-exists to accept that)");
    }
    if (err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT)
      throw UnavailableError(unreachable_message("the creation of topic '" + topic.name + "'"));
    throw Error(Exit::failure, "the broker refused to create topic '" + topic.name + "': " + reason + " (" +
                                   rd_kafka_err2name(err) + ")");
  }
  throw Error(Exit::software, "CreateTopics returned no result for '" + topic.name + "'");
}

bool Admin::wait_until_ready(const std::string& name, int partitions) {
  const auto deadline = std::chrono::steady_clock::now() + config().timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Metadata md = metadata(true);
    for (int i = 0; i < md->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& t = md->topics[i];
      if (name != t.topic || t.err || t.partition_cnt != partitions) continue;
      bool led = true;
      for (int p = 0; p < t.partition_cnt; ++p) led = led && t.partitions[p].leader >= 0 && !t.partitions[p].err;
      if (!led) break;
      // Every leader is known; also ask one for offsets, which is what the next command does.
      std::int64_t low = 0, high = 0;
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(handle_.get(), name.c_str(), 0, &low, &high, 1000);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    }
    if (interrupted()) throw InterruptedError("interrupted while waiting for topic '" + name + "' to be ready");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

bool Admin::delete_topic(const std::string& name, bool if_exists) {
  metadata(false);
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(name.c_str());
  std::unique_ptr<rd_kafka_DeleteTopic_t, void (*)(rd_kafka_DeleteTopic_t*)> guard(dt, rd_kafka_DeleteTopic_destroy);
  auto opts = admin_options(handle_.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, config().timeout);
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(handle_.get()));
  rd_kafka_DeleteTopics(handle_.get(), &dt, 1, opts.get(), q.get());
  auto ev = await(*this, q.get(), "the deletion of topic '" + name + "'");
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      if (if_exists) return false;
      throw NoInputError("topic '" + name + "' does not exist (add --if-exists to accept that)");
    }
    const char* why = rd_kafka_topic_result_error_string(res[i]);
    throw Error(Exit::failure, "the broker refused to delete topic '" + name + "': " + (why && *why ? why : error_text(err)));
  }
  throw Error(Exit::software, "DeleteTopics returned no result for '" + name + "'");
}

}  // namespace sfcrime::kafka
