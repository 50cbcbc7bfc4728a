#include "sfcrime/pipeline/produce.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/kafka/delivered_check.hpp"
#include "sfcrime/kafka/envelope.hpp"
#include "sfcrime/pipeline/pacer.hpp"
#include "sfcrime/pipeline/produce_ledger.hpp"
#include "sfcrime/records/event_sort.hpp"
#include "sfcrime/records/kept_file.hpp"
#include "sfcrime/records/reader.hpp"
#include "sfcrime/records/record.hpp"

namespace sfcrime {

namespace {

using Clock = std::chrono::steady_clock;
using Order = ProduceOptions::Order;

constexpr std::uint64_t kShownRejects = 100;  // rejected records printed one by one; the rest are counted
constexpr const char* kNotSent = "not sent: sending stopped after a delivery failure";
constexpr const char* kInterrupted = "not sent: interrupted";

/// True for a header whose value is a secret, not to be echoed in messages: its name contains
/// "auth", "token", "password" or "secret", in any case (Authorization, X-Auth-Token, ...).
bool secret_header(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"auth", "token", "password", "secret"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

/// mkdir -p `path` with mode 0700; errors are left to the file's creation to report.
void make_directories(const std::string& path) {
  for (std::size_t at = 1; at != std::string::npos; at = path.find('/', at + 1)) ::mkdir(path.substr(0, at).c_str(), 0700);
  ::mkdir(path.c_str(), 0700);
}

/// A problem the run ends with: its exit status and message (the most important is thrown last).
struct Problem {
  Exit code;
  std::string message;
};

Problem problem_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& x) {
    return {x.code(), x.what()};
  } catch (const std::exception& x) {
    return {Exit::software, x.what()};
  }
}

/// One run of `sfcrime produce`: its state, and its steps as methods (read, validate, send, drain,
/// report).
class ProduceRun {
 public:
  ProduceRun(const ProduceOptions& o, const Config& config);
  int run();

 private:
  // --- steps
  void connect();
  void read_input();
  void send_sorted();
  void drain();
  int report();

  // --- one record
  // Handles record `raw` of the input; false stops reading (interrupted while sending).
  bool take(const RawRecord& raw);
  bool take_envelope(const RawRecord& raw, std::string_view text, const std::optional<PossiblyDelivered>& possibly);
  bool take_record(const RawRecord& raw, std::string_view text, const std::optional<PossiblyDelivered>& possibly);
  // Hands one message to the producer; false when interrupted (not sent, counted).
  bool send(const kafka::OutMessage& m, std::uint64_t number, std::optional<std::uint64_t> line, std::string_view kept_text);
  void reject(std::uint64_t number, std::optional<std::uint64_t> line, std::string_view text, const std::string& reason);
  // A valid record not sent: kept in the failed file (made when needed), counted as not sent.
  void keep_unsent(std::uint64_t number, std::optional<std::uint64_t> line, std::string_view text, const char* why);
  void on_report(const kafka::DeliveryReport& r);
  bool already_there(const PossiblyDelivered& p, const EnvelopeMessage* e, std::string_view value);

  // --- the report: what became of the run, the summary line, the problems, how to resume
  struct Outcome {
    std::uint64_t unknown = 0, dl_unknown = 0;  // still without a delivery report
    std::uint64_t k = 0;                        // records 1..k are all settled
    std::uint64_t kept = 0;                     // in the failed file
    bool skip_k = false;                        // --skip k resumes exactly (no failed file needed)
  };
  Outcome outcome();
  void print_summary(const Outcome& r) const;
  std::vector<Problem> problems(const Outcome& r) const;
  std::string kept_where(const Outcome& r) const;
  std::string resume_text(const Outcome& r) const;

  // --- helpers
  KeptFile* failed_file();  // the --failed-file, or one made now (not open when none can be made)
  bool wait_until(Clock::time_point due);
  void poll_producers();
  void show_progress(const char* phase, bool force = false);
  void on_fatal_error();
  bool keeps_the_rest() const { return failed_explicit_; }  // after a failure, read on into the failed file
  // The options of the resume command; `input`: for the part that reads the input again (with
  // --input-format envelope it repeats -H, which the failed file's envelopes hold already).
  std::string resume_options(bool input) const;

  const ProduceOptions& o_;
  const Config& config_;
  RecordRules rules_;
  const Clock::time_point t0_ = Clock::now();

  // input
  std::unique_ptr<RecordReader> direct_owner_;
  RecordReader* direct_ = nullptr;
  std::unique_ptr<ReadAheadReader> ahead_;
  std::optional<std::uint64_t> input_size_;
  bool input_done_ = false;
  RecordParser parser_;
  EnvelopeMessage env_;
  std::string value_, inner_;
  std::unique_ptr<EventTimeSorter> sorter_;
  bool sending_started_ = false;  // a record was handed to the producer

  // output
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Producer> dl_producer_;
  int topic_partitions_ = 0;
  std::unique_ptr<KeptFile> dl_file_;
  std::unique_ptr<KeptFile> failed_;
  bool failed_explicit_ = false;
  std::vector<std::int64_t> last_acked_;           // per partition: offset of the last message acknowledged
  std::map<std::int32_t, std::int64_t> own_first_;  // partition -> first offset this run wrote there
  std::unordered_map<std::uint64_t, std::int64_t> timestamps_in_flight_;  // envelopes' own timestamps
  std::unique_ptr<kafka::DeliveredCheck> check_;
  Pacer pacer_;
  ProgressLine progress_;

  // accounts
  ProduceCounts n_;
  SettledPrefix prefix_;
  std::uint64_t failures_shown_ = 0, dl_failures_shown_ = 0, dl_not_sent_ = 0, kept_possibly_ = 0;
  bool dl_fatal_ = false;
  bool stop_sending_ = false;  // a delivery failed: send nothing more
  bool stopped_ = false;       // interrupted
  bool purged_ = false, dl_purged_ = false;
  std::exception_ptr fatal_error_, input_error_, sort_error_;
};

ProduceRun::ProduceRun(const ProduceOptions& o, const Config& config)
    : o_(o), config_(config), pacer_(o.rate, o.speedup), progress_(o.progress) {
  rules_.key_field = o.key_field;
  // Opened before connecting: a missing file is reported at once. Each record's compact form
  // comes from the pass that finds its end. A regular file is read ahead in a thread of its own
  // (reading a pipe may wait for its writer: that stays in this thread, where Ctrl-C reaches it).
  auto reader = std::make_unique<RecordReader>(o.file);
  reader->set_compact(true);
  if (reader->regular_file()) {
    ahead_ = std::make_unique<ReadAheadReader>(std::move(reader));
  } else {
    direct_owner_ = std::move(reader);
    direct_ = direct_owner_.get();
  }
  struct stat st {};
  if ((o.file == "-" ? ::fstat(STDIN_FILENO, &st) : ::stat(o.file.c_str(), &st)) == 0 && S_ISREG(st.st_mode))
    input_size_ = static_cast<std::uint64_t>(st.st_size);
  if (o.order == Order::event_time) sorter_ = std::make_unique<EventTimeSorter>();
}

int ProduceRun::run() {
  connect();
  read_input();
  if (sorter_) send_sorted();
  sorter_.reset();  // closes the temporary file now: its space is freed before the wait below
  if (!stopped_ && !input_error_ && !sort_error_) show_progress("", true);  // the input read to its end: 100 %
  progress_.clear();
  drain();
  return report();
}

void ProduceRun::connect() {
  producer_ = std::make_unique<kafka::Producer>(config_, o_.topic,
                                                [this](const kafka::DeliveryReport& r) { on_report(r); });
  if (o_.keep_partition) topic_partitions_ = producer_->partition_count(o_.topic);
  if (o_.dead_letter_topic)
    dl_producer_ = std::make_unique<kafka::Producer>(config_, *o_.dead_letter_topic, [this](const kafka::DeliveryReport& r) {
      if (!r.delivered() && ++dl_failures_shown_ <= kShownRejects)
        std::fprintf(stderr, "sfcrime: rejected record %llu not kept in '%s': %s\n",
                     static_cast<unsigned long long>(r.record), o_.dead_letter_topic->c_str(), r.error_text);
    });
  // Created (or truncated) once the broker answered, so that a run that cannot connect leaves
  // the files of an earlier run as they were.
  if (o_.dead_letter_file) {
    dl_file_ = std::make_unique<KeptFile>(*o_.dead_letter_file, "dead-letter file");
    dl_file_->open();
  }
  if (o_.failed_file) {
    failed_ = std::make_unique<KeptFile>(*o_.failed_file, "failed file");
    failed_->open();
    failed_explicit_ = true;
  }
  // Per partition, the offset of the last message acknowledged (before any, the high watermark at
  // start - 1): where a record sent without an answer would be.
  // Without --failed-file they are asked for only if they answer now: a partition whose leader is
  // down must not stop a run that would deliver the others (its records are then kept without
  // where they may be, and the made failed file is not removed).
  const int parts = producer_->partition_count(o_.topic);
  try {
    for (int p = 0; p < parts; ++p) last_acked_.push_back(producer_->watermarks(o_.topic, p).high - 1);
  } catch (const UnavailableError&) {
    if (failed_explicit_) throw;
    last_acked_.clear();
  }
}

KeptFile* ProduceRun::failed_file() {
  if (failed_) return failed_.get();
  // No --failed-file: one is made now, so that the run can be resumed exactly, where the XDG Base
  // Directory spec keeps state that outlives a run ($XDG_STATE_HOME, default ~/.local/state), else
  // in $TMPDIR (/tmp).
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  const std::string stem = "failed-" + o_.topic + "-" + stamp;
  std::vector<std::string> dirs;
  const char* state = std::getenv("XDG_STATE_HOME");
  const char* home = std::getenv("HOME");
  if (state && *state == '/')
    dirs.push_back(std::string(state) + "/sfcrime");
  else if (home && *home)
    dirs.push_back(std::string(home) + "/.local/state/sfcrime");
  const char* tmp = std::getenv("TMPDIR");
  dirs.push_back(tmp && *tmp ? tmp : "/tmp");
  auto f = std::make_unique<KeptFile>("", "failed file");
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    // The state directory may not exist yet (mkdir -p, mode 0700 as the spec asks).
    if (i + 1 < dirs.size()) make_directories(dirs[i]);
    if (f->create_new(dirs[i], stem)) {
      failed_ = std::move(f);
      return failed_.get();
    }
  }
  // None can be made: what it would hold counts as lost, and the report says so.
  failed_ = std::move(f);
  return failed_.get();
}

void ProduceRun::on_report(const kafka::DeliveryReport& r) {
  std::optional<std::int64_t> create_time;
  if (!timestamps_in_flight_.empty())
    if (const auto it = timestamps_in_flight_.find(r.record); it != timestamps_in_flight_.end()) {
      create_time = it->second;
      timestamps_in_flight_.erase(it);
    }
  const bool known_partition = r.partition >= 0 && static_cast<std::size_t>(r.partition) < last_acked_.size();
  if (r.delivered()) {
    prefix_.settle(r.record, SettledPrefix::delivered);
    if (r.partition >= 0 && r.offset >= 0) {
      auto [it, fresh] = own_first_.try_emplace(r.partition, r.offset);
      if (!fresh) it->second = std::min(it->second, r.offset);
    }
    if (known_partition) last_acked_[r.partition] = std::max(last_acked_[r.partition], r.offset);
    return;
  }
  // Purged after Ctrl-C or a fatal error: the stop is reported once, not per record.
  if (!r.purged && ++failures_shown_ <= kShownRejects)
    std::fprintf(stderr, "sfcrime: record %llu not delivered: %s\n", static_cast<unsigned long long>(r.record),
                 r.error_text);
  else if (!r.purged && failures_shown_ == kShownRejects + 1)
    std::fprintf(stderr, "sfcrime: more records not delivered; only the count is reported from now on\n");
  if (!r.message_specific) stop_sending_ = true;
  ++n_.failure_causes[r.error_text];
  if (r.possibly_written) ++n_.possibly;
  KeptFile* f = failed_file();
  if (!f) return;
  PossiblyDelivered p{o_.topic, r.partition, known_partition ? last_acked_[r.partition] : -1};
  const bool possibly = r.possibly_written && known_partition;
  if (possibly) ++kept_possibly_;
  std::string text(r.value);
  if (o_.envelopes) {
    // Keep the whole message (key, headers with -H's, timestamp), not only its value.
    text.clear();
    append_envelope(r, o_.topic, text, create_time);
    if (!text.empty()) text.pop_back();  // the newline
  }
  f->write(kept_line(r.record, std::nullopt, std::string("not delivered: ") + r.error_text, text,
                     possibly ? &p : nullptr));
}

void ProduceRun::reject(std::uint64_t number, std::optional<std::uint64_t> line, std::string_view text,
                        const std::string& reason) {
  ++n_.rejected;
  prefix_.settle(number, SettledPrefix::other);
  if (n_.rejected <= kShownRejects)
    std::fprintf(stderr, "sfcrime: record %llu (line %llu) rejected: %s\n", static_cast<unsigned long long>(number),
                 static_cast<unsigned long long>(line.value_or(0)), reason.c_str());
  else if (n_.rejected == kShownRejects + 1)
    std::fprintf(stderr, "sfcrime: more records rejected; only the count is reported from now on\n");
  if (dl_file_) dl_file_->write(kept_line(number, line, reason, text));
  if (!dl_producer_) return;
  if (dl_fatal_) {
    ++dl_not_sent_;
    return;
  }
  const std::string record = std::to_string(number), line_text = line ? std::to_string(*line) : std::string();
  const std::vector<kafka::Header> headers = {
      {"sfcrime.reject.reason", reason},
      {"sfcrime.reject.record", record},
      {"sfcrime.reject.line", line_text},
      {"sfcrime.source.file", o_.file},
  };
  try {
    if (!dl_producer_->send({.value = text, .headers = headers}, number)) ++dl_not_sent_;  // interrupted
  } catch (const Error& e) {  // a fatal producer error: nothing more can go there
    std::fprintf(stderr, "sfcrime: error: dead-letter topic '%s': %s\n", o_.dead_letter_topic->c_str(), e.what());
    ++dl_not_sent_;
    dl_fatal_ = true;
  }
}

void ProduceRun::keep_unsent(std::uint64_t number, std::optional<std::uint64_t> line, std::string_view text,
                             const char* why) {
  ++n_.not_sent;
  if (KeptFile* f = failed_file()) f->write(kept_line(number, line, why, text));
}

bool ProduceRun::send(const kafka::OutMessage& m, std::uint64_t number, std::optional<std::uint64_t> line,
                      std::string_view kept_text) {
  sending_started_ = true;
  try {
    if (producer_->send(m, number)) return true;
    timestamps_in_flight_.erase(number);
    ++n_.not_sent;  // interrupted while the local queue was full: this record was not sent
    return false;
  } catch (const UnavailableError&) {  // fatal: the queued records fail with it; keep this one
    timestamps_in_flight_.erase(number);
    fatal_error_ = std::current_exception();
    stop_sending_ = true;
    keep_unsent(number, line, kept_text, kNotSent);
    return true;
  }
}

bool ProduceRun::already_there(const PossiblyDelivered& p, const EnvelopeMessage* e, std::string_view value) {
  ++n_.checked;
  if (!check_)
    check_ = std::make_unique<kafka::DeliveredCheck>(config_, o_.topic, [this](std::int32_t partition) {
      // Settle what this run sent so far, so that its offsets are known.
      while (producer_->flush(500) > 0 && !interrupted()) {
      }
      const auto it = own_first_.find(partition);
      return it == own_first_.end() ? std::numeric_limits<std::int64_t>::max() : it->second;
    });
  const bool found = e ? check_->has_message(p.partition, p.after_offset, *e, o_.headers)
                       : check_->has_value(p.partition, p.after_offset, value);
  if (found) ++n_.already;
  return found;
}

void ProduceRun::poll_producers() {
  producer_->poll(0);
  if (dl_producer_) dl_producer_->poll(0);
}

bool ProduceRun::wait_until(Clock::time_point due) {
  // Serves delivery reports, waking at least every 50 ms for Ctrl-C.
  while (Clock::now() < due) {
    if (interrupted()) return false;
    poll_producers();
    std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::milliseconds(50)));
  }
  return !interrupted();
}

void ProduceRun::read_input() {
  RawRecord raw;
  for (;;) {
    if (o_.limit && n_.read >= o_.limit) {
      input_done_ = true;
      break;
    }
    if (interrupted()) {
      stopped_ = true;
      break;
    }
    // After a failure the rest is read on into an explicit failed file; else reading stops, and
    // the resume command takes the input up again after the last record read.
    if (stop_sending_ && !keeps_the_rest() && !sorter_) break;
    try {
      if (!(ahead_ ? ahead_->next(raw) : direct_->next(raw))) {
        // A pipe's writer that Ctrl-C ended too (xz -dc | sfcrime produce) ends the input early:
        // then the run stopped, and the resume command reads the input again.
        if (interrupted() && !ahead_)
          stopped_ = true;
        else
          input_done_ = true;
        break;
      }
    } catch (const Error&) {  // malformed input, a read error, Ctrl-C on a stalled pipe
      // Ctrl-C while a pipe was read (the read, or its writer cut short by the same signal) is a
      // stop, not bad input: the resume command takes the input up after the last record read.
      if (interrupted())
        stopped_ = true;
      else
        input_error_ = std::current_exception();
      break;
    }
    n_.last_read = raw.number;
    if (raw.number <= o_.skip) {
      ++n_.skipped;
      prefix_.settle(raw.number, SettledPrefix::other);
      continue;
    }
    ++n_.read;
    if (raw.too_large) {
      reject(raw.number, raw.line, raw.text, too_large_reason(raw.text.size()));
      continue;
    }
    if (pacer_.rate_limited() && !sorter_ && !stop_sending_ && !wait_until(pacer_.due(n_.read - 1, std::nullopt))) {
      // Pace against the start: interrupted before this record was looked at.
      --n_.read;
      n_.last_read = raw.number - 1;
      stopped_ = true;
      break;
    }
    bool taken = false;
    try {
      taken = take(raw);
    } catch (const InterruptedError&) {  // Ctrl-C while the topic was checked for this record
      ++n_.not_sent;
    } catch (const Error&) {  // the broker went away (or the topic) while the topic was checked
      ++n_.not_sent;
      fatal_error_ = std::current_exception();
      stop_sending_ = true;
    }
    if (!taken) {
      if (sort_error_) break;
      // Stopped before this record was handed over: the resume command reads it again.
      n_.last_read = raw.number - 1;
      stopped_ = stopped_ || !fatal_error_ || interrupted();
      break;
    }
    if ((n_.read & 1023) == 0) poll_producers();
  }
}

bool ProduceRun::take(const RawRecord& raw) {
  std::string error;
  std::string_view text = raw.text;
  const simdjson::dom::element* v = parser_.parse(text, &error);
  if (!v) {
    reject(raw.number, raw.line, text, error);
    return true;
  }
  // A line of a dead-letter or failed file: the record is its text.
  std::optional<PossiblyDelivered> possibly;
  if (std::optional<KeptRecord> k = read_kept_line(*v, rules_)) {
    inner_ = std::move(k->text);
    text = inner_;
    if (k->possibly && k->possibly->topic == o_.topic) possibly = std::move(k->possibly);
    v = parser_.parse(text, &error);
    if (!v) {
      reject(raw.number, raw.line, text, error);
      return true;
    }
  }
  if (o_.envelopes) {
    std::string why = parse_envelope(*v, env_, o_.keep_partition);
    if (why.empty() && o_.keep_partition && *env_.partition >= topic_partitions_)
      why = "envelope partition " + std::to_string(*env_.partition) + " is not a partition of '" + o_.topic +
            "' (it has " + std::to_string(topic_partitions_) + "; without --keep-partition the partitioner chooses)";
    if (!why.empty()) {
      reject(raw.number, raw.line, text, why);
      return true;
    }
    return take_envelope(raw, text, possibly);
  }
  const Validated ok = validate_record(*v, rules_);
  if (!ok.ok()) {
    reject(raw.number, raw.line, text, ok.reason);
    return true;
  }
  // The record's own tokens, whitespace removed (validated above on the text as written: a token
  // split by whitespace is invalid there, not joined).
  if (text.data() == raw.text.data())
    value_.assign(raw.compact);
  else
    compact_json(text, value_);
  if (possibly && already_there(*possibly, nullptr, value_)) {
    // An earlier run sent this record without an answer and the topic has it: not sent again.
    prefix_.settle(raw.number, SettledPrefix::delivered);
    return true;
  }
  const std::optional<std::string_view> key =
      rules_.key_field.empty() ? std::nullopt : std::optional<std::string_view>(ok.key);
  if (sorter_) {
    try {
      sorter_->add(ok.event_ms, raw.number, key, value_);
    } catch (const Error&) {  // the temporary file: nothing can be sent in order
      sort_error_ = std::current_exception();
      ++n_.not_sent;
      return false;
    }
    show_progress(", sorting by event time");
    return true;
  }
  if (stop_sending_) {
    keep_unsent(raw.number, raw.line, value_, kNotSent);
    return true;
  }
  if (pacer_.replaying() && !wait_until(pacer_.due(n_.read - 1, ok.event_ms))) {
    ++n_.not_sent;
    return false;
  }
  if (!send({.key = key, .value = value_, .headers = o_.headers}, raw.number, raw.line, value_)) return false;
  show_progress("");
  return true;
}

bool ProduceRun::take_envelope(const RawRecord& raw, std::string_view text,
                               const std::optional<PossiblyDelivered>& possibly) {
  if (possibly && already_there(*possibly, &env_, {})) {
    prefix_.settle(raw.number, SettledPrefix::delivered);
    return true;
  }
  // The message as it was, with the -H headers after its own.
  std::vector<kafka::Header> headers = env_.headers;
  headers.insert(headers.end(), o_.headers.begin(), o_.headers.end());
  // The envelope kept when the message is not sent: as read, or rebuilt with the -H headers (a
  // failed file is resumed without -H: its envelopes hold the messages as they were sent).
  std::string kept;
  if (o_.headers.empty()) {
    kept = text;
  } else {
    append_envelope(env_, o_.topic, kept, o_.headers);
    kept.pop_back();  // the newline
  }
  if (stop_sending_) {
    keep_unsent(raw.number, raw.line, kept, kNotSent);
    return true;
  }
  kafka::OutMessage m;
  m.key = env_.key;
  m.value = env_.value;
  m.headers = headers;
  m.timestamp_ms = env_.timestamp.value_or(0);  // 0: librdkafka stamps the time of sending
  m.partition = o_.keep_partition ? *env_.partition : -1;
  if (env_.timestamp) timestamps_in_flight_[raw.number] = *env_.timestamp;
  if (!send(m, raw.number, raw.line, kept)) return false;
  show_progress("");
  return true;
}

void ProduceRun::send_sorted() {
  const std::uint64_t sorted = sorter_->records();
  std::uint64_t taken = 0;  // records taken out of the sorter (sent, or kept as not sent)
  if (stopped_ || sort_error_) {
    // Nothing was sent in order yet: the records read are not sent, and the run resumes from the
    // start (resume_command's --skip is the original one).
    n_.not_sent += sorted;
    return;
  }
  try {
    sorter_->finish();
    if (config_.verbosity >= 1)
      std::fprintf(stderr, "sfcrime: sorted %llu records by event time %s\n", static_cast<unsigned long long>(sorted),
                   sorter_->runs_spilled() == 0
                       ? "in memory"
                       : ("in " + std::to_string(sorter_->runs_spilled()) + " runs, " +
                          std::to_string(sorter_->bytes_spilled() / 1000000) + " MB spilled to '" + sorter_->tmp_dir() + "'")
                             .c_str());
    pacer_.start(Clock::now());
    std::uint64_t sent = 0;
    SortedRecord rec;
    while (sorter_->next(rec)) {
      ++taken;
      // Once sending stopped (a failure, Ctrl-C), the rest goes to the failed file in event-time
      // order: resuming from it keeps that order.
      if (stop_sending_ || stopped_ || interrupted()) {
        stopped_ = stopped_ || interrupted();
        keep_unsent(rec.number, std::nullopt, rec.value, stopped_ ? kInterrupted : kNotSent);
        continue;
      }
      if (!wait_until(pacer_.due(sent, rec.event_ms))) {
        stopped_ = true;
        keep_unsent(rec.number, std::nullopt, rec.value, kInterrupted);
        continue;
      }
      if (!send({.key = rec.key, .value = rec.value, .headers = o_.headers}, rec.number, std::nullopt, rec.value)) {
        stopped_ = true;
        --n_.not_sent;  // counted by keep_unsent below
        keep_unsent(rec.number, std::nullopt, rec.value, kInterrupted);
        continue;
      }
      if ((++sent & 1023) == 0) producer_->poll(0);
      show_progress(", sending in event-time order");
    }
  } catch (const Error&) {
    sort_error_ = std::current_exception();
  }
  // Records still in the sorter (a sort error) were read and are not sent.
  n_.not_sent += sorted - taken;
}

void ProduceRun::on_fatal_error() {
  // A fatal error, whether a send() saw it or it came while the records waited in the queue:
  // librdkafka may keep the queued records until message.timeout.ms; fail them now and say why.
  if (!purged_) {
    if (const std::string why = producer_->fatal_error(); !why.empty()) {
      if (!fatal_error_) fatal_error_ = std::make_exception_ptr(UnavailableError("the producer hit a fatal error: " + why));
      producer_->purge();
      producer_->poll(0);  // the purged records' reports: counted as failed, kept in the failed file
      purged_ = true;
    }
  }
  if (dl_producer_ && !dl_purged_ && !dl_producer_->fatal_error().empty()) {
    dl_producer_->purge();
    dl_producer_->poll(0);
    dl_purged_ = true;
  }
}

void ProduceRun::drain() {
  // Waits for every delivery report, of the dead-letter topic too. librdkafka gives up on a
  // message after message.timeout.ms (120 s by sfcrime's default) and reports it failed, so this
  // ends; a second Ctrl-C exits at once. After Ctrl-C the wait is bounded by --timeout, then what
  // is still queued or in flight is purged: each gets its report (never sent, or sent without an
  // answer) and is kept in the failed file, so that nothing is left unaccounted for.
  std::optional<Clock::time_point> give_up;
  for (;;) {
    on_fatal_error();
    int left = producer_->flush(dl_producer_ ? 250 : 500);
    if (dl_producer_) left += dl_producer_->flush(250);
    if (left == 0) break;
    if (config_.verbosity >= 1) std::fprintf(stderr, "sfcrime: waiting for %d delivery reports\n", left);
    if (interrupted()) {
      if (!give_up) give_up = Clock::now() + config_.timeout;
      if (Clock::now() >= *give_up) break;
    }
  }
  on_fatal_error();
  if (producer_->in_flight() > 0 && !purged_) {
    producer_->purge();
    purged_ = true;
  }
  if (dl_producer_ && dl_producer_->in_flight() > 0 && !dl_purged_) {
    dl_producer_->purge();
    dl_purged_ = true;
  }
  // The purged messages' reports (served by a flush; bounded, the broker is not waited for).
  const auto until = Clock::now() + std::chrono::seconds(2);
  while ((producer_->flush(100) > 0 || (dl_producer_ && dl_producer_->flush(100) > 0)) && Clock::now() < until) {
  }
}

void ProduceRun::show_progress(const char* phase, bool force) {
  if (force ? !progress_.on() : !progress_.due()) return;
  const double secs = std::chrono::duration<double>(Clock::now() - t0_).count();
  const std::string rate = with_commas(static_cast<std::uint64_t>(secs > 0 ? static_cast<double>(n_.read) / secs : 0));
  const std::string rejects = n_.rejected ? ", " + with_commas(n_.rejected) + " rejected" : "";
  if (!input_size_ || *input_size_ == 0) {
    progress_.show("sfcrime produce: " + with_commas(n_.read) + " records, " + rate + " records/s, " +
                   with_commas(producer_->stats().delivered) + " sent" + rejects + phase);
    return;
  }
  // A regular file: [=====>    ]  45% 52.3/112.0 MB  234,567 records  120,345/s  ETA 0:03
  // The reader's position: every byte consumed, whitespace and brackets between records too.
  const std::uint64_t bytes_in = ahead_ ? ahead_->bytes_read() : direct_->bytes_read();
  const double f = std::min(1.0, static_cast<double>(bytes_in) / static_cast<double>(*input_size_));
  char head[64];
  std::snprintf(head, sizeof head, " %3.0f%% %.1f/%.1f MB  ", f * 100, static_cast<double>(bytes_in) / 1e6,
                static_cast<double>(*input_size_) / 1e6);
  const std::string info = head + with_commas(n_.read) + " records  " + rate + "/s  ETA " +
                           ProgressLine::clock(f > 0 ? secs * (1 - f) / f : -1) + rejects + phase;
  const int room = ProgressLine::columns() - 1 - static_cast<int>(info.size());
  progress_.show((room >= 10 ? ProgressLine::bar(f, std::min(room, 42)) : std::string()) + info);
}

std::string ProduceRun::resume_options(bool input) const {
  std::string s = (rules_.key_field == "crime_id" ? "" : " --key " + shell_word(rules_.key_field)) +
                  (o_.order == Order::event_time ? " --order event-time" : "");
  if (o_.envelopes) {
    s += " --input-format envelope";
    if (o_.keep_partition) s += " --keep-partition";
  }
  // The failed file's envelopes were rebuilt from the messages: they hold the -H headers already.
  if (!o_.envelopes || input)
    for (const kafka::Header& h : o_.headers)
      s += " -H " + shell_word(h.name + "=" + (secret_header(h.name) ? "[redacted]" : h.value.value_or("")));
  for (const auto& [option, v] : o_.producer_options) s += " --" + option + " " + shell_word(v);
  if (o_.rate) s += " --rate " + std::to_string(o_.rate);
  if (o_.speedup > 0) {
    char x[32];
    std::snprintf(x, sizeof x, "%.15g", o_.speedup);
    s += std::string(" --speedup ") + x;
  }
  return s;
}

ProduceRun::Outcome ProduceRun::outcome() {
  Outcome r;
  r.unknown = static_cast<std::uint64_t>(producer_->in_flight());
  r.dl_unknown = dl_producer_ ? static_cast<std::uint64_t>(dl_producer_->in_flight()) : 0;
  if (dl_file_) dl_file_->close();
  if (failed_) failed_->close();
  r.k = prefix_.k();
  r.kept = failed_ ? failed_->kept() : 0;
  // The failed file made for want of --failed-file is not needed when nothing after K reached
  // the topic: then `--skip K` resumes exactly, reading the input again.
  if (failed_ && !failed_explicit_ && failed_->whole() && !input_error_ && o_.order == Order::file &&
      prefix_.delivered_after() == 0 && n_.possibly == 0 && r.unknown == 0) {
    failed_->remove();
    r.skip_k = true;
  }
  return r;
}

void ProduceRun::print_summary(const Outcome& r) const {
  const kafka::DeliveryStats& s = producer_->stats();
  const double secs = std::chrono::duration<double>(Clock::now() - t0_).count();
  std::string extra;
  if (n_.not_sent) extra += ", " + std::to_string(n_.not_sent) + " not sent";
  if (n_.already) extra += ", " + std::to_string(n_.already) + " already in the topic";
  std::string tail;
  if (r.unknown) tail += ", " + std::to_string(r.unknown) + " without a delivery report";
  if (n_.skipped) tail += "; " + std::to_string(n_.skipped) + " skipped";
  if (dl_producer_)
    tail += "; " + std::to_string(dl_producer_->stats().delivered) + " kept in dead-letter topic '" +
            *o_.dead_letter_topic + "'";
  if (dl_file_) tail += "; " + std::to_string(dl_file_->kept()) + " kept in dead-letter file '" + dl_file_->path() + "'";
  if (failed_ && !r.skip_k) tail += "; " + std::to_string(r.kept) + " kept in failed file '" + failed_->path() + "'";
  std::fprintf(stderr,
               "sfcrime produce: %llu read, %llu sent, %llu rejected, %llu failed%s, %.1f MB, %.2f s, %.0f records/s%s%s\n",
               static_cast<unsigned long long>(n_.read), static_cast<unsigned long long>(s.delivered),
               static_cast<unsigned long long>(n_.rejected), static_cast<unsigned long long>(s.failed), extra.c_str(),
               static_cast<double>(s.bytes) / 1e6, secs, secs > 0 ? static_cast<double>(s.delivered) / secs : 0.0,
               stopped_ ? " (interrupted)" : "", tail.c_str());
  if (n_.checked)
    std::fprintf(stderr,
                 "sfcrime: %s possibly delivered by an earlier run: %llu found in '%s' and not sent again, %llu sent\n",
                 plural(n_.checked, "record was", "records were").c_str(), static_cast<unsigned long long>(n_.already),
                 o_.topic.c_str(), static_cast<unsigned long long>(n_.checked - n_.already));
}

std::string ProduceRun::kept_where(const Outcome& r) const {
  if (!r.kept || r.skip_k) return "";
  return "; the " + plural(r.kept, "record", "records") + " not sent or not delivered are kept in '" + failed_->path() +
         "'" + (failed_explicit_ ? "" : " (made because no --failed-file was given)");
}

std::vector<Problem> ProduceRun::problems(const Outcome& r) const {
  const kafka::DeliveryStats& s = producer_->stats();
  std::vector<Problem> out;
  if (stopped_ || interrupted()) {
    std::string m = "interrupted after " + std::to_string(n_.read) + " records";
    if (r.k > o_.skip && o_.order == Order::file)
      m += " (records 1.." + std::to_string(r.k) + " were all delivered or rejected)";
    out.push_back({interrupt_exit_code(), m + kept_where(r)});
  }
  if (sort_error_) out.push_back(problem_of(sort_error_));
  auto file_lost = [&](const KeptFile& f, const std::string& what) {
    return Problem{Exit::io, plural(f.lost(), "record", "records") + " could not be written to the " + what + " '" +
                                 f.path() + "' and are not kept anywhere" + (f.error().empty() ? "" : ": " + f.error()) +
                                 " (" + std::to_string(f.kept()) + " kept there)"};
  };
  if (dl_file_ && !dl_file_->whole()) out.push_back(file_lost(*dl_file_, "dead-letter file"));
  if (failed_ && !failed_->whole() && !r.skip_k) out.push_back(file_lost(*failed_, "failed file"));
  if (s.failed > 0 || fatal_error_) {
    std::string causes;
    for (const auto& [why, count] : n_.failure_causes) causes += (causes.empty() ? "" : ", ") + std::to_string(count) + " " + why;
    std::string m = s.failed > 0 ? plural(s.failed, "record was", "records were") + " not delivered to '" + o_.topic + "'"
                                 : "sending to '" + o_.topic + "' stopped";
    if (!causes.empty()) m += " (" + causes + ")";
    if (fatal_error_) m += (s.failed > 0 ? " after " : ": ") + problem_of(fatal_error_).message;
    if (n_.possibly) m += "; " + std::to_string(n_.possibly) + " of them were sent without an answer and may be there";
    if (n_.not_sent) m += "; sending stopped after the first failure, " + std::to_string(n_.not_sent) + " not sent";
    m += "; " + std::to_string(s.delivered) + " delivered";
    m += r.k > o_.skip ? "; records 1.." + std::to_string(r.k) + " were all delivered or rejected"
                       : "; record " + std::to_string(o_.skip + 1) + " was not delivered";
    out.push_back({Exit::unavailable, m + kept_where(r)});
  }
  if (dl_producer_) {
    const std::uint64_t lost = dl_producer_->stats().failed + dl_not_sent_ + r.dl_unknown;
    if (lost)
      out.push_back({Exit::unavailable, plural(lost, "rejected record was", "rejected records were") +
                                            " not kept in dead-letter topic '" + *o_.dead_letter_topic + "' (" +
                                            std::to_string(dl_producer_->stats().delivered) + " kept; see the errors above" +
                                            (dl_file_ ? "; the dead-letter file has them" : "") + ")"});
  }
  if (input_error_) out.push_back(problem_of(input_error_));
  if (n_.rejected > 0) {
    std::string m = std::to_string(n_.rejected) + " of " + std::to_string(n_.read) + " records were rejected";
    if (dl_producer_ || dl_file_) m += " (the summary says where they are kept)";
    out.push_back({Exit::data, m});
  }
  // Most important first: 130/143, 74, 69, 65.
  std::stable_sort(out.begin(), out.end(), [](const Problem& a, const Problem& b) {
    auto rank = [](Exit c) {
      return c == Exit::interrupted || c == Exit::terminated ? 0 : c == Exit::io ? 1 : c == Exit::unavailable ? 2 : 3;
    };
    return rank(a.code) < rank(b.code);
  });
  return out;
}

std::string ProduceRun::resume_text(const Outcome& r) const {
  const bool needed = stopped_ || interrupted() || producer_->stats().failed > 0 || fatal_error_ || n_.not_sent > 0 ||
                      r.unknown > 0;
  if (!needed) return "";
  std::string text;
  if (sort_error_ && sending_started_) {
    // The sort file failed while its records were sent: those not sent yet cannot be read back.
    return "; the sorted records not sent could not be read back from the sort file: resume by "
           "producing the input again (with --order event-time) into a new topic, or check what the topic holds";
  }
  if (failed_ && !failed_->whole() && !r.skip_k) {
    // The failed file lost records: the input is the only place left that has them.
    const std::uint64_t d = prefix_.delivered_after();
    text = "; the failed file lost records (see above): resume with --skip " + std::to_string(r.k);
    if (d) text += ", which sends again the " + plural(d, "record", "records") + " after " + std::to_string(r.k) + " that were delivered";
    if (n_.possibly)
      text += (d ? " and maybe the " : ", which may send again the ") + std::to_string(n_.possibly) + " sent without an answer";
  } else {
    // The failed file, then the input after the last record read (in event-time order before
    // anything was sent, the same command again; with no failed file needed, after K).
    ResumeShape shape{o_.topic, o_.file, resume_options(false), resume_options(true), 0};
    // The last record read, never below --skip (a stop before or while skipping).
    const std::uint64_t m = std::max(n_.last_read, o_.skip);
    std::string command;
    if (r.skip_k) {
      shape.limit_left = o_.limit ? o_.limit - std::min<std::uint64_t>(o_.limit, r.k - o_.skip) : 0;
      command = resume_command(shape, 0, "", false, r.k);
    } else if (o_.order == Order::event_time && !sending_started_ && !input_error_) {
      shape.limit_left = o_.limit;
      command = resume_command(shape, 0, "", false, o_.skip);
    } else {
      const bool done = input_done_ || input_error_ || o_.order == Order::event_time ||
                        (o_.limit && m - o_.skip >= o_.limit);
      if (!done && o_.limit) shape.limit_left = o_.limit - (m - o_.skip);
      command = resume_command(shape, r.kept, failed_ ? failed_->path() : "", done, m);
    }
    if (command.empty()) return "";
    // Records still without a report are neither kept nor read again: then not exactly.
    text = (r.unknown ? "; resume with: " : "; resume exactly with: ") + command;
    if (n_.possibly && kept_possibly_ && !r.skip_k)
      text += " (it first looks for the " + std::to_string(kept_possibly_) + " sent without an answer in the topic)";
    std::string names;
    if (!o_.envelopes)
      for (const kafka::Header& h : o_.headers)
        if (secret_header(h.name)) names += (names.empty() ? "" : ", ") + shell_word(h.name);
    if (!names.empty()) text += " (with the value of -H " + names + " given again in place of [redacted]: it is not repeated here)";
  }
  if (r.unknown) text += "; " + std::to_string(r.unknown) + " without a delivery report may or may not be there";
  return text;
}

int ProduceRun::report() {
  const Outcome r = outcome();
  print_summary(r);
  std::vector<Problem> found = problems(r);
  if (found.empty()) return 0;
  // The first is thrown (main prints it last) and says how to resume; the others are printed
  // before it, so that nothing is left unsaid.
  found.front().message += resume_text(r);
  for (std::size_t i = 1; i < found.size(); ++i) std::fprintf(stderr, "sfcrime: error: %s\n", found[i].message.c_str());
  throw Error(found.front().code, found.front().message);
}

}  // namespace

int run_produce(const ProduceOptions& options, const Config& config) {
  ProduceRun run(options, config);
  return run.run();
}

}  // namespace sfcrime
