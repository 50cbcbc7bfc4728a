// sfcrime-mock-cluster: a librdkafka mock cluster (rdkafka_mock.h) driven from standard input, for
// the fault-injection tests in tests/fault (issue 4 item 5). Not part of sfcrime: a test tool.
//
//   sfcrime-mock-cluster [--brokers N] [--topic NAME:PARTITIONS[:RF]]... [--create-topics] [-v]
//
// Creates a mock cluster of N brokers (ids 1..N) on ephemeral localhost ports, creates the topics
// (the mock cluster does not implement CreateTopics, so `sfcrime topic create` cannot), prints the
// bootstrap servers on one line of standard output, then reads one command per line and answers
// each with one line, `ok [...]` or `error <why>`, so that a test can wait for a fault to be in
// place before it goes on:
//
//   broker-down ID|all            disconnect a broker and refuse new connections (no leader change)
//   broker-up ID|all              accept connections again
//   rtt ID|all MS                 add MS milliseconds to every response of the broker
//   errors API CODE COUNT         the next COUNT requests of API (to any broker) fail with CODE
//   broker-errors ID API CODE COUNT [RTT_MS]
//                                 the same on one broker's own stack (these can be counted)
//   pending ID API                `ok N`: errors still on broker ID's stack for API
//   clear API                     drop the cluster-wide errors still pushed for API
//   leader TOPIC PARTITION ID     move a partition's leader (-1: no leader)
//   coordinator group|transaction KEY ID
//                                 make broker ID the coordinator of a group or transactional id
//   topic NAME PARTITIONS RF      create one more topic
//   offsets TOPIC                 `ok P:LOW-HIGH ...`: each partition's low and high watermark
//   committed GROUP TOPIC         `ok P:OFFSET ...`: the group's committed offsets (-1001: none),
//                                 asked with OffsetFetch by a consumer that never joins the group
//   bootstraps                    `ok HOST:PORT,...` again
//   quit                          `ok`, then destroy the cluster and exit 0 (end of input does too;
//                                 with --create-topics it exits without destroying it)
//
// API is a request name or its number: Produce (0), Fetch (1), ListOffsets (2), Metadata (3),
// OffsetCommit (8), OffsetFetch (9), FindCoordinator (10), JoinGroup (11), Heartbeat (12),
// LeaveGroup (13), SyncGroup (14), InitProducerId (22), AddPartitionsToTxn (24),
// AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28). CODE is librdkafka's error name, with or
// without the RD_KAFKA_RESP_ERR_ prefix (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT,
// COORDINATOR_NOT_AVAILABLE, _TRANSPORT = the broker drops the connection, ...), or a number.
//
// --create-topics puts a proxy in front of every broker (the printed bootstrap servers are then
// the proxy's) that serves the Admin API's CreateTopics, which librdkafka's mock cluster (2.8.0)
// lacks: its Metadata names a controller (broker 0) that does not exist, so an admin client waits
// for one until its timeout, and its ApiVersions does not list CreateTopics. The proxy passes every
// request and response through unchanged except: Metadata and FindCoordinator answers name the
// proxy's ports and broker 1 as the controller, ApiVersions answers add CreateTopics v0-4, and a
// CreateTopics request is answered by the proxy itself (rd_kafka_mock_topic_create: created, or
// TOPIC_ALREADY_EXISTS; topic configs such as cleanup.policy are accepted and ignored, replication
// factor -1 is 1). Faults stay the mock cluster's: broker-down also closes that broker's proxy
// listener (connections refused, as by the mock cluster) and its proxied connections end with the
// mock's; errors and round trips are the mock's. The mock then offers Metadata, FindCoordinator and
// ApiVersions up to v2 only, the versions the proxy parses.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

struct Api {
  const char* name;
  int16_t key;
};
constexpr Api kApis[] = {
    {"Produce", 0},          {"Fetch", 1},          {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},   {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},     {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},     {"DescribeGroups", 15},
    {"ListGroups", 16},      {"ApiVersions", 18},   {"InitProducerId", 22},
    {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
    {"TxnOffsetCommit", 28},
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool parse_int(const std::string& s, long long& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end == s.c_str() + s.size();
}

/// A request type by name (case-insensitive) or number; -1 if unknown.
int api_key(const std::string& s) {
  long long n = 0;
  if (parse_int(s, n)) return n >= 0 && n < 100 ? static_cast<int>(n) : -1;
  for (const Api& a : kApis)
    if (lower(a.name) == lower(s)) return a.key;
  return -1;
}

/// An error code by librdkafka name (with or without RD_KAFKA_RESP_ERR_) or number.
bool error_code(const std::string& s, rd_kafka_resp_err_t& out) {
  long long n = 0;
  if (parse_int(s, n)) {
    out = static_cast<rd_kafka_resp_err_t>(n);
    return true;
  }
  std::string want = s;
  if (want.rfind("RD_KAFKA_RESP_ERR_", 0) == 0) want = want.substr(18);
  const rd_kafka_err_desc* descs = nullptr;
  size_t cnt = 0;
  rd_kafka_get_err_descs(&descs, &cnt);
  for (size_t i = 0; i < cnt; ++i)
    if (descs[i].name && lower(descs[i].name) == lower(want)) {
      out = descs[i].code;
      return true;
    }
  return false;
}

// ------------------------------------------------------------------------------------------------
// --create-topics: a proxy in front of every broker that serves CreateTopics (see the top).

/// Big-endian reads from a Kafka protocol frame; `ok` turns false past the end.
struct WireReader {
  const std::string& b;
  std::size_t pos = 0;
  bool ok = true;

  bool have(std::size_t n) {
    if (!ok || pos + n > b.size()) ok = false;
    return ok;
  }
  std::int64_t num(std::size_t n) {
    if (!have(n)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[pos + i]);
    pos += n;
    // Sign-extend.
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t{0} << (8 * n);
    return static_cast<std::int64_t>(v);
  }
  std::int8_t i8() { return static_cast<std::int8_t>(num(1)); }
  std::int16_t i16() { return static_cast<std::int16_t>(num(2)); }
  std::int32_t i32() { return static_cast<std::int32_t>(num(4)); }
  /// A STRING or NULLABLE_STRING (length -1: null).
  std::optional<std::string> str() {
    const std::int16_t n = i16();
    if (!ok || n < 0) return std::nullopt;
    if (!have(static_cast<std::size_t>(n))) return std::nullopt;
    std::string s = b.substr(pos, static_cast<std::size_t>(n));
    pos += static_cast<std::size_t>(n);
    return s;
  }
  std::string rest() const { return ok ? b.substr(pos) : std::string(); }
};

void put(std::string& out, std::int64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}
void put_str(std::string& out, const std::optional<std::string>& s) {
  if (!s) {
    put(out, -1, 2);
    return;
  }
  put(out, static_cast<std::int64_t>(s->size()), 2);
  out += *s;
}

constexpr std::int16_t kMetadata = 3, kFindCoordinator = 10, kApiVersions = 18, kCreateTopics = 19;
constexpr std::int32_t kController = 1;  // the broker the proxy names as the controller

bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

/// One length-prefixed frame (without its 4-byte length); false at end of stream or on an error.
bool read_frame(int fd, std::string& frame) {
  unsigned char len[4];
  if (!read_all(fd, reinterpret_cast<char*>(len), 4)) return false;
  const std::uint32_t n = (std::uint32_t{len[0]} << 24) | (std::uint32_t{len[1]} << 16) | (std::uint32_t{len[2]} << 8) | len[3];
  if (n > (1u << 30)) return false;
  frame.resize(n);
  return read_all(fd, frame.data(), n);
}

bool write_frame(int fd, const std::string& frame) {
  std::string out;
  out.reserve(frame.size() + 4);
  put(out, static_cast<std::int64_t>(frame.size()), 4);
  out += frame;
  return write_all(fd, out.data(), out.size());
}

class Proxy {
 public:
  /// Listens on one ephemeral localhost port per broker; `brokers` maps each broker id to its
  /// port on the mock cluster.
  Proxy(rd_kafka_mock_cluster_t* mc, const std::map<int32_t, int>& brokers, bool verbose)
      : mc_(mc), brokers_(static_cast<int>(brokers.size())), verbose_(verbose) {
    for (const auto& [id, up_port] : brokers) {
      Listener& l = listeners_[id];
      l.up_port = up_port;
      l.fd = listen_on(0, l.port);
      ports_[up_port] = l.port;
      bootstraps_ += (bootstraps_.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(l.port);
      std::thread([this, fd = l.fd, up_port] { accept_loop(fd, up_port); }).detach();
    }
  }

  /// A broker the mock cluster has down refuses connections there, so its proxy refuses them too
  /// (accepting and closing would make librdkafka think the ApiVersion request was not
  /// understood and fall back to old protocol features). Returns "" or why not.
  std::string set_up(int32_t id, bool up) {
    const auto it = listeners_.find(id);
    if (it == listeners_.end()) return "no proxy for broker " + std::to_string(id);
    Listener& l = it->second;
    std::lock_guard lock(listeners_mu_);
    if (!up && l.fd >= 0) {
      ::shutdown(l.fd, SHUT_RDWR);  // wakes the accept() of its thread, which then ends
      ::close(l.fd);
      l.fd = -1;
    } else if (up && l.fd < 0) {
      int port = 0;
      try {
        l.fd = listen_on(l.port, port);
      } catch (const std::exception& e) {
        return e.what();
      }
      std::thread([this, fd = l.fd, up_port = l.up_port] { accept_loop(fd, up_port); }).detach();
    }
    return "";
  }

  const std::string& bootstraps() const { return bootstraps_; }

 private:
  struct Conn {
    int client = -1, up = -1;
    std::mutex write_mu;  // one frame at a time to the client (responses and CreateTopics answers)
    std::mutex mu;
    std::map<std::int32_t, std::pair<std::int16_t, std::int16_t>> pending;  // correlation id -> (api, version)
    void close_both() {
      ::shutdown(client, SHUT_RDWR);
      ::shutdown(up, SHUT_RDWR);
    }
    ~Conn() {
      ::close(client);
      if (up >= 0) ::close(up);
    }
  };

  struct Listener {
    int fd = -1, port = 0, up_port = 0;
  };

  /// A listening socket on 127.0.0.1:`port` (0: an ephemeral one); sets `bound` to its port.
  static int listen_on(int port, int& bound) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || ::listen(fd, 64) < 0) {
      const std::string why = std::string("listen on port ") + std::to_string(port) + ": " + std::strerror(errno);
      ::close(fd);
      throw std::runtime_error(why);
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    bound = ntohs(a.sin_port);
    return fd;
  }

  void accept_loop(int fd, int up_port) {
    for (;;) {
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      std::thread([this, c, up_port] { serve(c, up_port); }).detach();
    }
  }

  static void no_delay(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  void serve(int client, int up_port) {
    auto conn = std::make_shared<Conn>();
    conn->client = client;
    no_delay(client);
    conn->up = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(up_port));
    if (conn->up < 0 || ::connect(conn->up, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
      conn->close_both();  // the broker is down: so is its proxy
      return;
    }
    no_delay(conn->up);
    std::thread([this, conn] { responses(*conn); }).detach();
    requests(*conn);
  }

  // Client -> broker: CreateTopics is answered here, the rest goes on unchanged.
  void requests(Conn& c) {
    std::string frame;
    while (read_frame(c.client, frame)) {
      WireReader r{frame};
      const std::int16_t api = r.i16(), version = r.i16();
      const std::int32_t corr = r.i32();
      if (!r.ok) break;
      if (api == kCreateTopics) {
        const std::string answer = create_topics(frame, version, corr);
        std::lock_guard lock(c.write_mu);
        if (!write_frame(c.client, answer)) break;
        continue;
      }
      if (api == kMetadata || api == kFindCoordinator || api == kApiVersions) {
        std::lock_guard lock(c.mu);
        c.pending[corr] = {api, version};
      }
      if (!write_frame(c.up, frame)) break;
    }
    c.close_both();
  }

  // Broker -> client: Metadata, FindCoordinator and ApiVersions answers rewritten.
  void responses(Conn& c) {
    std::string frame;
    while (read_frame(c.up, frame)) {
      WireReader r{frame};
      const std::int32_t corr = r.i32();
      std::optional<std::pair<std::int16_t, std::int16_t>> req;
      {
        std::lock_guard lock(c.mu);
        if (auto it = c.pending.find(corr); it != c.pending.end()) {
          req = it->second;
          c.pending.erase(it);
        }
      }
      if (req) frame = rewrite(frame, req->first, req->second);
      std::lock_guard lock(c.write_mu);
      if (!write_frame(c.client, frame)) break;
    }
    c.close_both();
  }

  int proxy_port(std::int32_t up_port) const {
    const auto it = ports_.find(up_port);
    return it == ports_.end() ? up_port : it->second;
  }

  /// The response with the proxy's ports (and controller, and CreateTopics); unchanged if it
  /// cannot be parsed (a version this tool does not know).
  std::string rewrite(const std::string& frame, std::int16_t api, std::int16_t version) const {
    WireReader r{frame};
    std::string out;
    put(out, r.i32(), 4);  // correlation id
    if (api == kMetadata && version <= 2) {
      const std::int32_t n = r.i32();
      put(out, n, 4);
      for (std::int32_t i = 0; i < n && r.ok; ++i) {
        put(out, r.i32(), 4);  // node id
        put_str(out, r.str());
        put(out, proxy_port(r.i32()), 4);
        if (version >= 1) put_str(out, r.str());  // rack
      }
      if (version >= 2) put_str(out, r.str());  // cluster id
      if (version >= 1) {
        r.i32();
        put(out, kController, 4);
      }
    } else if (api == kFindCoordinator && version <= 2) {
      if (version >= 1) put(out, r.i32(), 4);  // throttle
      put(out, r.i16(), 2);                     // error
      if (version >= 1) put_str(out, r.str());  // error message
      put(out, r.i32(), 4);                     // node id
      put_str(out, r.str());                    // host
      put(out, proxy_port(r.i32()), 4);
    } else if (api == kApiVersions && version <= 2) {
      const std::int16_t err = r.i16();
      put(out, err, 2);
      if (err != 0) return frame;
      const std::int32_t n = r.i32();
      std::string keys;
      bool listed = false;
      for (std::int32_t i = 0; i < n && r.ok; ++i) {
        const std::int16_t key = r.i16();
        listed = listed || key == kCreateTopics;
        put(keys, key, 2);
        put(keys, r.i16(), 2);
        put(keys, r.i16(), 2);
      }
      if (!listed) {
        put(keys, kCreateTopics, 2);
        put(keys, 0, 2);
        put(keys, 4, 2);  // v0-4: not yet flexible versions
      }
      put(out, listed ? n : n + 1, 4);
      out += keys;
    } else {
      return frame;
    }
    if (!r.ok) return frame;
    return out + r.rest();
  }

  /// The answer to a CreateTopics request (v0-4), creating the topics in the mock cluster.
  std::string create_topics(const std::string& frame, std::int16_t version, std::int32_t corr) {
    WireReader r{frame};
    r.num(8);  // api key, version, correlation id
    r.str();   // client id
    struct Result {
      std::string name;
      std::int16_t err;
      std::string message;
    };
    std::vector<Result> results;
    const std::int32_t n = r.i32();
    struct Want {
      std::string name;
      std::int32_t partitions;
      std::int16_t rf;
    };
    std::vector<Want> wants;
    for (std::int32_t i = 0; i < n && r.ok; ++i) {
      Want w{r.str().value_or(""), r.i32(), r.i16()};
      const std::int32_t assignments = r.i32();
      for (std::int32_t a = 0; a < assignments && r.ok; ++a) {
        r.i32();
        const std::int32_t ids = r.i32();
        if (w.partitions < 0) w.partitions = assignments;
        for (std::int32_t b = 0; b < ids && r.ok; ++b) r.i32();
        if (w.rf < 0) w.rf = static_cast<std::int16_t>(ids);
      }
      const std::int32_t configs = r.i32();
      for (std::int32_t k = 0; k < configs && r.ok; ++k) {
        r.str();
        r.str();
      }
      wants.push_back(w);
    }
    r.i32();  // timeout
    const bool validate_only = version >= 1 && r.i8() != 0;
    for (const Want& w : wants) {
      Result res{w.name, 0, ""};
      const int parts = w.partitions < 0 ? 1 : w.partitions;
      const int rf = w.rf < 0 ? 1 : w.rf;
      if (!r.ok) {
        res.err = RD_KAFKA_RESP_ERR_INVALID_REQUEST;
        res.message = "the proxy could not parse the request";
      } else if (parts < 1) {
        res.err = RD_KAFKA_RESP_ERR_INVALID_PARTITIONS;
        res.message = "Number of partitions must be larger than 0.";
      } else if (rf < 1 || rf > brokers_) {
        res.err = RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR;
        res.message = "Replication factor: " + std::to_string(rf) + " larger than available brokers: " +
                      std::to_string(brokers_) + ".";
      } else if (!validate_only) {
        const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc_, w.name.c_str(), parts, rf);
        res.err = static_cast<std::int16_t>(err);
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
          res.message = "Topic '" + w.name + "' already exists.";
        else if (err)
          res.message = rd_kafka_err2str(err);
      }
      if (verbose_)
        std::fprintf(stderr, "sfcrime-mock-cluster: CreateTopics '%s' %d partitions, RF %d -> %s\n", w.name.c_str(),
                     parts, rf, res.err ? rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(res.err)) : "created");
      results.push_back(std::move(res));
    }
    std::string out;
    put(out, corr, 4);
    if (version >= 2) put(out, 0, 4);  // throttle
    put(out, static_cast<std::int64_t>(results.size()), 4);
    for (const Result& res : results) {
      put_str(out, res.name);
      put(out, res.err, 2);
      if (version >= 1) put_str(out, res.message.empty() ? std::nullopt : std::optional(res.message));
    }
    return out;
  }

  rd_kafka_mock_cluster_t* mc_;
  int brokers_;
  bool verbose_;
  std::mutex listeners_mu_;
  std::map<int32_t, Listener> listeners_;  // broker id -> its proxy's listener
  std::map<int, int> ports_;               // broker's port -> proxy's port
  std::string bootstraps_;
};

// ------------------------------------------------------------------------------------------------
// The commands

class Tool {
 public:
  /// `proxy`: the --create-topics proxy, or null; its bootstrap servers are then the ones printed.
  Tool(rd_kafka_mock_cluster_t* mc, int brokers, Proxy* proxy, bool verbose)
      : mc_(mc), brokers_(brokers), proxy_(proxy),
        bootstraps_(proxy ? proxy->bootstraps() : rd_kafka_mock_cluster_bootstraps(mc)), verbose_(verbose) {}
  Tool(const Tool&) = delete;
  Tool& operator=(const Tool&) = delete;
  ~Tool() {
    for (auto& [group, c] : probes_) rd_kafka_destroy(c);  // before the cluster goes
  }

  /// Runs one command line; returns the answer line. Sets `quit` on quit.
  std::string run(const std::string& line, bool& quit) {
    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string t; in >> t;) w.push_back(t);
    if (w.empty()) return "error empty command";
    const std::string& cmd = w[0];
    auto argc_is = [&](std::size_t n) { return w.size() == n + 1; };

    if (cmd == "quit" || cmd == "exit") {
      quit = true;
      return "ok";
    }
    if (cmd == "bootstraps") return "ok " + bootstraps_;
    if (cmd == "broker-down" || cmd == "broker-up") {
      if (!argc_is(1)) return "error usage: " + cmd + " ID|all";
      std::vector<int32_t> ids;
      if (!broker_ids(w[1], ids)) return "error unknown broker '" + w[1] + "'";
      for (const int32_t id : ids) {
        const auto err = cmd == "broker-down" ? rd_kafka_mock_broker_set_down(mc_, id) : rd_kafka_mock_broker_set_up(mc_, id);
        if (err) return std::string("error ") + rd_kafka_err2str(err);
        if (proxy_)
          if (const std::string e = proxy_->set_up(id, cmd == "broker-up"); !e.empty()) return "error proxy: " + e;
      }
      return "ok";
    }
    if (cmd == "rtt") {
      long long ms = 0;
      std::vector<int32_t> ids;
      if (!argc_is(2) || !parse_int(w[2], ms) || ms < 0) return "error usage: rtt ID|all MS";
      if (!broker_ids(w[1], ids)) return "error unknown broker '" + w[1] + "'";
      for (const int32_t id : ids)
        if (const auto err = rd_kafka_mock_broker_set_rtt(mc_, id, static_cast<int>(ms))) return std::string("error ") + rd_kafka_err2str(err);
      return "ok";
    }
    if (cmd == "errors") {
      long long count = 0;
      rd_kafka_resp_err_t code{};
      if (!argc_is(3) || !parse_int(w[3], count) || count < 1) return "error usage: errors API CODE COUNT";
      const int api = api_key(w[1]);
      if (api < 0) return "error unknown request type '" + w[1] + "'";
      if (!error_code(w[2], code)) return "error unknown error code '" + w[2] + "'";
      const std::vector<rd_kafka_resp_err_t> errs(static_cast<std::size_t>(count), code);
      rd_kafka_mock_push_request_errors_array(mc_, static_cast<int16_t>(api), errs.size(), errs.data());
      return "ok";
    }
    if (cmd == "broker-errors") {
      long long count = 0, rtt = 0;
      rd_kafka_resp_err_t code{};
      if (!(argc_is(4) || argc_is(5)) || !parse_int(w[4], count) || count < 1 || (w.size() == 6 && !parse_int(w[5], rtt)))
        return "error usage: broker-errors ID|all API CODE COUNT [RTT_MS]";
      std::vector<int32_t> ids;
      if (!broker_ids(w[1], ids)) return "error unknown broker '" + w[1] + "'";
      const int api = api_key(w[2]);
      if (api < 0) return "error unknown request type '" + w[2] + "'";
      if (!error_code(w[3], code)) return "error unknown error code '" + w[3] + "'";
      for (const int32_t id : ids)
        for (long long i = 0; i < count; ++i)
          if (const auto err = rd_kafka_mock_broker_push_request_error_rtts(mc_, id, static_cast<int16_t>(api), 1, code,
                                                                             static_cast<int>(rtt)))
            return std::string("error ") + rd_kafka_err2str(err);
      return "ok";
    }
    if (cmd == "pending") {
      std::vector<int32_t> ids;
      if (!argc_is(2)) return "error usage: pending ID|all API";
      if (!broker_ids(w[1], ids)) return "error unknown broker '" + w[1] + "'";
      const int api = api_key(w[2]);
      if (api < 0) return "error unknown request type '" + w[2] + "'";
      std::size_t total = 0;
      for (const int32_t id : ids) {
        std::size_t n = 0;
        if (const auto err = rd_kafka_mock_broker_error_stack_cnt(mc_, id, static_cast<int16_t>(api), &n))
          return std::string("error ") + rd_kafka_err2str(err);
        total += n;
      }
      return "ok " + std::to_string(total);
    }
    if (cmd == "clear") {
      if (!argc_is(1)) return "error usage: clear API";
      const int api = api_key(w[1]);
      if (api < 0) return "error unknown request type '" + w[1] + "'";
      rd_kafka_mock_clear_request_errors(mc_, static_cast<int16_t>(api));
      return "ok";
    }
    if (cmd == "leader") {
      long long part = 0, id = 0;
      if (!argc_is(3) || !parse_int(w[2], part) || !parse_int(w[3], id)) return "error usage: leader TOPIC PARTITION ID";
      if (id != -1 && (id < 1 || id > brokers_)) return "error unknown broker '" + w[3] + "'";
      if (const auto err = rd_kafka_mock_partition_set_leader(mc_, w[1].c_str(), static_cast<int32_t>(part), static_cast<int32_t>(id)))
        return std::string("error ") + rd_kafka_err2str(err);
      return "ok";
    }
    if (cmd == "coordinator") {
      long long id = 0;
      if (!argc_is(3) || (w[1] != "group" && w[1] != "transaction") || !parse_int(w[3], id))
        return "error usage: coordinator group|transaction KEY ID";
      if (const auto err = rd_kafka_mock_coordinator_set(mc_, w[1].c_str(), w[2].c_str(), static_cast<int32_t>(id)))
        return std::string("error ") + rd_kafka_err2str(err);
      return "ok";
    }
    if (cmd == "offsets") {
      if (!argc_is(1)) return "error usage: offsets TOPIC";
      rd_kafka_t* c = probe("sfcrime-mock-cluster-probe");
      if (!c) return "error cannot create a consumer";
      int parts = 0;
      if (std::string e = partitions(c, w[1], parts); !e.empty()) return "error " + e;
      std::string out = "ok";
      for (int p = 0; p < parts; ++p) {
        int64_t lo = 0, hi = 0;
        if (const auto err = rd_kafka_query_watermark_offsets(c, w[1].c_str(), p, &lo, &hi, kProbeTimeoutMs))
          return "error partition " + std::to_string(p) + ": " + rd_kafka_err2str(err);
        out += " " + std::to_string(p) + ":" + std::to_string(lo) + "-" + std::to_string(hi);
      }
      return out;
    }
    if (cmd == "committed") {
      if (!argc_is(2)) return "error usage: committed GROUP TOPIC";
      rd_kafka_t* c = probe(w[1]);
      if (!c) return "error cannot create a consumer";
      int parts = 0;
      if (std::string e = partitions(c, w[2], parts); !e.empty()) return "error " + e;
      rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
      for (int p = 0; p < parts; ++p) rd_kafka_topic_partition_list_add(list, w[2].c_str(), p);
      std::string out = "ok";
      if (const auto err = rd_kafka_committed(c, list, kProbeTimeoutMs)) {
        out = std::string("error ") + rd_kafka_err2str(err);
      } else {
        for (int i = 0; i < list->cnt; ++i) {
          if (list->elems[i].err) {
            out = "error partition " + std::to_string(list->elems[i].partition) + ": " + rd_kafka_err2str(list->elems[i].err);
            break;
          }
          out += " " + std::to_string(list->elems[i].partition) + ":" + std::to_string(list->elems[i].offset);
        }
      }
      rd_kafka_topic_partition_list_destroy(list);
      return out;
    }
    if (cmd == "topic") {
      long long parts = 0, rf = 0;
      if (!argc_is(3) || !parse_int(w[2], parts) || !parse_int(w[3], rf) || parts < 1 || rf < 1)
        return "error usage: topic NAME PARTITIONS RF";
      return create_topic(w[1], static_cast<int>(parts), static_cast<int>(rf));
    }
    return "error unknown command '" + cmd + "'";
  }

  const std::string& bootstraps() const { return bootstraps_; }

  std::string create_topic(const std::string& name, int partitions, int rf) {
    if (rf > brokers_) return "error replication factor " + std::to_string(rf) + " > " + std::to_string(brokers_) + " brokers";
    if (const auto err = rd_kafka_mock_topic_create(mc_, name.c_str(), partitions, rf))
      return std::string("error ") + rd_kafka_err2str(err);
    return "ok";
  }

 private:
  bool broker_ids(const std::string& s, std::vector<int32_t>& out) const {
    // "all" (or -1) is expanded here: librdkafka 2.0.2 wants one existing broker id per call.
    long long id = 0;
    if (s == "all" || s == "-1") {
      for (int i = 1; i <= brokers_; ++i) out.push_back(i);
      return true;
    }
    if (!parse_int(s, id) || id < 1 || id > brokers_) return false;
    out.push_back(static_cast<int32_t>(id));
    return true;
  }

  static constexpr int kProbeTimeoutMs = 10000;

  /// A consumer with group.id `group` on the cluster (made once per group, kept until exit). It
  /// only asks (metadata, ListOffsets, OffsetFetch); it never subscribes, so it never joins.
  rd_kafka_t* probe(const std::string& group) {
    if (auto it = probes_.find(group); it != probes_.end()) return it->second;
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc_), errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", group.c_str(), errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "log_level", verbose_ ? "7" : "0", errstr, sizeof errstr)) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
    probes_[group] = c;
    return c;
  }

  /// The partition count of `topic` from metadata; returns "" or why not.
  static std::string partitions(rd_kafka_t* c, const std::string& topic, int& count) {
    // All topics: a request naming the topic would have the mock cluster auto-create it.
    const rd_kafka_metadata_t* md = nullptr;
    if (const rd_kafka_resp_err_t err = rd_kafka_metadata(c, 1, nullptr, &md, kProbeTimeoutMs))
      return std::string("metadata: ") + rd_kafka_err2str(err);
    std::string why = "unknown topic '" + topic + "'";
    for (int i = 0; i < md->topic_cnt; ++i)
      if (topic == md->topics[i].topic && !md->topics[i].err) {
        count = md->topics[i].partition_cnt;
        why.clear();
      }
    rd_kafka_metadata_destroy(md);
    return why;
  }

  rd_kafka_mock_cluster_t* mc_;
  int brokers_;
  Proxy* proxy_;
  std::string bootstraps_;
  bool verbose_;
  std::map<std::string, rd_kafka_t*> probes_;
};

/// Each broker id of the mock cluster and its port, from a metadata request.
std::map<int32_t, int> broker_ports(rd_kafka_mock_cluster_t* mc) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!c) throw std::runtime_error(errstr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(c, 0, nullptr, &md, 10000);
  std::map<int32_t, int> ports;
  if (!err) {
    for (int i = 0; i < md->broker_cnt; ++i) ports[md->brokers[i].id] = md->brokers[i].port;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_destroy(c);
  if (err) throw std::runtime_error(std::string("metadata: ") + rd_kafka_err2str(err));
  return ports;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "sfcrime-mock-cluster: %s\n"
               "usage: sfcrime-mock-cluster [--brokers N] [--topic NAME:PARTITIONS[:RF]]... [--create-topics] [-v]\n"
               "  prints the bootstrap servers, then reads commands on stdin (see the top of\n"
               "  tests/fault/mock_cluster.cpp) and answers each with 'ok' or 'error ...';\n"
               "  --create-topics serves CreateTopics through a proxy in front of the brokers\n",
               why);
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  bool verbose = false, create_topics = false;
  struct TopicArg {
    std::string name;
    int partitions = 1, rf = 1;
  };
  std::vector<TopicArg> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    long long n = 0;
    if ((a == "--brokers" || a == "-n") && i + 1 < argc) {
      if (!parse_int(argv[++i], n) || n < 1 || n > 64) return usage("--brokers needs a number from 1 to 64");
      brokers = static_cast<int>(n);
    } else if ((a == "--topic" || a == "-t") && i + 1 < argc) {
      // NAME:PARTITIONS[:RF]; a topic name never holds ':'.
      std::string spec = argv[++i];
      TopicArg t;
      const auto c1 = spec.find(':');
      t.name = spec.substr(0, c1);
      if (c1 != std::string::npos) {
        const auto c2 = spec.find(':', c1 + 1);
        if (!parse_int(spec.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1), n) || n < 1)
          return usage(("bad partition count in --topic '" + spec + "'").c_str());
        t.partitions = static_cast<int>(n);
        if (c2 != std::string::npos) {
          if (!parse_int(spec.substr(c2 + 1), n) || n < 1) return usage(("bad replication factor in --topic '" + spec + "'").c_str());
          t.rf = static_cast<int>(n);
        }
      }
      if (t.name.empty()) return usage("--topic needs a name");
      topics.push_back(t);
    } else if (a == "--create-topics") {
      create_topics = true;
    } else if (a == "-v" || a == "--verbose") {
      verbose = true;
    } else if (a == "-h" || a == "--help") {
      usage("help");
      return 0;
    } else {
      return usage(("unknown argument '" + a + "'").c_str());
    }
  }

  // The mock cluster lives on (and is served by the threads of) a producer handle that never
  // produces. Its own log is quiet unless -v.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", verbose ? "7" : "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "sfcrime-mock-cluster: cannot create a client handle: %s\n", errstr);
    return 70;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    std::fprintf(stderr, "sfcrime-mock-cluster: cannot create a mock cluster of %d brokers\n", brokers);
    rd_kafka_destroy(rk);
    return 70;
  }
  // Broken proxied connections must not end the tool.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Proxy> proxy;
  if (create_topics) {
    // The proxy rewrites the answers of the versions it can parse (Metadata, FindCoordinator and
    // ApiVersions up to v2, before KIP-482's flexible versions): the mock offers no later ones.
    for (const std::int16_t api : {kMetadata, kFindCoordinator, kApiVersions})
      rd_kafka_mock_set_apiversion(mc, api, 0, 2);
    try {
      proxy = std::make_unique<Proxy>(mc, broker_ports(mc), verbose);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sfcrime-mock-cluster: cannot start the CreateTopics proxy: %s\n", e.what());
      rd_kafka_mock_cluster_destroy(mc);
      rd_kafka_destroy(rk);
      return 70;
    }
  }
  int status = 0;
  {
    Tool tool(mc, brokers, proxy.get(), verbose);
    for (const TopicArg& t : topics) {
      const std::string r = tool.create_topic(t.name, t.partitions, t.rf);
      if (r != "ok") {
        std::fprintf(stderr, "sfcrime-mock-cluster: topic '%s': %s\n", t.name.c_str(), r.c_str());
        status = 70;
      }
    }
    if (status == 0) std::cout << tool.bootstraps() << std::endl;

    bool quit = status != 0;
    for (std::string line; !quit && std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
      const std::string answer = tool.run(line, quit);
      if (verbose) std::fprintf(stderr, "sfcrime-mock-cluster: %s -> %s\n", line.c_str(), answer.c_str());
      std::cout << answer << std::endl;
    }
  }
  // The proxy's threads are detached and blocked on sockets: exit without waiting for them (and
  // without destroying the cluster under them).
  if (proxy) {
    std::fflush(nullptr);
    std::_Exit(status);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return status;
}
