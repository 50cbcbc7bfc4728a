#include "sfcrime/kafka/kafka.hpp"

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

void set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, const std::string& origin) {
  const bool secret = is_secret_property(key);
  if (secret) note_secret(value);
  char errstr[512];
  const rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr);
  if (r == RD_KAFKA_CONF_OK) return;
  if (r == RD_KAFKA_CONF_UNKNOWN)
    throw ConfigError("unknown librdkafka property '" + key + "' (from " + origin +
                      "; see librdkafka's CONFIGURATION.md, or `sfcrime -X dump`)");
  // librdkafka's reason may quote the value (redact_secrets() hides a secret's).
  if (secret) throw ConfigError("invalid value for '" + key + "' (from " + origin + "): " + redact_secrets(errstr));
  throw ConfigError("invalid value '" + value + "' for librdkafka property '" + key + "' (from " + origin + "): " +
                    errstr);
}

/// The kind of refusal a librdkafka log line or error names: a TLS handshake that failed, a
/// connection closed because security.protocol does not match the listener, or a SASL login
/// (handshake or authentication) that failed. Their texts: rdkafka_ssl.c, rdkafka_broker.c
/// (rd_kafka_broker_set_error, rd_kafka_broker_handle_SaslHandshake), rdkafka_sasl*.c.
enum class Refusal { none, tls, protocol, sasl };

Refusal refusal_of(std::string_view text) {
  const auto has = [&](const char* s) { return text.find(s) != std::string_view::npos; };
  if (has("SSL handshake failed") || has("certificate")) return Refusal::tls;
  if (has("security.protocol")) return Refusal::protocol;
  if (has("SASL") || has("uthentication")) return Refusal::sasl;
  return Refusal::none;
}

/// A refusal found in a librdkafka log line or error, with its reason: librdkafka's text without
/// the thread and broker it names and the time after it ("[thrd:ssl://h:9092/bootstrap]:
/// ssl://h:9092/bootstrap: SSL handshake failed: ... (after 1ms in state SSL_HANDSHAKE)" -> "SSL
/// handshake failed: ..."). A text that names no refusal may still be one by the state the
/// connection was in ("Disconnected (after 0ms in state SSL_HANDSHAKE)", which librdkafka logs in
/// place of "SSL handshake failed" when the socket closes first): its reason keeps the state, and
/// it is a weaker finding (`by_text` false) than one whose text names the refusal.
struct Found {
  Refusal kind = Refusal::none;
  std::string reason;
  bool by_text = false;
};

Found find_refusal(std::string_view line) {
  if (line.rfind("[thrd:", 0) == 0) {
    if (const auto e = line.find("]: "); e != std::string_view::npos) line.remove_prefix(e + 3);
  }
  if (const auto colon = line.find(": "); colon != std::string_view::npos &&
                                           line.substr(0, colon).find("://") != std::string_view::npos)
    line.remove_prefix(colon + 2);
  std::string_view state;
  if (const auto after = line.rfind(" (after "); after != std::string_view::npos) {
    if (const auto in = line.find(" in state ", after); in != std::string_view::npos) {
      state = line.substr(in + 10);
      state = state.substr(0, state.find_first_of(",)"));
    }
    line = line.substr(0, after);
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == ':')) line.remove_suffix(1);
  Found f{refusal_of(line), std::string(line), true};
  if (f.kind == Refusal::none && !state.empty()) {
    f.by_text = false;
    if (state == "SSL_HANDSHAKE") f.kind = Refusal::tls;
    else if (state.rfind("AUTH", 0) == 0) f.kind = Refusal::sasl;  // AUTH_HANDSHAKE, AUTH_REQ, AUTH_LEGACY
    if (f.kind != Refusal::none) f.reason += " (in state " + std::string(state) + ")";
  }
  return f;
}
}  // namespace

std::string error_text(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

void check_consumer_error(const Client& client, const Message& message, const std::string& fallback, int verbosity) {
  rd_kafka_t* consumer = client.get();
  const rd_kafka_message_t* m = message.get();
  const rd_kafka_resp_err_t err = m->err;
  const std::string topic = m->rkt ? rd_kafka_topic_name(m->rkt) : fallback;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512];
    rd_kafka_fatal_error(consumer, reason, sizeof reason);
    throw UnavailableError(std::string("the consumer hit a fatal error: ") + reason);
  }
  if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
      err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
    throw NoInputError("topic '" + topic + "' is gone or unknown: " + error_text(err));
  if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED)
    throw UnavailableError("not authorized to read '" + topic + "': " + error_text(err));
  if (verbosity >= 1) std::fprintf(stderr, "sfcrime: consumer: %s\n", redact_secrets(rd_kafka_message_errstr(m)).c_str());
}

std::vector<Property> client_defaults() { return {{"enable.metrics.push", "false"}}; }

Conf make_conf(const Config& config, const std::vector<Property>& defaults) {
  Conf conf(rd_kafka_conf_new());
  for (const auto& [k, v] : client_defaults()) set_property(conf.get(), k, v, "sfcrime's defaults");
  for (const auto& [k, v] : defaults) set_property(conf.get(), k, v, "sfcrime's defaults");
  set_property(conf.get(), "bootstrap.servers", config.bootstrap_servers, "--bootstrap-servers");
  for (const auto& [k, v] : config.properties) {
    const auto o = config.origin.find(k);
    set_property(conf.get(), k, v, o == config.origin.end() ? std::string("-X or the config file") : o->second.text());
  }
  return conf;
}

PartitionList partition_list(const std::vector<TopicPartitionOffset>& offsets) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const TopicPartitionOffset& o : offsets)
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset = o.offset;
  return list;
}

std::string_view key_of(const Message& m) {
  return m->key ? std::string_view(static_cast<const char*>(m->key), m->key_len) : std::string_view();
}

std::string_view value_of(const Message& m) {
  return m->payload ? std::string_view(static_cast<const char*>(m->payload), m->len) : std::string_view();
}

std::string topic_of(const Message& m, const std::string& fallback) {
  return m->rkt ? rd_kafka_topic_name(m->rkt) : fallback;
}

bool at_partition_end(const Message& m) { return m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF; }

std::optional<std::string_view> header_of(const Message& m, std::string_view name) {
  rd_kafka_headers_t* h = nullptr;
  const void* v = nullptr;
  std::size_t size = 0;
  if (rd_kafka_message_headers(m.get(), &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(h, std::string(name).c_str(), &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
    return std::nullopt;
  return std::string_view(static_cast<const char*>(v), size);
}

std::vector<Header> headers_of(const Message& m) {
  std::vector<Header> out;
  rd_kafka_headers_t* h = nullptr;
  if (rd_kafka_message_headers(m.get(), &h) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name = nullptr;
  const void* v = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0; rd_kafka_header_get_all(h, i, &name, &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
    out.push_back({name, v ? std::optional<std::string>(std::string(static_cast<const char*>(v), size)) : std::nullopt});
  return out;
}

std::string version() { return rd_kafka_version_str(); }

std::vector<Property> conf_values(const Conf& conf) {
  std::size_t n = 0;
  const char** arr = rd_kafka_conf_dump(conf.get(), &n);
  std::vector<Property> out;
  for (std::size_t i = 0; i + 1 < n; i += 2) out.emplace_back(arr[i], arr[i + 1]);
  rd_kafka_conf_dump_free(arr, n);
  return out;
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
  // librdkafka's texts may quote a secret's value (sasl.oauthbearer.config's parser does).
  const std::string text = redact_secrets(reason);
  Found f = find_refusal(text);
  if (f.kind == Refusal::none && (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL))
    f.kind = err == RD_KAFKA_RESP_ERR__SSL ? Refusal::tls : Refusal::sasl;
  {
    std::lock_guard lock(self->mu_);
    self->last_error_ = text;
  }
  if (f.kind != Refusal::none) self->note_refusal(static_cast<int>(f.kind), f.reason, f.by_text);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->all_down_.store(true);
  if (self->config_.verbosity >= 1) std::fprintf(stderr, "sfcrime: kafka: %s\n", text.c_str());
}

void Client::on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  auto* self = static_cast<Client*>(rd_kafka_opaque(rk));
  // Quiet by default: connection failures surface as one clear error instead. -v shows warnings
  // and errors (syslog levels <= 4), -vv everything librdkafka logs (add -X debug=... for more).
  const int v = self ? self->config_.verbosity : 0;
  const bool shown = (v >= 1 && level <= 4) || v >= 2;
  const bool error = self && level <= 3;
  if (!shown && !error) return;
  const std::string text = redact_secrets(buf);
  if (shown) std::fprintf(stderr, "sfcrime: kafka %s: %s\n", fac, text.c_str());
  // A failed TLS handshake or login is logged at once (level 3: "SSL handshake failed: ...",
  // "SASL authentication error: ..."), while error_cb only runs from rd_kafka_poll(), which a
  // metadata wait does not call: keep it, so that the message says why the broker was not used.
  if (error) {
    const Found f = find_refusal(text);
    if (f.kind != Refusal::none) self->note_refusal(static_cast<int>(f.kind), f.reason, f.by_text);
  }
}

void Client::note_refusal(int kind, const std::string& reason, bool by_text) {
  std::lock_guard lock(mu_);
  // librdkafka logs one failure either way, by the timing of the socket's close: a reason that
  // names the refusal is kept over one known only by the connection's state.
  if (refusal_kind_ == 0 || (by_text && !refusal_by_text_)) {
    refusal_ = reason;
    refusal_kind_ = kind;
    refusal_by_text_ = by_text;
  }
}

std::string Client::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

std::string Client::unreachable_message(const std::string& waited_for) const {
  std::string refusal;
  Refusal kind = Refusal::none;
  {
    std::lock_guard lock(mu_);
    refusal = refusal_;
    kind = static_cast<Refusal>(refusal_kind_);
  }
  const std::string broker = "broker '" + config_.bootstrap_servers + "'";
  const std::string waited = " (waited " + seconds_text(config_.timeout) + " s for " + waited_for + "): " + refusal;
  const std::string where = " (-X or the config file; sfcrime config show lists them)";
  switch (kind) {
    case Refusal::tls:
      return "cannot open a TLS connection to " + broker + waited +
             "; check security.protocol and the ssl.* settings" + where;
    case Refusal::protocol:
      return broker + " closed the connection" + waited +
             "; check that security.protocol matches the broker's listener" + where;
    case Refusal::sasl:
      return "cannot log in to " + broker + waited +
             "; check security.protocol, sasl.mechanism, sasl.username and sasl.password" + where;
    case Refusal::none:
      break;
  }
  const std::string e = last_error();
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
  {
    // A broker answered, so any refusal seen before has passed.
    std::lock_guard lock(mu_);
    refusal_.clear();
    refusal_kind_ = 0;
    refusal_by_text_ = false;
  }
  return Metadata(md);
}

Watermarks Client::cached_watermarks(const std::string& topic, std::int32_t partition) const {
  Watermarks w{-1, -1};
  rd_kafka_get_watermark_offsets(handle_.get(), topic.c_str(), partition, &w.low, &w.high);
  return w;
}

ClusterMetadata Client::describe_cluster() {
  const Metadata md = metadata(true);
  ClusterMetadata c;
  c.answered_by_id = md->orig_broker_id;
  c.answered_by = md->orig_broker_name ? md->orig_broker_name : "";
  for (int i = 0; i < md->broker_cnt; ++i) c.brokers.push_back({md->brokers[i].id, md->brokers[i].host, md->brokers[i].port});
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (!t.topic) continue;
    TopicMetadata tm;
    tm.name = t.topic;
    tm.ok = t.err == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int p = 0; p < t.partition_cnt; ++p) {
      const rd_kafka_metadata_partition_t& mp = t.partitions[p];
      tm.partitions.push_back({mp.id, mp.leader, std::vector<std::int32_t>(mp.replicas, mp.replicas + mp.replica_cnt),
                               std::vector<std::int32_t>(mp.isrs, mp.isrs + mp.isr_cnt)});
    }
    std::sort(tm.partitions.begin(), tm.partitions.end(),
              [](const PartitionMetadata& a, const PartitionMetadata& b) { return a.id < b.id; });
    c.topics.push_back(std::move(tm));
  }
  std::sort(c.topics.begin(), c.topics.end(), [](const TopicMetadata& a, const TopicMetadata& b) { return a.name < b.name; });
  return c;
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
  throw NoInputError(missing_topic_message(config_, topic));
}

std::string missing_topic_message(const Config& config, const std::string& name) {
  return "topic '" + name + "' does not exist on '" + config.bootstrap_servers +
         "' (sfcrime topic list shows the topics; sfcrime topic create " + name + " makes one)";
}

namespace {
// Errors a just-created topic or a leader election gives for a moment: worth retrying until the timeout.
bool transient(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
         err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
}
}  // namespace

namespace {
// One ListOffsets lookup (rd_kafka_offsets_for_times: one request per partition leader) of
// `partitions` of `topic`, each with the timestamp `spec`: a time in ms since the epoch, or -2
// (EARLIEST) / -1 (LATEST), which ListOffsets answers with the low and high watermark. Fills `out`
// in the order of `partitions`, waiting at most until `deadline`; on an error `failed` is the
// partition it is about (-1: the whole request). rd_kafka_query_watermark_offsets would be the
// natural call for the watermarks, but in librdkafka 2.0.2 it ignores its timeout while the
// partition's leader is down (librdkafka issue 2588, fixed in 2.3.0), and it asks for one
// partition at a time; rd_kafka_offsets_for_times honours its timeout.
rd_kafka_resp_err_t list_offsets(rd_kafka_t* rk, const std::string& topic, const std::vector<std::int32_t>& partitions,
                                 std::int64_t spec, std::vector<std::int64_t>& out,
                                 std::chrono::steady_clock::time_point deadline, std::int32_t& failed) {
  failed = -1;
  out.assign(partitions.size(), -1);
  if (partitions.empty()) return RD_KAFKA_RESP_ERR_NO_ERROR;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const std::int32_t p : partitions) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = spec;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  const rd_kafka_resp_err_t err =
      rd_kafka_offsets_for_times(rk, list.get(), static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    // The answer updates the list in place; found by name rather than trusting its order.
    const rd_kafka_topic_partition_t* e = rd_kafka_topic_partition_list_find(list.get(), topic.c_str(), partitions[i]);
    if (!e) {
      failed = partitions[i];
      return RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
    }
    if (e->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failed = partitions[i];
      return e->err;
    }
    out[i] = e->offset;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// An offsets lookup is given at most this many ms an attempt, so that Ctrl-C is answered between
// attempts; not kWaitSliceMs: slow brokers (250 ms a round trip in the fault tests) must still
// answer the two round trips of a watermarks lookup within one attempt.
constexpr std::int64_t kOffsetsSliceMs = 2000;
}  // namespace

void Client::retry_offsets(const std::string& topic, const std::string& what,
                           const std::function<rd_kafka_resp_err_t(int slice_ms, std::int32_t& failed)>& attempt) {
  const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
  rd_kafka_resp_err_t err;
  std::int32_t failed = -1;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    err = attempt(static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, kOffsetsSliceMs)), failed);
    const bool again = transient(err) || err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT;
    if (again && interrupted()) throw InterruptedError("interrupted while waiting for " + what);
    if (!again || std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (transient(err)) {
      // librdkafka looks the leaders up in its metadata cache, which nothing refreshes for a
      // handle that does not fetch or produce yet (a partition without a leader stayed so for the
      // whole timeout after the new one was elected): ask for the topic's metadata again.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      Topic t(rd_kafka_topic_new(handle_.get(), topic.c_str(), nullptr));
      const rd_kafka_metadata_t* md = nullptr;
      if (t && rd_kafka_metadata(handle_.get(), 0, t.get(), &md,
                                 static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, kWaitSliceMs))) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    }
  }
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const std::string where = failed >= 0 ? what + " partition " + std::to_string(failed) : what;
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
    throw UnavailableError(unreachable_message(where));
  throw UnavailableError("cannot read " + where + ": " + error_text(err));
}

std::vector<Watermarks> Client::watermarks(const std::string& topic, const std::vector<std::int32_t>& partitions) {
  std::vector<std::int64_t> low, high;
  retry_offsets(topic, "the offsets of '" + topic + "'", [&](int slice_ms, std::int32_t& failed) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(slice_ms);
    rd_kafka_resp_err_t err = list_offsets(handle_.get(), topic, partitions, -2, low, until, failed);  // EARLIEST
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list_offsets(handle_.get(), topic, partitions, -1, high, until, failed);  // LATEST
    return err;
  });
  std::vector<Watermarks> out(partitions.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = {low[i], high[i]};
  return out;
}

Watermarks Client::watermarks(const std::string& topic, std::int32_t partition) {
  return watermarks(topic, std::vector<std::int32_t>{partition}).front();
}

std::vector<std::int64_t> Client::offsets_for_time(const std::string& topic, const std::vector<std::int32_t>& partitions,
                                                   std::int64_t timestamp_ms) {
  std::vector<std::int64_t> out;
  retry_offsets(topic, "the offsets by time of '" + topic + "'", [&](int slice_ms, std::int32_t& failed) {
    return list_offsets(handle_.get(), topic, partitions, timestamp_ms, out,
                        std::chrono::steady_clock::now() + std::chrono::milliseconds(slice_ms), failed);
  });
  return out;
}

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
    // one failed. Waiting here as well, with no bound but message.timeout.ms, only delayed the
    // commit: by 55 s when AddPartitionsToTxn was refused and a message enqueued as the
    // transaction failed escaped librdkafka's purge (1 run in 6-8 of tests/fault's
    // request_refused, 8 in parallel), and the run ended 38 s after brokers stopped answering
    // (12 s round trips, --timeout 2s, update mode; 4.4 s now).
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

using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

/// One Admin API request, the steps every admin call shares: a metadata round trip first (a clear
/// "cannot reach" when the broker is not there), Config::timeout as the request's and the
/// operation's timeout, validate_only for a dry run, a queue of its own, `call` (which issues the
/// request: rd_kafka_CreateTopics, ...), and the wait for its one result event (await()).
Event request(Admin& admin, rd_kafka_admin_op_t op, const std::string& what,
              const std::function<void(rd_kafka_t*, const rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& call,
              bool validate_only = false) {
  admin.metadata(false);
  auto opts = admin_options(admin.get(), op, admin.config().timeout);
  char errstr[256];
  if (validate_only) rd_kafka_AdminOptions_set_validate_only(opts.get(), 1, errstr, sizeof errstr);
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(admin.get()));
  call(admin.get(), opts.get(), q.get());
  return await(admin, q.get(), what);
}

/// The first of a request's `n` results; none is sfcrime's bug (the request named one).
template <class T>
const T* first_result(const T** results, std::size_t n, const char* request, const std::string& name) {
  if (n == 0) throw Error(Exit::software, std::string(request) + " returned no result for '" + name + "'");
  return results[0];
}
}  // namespace

namespace {
// CreateTopics for one topic, with validate_only for a dry run. @returns false when the topic exists
// and `if_not_exists` is set; throws as Admin::create_topic documents.
bool request_create_topic(Admin& admin, const Admin::NewTopic& topic, bool if_not_exists, bool validate_only) {
  char errstr[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions, topic.replication_factor,
                                                  errstr, sizeof errstr);
  if (!nt) throw UsageError("cannot create topic '" + topic.name + "': " + errstr);
  std::unique_ptr<rd_kafka_NewTopic_t, void (*)(rd_kafka_NewTopic_t*)> guard(nt, rd_kafka_NewTopic_destroy);
  for (const auto& [k, v] : topic.configs) {
    if (rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw UsageError("cannot set topic config '" + k + "'");
  }
  const std::string what = std::string(validate_only ? "the validation of" : "the creation of") + " topic '" +
                           topic.name + "'";
  const Event ev = request(
      admin, RD_KAFKA_ADMIN_OP_CREATETOPICS, what,
      [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_CreateTopics(rk, &nt, 1, o, q); },
      validate_only);
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    const char* why = rd_kafka_topic_result_error_string(res[i]);
    const std::string reason = why && *why ? why : error_text(err);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      if (if_not_exists) return false;
      throw Error(Exit::failure, "topic '" + topic.name + "' already exists (add --if-not-exists to accept that)");
    }
    if (err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT)
      throw UnavailableError(admin.unreachable_message(what));
    throw Error(Exit::failure, "the broker refused to create topic '" + topic.name + "': " + reason + " (" +
                                   rd_kafka_err2name(err) + ")");
  }
  throw Error(Exit::software, "CreateTopics returned no result for '" + topic.name + "'");
}
}  // namespace

bool Admin::create_topic(const NewTopic& topic, bool if_not_exists) {
  if (!request_create_topic(*this, topic, if_not_exists, /*validate_only=*/false)) return false;
  if (!wait_until_ready(topic.name, topic.partitions))
    // The topic exists now: say so, so that the next step is a wait, not another create.
    throw UnavailableError("topic '" + topic.name + "' was created but not all of its " +
                           std::to_string(topic.partitions) + " partitions had a leader that answers within " +
                           seconds_text(config().timeout) + " s (sfcrime topic describe " + topic.name +
                           " shows the leaders; a longer --timeout waits longer)");
  return true;
}

bool Admin::validate_create_topic(const NewTopic& topic, bool if_not_exists) {
  return request_create_topic(*this, topic, if_not_exists, /*validate_only=*/true);
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
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(name.c_str());
  std::unique_ptr<rd_kafka_DeleteTopic_t, void (*)(rd_kafka_DeleteTopic_t*)> guard(dt, rd_kafka_DeleteTopic_destroy);
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DELETETOPICS, "the deletion of topic '" + name + "'",
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DeleteTopics(rk, &dt, 1, o, q);
                           });
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

// --- topic configuration, partitions --------------------------------------------------------------

namespace {
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* r) const noexcept { rd_kafka_ConfigResource_destroy(r); }
};
using ConfigResource = std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter>;

std::string missing_group_message(const Config& config, const std::string& id) {
  return "consumer group '" + id + "' does not exist on '" + config.bootstrap_servers +
         "' (sfcrime group list shows the groups)";
}

// The broker's reason for `err`: its own text when it sent one, else librdkafka's, then the code's
// name, e.g. "Topic 'x' does not exist (UNKNOWN_TOPIC_OR_PART)".
std::string reason(rd_kafka_resp_err_t err, const char* why) {
  return std::string(why && *why ? why : rd_kafka_err2str(err)) + " (" + rd_kafka_err2name(err) + ")";
}

bool timed_out(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR__TRANSPORT;
}
}  // namespace

std::vector<Admin::ConfigEntry> Admin::describe_topic_configs(const std::string& name) {
  ConfigResource res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  rd_kafka_ConfigResource_t* arr[] = {res.get()};
  const std::string what = "the configuration of topic '" + name + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DescribeConfigs(rk, arr, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  const rd_kafka_ConfigResource_t* r = first_result(rs, n, "DescribeConfigs", name);
  const rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(r);
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) throw NoInputError(missing_topic_message(config(), name));
  if (timed_out(err)) throw UnavailableError(unreachable_message(what));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw Error(Exit::failure, "the broker refused to describe the configuration of topic '" + name + "': " +
                                   reason(err, rd_kafka_ConfigResource_error_string(r)));
  size_t cnt = 0;
  const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(r, &cnt);
  std::vector<ConfigEntry> out;
  out.reserve(cnt);
  for (size_t i = 0; i < cnt; ++i) {
    ConfigEntry e;
    e.name = rd_kafka_ConfigEntry_name(entries[i]);
    e.sensitive = rd_kafka_ConfigEntry_is_sensitive(entries[i]) == 1;
    const char* v = rd_kafka_ConfigEntry_value(entries[i]);
    // The broker sends no value for a sensitive entry; never print one even if it did.
    if (v && !e.sensitive) e.value = v;
    const rd_kafka_ConfigSource_t source = rd_kafka_ConfigEntry_source(entries[i]);
    e.source_name = rd_kafka_ConfigSource_name(source);
    e.topic_override = source == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
    e.read_only = rd_kafka_ConfigEntry_is_read_only(entries[i]) == 1;
    e.is_default = rd_kafka_ConfigEntry_is_default(entries[i]) == 1;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; });
  return out;
}

void Admin::incremental_alter_topic_configs(const std::string& name, const std::vector<Property>& sets,
                                            const std::vector<std::string>& deletes, bool validate_only) {
  ConfigResource res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  auto add = [&](const std::string& key, rd_kafka_AlterConfigOpType_t op, const char* value) {
    if (rd_kafka_error_t* e = rd_kafka_ConfigResource_add_incremental_config(res.get(), key.c_str(), op, value)) {
      const std::string why = rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      throw UsageError("cannot change topic config '" + key + "': " + why);
    }
  };
  for (const auto& [k, v] : sets) add(k, RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, v.c_str());
  for (const std::string& k : deletes) add(k, RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE, nullptr);
  rd_kafka_ConfigResource_t* arr[] = {res.get()};
  const std::string what = std::string(validate_only ? "the validation of" : "the change of") +
                           " the configuration of topic '" + name + "'";
  const Event ev = request(
      *this, RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS, what,
      [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
        rd_kafka_IncrementalAlterConfigs(rk, arr, 1, o, q);
      },
      validate_only);
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_IncrementalAlterConfigs_result_resources(rd_kafka_event_IncrementalAlterConfigs_result(ev.get()), &n);
  const rd_kafka_ConfigResource_t* r = first_result(rs, n, "IncrementalAlterConfigs", name);
  const rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(r);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) throw NoInputError(missing_topic_message(config(), name));
  if (timed_out(err)) throw UnavailableError(unreachable_message(what));
  throw Error(Exit::failure, "the broker refused to change the configuration of topic '" + name + "': " +
                                 reason(err, rd_kafka_ConfigResource_error_string(r)));
}

void Admin::create_partitions(const std::string& name, int total, bool validate_only) {
  char errstr[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(name.c_str(), static_cast<size_t>(total), errstr, sizeof errstr);
  if (!np) throw UsageError("cannot add partitions to topic '" + name + "': " + errstr);
  std::unique_ptr<rd_kafka_NewPartitions_t, void (*)(rd_kafka_NewPartitions_t*)> guard(np, rd_kafka_NewPartitions_destroy);
  const std::string what = "the new partitions of topic '" + name + "'";
  const Event ev = request(
      *this, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, what,
      [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_CreatePartitions(rk, &np, 1, o, q); },
      validate_only);
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  const rd_kafka_topic_result_t* res = first_result(results, n, "CreatePartitions", name);
  const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res);
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) throw NoInputError(missing_topic_message(config(), name));
  if (timed_out(err)) throw UnavailableError(unreachable_message(what));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw Error(Exit::failure, "the broker refused to add partitions to topic '" + name + "': " +
                                   reason(err, rd_kafka_topic_result_error_string(res)));
  if (!validate_only && !wait_until_ready(name, total))
    // Not a plain "cannot reach": the partitions exist now, and --num counts from the current
    // number, so running the command again would add more.
    throw UnavailableError("the partitions of topic '" + name + "' were added (it has " + std::to_string(total) +
                           " now) but not all of them had a leader that answers within " + seconds_text(config().timeout) +
                           " s (do not add them again; sfcrime topic describe " + name + " shows the leaders)");
}

// --- consumer groups ------------------------------------------------------------------------------

std::vector<Admin::GroupListing> Admin::list_groups() {
  const std::string what = "the list of consumer groups";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, what,
                           [](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_ListConsumerGroups(rk, o, q);
                           });
  const rd_kafka_ListConsumerGroups_result_t* result = rd_kafka_event_ListConsumerGroups_result(ev.get());
  size_t ne = 0;
  const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(result, &ne);
  // One error per broker that did not answer: the list would be incomplete, so it is an error.
  if (ne > 0) {
    const rd_kafka_resp_err_t err = rd_kafka_error_code(errors[0]);
    if (timed_out(err)) throw UnavailableError(unreachable_message(what));
    throw UnavailableError("cannot list the consumer groups of every broker: " +
                           reason(err, rd_kafka_error_string(errors[0])));
  }
  size_t n = 0;
  const rd_kafka_ConsumerGroupListing_t** groups = rd_kafka_ListConsumerGroups_result_valid(result, &n);
  std::vector<GroupListing> out;
  for (size_t i = 0; i < n; ++i) {
    GroupListing g;
    g.id = rd_kafka_ConsumerGroupListing_group_id(groups[i]);
    g.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(groups[i]));
    g.simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(groups[i]) == 1;
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const GroupListing& a, const GroupListing& b) { return a.id < b.id; });
  return out;
}

std::vector<Admin::GroupDescription> Admin::describe_groups(const std::vector<std::string>& ids) {
  std::vector<const char*> names;
  for (const auto& id : ids) names.push_back(id.c_str());
  const std::string what = ids.size() == 1 ? "the description of consumer group '" + ids[0] + "'"
                                            : "the description of " + std::to_string(ids.size()) + " consumer groups";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DescribeConsumerGroups(rk, names.data(), names.size(), o, q);
                           });
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t** gs =
      rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  std::vector<GroupDescription> out;
  for (const auto& id : ids) {
    const rd_kafka_ConsumerGroupDescription_t* d = nullptr;
    for (size_t i = 0; i < n && !d; ++i)
      if (id == rd_kafka_ConsumerGroupDescription_group_id(gs[i])) d = gs[i];
    if (!d) throw Error(Exit::software, "DescribeConsumerGroups returned no result for '" + id + "'");
    GroupDescription g;
    g.id = id;
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(d)) {
      const rd_kafka_resp_err_t err = rd_kafka_error_code(e);
      if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        g.state = "Dead";
        out.push_back(std::move(g));
        continue;
      }
      if (timed_out(err) || err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE)
        throw UnavailableError(unreachable_message("the coordinator of consumer group '" + id + "'") + " (" +
                               reason(err, rd_kafka_error_string(e)) + ")");
      throw Error(Exit::failure, "the broker refused to describe consumer group '" + id + "': " +
                                     reason(err, rd_kafka_error_string(e)));
    }
    g.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
    if (const char* a = rd_kafka_ConsumerGroupDescription_partition_assignor(d)) g.assignor = a;
    g.simple = rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d) == 1;
    if (const rd_kafka_Node_t* c = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
      g.coordinator = rd_kafka_Node_id(c);
      g.coordinator_host = std::string(rd_kafka_Node_host(c)) + ":" + std::to_string(rd_kafka_Node_port(c));
    }
    const size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t m = 0; m < members; ++m) {
      const rd_kafka_MemberDescription_t* md = rd_kafka_ConsumerGroupDescription_member(d, m);
      GroupMember gm;
      if (const char* s = rd_kafka_MemberDescription_consumer_id(md)) gm.member_id = s;
      if (const char* s = rd_kafka_MemberDescription_group_instance_id(md)) gm.instance_id = s;
      if (const char* s = rd_kafka_MemberDescription_client_id(md)) gm.client_id = s;
      if (const char* s = rd_kafka_MemberDescription_host(md)) gm.host = s;
      if (const rd_kafka_MemberAssignment_t* a = rd_kafka_MemberDescription_assignment(md)) {
        if (const rd_kafka_topic_partition_list_t* l = rd_kafka_MemberAssignment_partitions(a))
          for (int i = 0; i < l->cnt; ++i) gm.assignment.emplace_back(l->elems[i].topic, l->elems[i].partition);
      }
      g.members.push_back(std::move(gm));
    }
    out.push_back(std::move(g));
  }
  return out;
}

namespace {
// Throws for the error of a group result of ListConsumerGroupOffsets / AlterConsumerGroupOffsets /
// DeleteGroups: `doing` is e.g. "delete consumer group 'g'".
void throw_group_error(const Admin& admin, const rd_kafka_error_t* e, const std::string& id, const std::string& doing,
                       const std::string& waited_for) {
  const rd_kafka_resp_err_t err = rd_kafka_error_code(e);
  if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) throw NoInputError(missing_group_message(admin.config(), id));
  if (timed_out(err) || err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE)
    throw UnavailableError(admin.unreachable_message(waited_for) + " (" + reason(err, rd_kafka_error_string(e)) + ")");
  if (err == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
    throw Error(Exit::failure, "cannot " + doing + ": it has members (" + reason(err, rd_kafka_error_string(e)) +
                                   "); stop its consumers first, sfcrime group describe " + id + " lists them");
  throw Error(Exit::failure, "the broker refused to " + doing + ": " + reason(err, rd_kafka_error_string(e)));
}
}  // namespace

std::vector<Admin::CommittedOffset> Admin::committed_offsets(const std::string& id) {
  // No partition list: every partition the group has an offset for.
  rd_kafka_ListConsumerGroupOffsets_t* req = rd_kafka_ListConsumerGroupOffsets_new(id.c_str(), nullptr);
  std::unique_ptr<rd_kafka_ListConsumerGroupOffsets_t, void (*)(rd_kafka_ListConsumerGroupOffsets_t*)> guard(
      req, rd_kafka_ListConsumerGroupOffsets_destroy);
  const std::string what = "the committed offsets of consumer group '" + id + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
  const rd_kafka_group_result_t* g = first_result(gs, n, "ListConsumerGroupOffsets", id);
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(g))
    throw_group_error(*this, e, id, "list the offsets of consumer group '" + id + "'", what);
  std::vector<CommittedOffset> out;
  if (const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(g)) {
    for (int i = 0; i < l->cnt; ++i) {
      const auto& p = l->elems[i];
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw Error(Exit::failure, "cannot read the committed offset of consumer group '" + id + "' for '" +
                                       p.topic + "' partition " + std::to_string(p.partition) + ": " +
                                       reason(p.err, nullptr));
      if (p.offset < 0) continue;  // nothing committed
      out.push_back({p.topic, p.partition, p.offset});
    }
  }
  std::sort(out.begin(), out.end(), [](const CommittedOffset& a, const CommittedOffset& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

void Admin::alter_committed_offsets(const std::string& id, const std::vector<CommittedOffset>& offsets) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& o : offsets)
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset = o.offset;
  rd_kafka_AlterConsumerGroupOffsets_t* req = rd_kafka_AlterConsumerGroupOffsets_new(id.c_str(), list.get());
  std::unique_ptr<rd_kafka_AlterConsumerGroupOffsets_t, void (*)(rd_kafka_AlterConsumerGroupOffsets_t*)> guard(
      req, rd_kafka_AlterConsumerGroupOffsets_destroy);
  const std::string what = "the new offsets of consumer group '" + id + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_AlterConsumerGroupOffsets_result_groups(rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
  const rd_kafka_group_result_t* g = first_result(gs, n, "AlterConsumerGroupOffsets", id);
  const std::string doing = "set the offsets of consumer group '" + id + "'";
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(g)) throw_group_error(*this, e, id, doing, what);
  if (const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(g)) {
    for (int i = 0; i < l->cnt; ++i) {
      const auto& p = l->elems[i];
      if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      const std::string where = "'" + std::string(p.topic) + "' partition " + std::to_string(p.partition);
      // The broker answers UNKNOWN_MEMBER_ID to a commit from outside a group that has members.
      if (p.err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        throw Error(Exit::failure, "cannot " + doing + " for " + where + ": the group has members (" +
                                       reason(p.err, nullptr) + "); stop its consumers first");
      throw Error(Exit::failure, "the broker refused to " + doing + " for " + where + ": " + reason(p.err, nullptr));
    }
  }
}

void Admin::delete_group(const std::string& id) {
  rd_kafka_DeleteGroup_t* dg = rd_kafka_DeleteGroup_new(id.c_str());
  std::unique_ptr<rd_kafka_DeleteGroup_t, void (*)(rd_kafka_DeleteGroup_t*)> guard(dg, rd_kafka_DeleteGroup_destroy);
  const std::string what = "the deletion of consumer group '" + id + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DELETEGROUPS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DeleteGroups(rk, &dg, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
  const rd_kafka_group_result_t* g = first_result(gs, n, "DeleteGroups", id);
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(g))
    throw_group_error(*this, e, id, "delete consumer group '" + id + "'", what);
}

std::int64_t Admin::offset_for_time(const std::string& topic, std::int32_t partition, std::int64_t timestamp_ms) {
  const std::int64_t o = offsets_for_time(topic, {partition}, timestamp_ms).front();
  // -1: no record at or after the time; the group then starts at the end.
  return o >= 0 ? o : watermarks(topic, partition).high;
}

}  // namespace sfcrime::kafka
