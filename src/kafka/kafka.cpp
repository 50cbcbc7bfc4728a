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

std::string seconds_text(std::chrono::milliseconds ms) {
  std::ostringstream s;
  if (ms.count() % 1000 == 0)
    s << ms.count() / 1000;
  else
    s << static_cast<double>(ms.count()) / 1000.0;
  return s.str();
}

namespace {

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

}  // namespace sfcrime::kafka
