// sfcrime-mock-cluster: a librdkafka mock cluster (rdkafka_mock.h) driven from standard input, for
// the fault-injection tests in tests/fault (issue 4 item 5). Not part of sfcrime: a test tool.
//
//   sfcrime-mock-cluster [--brokers N] [--topic NAME:PARTITIONS[:RF]]... [-v]
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
//   quit                          `ok`, then destroy the cluster and exit 0 (end of input does too)
//
// API is a request name or its number: Produce (0), Fetch (1), ListOffsets (2), Metadata (3),
// OffsetCommit (8), OffsetFetch (9), FindCoordinator (10), JoinGroup (11), Heartbeat (12),
// LeaveGroup (13), SyncGroup (14), InitProducerId (22), AddPartitionsToTxn (24),
// AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28). CODE is librdkafka's error name, with or
// without the RD_KAFKA_RESP_ERR_ prefix (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT,
// COORDINATOR_NOT_AVAILABLE, _TRANSPORT = the broker drops the connection, ...), or a number.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
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

class Tool {
 public:
  Tool(rd_kafka_mock_cluster_t* mc, int brokers, bool verbose) : mc_(mc), brokers_(brokers), verbose_(verbose) {}
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
    if (cmd == "bootstraps") return std::string("ok ") + rd_kafka_mock_cluster_bootstraps(mc_);
    if (cmd == "broker-down" || cmd == "broker-up") {
      if (!argc_is(1)) return "error usage: " + cmd + " ID|all";
      std::vector<int32_t> ids;
      if (!broker_ids(w[1], ids)) return "error unknown broker '" + w[1] + "'";
      for (const int32_t id : ids) {
        const auto err = cmd == "broker-down" ? rd_kafka_mock_broker_set_down(mc_, id) : rd_kafka_mock_broker_set_up(mc_, id);
        if (err) return std::string("error ") + rd_kafka_err2str(err);
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
  bool verbose_;
  std::map<std::string, rd_kafka_t*> probes_;
};

int usage(const char* why) {
  std::fprintf(stderr,
               "sfcrime-mock-cluster: %s\n"
               "usage: sfcrime-mock-cluster [--brokers N] [--topic NAME:PARTITIONS[:RF]]... [-v]\n"
               "  prints the bootstrap servers, then reads commands on stdin (see the top of\n"
               "  tests/fault/mock_cluster.cpp) and answers each with 'ok' or 'error ...'\n",
               why);
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  bool verbose = false;
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
  int status = 0;
  {
    Tool tool(mc, brokers, verbose);
    for (const TopicArg& t : topics) {
      const std::string r = tool.create_topic(t.name, t.partitions, t.rf);
      if (r != "ok") {
        std::fprintf(stderr, "sfcrime-mock-cluster: topic '%s': %s\n", t.name.c_str(), r.c_str());
        status = 70;
      }
    }
    if (status == 0) std::cout << rd_kafka_mock_cluster_bootstraps(mc) << std::endl;

    bool quit = status != 0;
    for (std::string line; !quit && std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
      const std::string answer = tool.run(line, quit);
      if (verbose) std::fprintf(stderr, "sfcrime-mock-cluster: %s -> %s\n", line.c_str(), answer.c_str());
      std::cout << answer << std::endl;
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return status;
}
