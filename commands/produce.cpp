// sfcrime produce: read records from a JSON array or NDJSON input and send each to a topic.
//
// Nothing read is lost without a word (issue 4, items 1 and 7): a rejected record can be kept
// in a dead-letter topic and/or file; a record that was not delivered is kept in the failed file,
// from which `sfcrime produce --file F` sends it again, first checking the topic for those the
// broker may have written without answering; and the summary adds up:
//   read = sent + rejected + failed + not sent + already in the topic + without a delivery report.
#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/base/progress.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/envelope.hpp"
#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/records/event_sort.hpp"
#include "sfcrime/records/reader.hpp"
#include "sfcrime/records/record.hpp"

namespace sfcrime::commands {

namespace {
constexpr std::uint64_t kShownRejects = 100;  // rejected records printed one by one; the rest are counted
// Longest wait --speedup schedules for one record (about 31 years): keeps the time arithmetic far
// from overflowing steady_clock's nanosecond count whatever the event times and the factor.
constexpr double kMaxReplayWaitSeconds = 1e9;
constexpr const char* kNotSent = "not sent: sending stopped after a delivery failure";

using Clock = std::chrono::steady_clock;

enum class Order { file, event_time };



/// --speedup X: a finite number > 0 (fractions allowed).
double parse_speedup(const std::string& s) {
  char* end = nullptr;
  const double x = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x) || x <= 0)
    throw UsageError("invalid --speedup '" + s +
                     "' (expected a positive number: seconds of event time per second, e.g. 3600 or 0.5)");
  return x;
}

Clock::time_point after(Clock::time_point t0, double seconds) {
  return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// Quotes `s` for a POSIX shell when it needs it (for the resume command printed in errors).
std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./:,=+@%", c);
  });
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// ---------------------------------------------------------------------------------------------
// Kept records: the envelope of the dead-letter and failed files

/// Where a record that was sent without an answer would be if the broker wrote it: the first
/// matching message after `after_offset` in `partition` of `topic`.
struct PossiblyDelivered {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t after_offset = -1;
};

/// One line of --dead-letter-file and --failed-file:
///   {"record": N, "line": L or null, "reason": "...", "text": "..."[, "possibly_delivered":
///    {"topic": T, "partition": P, "after_offset": O}]}
/// "text" is the record's text; a text that is not valid UTF-8 (so not a JSON string) is given
/// as "text_base64" instead, so every line stays valid JSON and no byte is lost.
std::string envelope(std::uint64_t record, std::optional<std::uint64_t> line, std::string_view reason,
                     std::string_view text, const PossiblyDelivered* possibly = nullptr) {
  boost::json::object o;
  o["record"] = record;
  if (line)
    o["line"] = *line;
  else
    o["line"] = nullptr;
  std::string why(reason);
  if (!valid_utf8(why))
    for (char& c : why)
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  o["reason"] = why;
  if (valid_utf8(text))
    o["text"] = text;
  else
    o["text_base64"] = base64_encode(text);
  if (possibly) {
    boost::json::object p;
    p["topic"] = possibly->topic;
    p["partition"] = possibly->partition;
    p["after_offset"] = possibly->after_offset;
    o["possibly_delivered"] = std::move(p);
  }
  std::string s = boost::json::serialize(o);
  s += '\n';
  return s;
}

/// An input record that is one of the envelopes above: the record is its text.
struct Unwrapped {
  std::string text;
  std::optional<PossiblyDelivered> possibly;
};

/// Recognises an envelope: an object with "record" (a number), "reason" (a string) and "text"
/// (a string) or "text_base64", and without the event-time field (so never a call record).
std::optional<Unwrapped> unwrap(const simdjson::dom::element& v, const RecordRules& rules) {
  if (!v.is_object()) return std::nullopt;
  const simdjson::dom::object o = v.get_object().value_unsafe();
  if (find_field(o, rules.time_field)) return std::nullopt;
  const auto rec = find_field(o, "record");
  const auto why = find_field(o, "reason");
  if (!rec || !(rec->is_uint64() || rec->is_int64()) || !why || !why->is_string()) return std::nullopt;
  Unwrapped u;
  if (const auto t = string_field(o, "text")) {
    u.text = std::string(*t);
  } else if (const auto b = string_field(o, "text_base64")) {
    if (!base64_decode(*b, u.text)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (const auto p = find_field(o, "possibly_delivered"); p && p->is_object()) {
    const simdjson::dom::object po = p->get_object().value_unsafe();
    const auto t = string_field(po, "topic");
    const auto part = find_field(po, "partition");
    const auto off = find_field(po, "after_offset");
    if (t && part && part->is_int64() && off && off->is_int64())
      u.possibly = PossiblyDelivered{std::string(*t), static_cast<std::int32_t>(part->get_int64().value_unsafe()),
                                     off->get_int64().value_unsafe()};
  }
  return u;
}

/// A file of NDJSON lines, created or truncated when opened, written line by line with write(2)
/// so that what is counted as kept is on its way to the disk. After a failed write nothing more is
/// written (a half-written line would spoil the next one): every later line counts as lost.
class LineFile {
 public:
  /// @throws IoError when the file cannot be created; InterruptedError on SIGINT or SIGTERM while
  ///         open(2) waits (a FIFO without a reader).
  LineFile(std::string path, std::string what) : path_(std::move(path)), what_(std::move(what)) {
    // A FIFO waits here for its reader; SIGINT or SIGTERM ends the wait (InterruptedError).
    fd_ = open_or_interrupt(path_, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, what_, 0666);
    if (fd_ < 0) throw IoError("cannot create the " + what_ + " '" + path_ + "': " + std::strerror(errno));
  }
  ~LineFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;

  /// Appends one line (with its newline). @returns false when it was not written (counted lost).
  bool write(const std::string& line) {
    if (!error_.empty()) {
      ++lost_;
      return false;
    }
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? std::strerror(errno) : "nothing written";
        ++lost_;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    ++kept_;
    return true;
  }

  /// Closes the file; a failure to close (e.g. a full disk on NFS) leaves its lines in doubt.
  void close() {
    if (fd_ < 0) return;
    if (::close(fd_) != 0 && error_.empty()) error_ = std::string("closing it failed: ") + std::strerror(errno);
    fd_ = -1;
  }

  const std::string& path() const noexcept { return path_; }
  std::uint64_t kept() const noexcept { return kept_; }
  std::uint64_t lost() const noexcept { return lost_; }
  /// Empty unless a write (or close) failed.
  const std::string& error() const noexcept { return error_; }

 private:
  std::string path_;
  std::string what_;
  int fd_ = -1;
  std::uint64_t kept_ = 0;
  std::uint64_t lost_ = 0;
  std::string error_;
};

/// Refuses an output file that is the input file or another output file: truncating it at start
/// would destroy what is about to be read or written.
void check_distinct_files(const std::string& input, const std::vector<std::pair<std::string, std::string>>& outputs) {
  struct stat in_st {};
  const bool in_known = input == "-" ? ::fstat(STDIN_FILENO, &in_st) == 0 : ::stat(input.c_str(), &in_st) == 0;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& [opt, path] = outputs[i];
    struct stat st {};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && in_known && S_ISREG(st.st_mode) && st.st_dev == in_st.st_dev && st.st_ino == in_st.st_ino)
      throw UsageError(opt + " '" + path + "' is the input file: it would be truncated before it is read (give " + opt +
                       " another file)");
    for (std::size_t j = 0; j < i; ++j) {
      struct stat st2 {};
      const bool same = outputs[j].second == path ||
                        (exists && ::stat(outputs[j].second.c_str(), &st2) == 0 && st.st_dev == st2.st_dev &&
                         st.st_ino == st2.st_ino);
      if (same) throw UsageError(outputs[j].first + " and " + opt + " name the same file '" + path + "'");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Which records are settled

/// The longest prefix 1..K of record numbers whose records are all settled (delivered, rejected,
/// skipped, or found already in the topic), and what is known past it.
class Prefix {
 public:
  enum State : std::uint8_t { pending = 0, delivered = 1, other = 2 };
  void settle(std::uint64_t record, State how) {
    if (record <= k_) return;
    const std::size_t i = record - k_ - 1;
    if (i >= after_.size()) after_.resize(i + 1, pending);
    after_[i] = how;
    while (!after_.empty() && after_.front() != pending) {
      after_.pop_front();
      ++k_;
    }
  }
  std::uint64_t k() const noexcept { return k_; }
  /// Records after K that were delivered.
  std::uint64_t delivered_after() const {
    return static_cast<std::uint64_t>(std::count(after_.begin(), after_.end(), delivered));
  }

 private:
  std::uint64_t k_ = 0;
  std::deque<State> after_;  // records k_+1, k_+2, ...
};

/// Errors about the record itself, not about the broker: the other records can still go.
bool message_specific(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
         err == RD_KAFKA_RESP_ERR_INVALID_RECORD || err == RD_KAFKA_RESP_ERR_INVALID_MSG;
}

// ---------------------------------------------------------------------------------------------
// Checking the topic for records an earlier run possibly delivered

/// Reads one partition from offset `from` up to `end` or its end (the high watermark when
/// opened), whichever comes first, with an assigned consumer that never joins or commits to a
/// group.
class PartitionReader : public kafka::Client {
 public:
  /// @throws UnavailableError, InterruptedError as Client::watermarks(); NoInputError if the
  ///         topic does not exist.
  PartitionReader(const Config& config, const std::string& topic, std::int32_t partition, std::int64_t from,
                  std::int64_t end)
      : Client(RD_KAFKA_CONSUMER, config,
               kafka::make_conf(config, {{"group.id", "sfcrime-check-" + std::to_string(::getpid())},
                                         {"enable.auto.commit", "false"},
                                         {"enable.auto.offset.store", "false"},
                                         {"enable.partition.eof", "true"},
                                         {"log.connection.close", "false"}})),
        topic_(topic),
        partition_(partition) {
    rd_kafka_poll_set_consumer(get());
    partition_count(topic);  // a clear error when the topic is gone
    const kafka::Watermarks w = watermarks(topic, partition);
    next_ = std::max(from, w.low);
    high_ = std::min(w.high, end);
    if (next_ >= high_) return;
    kafka::PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = next_;
    if (const auto err = rd_kafka_assign(get(), list.get()))
      throw UnavailableError("cannot read '" + topic + "' partition " + std::to_string(partition) + ": " +
                             kafka::error_text(err));
  }
  ~PartitionReader() override {
    // Nothing to commit and no group to leave: do not wait for a coordinator.
    if (handle_) rd_kafka_destroy_flags(handle_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }

  /// The next message in `out`, or false at the end (with `out` empty: the handle cannot be
  /// destroyed while a message of it is alive, rd_kafka_destroy() would wait for it).
  /// @throws UnavailableError when no message comes within Config::timeout; InterruptedError.
  bool next(kafka::Message& out) {
    out.reset();
    auto deadline = Clock::now() + config().timeout;
    while (next_ < high_) {
      kafka::Message m(rd_kafka_consumer_poll(get(), 100));
      if (!m) {
        if (interrupted()) throw InterruptedError("interrupted while reading '" + topic_ + "'");
        if (Clock::now() >= deadline)
          throw UnavailableError(unreachable_message("'" + topic_ + "' partition " + std::to_string(partition_)));
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        next_ = high_;
        break;
      }
      if (m->err)
        throw UnavailableError("cannot read '" + topic_ + "' partition " + std::to_string(partition_) + ": " +
                               rd_kafka_message_errstr(m.get()));
      next_ = m->offset + 1;
      out = std::move(m);
      return true;
    }
    return false;
  }

 private:
  std::string topic_;
  std::int32_t partition_;
  std::int64_t next_ = 0;
  std::int64_t high_ = 0;
};

/// Answers, for the records of a failed file that an earlier run sent without an answer, whether
/// the broker wrote them. Such records were in flight, in order, right after the last record of
/// that partition the earlier run saw acknowledged (`after_offset`); the idempotent producer
/// keeps the order in a partition and the broker writes a prefix of them, so the records of one
/// (partition, after_offset) are matched, in file order, against the partition's messages from
/// after_offset + 1 on: a record found there (`same` says which message is it) was delivered;
/// once one is not found,
/// neither are those after it. The search stops before the messages this run wrote itself
/// (`own_start` gives, once the run's deliveries so far are settled, the first offset it wrote to
/// a partition), so that a record sent again by this run is never taken for the earlier one.
class DeliveredCheck {
 public:
  using OwnStart = std::function<std::int64_t(std::int32_t partition)>;
  DeliveredCheck(const Config& config, std::string topic, OwnStart own_start)
      : config_(config), topic_(std::move(topic)), own_start_(std::move(own_start)) {}

  /// True when the messages after `p` hold one for which `same` is true (the search goes on
  /// from there for the next record of the same group).
  bool delivered(const PossiblyDelivered& p, const std::function<bool(rd_kafka_message_t&)>& same) {
    Group& g = groups_[{p.partition, p.after_offset}];
    if (g.exhausted) return false;
    if (!g.reader)
      g.reader = std::make_unique<PartitionReader>(config_, topic_, p.partition, p.after_offset + 1,
                                                   own_start_(p.partition));
    kafka::Message m;
    while (g.reader->next(m))
      if (same(*m)) return true;
    g.exhausted = true;
    g.reader.reset();
    return false;
  }

 private:
  struct Group {
    std::unique_ptr<PartitionReader> reader;
    bool exhausted = false;
  };
  const Config& config_;
  std::string topic_;
  OwnStart own_start_;
  std::map<std::pair<std::int32_t, std::int64_t>, Group> groups_;
};

/// True when `m` holds exactly `bytes` (std::nullopt: null, which an empty payload or key is not).
bool same_bytes(const void* data, std::size_t size, const std::optional<std::string>& bytes) {
  if (!data || !bytes) return !data && !bytes;
  return size == bytes->size() && std::memcmp(data, bytes->data(), size) == 0;
}

/// True when message `m` is envelope `e` as `produce` sends it: the same key and value (a null
/// one is not an empty one) and the same headers in the same order, `e`'s own followed by
/// `extra` (-H). The timestamp is not compared (an envelope without one gets the time of sending).
bool same_message(rd_kafka_message_t& m, const EnvelopeMessage& e, const std::vector<kafka::Header>& extra) {
  if (!same_bytes(m.key, m.key_len, e.key) || !same_bytes(m.payload, m.len, e.value)) return false;
  rd_kafka_headers_t* hs = nullptr;
  const std::size_t n =
      rd_kafka_message_headers(&m, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_header_cnt(hs) : 0;
  if (n != e.headers.size() + extra.size()) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const kafka::Header& want = i < e.headers.size() ? e.headers[i] : extra[i - e.headers.size()];
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    if (rd_kafka_header_get_all(hs, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || want.name != name ||
        !same_bytes(value, size, want.value))
      return false;
  }
  return true;
}

/// True for a header whose value is a secret, not to be echoed in messages: its name contains
/// "auth", "token", "password" or "secret", in any case (Authorization, X-Auth-Token, ...).
bool secret_header(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"auth", "token", "password", "secret"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}
}  // namespace

int produce(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "produce";
  spec.synopsis =
      "sfcrime produce [--topic] TOPIC [--file PATH|-] [--key FIELD] [--skip N] [--limit N] [--rate N]\n"
      "                       [--order file|event-time] [--speedup X] [--dead-letter-topic T]\n"
      "                       [--dead-letter-file F] [--failed-file F] [options]";
  spec.summary =
      "Reads records from a JSON array (pretty-printed or compact) or newline-delimited JSON, as a\n"
      "stream in bounded memory, and sends each as one message (compact JSON value, key = the key\n"
      "field) with an idempotent producer. A record that is not a JSON object, lacks call_date_time\n"
      "or whose call_date_time does not parse (YYYY-MM-DDTHH:MM:SS[.fff], no zone), or that lacks\n"
      "the key field (or holds an object or array there) is rejected with its record number and\n"
      "reason and not sent; --dead-letter-topic and --dead-letter-file keep it. Waits for every\n"
      "delivery report (of the dead-letter topic too), then prints a summary to stderr:\n"
      "read = sent + rejected + failed (+ not sent, + without a delivery report when stopped).\n"
      "\n"
      "When a record is not delivered (the broker stayed away for message.timeout.ms, 120 s by\n"
      "default, or refused it), sending stops: the records in flight get their reports, and the\n"
      "error says how many were delivered, that records 1..K all were, and how to resume. With\n"
      "--failed-file F every record not delivered, and the rest of the input, goes to F: resume\n"
      "exactly with 'sfcrime produce --topic TOPIC --file F', which also checks the topic for the\n"
      "records the broker may have written without answering and does not send those again.\n"
      "Without it, '--skip K' resumes after record K (the error says how many of the records\n"
      "after K were delivered and would be sent again). A record too large for the broker fails\n"
      "alone and sending goes on.\n"
      "\n"
      "Exit 0 when every record was delivered; 65 if any was rejected (even when kept) or the input\n"
      "is malformed; 69 if any was not delivered or a rejected record was not kept in the\n"
      "dead-letter topic; 74 if the dead-letter or failed file or the temporary sort file cannot\n"
      "be written; 130 if interrupted (143 for SIGTERM). When several apply: 130, 74, 69, 65.\n"
      "\n"
      "Records go in file order (the real file is newest first) unless --order event-time: then\n"
      "every valid record is read first and sent in ascending call_date_time, records with equal\n"
      "times in file order. Memory stays bounded: runs of 32 MiB of record text are sorted and\n"
      "spilled to a temporary file in $TMPDIR (default /tmp), unlinked at once so nothing is left\n"
      "behind, and merged while sending; an input that fits in one run never touches the disk.\n"
      "--speedup X replays in event time: the first record goes at once, a record E seconds of\n"
      "event time after it no earlier than E / X seconds later; a record already due goes at once,\n"
      "so in file order (newest first) everything after the first goes at once. With --rate, both\n"
      "limits apply.\n"
      "\n"
      "--input-format envelope reads the lines of 'sfcrime consume --output json' (or kcat -J) and\n"
      "sends each message as it was: key, value (base64-decoded when flagged), headers and timestamp,\n"
      "without the checks of a call record; a malformed envelope is rejected like an invalid record.\n"
      "A timestamp of 0, null or none gets the time of sending (librdkafka reads 0 as 'now'); a\n"
      "negative one is rejected. The envelope's partition is read only with --keep-partition.\n"
      "On a terminal a progress bar is drawn on stderr (--progress).";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->required()->value_name("TOPIC"),
       "topic to send to (must exist); also the first bare word, as in 'sfcrime topic produce TOPIC' (rpk's name)")
      ("file,f", cli::po::value<std::string>()->value_name("PATH|-"),
       "input file, '-' for standard input (default); the lines of a --dead-letter-file or "
       "--failed-file are recognised and their text sent")
      ("key", cli::po::value<std::string>()->default_value("crime_id")->value_name("FIELD"), "field whose value is the message key")
      ("skip", cli::po::value<long long>()->value_name("N"),
       "pass over the first N records of the input (not parsed, sent or counted as read; record "
       "numbers still count them), e.g. to resume after records 1..N were delivered")
      ("limit", cli::po::value<long long>()->value_name("N"), "stop after reading N records (after --skip)")
      ("rate", cli::po::value<long long>()->value_name("N"), "send at most N records per second")
      ("order", cli::po::value<std::string>()->default_value("file")->value_name("file|event-time"),
       "send in file order, or sorted by call_date_time ascending (ties in file order; external sort "
       "in runs of 32 MiB of record text, spilled to an unlinked file in $TMPDIR or /tmp)")
      ("speedup", cli::po::value<std::string>()->value_name("X"),
       "replay in event time, X seconds of event time per second (e.g. 3600; fractions allowed); "
       "records already due go at once, so use it with --order event-time")
      ("dead-letter-topic", cli::po::value<std::string>()->value_name("T"),
       "send every rejected record to topic T (must exist): its text unchanged, null key, headers "
       "sfcrime.reject.reason, sfcrime.reject.record, sfcrime.reject.line, sfcrime.source.file")
      ("dead-letter-file", cli::po::value<std::string>()->value_name("F"),
       "write every rejected record to F, created or truncated at start: one JSON object a line, "
       "{\"record\": N, \"line\": L, \"reason\": \"...\", \"text\": \"the record's text\"}")
      ("failed-file", cli::po::value<std::string>()->value_name("F"),
       "write every record not delivered, and after a delivery failure the rest of the input, to F "
       "(created or truncated at start; lines as --dead-letter-file's): 'sfcrime produce --file F' "
       "resumes exactly")
      ("header,H", cli::po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
       "add header KEY with VALUE to every message (repeatable, as kcat -H; after an envelope's own)")
      ("compression,z", cli::po::value<std::string>()->value_name("CODEC"),
       "compress message batches with none (default), gzip, snappy, lz4 or zstd (librdkafka's "
       "compression.codec; consumers decompress by themselves)")
      ("partitioner", cli::po::value<std::string>()->value_name("NAME"),
       "how a key picks its partition (librdkafka's partitioner): murmur2_random (default: the Java "
       "producer's, so the same key lands where Java clients put it; null keys at random), murmur2, "
       "consistent, consistent_random, fnv1a, fnv1a_random or random")
      ("progress", cli::po::value<std::string>()->default_value("auto")->value_name("auto|bar|none"),
       "a progress bar on stderr (records, records/s, and for a regular file bytes read, percent and "
       "ETA): auto draws it when stderr is a terminal, bar always, none never")
      ("input-format", cli::po::value<std::string>()->default_value("record")->value_name("record|envelope"),
       "record: call records, validated; envelope: the lines of 'sfcrime consume --output json' (or "
       "kcat -J), each sent with its key, value, headers and timestamp as they are, not validated "
       "(timestamp 0 or null: the time of sending; negative: rejected)")
      ("keep-partition",
       "with --input-format envelope: send each message to the partition its envelope names (which "
       "must exist; an envelope without one is rejected), not where the partitioner puts its key");
  spec.positional.add("topic", 1);
  spec.examples =
      "  xz -dc police-department-calls-for-service.json.xz |\n"
      "      sfcrime produce --topic police-calls --order event-time   # the file runs newest first\n"
      "  sfcrime topic produce police-calls --file calls.json   # rpk's words, the same command\n"
      "  sfcrime produce --topic police-calls --file calls.ndjson --limit 1000 --rate 100\n"
      "  xz -dc police-department-calls-for-service.json.xz |\n"
      "      sfcrime produce --topic police-calls --order event-time --speedup 3600   # an hour a second\n"
      "  sfcrime produce -t police-calls -f calls.json --dead-letter-topic police-calls-rejected \\\n"
      "      --dead-letter-file rejected.ndjson --failed-file failed.ndjson\n"
      "  sfcrime produce -t police-calls -f failed.ndjson --failed-file failed-2.ndjson   # resume\n"
      "  sfcrime produce -t police-calls -f calls.json -z zstd -H source=cad -H batch=7\n"
      "  sfcrime consume -t A -o beginning -e --output json | sfcrime produce -t B --input-format envelope\n";
  // "--speedup -1": program_options would take "-1" for an option; hand it over as one word so
  // that the value check below names the problem.
  std::vector<std::string> argv = args;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--speedup" && argv[i + 1].size() > 1 && argv[i + 1][0] == '-' &&
        (std::isdigit(static_cast<unsigned char>(argv[i + 1][1])) || argv[i + 1][1] == '.')) {
      argv[i] += "=" + argv[i + 1];
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  spec.kafka_defaults = kafka::producer_defaults();
  auto parsed = cli::parse(spec, argv);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  Config& config = parsed->config;

  const std::string topic = vm["topic"].as<std::string>();
  const std::string file = vm.count("file") ? vm["file"].as<std::string>() : "-";
  const long long limit = vm.count("limit") ? cli::positive(vm, "limit") : 0;
  const long long rate = vm.count("rate") ? cli::positive(vm, "rate") : 0;
  const Order order = cli::one_of(vm, "order", {"file", "event-time"}) == "file" ? Order::file : Order::event_time;
  const double speedup = vm.count("speedup") ? parse_speedup(vm["speedup"].as<std::string>()) : 0;
  std::uint64_t skip = 0;
  if (vm.count("skip")) {
    const long long n = vm["skip"].as<long long>();
    if (n < 0) throw UsageError("invalid --skip " + std::to_string(n) + " (expected a number of records, 0 or more)");
    skip = static_cast<std::uint64_t>(n);
  }
  auto text_option = [&](const char* name) -> std::optional<std::string> {
    if (!vm.count(name)) return std::nullopt;
    std::string v = vm[name].as<std::string>();
    if (v.empty()) throw UsageError(std::string("--") + name + " needs a value (see 'sfcrime produce --help')");
    return v;
  };
  const std::optional<std::string> dl_topic = text_option("dead-letter-topic");
  const std::optional<std::string> dl_path = text_option("dead-letter-file");
  const std::optional<std::string> failed_path = text_option("failed-file");
  if (dl_topic && *dl_topic == topic)
    throw UsageError("--dead-letter-topic '" + *dl_topic + "' is the topic the records go to (give another topic)");
  {
    std::vector<std::pair<std::string, std::string>> outputs;
    if (dl_path) outputs.emplace_back("--dead-letter-file", *dl_path);
    if (failed_path) outputs.emplace_back("--failed-file", *failed_path);
    check_distinct_files(file, outputs);
  }
  if (!vm.count("file") && ::isatty(STDIN_FILENO))
    throw UsageError("no input: give --file PATH, or pipe records into standard input (see 'sfcrime produce --help')");
  RecordRules rules;
  rules.key_field = vm["key"].as<std::string>();

  const bool envelopes = cli::one_of(vm, "input-format", {"record", "envelope"}) == "envelope";
  const bool keep_partition = vm.count("keep-partition") > 0;
  if (keep_partition && !envelopes)
    throw UsageError("--keep-partition needs --input-format envelope (only an envelope names a partition)");
  if (envelopes) {
    // An envelope is a message as it was: nothing in it is a call record's.
    if (!vm["key"].defaulted())
      throw UsageError("--key does not go with --input-format envelope (each envelope has its own key)");
    if (order == Order::event_time || speedup)
      throw UsageError(std::string(order == Order::event_time ? "--order event-time" : "--speedup") +
                       " does not go with --input-format envelope (envelopes have no call_date_time; they go in input order)");
  }
  // -H KEY=VALUE, added to every message.
  std::vector<kafka::Header> extra_headers;
  if (vm.count("header"))
    for (const std::string& h : vm["header"].as<std::vector<std::string>>()) {
      const std::size_t eq = h.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UsageError("invalid --header '" + h + "' (expected KEY=VALUE, e.g. -H source=cad)");
      extra_headers.push_back({h.substr(0, eq), h.substr(eq + 1)});
    }
  // --input-format envelope: the text kept in the failed file for envelope `e` read as `text`
  // and not delivered: `text` itself, or with -H the envelope rebuilt in `buf` with those headers
  // (a failed file is resumed without -H: its envelopes hold the messages as they were sent).
  auto kept_envelope = [&](const EnvelopeMessage& e, std::string_view text, std::string& buf) -> std::string_view {
    if (extra_headers.empty()) return text;
    buf.clear();
    append_envelope(e, topic, buf, extra_headers);
    buf.pop_back();  // the newline
    return buf;
  };
  std::vector<kafka::Property> producer_props;
  auto choice = [&](const char* option, const char* property, std::initializer_list<std::string_view> allowed) {
    if (!vm.count(option)) return;
    const std::string v = cli::one_of(vm, option, allowed);
    producer_props.emplace_back(property, v);
    // A dedicated flag wins over a -X of the same meaning (DESIGN.md, convention 5): applied last.
    config.properties.emplace_back(property, v);
    config.origin[property] = {"flag", "--" + std::string(option)};
  };
  // scripts/build-librdkafka builds all four codecs in (builtin.features: gzip, snappy, lz4, zstd).
  choice("compression", "compression.codec", {"none", "gzip", "snappy", "lz4", "zstd"});
  choice("partitioner", "partitioner",
         {"murmur2_random", "murmur2", "consistent", "consistent_random", "fnv1a", "fnv1a_random", "random"});
  const std::string progress_value = cli::one_of(vm, "progress", {"auto", "bar", "none"});
  const ProgressLine::Mode progress_mode = progress_value == "bar"    ? ProgressLine::Mode::always
                                           : progress_value == "none" ? ProgressLine::Mode::never
                                                                      : ProgressLine::Mode::automatic;

  // Opened before connecting: a missing file is reported at once. Each record's compact form
  // comes from the pass that finds its end. A regular file is read ahead in a thread of its own
  // (reading a pipe may wait for its writer: that stays in this thread, where Ctrl-C reaches it).
  auto file_reader = std::make_unique<RecordReader>(file);
  file_reader->set_compact(true);
  RecordReader* direct = file_reader.get();
  std::unique_ptr<ReadAheadReader> ahead;
  if (file_reader->regular_file()) {
    direct = nullptr;
    ahead = std::make_unique<ReadAheadReader>(std::move(file_reader));
  }
  auto next_record = [&](RawRecord& r) { return ahead ? ahead->next(r) : direct->next(r); };
  // The input's size when it is a regular file (also one redirected to stdin): the progress bar's
  // 100 %.
  std::optional<std::uint64_t> input_size;
  {
    struct stat st {};
    if ((file == "-" ? ::fstat(STDIN_FILENO, &st) : ::stat(file.c_str(), &st)) == 0 && S_ISREG(st.st_mode))
      input_size = static_cast<std::uint64_t>(st.st_size);
  }

  std::uint64_t read = 0, rejected = 0, skipped = 0, not_sent = 0, already = 0, checked = 0;
  std::uint64_t failures_shown = 0, possibly = 0;
  bool stop_sending = false;           // a delivery failed: send nothing more
  std::exception_ptr fatal_error;      // the producer hit a fatal error (idempotence broken)
  std::map<rd_kafka_resp_err_t, std::uint64_t> failure_causes;
  Prefix prefix;

  kafka::Producer producer(config, topic, [&](std::uint64_t record, rd_kafka_resp_err_t err) {
    if (++failures_shown <= kShownRejects)
      std::fprintf(stderr, "sfcrime: record %llu not delivered: %s\n", static_cast<unsigned long long>(record),
                   rd_kafka_err2str(err));
    else if (failures_shown == kShownRejects + 1)
      std::fprintf(stderr, "sfcrime: more records not delivered; only the count is reported from now on\n");
  });
  const int topic_partitions = keep_partition ? producer.partition_count(topic) : 0;
  std::unique_ptr<kafka::Producer> dl_producer;
  std::uint64_t dl_failures_shown = 0, dl_not_sent = 0;
  bool dl_fatal = false;  // the dead-letter producer hit a fatal error: nothing more can go there
  if (dl_topic)
    dl_producer = std::make_unique<kafka::Producer>(config, *dl_topic, [&](std::uint64_t record, rd_kafka_resp_err_t err) {
      if (++dl_failures_shown <= kShownRejects)
        std::fprintf(stderr, "sfcrime: rejected record %llu not kept in '%s': %s\n",
                     static_cast<unsigned long long>(record), dl_topic->c_str(), rd_kafka_err2str(err));
    });
  // Created (or truncated) once the broker answered, so that a run that cannot connect leaves
  // the files of an earlier run as they were.
  std::unique_ptr<LineFile> dl_file, failed_file;
  if (dl_path) dl_file = std::make_unique<LineFile>(*dl_path, "dead-letter file");
  if (failed_path) failed_file = std::make_unique<LineFile>(*failed_path, "failed file");

  // Per partition, the offset of the last message acknowledged (or, before any, the high
  // watermark at start - 1): where a record sent without an answer would be.
  std::vector<std::int64_t> last_acked;
  std::map<std::int32_t, std::int64_t> own_first;  // partition -> first offset this run wrote there
  if (failed_file) {
    const int parts = producer.partition_count(topic);
    for (int p = 0; p < parts; ++p) last_acked.push_back(producer.watermarks(topic, p).high - 1);
  }
  // --input-format envelope: the envelope handed to send_message() now, as read and as parsed.
  std::string_view sending_text;
  const EnvelopeMessage* sending_env = nullptr;
  // With --failed-file: the timestamps of the envelopes in flight that have one, by record number
  // (a delivery report with an error has none to rebuild the envelope from).
  std::unordered_map<std::uint64_t, std::int64_t> timestamps_in_flight;
  producer.on_report([&](const kafka::Producer::Report& r) {
    std::optional<std::int64_t> create_time;
    if (!timestamps_in_flight.empty())
      if (const auto it = timestamps_in_flight.find(r.record); it != timestamps_in_flight.end()) {
        create_time = it->second;
        timestamps_in_flight.erase(it);
      }
    const bool known_partition = r.partition >= 0 && static_cast<std::size_t>(r.partition) < last_acked.size();
    if (r.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      prefix.settle(r.record, Prefix::delivered);
      if (r.partition >= 0 && r.offset >= 0) {
        auto [it, fresh] = own_first.try_emplace(r.partition, r.offset);
        if (!fresh) it->second = std::min(it->second, r.offset);
      }
      if (known_partition) last_acked[r.partition] = std::max(last_acked[r.partition], r.offset);
      return;
    }
    if (!message_specific(r.err)) stop_sending = true;
    ++failure_causes[r.err];
    // A message that timed out may have been written all the same (librdkafka's INTRODUCTION.md,
    // "Message timeout considerations"), and librdkafka 2.8.0 reported some such messages as
    // NOT_PERSISTED (a broker stopped mid-produce: 18 of them found in the topic): the resuming run
    // looks for every timed-out one in the topic rather than trust that status.
    const bool maybe = r.status == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED || r.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT;
    if (maybe) ++possibly;
    if (failed_file) {
      PossiblyDelivered p{topic, r.partition, known_partition ? last_acked[r.partition] : -1};
      std::string_view text = r.value;
      std::string rebuilt;
      if (envelopes) {
        // Keep the whole message (key, headers, timestamp), not only its value: the envelope
        // rebuilt from the report, or for a refusal by send() the input's envelope (with the -H
        // headers, which the resume command does not repeat).
        if (r.message) {
          append_envelope(*r.message, topic, rebuilt, create_time);
          rebuilt.pop_back();  // the newline
          text = rebuilt;
        } else {
          text = kept_envelope(*sending_env, sending_text, rebuilt);
        }
      }
      failed_file->write(envelope(r.record, std::nullopt, std::string("not delivered: ") + rd_kafka_err2str(r.err),
                                  text, maybe && known_partition ? &p : nullptr));
    }
  });

  // A rejected record: reported, kept where asked, and settled (sending it again would not help).
  auto reject = [&](std::uint64_t number, std::optional<std::uint64_t> line, std::string_view text,
                    const std::string& reason) {
    ++rejected;
    prefix.settle(number, Prefix::other);
    if (rejected <= kShownRejects)
      std::fprintf(stderr, "sfcrime: record %llu (line %llu) rejected: %s\n", static_cast<unsigned long long>(number),
                   static_cast<unsigned long long>(line.value_or(0)), reason.c_str());
    else if (rejected == kShownRejects + 1)
      std::fprintf(stderr, "sfcrime: more records rejected; only the count is reported from now on\n");
    if (dl_file) dl_file->write(envelope(number, line, reason, text));
    if (dl_producer && dl_fatal) {
      ++dl_not_sent;
    } else if (dl_producer) {
      const std::vector<kafka::Property> headers = {
          {"sfcrime.reject.reason", reason},
          {"sfcrime.reject.record", std::to_string(number)},
          {"sfcrime.reject.line", line ? std::to_string(*line) : std::string()},
          {"sfcrime.source.file", file},
      };
      try {
        if (!dl_producer->send(std::nullopt, text, number, headers)) ++dl_not_sent;  // interrupted
      } catch (const Error& e) {  // a fatal producer error: nothing more can go there
        std::fprintf(stderr, "sfcrime: error: dead-letter topic '%s': %s\n", dl_topic->c_str(), e.what());
        ++dl_not_sent;
        dl_fatal = true;
      }
    }
  };
  // A valid record that is not sent because sending stopped: kept in the failed file if any.
  auto keep_unsent = [&](std::uint64_t number, std::optional<std::uint64_t> line, std::string_view value) {
    ++not_sent;
    if (failed_file) failed_file->write(envelope(number, line, kNotSent, value));
  };
  // Hands one valid record to the producer. @returns false when interrupted (not sent).
  auto send = [&](std::optional<std::string_view> key, std::string_view value, std::uint64_t number,
                  std::optional<std::uint64_t> line) {
    try {
      const bool sent = extra_headers.empty()
                            ? producer.send(key, value, number)
                            : producer.send_message({key, value, &extra_headers, 0, -1}, number);
      if (sent) return true;
      ++not_sent;
      return false;
    } catch (const UnavailableError&) {  // fatal: the queued records fail with it; keep this one
      fatal_error = std::current_exception();
      stop_sending = true;
      keep_unsent(number, line, value);
      return true;
    }
  };
  // Hands one envelope's message to the producer (`text`: the envelope as read, kept when the
  // message is not sent). @returns false when interrupted (not sent).
  std::vector<kafka::Header> headers_buf;
  auto send_envelope = [&](const EnvelopeMessage& e, std::string_view text, std::uint64_t number,
                           std::optional<std::uint64_t> line) {
    const std::vector<kafka::Header>* headers = &e.headers;
    if (!extra_headers.empty()) {
      headers_buf = e.headers;
      headers_buf.insert(headers_buf.end(), extra_headers.begin(), extra_headers.end());
      headers = &headers_buf;
    }
    kafka::Producer::OutMessage m;
    if (e.key) m.key = *e.key;
    if (e.value) m.value = *e.value;
    m.headers = headers;
    m.timestamp_ms = e.timestamp.value_or(0);  // 0: librdkafka stamps the time of sending
    m.partition = keep_partition ? *e.partition : -1;
    sending_text = text;
    sending_env = &e;
    if (failed_file && e.timestamp) timestamps_in_flight[number] = *e.timestamp;
    try {
      if (producer.send_message(m, number)) return true;
      timestamps_in_flight.erase(number);
      ++not_sent;
      return false;
    } catch (const UnavailableError&) {
      timestamps_in_flight.erase(number);
      fatal_error = std::current_exception();
      stop_sending = true;
      std::string buf;
      keep_unsent(number, line, kept_envelope(e, text, buf));
      return true;
    }
  };

  std::unique_ptr<DeliveredCheck> check;
  // A record an earlier run sent without an answer (a failed file's possibly_delivered): true
  // when the topic has it, so it is not sent again.
  auto already_there = [&](const PossiblyDelivered& p, const std::function<bool(rd_kafka_message_t&)>& same) {
    ++checked;
    if (!check)
      check = std::make_unique<DeliveredCheck>(config, topic, [&](std::int32_t partition) {
        // Settle what this run sent so far, so that its offsets are known.
        while (producer.flush(500) > 0 && !interrupted()) {
        }
        const auto it = own_first.find(partition);
        return it == own_first.end() ? std::numeric_limits<std::int64_t>::max() : it->second;
      });
    if (!check->delivered(p, same)) return false;
    ++already;
    return true;
  };

  // Waits until `due`, serving delivery reports and waking at least every 50 ms for Ctrl-C.
  // Returns false when interrupted.
  auto wait_until = [&](Clock::time_point due) {
    while (Clock::now() < due) {
      if (interrupted()) return false;
      producer.poll(0);
      if (dl_producer) dl_producer->poll(0);
      std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::milliseconds(50)));
    }
    return !interrupted();
  };
  // --speedup: the first record sent fixes (its event time, the wall-clock time); a record with
  // event time e is due (e - e_first) / speedup seconds later, or at once if that is not ahead.
  std::optional<std::int64_t> replay_first;
  Clock::time_point replay_t0;
  auto replay_due = [&](std::int64_t event_ms) {
    const Clock::time_point now = Clock::now();
    if (!replay_first) {
      replay_first = event_ms;
      replay_t0 = now;
      return now;
    }
    const double secs = static_cast<double>(event_ms - *replay_first) / 1000.0 / speedup;
    return secs <= 0 ? now : after(replay_t0, std::min(secs, kMaxReplayWaitSeconds));
  };

  const auto t0 = Clock::now();
  ProgressLine progress(progress_mode);
  // force: draw now, not only when a redraw is due (the last frame, at the end of the input).
  auto show_progress = [&](const char* phase, bool force = false) {
    if (force ? !progress.on() : !progress.due()) return;
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string rate = with_commas(static_cast<std::uint64_t>(secs > 0 ? static_cast<double>(read) / secs : 0));
    const std::string rejects = rejected ? ", " + with_commas(rejected) + " rejected" : "";
    if (!input_size || *input_size == 0) {
      progress.show("sfcrime produce: " + with_commas(read) + " records, " + rate + " records/s, " +
                    with_commas(producer.stats().delivered) + " sent" + rejects + phase);
      return;
    }
    // A regular file: [=====>    ]  45% 52.3/112.0 MB  234,567 records  120,345/s  ETA 0:03
    // The reader's position: every byte consumed, whitespace and brackets between records too.
    const std::uint64_t bytes_in = ahead ? ahead->bytes_read() : direct->bytes_read();
    const double f = std::min(1.0, static_cast<double>(bytes_in) / static_cast<double>(*input_size));
    char head[64];
    std::snprintf(head, sizeof head, " %3.0f%% %.1f/%.1f MB  ", f * 100, static_cast<double>(bytes_in) / 1e6,
                  static_cast<double>(*input_size) / 1e6);
    const std::string info = head + with_commas(read) + " records  " + rate + "/s  ETA " +
                             ProgressLine::clock(f > 0 ? secs * (1 - f) / f : -1) + rejects + phase;
    const int room = ProgressLine::columns() - 1 - static_cast<int>(info.size());
    progress.show((room >= 10 ? ProgressLine::bar(f, std::min(room, 42)) : std::string()) + info);
  };
  EnvelopeMessage env;
  std::unique_ptr<EventTimeSorter> sorter;
  if (order == Order::event_time) sorter = std::make_unique<EventTimeSorter>();
  RecordParser parser;
  std::string value, inner, inner_kept;
  RawRecord raw;
  std::exception_ptr input_error;  // the input broke off: deliver what came before, then report
  std::exception_ptr sort_error;   // the temporary sort file failed (IoError): deliver what was sent, then report
  bool stopped = false;
  for (;;) {
    if (interrupted()) {
      stopped = true;
      break;
    }
    if (stop_sending && !failed_file) break;  // nowhere to keep the rest: stop reading
    if (limit && read >= static_cast<std::uint64_t>(limit)) break;
    try {
      if (!next_record(raw)) break;
    } catch (const Error&) {  // malformed input, a read error, Ctrl-C on a stalled pipe
      input_error = std::current_exception();
      break;
    }
    if (raw.number <= skip) {
      ++skipped;
      prefix.settle(raw.number, Prefix::other);
      continue;
    }
    ++read;
    if (rate && !sorter && !stop_sending) {
      // Pace against the start: record k leaves no earlier than k / rate seconds after t0.
      if (!wait_until(after(t0, static_cast<double>(read - 1) / static_cast<double>(rate)))) {
        ++not_sent;
        stopped = true;
        break;
      }
    }
    std::string error;
    std::string_view text = raw.text;
    const simdjson::dom::element* v = parser.parse(text, &error);
    if (!v) {
      reject(raw.number, raw.line, text, error);
      continue;
    }
    // A line of a dead-letter or failed file: the record is its text.
    std::optional<PossiblyDelivered> possibly_delivered;
    if (std::optional<Unwrapped> u = unwrap(*v, rules)) {
      inner = std::move(u->text);
      text = inner;
      if (u->possibly && u->possibly->topic == topic) possibly_delivered = std::move(u->possibly);
      v = parser.parse(text, &error);
      if (!v) {
        reject(raw.number, raw.line, text, error);
        continue;
      }
    }
    if (envelopes) {
      std::string why = parse_envelope(*v, env, keep_partition);
      if (why.empty() && keep_partition) {
        if (*env.partition >= topic_partitions)
          why = "envelope partition " + std::to_string(*env.partition) + " is not a partition of '" + topic +
                "' (it has " + std::to_string(topic_partitions) + "; without --keep-partition the partitioner chooses)";
      }
      if (!why.empty()) {
        reject(raw.number, raw.line, text, why);
        continue;
      }
      if (possibly_delivered &&
          already_there(*possibly_delivered, [&](rd_kafka_message_t& m) { return same_message(m, env, extra_headers); })) {
        prefix.settle(raw.number, Prefix::delivered);
        continue;
      }
      if (stop_sending) {
        keep_unsent(raw.number, raw.line, kept_envelope(env, text, inner_kept));
        continue;
      }
      if (!send_envelope(env, text, raw.number, raw.line)) {
        stopped = true;
        break;
      }
      if ((read & 1023) == 0) {
        producer.poll(0);
        if (dl_producer) dl_producer->poll(0);
      }
      show_progress("");
      continue;
    }
    const Validated ok = validate_record(*v, rules);
    if (!ok.ok()) {
      reject(raw.number, raw.line, text, ok.reason);
      continue;
    }
    // The record's own tokens, whitespace removed (validated above on the text as written: a
    // token split by whitespace is invalid there, not joined).
    if (text.data() == raw.text.data())
      value.assign(raw.compact);
    else
      compact_json(text, value);
    if (possibly_delivered && already_there(*possibly_delivered, [&](rd_kafka_message_t& m) {
          return m.payload && std::string_view(static_cast<const char*>(m.payload), m.len) == value;
        })) {
      // An earlier run sent this record without an answer and the topic has it: not sent again.
      prefix.settle(raw.number, Prefix::delivered);
      continue;
    }
    const std::optional<std::string_view> key =
        rules.key_field.empty() ? std::nullopt : std::optional<std::string_view>(ok.key);
    if (sorter) {
      try {
        sorter->add(ok.event_ms, raw.number, key, value);
      } catch (const Error&) {  // the temporary file: nothing can be sent in order
        sort_error = std::current_exception();
        ++not_sent;
        break;
      }
      if ((read & 1023) == 0) producer.poll(0);
      show_progress(", sorting by event time");
      continue;
    }
    if (stop_sending) {
      keep_unsent(raw.number, raw.line, value);
      continue;
    }
    if (speedup && !wait_until(replay_due(ok.event_ms))) {
      ++not_sent;
      stopped = true;
      break;
    }
    if (!send(key, value, raw.number, raw.line)) {
      stopped = true;  // interrupted while the local queue was full: this record was not sent
      break;
    }
    if ((read & 1023) == 0) {
      producer.poll(0);
      if (dl_producer) dl_producer->poll(0);
    }
    show_progress("");
  }

  // --order event-time: send the sorted records (also those read before malformed input).
  if (sorter) {
    const std::uint64_t sorted = sorter->records();
    std::uint64_t taken = 0;  // records taken out of the sorter (sent, or kept as not sent)
    if (!stopped && !sort_error) {
      try {
        sorter->finish();
        if (config.verbosity >= 1)
          std::fprintf(stderr, "sfcrime: sorted %llu records by event time %s\n",
                       static_cast<unsigned long long>(sorted),
                       sorter->runs_spilled() == 0
                           ? "in memory"
                           : ("in " + std::to_string(sorter->runs_spilled()) + " runs, " +
                              std::to_string(sorter->bytes_spilled() / 1000000) + " MB spilled to '" +
                              sorter->tmp_dir() + "'")
                                 .c_str());
        const auto send_t0 = Clock::now();
        std::uint64_t sent = 0;
        SortedRecord rec;
        for (;;) {
          if (interrupted()) {
            stopped = true;
            break;
          }
          if (stop_sending && !failed_file) break;
          if (!sorter->next(rec)) break;
          ++taken;
          if (stop_sending) {
            keep_unsent(rec.number, std::nullopt, rec.value);
            continue;
          }
          Clock::time_point due = rate ? after(send_t0, static_cast<double>(sent) / static_cast<double>(rate)) : send_t0;
          if (speedup) due = std::max(due, replay_due(rec.event_ms));
          if (!wait_until(due)) {
            ++not_sent;
            stopped = true;
            break;
          }
          if (!send(rec.key, rec.value, rec.number, std::nullopt)) {
            stopped = true;
            break;
          }
          if ((++sent & 1023) == 0) producer.poll(0);
          show_progress(", sending in event-time order");
        }
      } catch (const Error&) {
        sort_error = std::current_exception();
      }
    }
    // Records still in the sorter were read and are not sent (Ctrl-C, a sort error, or sending
    // stopped without a failed file).
    not_sent += sorted - taken;
  }
  sorter.reset();  // closes the temporary file now: its space is freed before the wait below
  if (!stopped && !input_error && !sort_error) show_progress("", true);  // the input read to its end: 100 %
  progress.clear();

  // Wait for every delivery report, of the dead-letter topic too. librdkafka gives up on a
  // message after message.timeout.ms (120 s by sfcrime's default) and reports it failed, so this
  // loop ends; a second Ctrl-C exits at once. After Ctrl-C the wait is bounded by --timeout as
  // well (the user asked to stop), and the records still without a report are counted as unknown.
  std::optional<Clock::time_point> give_up;
  bool purged = false, dl_purged = false;
  // A fatal error, whether a send() saw it or it came while the records waited in the queue:
  // librdkafka may keep the queued records until message.timeout.ms; fail them now and say why.
  // (librdkafka purges some of them itself, so the wait below may end before this sees the error:
  // it is asked once more after the wait.)
  auto on_fatal_error = [&] {
    if (!purged) {
      if (const std::string why = producer.fatal_error(); !why.empty()) {
        if (!fatal_error) fatal_error = std::make_exception_ptr(UnavailableError("the producer hit a fatal error: " + why));
        producer.purge();
        producer.poll(0);  // the purged records' reports: counted as failed, kept in --failed-file
        purged = true;
      }
    }
    if (dl_producer && !dl_purged && !dl_producer->fatal_error().empty()) {
      dl_producer->purge();
      dl_producer->poll(0);
      dl_purged = true;
    }
  };
  for (;;) {
    on_fatal_error();
    int left = producer.flush(dl_producer ? 250 : 500);
    if (dl_producer) left += dl_producer->flush(250);
    if (left == 0) break;
    if (config.verbosity >= 1) std::fprintf(stderr, "sfcrime: waiting for %d delivery reports\n", left);
    if (interrupted()) {
      if (!give_up) give_up = Clock::now() + config.timeout;
      if (Clock::now() >= *give_up) break;
    }
  }
  on_fatal_error();
  const std::uint64_t unknown = static_cast<std::uint64_t>(producer.in_flight());
  const std::uint64_t dl_unknown = dl_producer ? static_cast<std::uint64_t>(dl_producer->in_flight()) : 0;
  if (dl_file) dl_file->close();
  if (failed_file) failed_file->close();

  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const kafka::DeliveryStats& s = producer.stats();
  std::string extra;
  if (not_sent) extra += ", " + std::to_string(not_sent) + " not sent";
  if (already) extra += ", " + std::to_string(already) + " already in the topic";
  std::string tail;
  if (unknown) tail += ", " + std::to_string(unknown) + " without a delivery report";
  if (skipped) tail += "; " + std::to_string(skipped) + " skipped";
  if (dl_producer)
    tail += "; " + std::to_string(dl_producer->stats().delivered) + " kept in dead-letter topic '" + *dl_topic + "'";
  if (dl_file) tail += "; " + std::to_string(dl_file->kept()) + " kept in dead-letter file '" + dl_file->path() + "'";
  if (failed_file)
    tail += "; " + std::to_string(failed_file->kept()) + " kept in failed file '" + failed_file->path() + "'";
  std::fprintf(stderr,
               "sfcrime produce: %llu read, %llu sent, %llu rejected, %llu failed%s, %.1f MB, %.2f s, %.0f records/s%s%s\n",
               static_cast<unsigned long long>(read), static_cast<unsigned long long>(s.delivered),
               static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(s.failed), extra.c_str(),
               static_cast<double>(s.bytes) / 1e6, secs, secs > 0 ? static_cast<double>(s.delivered) / secs : 0.0,
               stopped ? " (interrupted)" : "", tail.c_str());
  if (checked)
    std::fprintf(stderr,
                 "sfcrime: %s possibly delivered by an earlier run: %llu found in '%s' and not sent again, %llu sent\n",
                 plural(checked, "record was", "records were").c_str(), static_cast<unsigned long long>(already),
                 topic.c_str(), static_cast<unsigned long long>(checked - already));

  // The errors, most important first: 130/143, 74, 69, 65. The first is thrown; the others are
  // printed before it so that nothing is left unsaid.
  std::vector<std::exception_ptr> errors;
  const std::uint64_t k = prefix.k();
  // The options that shape what is sent, for the resume command.
  std::string resume_key = (rules.key_field == "crime_id" ? "" : " --key " + shell_word(rules.key_field)) +
                           (order == Order::event_time ? " --order event-time" : "");
  if (envelopes) {
    // The failed file's envelopes were rebuilt from the messages: they hold the -H headers already.
    resume_key += " --input-format envelope";
    if (keep_partition) resume_key += " --keep-partition";
  }
  std::string secret_headers;  // -H values not repeated in the resume command
  if (!envelopes)
    for (const kafka::Header& h : extra_headers) {
      const bool secret = secret_header(h.name);
      resume_key += " -H " + shell_word(h.name + "=" + (secret ? "[redacted]" : *h.value));
      if (secret) secret_headers += (secret_headers.empty() ? "" : ", ") + shell_word(h.name);
    }
  for (const auto& [property, v] : producer_props)
    resume_key += (property == "partitioner" ? " --partitioner " : " -z ") + shell_word(v);
  if (stopped || interrupted()) {
    std::string m = "interrupted after " + std::to_string(read) + " records";
    if (k > skip) m += " (records 1.." + std::to_string(k) + " were all delivered or rejected)";
    errors.push_back(std::make_exception_ptr(InterruptedError(m)));
  }
  if (sort_error) errors.push_back(sort_error);
  auto file_lost = [&](const LineFile& f, const std::string& what) {
    return std::make_exception_ptr(IoError(
        plural(f.lost(), "record", "records") + " could not be written to the " + what + " '" + f.path() +
        "' and are not kept anywhere" + (f.error().empty() ? "" : ": " + f.error()) + " (" + std::to_string(f.kept()) +
        " kept there)"));
  };
  if (dl_file && (dl_file->lost() || !dl_file->error().empty())) errors.push_back(file_lost(*dl_file, "dead-letter file"));
  if (failed_file && (failed_file->lost() || !failed_file->error().empty()))
    errors.push_back(file_lost(*failed_file, "failed file"));
  if (s.failed > 0 || fatal_error) {
    std::string causes;
    for (const auto& [err, n] : failure_causes)
      causes += (causes.empty() ? "" : ", ") + std::to_string(n) + " " + rd_kafka_err2str(err);
    std::string m = plural(s.failed, "record was", "records were") + " not delivered to '" + topic + "'";
    if (!causes.empty()) m += " (" + causes + ")";
    if (fatal_error) {
      try {
        std::rethrow_exception(fatal_error);
      } catch (const Error& e) {
        m += " after " + std::string(e.what());
      }
    }
    if (possibly) m += "; " + std::to_string(possibly) + " of them were sent without an answer and may be there";
    if (not_sent) m += "; sending stopped after the first failure, " + std::to_string(not_sent) + " not sent";
    m += "; " + std::to_string(s.delivered) + " delivered";
    m += k > skip ? "; records 1.." + std::to_string(k) + " were all delivered or rejected"
                  : "; record " + std::to_string(skip + 1) + " was not delivered";
    if (failed_file && failed_file->lost() == 0 && failed_file->error().empty()) {
      m += "; the " + plural(s.failed + not_sent, "record", "records") + " not delivered are kept in '" +
           failed_file->path() + "': resume exactly with: sfcrime produce --topic " + shell_word(topic) + " --file " +
           shell_word(failed_file->path()) + resume_key;
      if (possibly) m += " (it first looks for the " + std::to_string(possibly) + " in the topic)";
      if (!secret_headers.empty())
        m += " (with the value of -H " + secret_headers + " given again in place of [redacted]: it is not repeated here)";
    } else {
      const std::uint64_t d = prefix.delivered_after();
      m += "; resume with --skip " + std::to_string(k);
      if (d) m += ", which sends again the " + plural(d, "record", "records") + " after " + std::to_string(k) + " that were delivered";
      if (possibly)
        m += (d ? " and maybe the " : ", which may send again the ") + std::to_string(possibly) + " sent without an answer";
      if (!failed_file) m += "; --failed-file F keeps the records not delivered, for an exact resume";
    }
    if (unknown) m += "; " + std::to_string(unknown) + " without a delivery report may or may not be there";
    errors.push_back(std::make_exception_ptr(UnavailableError(m)));
  }
  if (dl_producer) {
    const std::uint64_t lost = dl_producer->stats().failed + dl_not_sent + dl_unknown;
    if (lost)
      errors.push_back(std::make_exception_ptr(UnavailableError(
          plural(lost, "rejected record was", "rejected records were") + " not kept in dead-letter topic '" + *dl_topic +
          "' (" + std::to_string(dl_producer->stats().delivered) + " kept; see the errors above" +
          (dl_file ? "; the dead-letter file has them" : "") + ")")));
  }
  if (input_error) errors.push_back(input_error);
  if (rejected > 0) {
    std::string m = std::to_string(rejected) + " of " + std::to_string(read) + " records were rejected";
    if (dl_producer || dl_file) m += " (the summary says where they are kept)";
    errors.push_back(std::make_exception_ptr(DataError(m)));
  }
  if (errors.empty()) return 0;
  for (std::size_t i = 1; i < errors.size(); ++i) {
    try {
      std::rethrow_exception(errors[i]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sfcrime: error: %s\n", e.what());
    }
  }
  std::rethrow_exception(errors.front());
}

}  // namespace sfcrime::commands
